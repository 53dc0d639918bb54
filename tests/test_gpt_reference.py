"""GPTModel, loaded by the package's GPT-2 loader, against Hugging Face's GPT-2 (a test-only dependency) with the same random weights."""
import pytest
import torch

from llms_from_scratch.gpt import GPTModel, generate_text_simple
from llms_from_scratch.gpt2_weights import load_weights_into_gpt, params_from_hf

transformers = pytest.importorskip("transformers")

CFG = {"vocab_size": 1000, "context_length": 64, "emb_dim": 96, "n_heads": 4, "n_layers": 3,
       "drop_rate": 0.0, "qkv_bias": True}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=CFG["vocab_size"], n_positions=CFG["context_length"],
                                     n_embd=CFG["emb_dim"], n_layer=CFG["n_layers"], n_head=CFG["n_heads"],
                                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    hf = transformers.GPT2LMHeadModel(config).eval()
    gpt = GPTModel(CFG).eval()
    load_weights_into_gpt(gpt, params_from_hf(hf.state_dict()))
    return hf, gpt


def test_logits_match_hugging_face(models):
    hf, gpt = models
    idx = torch.randint(0, CFG["vocab_size"], (2, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = gpt(idx), hf(idx).logits
    assert ours.shape == theirs.shape == (2, 40, CFG["vocab_size"])
    assert (ours - theirs).abs().max().item() < 1e-4


def test_greedy_continuation_matches_hugging_face(models):
    hf, gpt = models
    prompt = torch.tensor([[11, 22, 33, 44, 55]])
    ours = generate_text_simple(gpt, prompt, max_new_tokens=20, context_size=CFG["context_length"])
    theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20, do_sample=False,
                         pad_token_id=0)
    assert ours.tolist() == theirs.tolist()


def test_copied_weights_differ_from_a_fresh_model(models):
    "Guards the two tests above against a mapping that silently copies nothing."
    hf, gpt = models
    fresh = GPTModel(CFG).eval()
    idx = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert (fresh(idx) - hf(idx).logits).abs().max().item() > 1e-2
