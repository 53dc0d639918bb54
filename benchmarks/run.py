"""Benchmark the book's GPTModel, our fast path and Hugging Face's GPT-2 on this machine.

Everything that is compared runs interleaved in one process (A B C A B C ...), and the results are medians and
ratios of paired measurements, so a machine that gets faster or slower during the run affects all sides alike.
Peak memory is measured in a fresh subprocess per variant. Writes results.json, results.md and benchmark.png.

    python benchmarks/run.py                # the full run (about 20 minutes on 2 CPU cores)
    python benchmarks/run.py --compile      # also the tied fast path under torch.compile (about 25 minutes in all)
    python benchmarks/run.py --quick        # tiny configs, to check that everything works
"""
import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from llms_from_scratch.fast import FastGPTModel, generate_cached, make_optimizer
from llms_from_scratch.flops import training_flops_per_token
from llms_from_scratch.gpt import GPT_CONFIG_124M, GPTModel
from llms_from_scratch.training import generate

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "small": {**GPT_CONFIG_124M, "emb_dim": 256, "n_layers": 4, "n_heads": 4, "context_length": 256},
    "124M": {**GPT_CONFIG_124M, "context_length": 256},
    "124M-nodrop": {**GPT_CONFIG_124M, "context_length": 256, "drop_rate": 0.0},  # as large pretraining runs now commonly train
    "tiny": {**GPT_CONFIG_124M, "emb_dim": 32, "n_layers": 1, "n_heads": 2, "context_length": 32},
}
TRAIN_VARIANTS = ("book", "fast", "fast_tied", "hf")
COMPILED = "fast_tied_compiled"  # with --compile


def hf_model(cfg: dict):
    "Hugging Face's GPT2LMHeadModel with `cfg`'s sizes and dropout (GPT-2 ties its output layer to the embedding)."
    from transformers import GPT2Config, GPT2LMHeadModel
    p = cfg["drop_rate"]
    return GPT2LMHeadModel(GPT2Config(vocab_size=cfg["vocab_size"], n_positions=cfg["context_length"], n_embd=cfg["emb_dim"],
                                      n_layer=cfg["n_layers"], n_head=cfg["n_heads"], resid_pdrop=p, embd_pdrop=p, attn_pdrop=p))


def build(variant: str, cfg: dict, device="cpu"):
    "Model and optimizer of a training variant. The book's model gets the book's optimizer; the others the fused AdamW."
    torch.manual_seed(123)
    if variant == "book":
        model = GPTModel(cfg).to(device)
        return model, torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1)
    tied = lambda: FastGPTModel({**cfg, "tie_weights": True})
    model = {"fast": lambda: FastGPTModel(cfg), "fast_tied": tied, COMPILED: tied, "hf": lambda: hf_model(cfg)}[variant]().to(device)
    optimizer = make_optimizer(model, lr=4e-4, weight_decay=0.1)
    return (torch.compile(model) if variant == COMPILED else model), optimizer


def sync(device):
    "Wait for the device's queued work (GPU kernels run asynchronously)."
    if torch.device(device).type == "cuda": torch.cuda.synchronize()


def train_step(variant, model, optimizer, x, y):
    logits = model(input_ids=x).logits if variant == "hf" else model(x)  # (batch, tokens, vocab)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def matmul_peak(n: int = 2048, repeats: int = 7, device="cpu") -> float:
    "Measured float32 matrix-multiply throughput of this machine (FLOP/s): the best of an n x n x n product and the two feed-forward shapes of 124M at n rows, each the median of `repeats`."
    best = 0.0
    for m, k, cols in ((n, n, n), (n, 3 * n // 8, 3 * n // 2), (n, 3 * n // 2, 3 * n // 8)):  # n = 2048: (2048, 768, 3072), (2048, 3072, 768)
        a, b = torch.randn(m, k, device=device), torch.randn(k, cols, device=device)
        a @ b
        times = []
        for _ in range(repeats):
            sync(device); start = time.perf_counter(); a @ b; sync(device); times.append(time.perf_counter() - start)
        best = max(best, 2 * m * k * cols / statistics.median(times))
    return best


def bench_training(cfg_name: str, batch: int, rounds: int, device="cpu", peak_n: int = 2048, variants=TRAIN_VARIANTS) -> dict:
    "Interleaved training steps of every variant, and in every round a float32 matmul to measure the peak under the same conditions."
    cfg = CONFIGS[cfg_name]
    torch.manual_seed(0)
    x = torch.randint(0, cfg["vocab_size"], (batch, cfg["context_length"]), device=device)
    y = torch.randint(0, cfg["vocab_size"], (batch, cfg["context_length"]), device=device)
    built, first_step_s = {v: build(v, cfg, device) for v in variants}, {}
    for v, (model, opt) in built.items():
        model.train()
        sync(device); start = time.perf_counter()
        train_step(v, model, opt, x, y)  # warm-up: first-call allocations, and compiling for the compiled variant
        sync(device); first_step_s[v] = time.perf_counter() - start
    times, peaks = {v: [] for v in variants}, []
    for r in range(rounds):
        peaks.append(matmul_peak(peak_n, repeats=3, device=device))
        for v in (variants if r % 2 == 0 else variants[::-1]):  # A B C D, then D C B A
            sync(device); start = time.perf_counter()
            train_step(v, *built[v], x, y)
            sync(device); times[v].append(time.perf_counter() - start)
        print(f"  training {cfg_name} round {r + 1}/{rounds}: " + ", ".join(f"{v} {times[v][-1]:.2f}s" for v in variants), flush=True)
    tokens = batch * cfg["context_length"]
    paired = lambda a, b: statistics.median(tb / ta for ta, tb in zip(times[a], times[b]))  # speed of a relative to b
    speedup = {"fast_vs_book": paired("fast", "book"), "fast_tied_vs_hf": paired("fast_tied", "hf")}
    if COMPILED in variants: speedup["compiled_vs_fast_tied"] = paired(COMPILED, "fast_tied")
    return {"config": cfg_name, "batch": batch, "drop_rate": cfg["drop_rate"], "tokens_per_step": tokens, "rounds": rounds,
            "matmul_peak_gflops": statistics.median(peaks) / 1e9,
            "parameters": {v: sum(p.numel() for p in built[v][0].parameters()) for v in variants},
            "first_step_s": first_step_s,
            "median_s": {v: statistics.median(t) for v, t in times.items()},
            "tokens_per_s": {v: tokens / statistics.median(t) for v, t in times.items()},
            "speedup": speedup,
            "flops_per_step": {v: training_flops_per_token(cfg) * tokens for v in variants}}


def bench_generation(cfg_name: str, new_tokens: int, rounds: int, device="cpu") -> dict:
    "Batch-1 greedy generation: the book's model without a cache, ours with the KV cache, and HF's generate."
    from llms_from_scratch.gpt2_weights import load_weights_into_gpt, params_from_hf
    cfg = {**CONFIGS[cfg_name], "context_length": 1024 if cfg_name == "124M" else CONFIGS[cfg_name]["context_length"],
           "qkv_bias": True, "drop_rate": 0.0}
    hf = hf_model(cfg).eval()
    book = GPTModel(cfg).eval()
    load_weights_into_gpt(book, params_from_hf(hf.state_dict()))  # the same weights on all sides
    fast = FastGPTModel({**cfg, "tie_weights": True}).eval()
    fast.load_state_dict(book.state_dict(), strict=False)
    fast.out_head.weight = fast.tok_emb.weight
    hf, book, fast = hf.to(device), book.to(device), fast.to(device)
    prompt = torch.tensor([[6109, 3626, 6100, 345]], device=device)  # "Every effort moves you"
    runs = {
        "no_cache": lambda: generate(book, prompt, new_tokens, cfg["context_length"]),
        "kv_cache": lambda: generate_cached(fast, prompt, new_tokens, cfg["context_length"]),
        "hf_generate": lambda: hf.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                           pad_token_id=50256, attention_mask=torch.ones_like(prompt)),
    }
    outputs, times = {}, {k: [] for k in runs}
    with torch.no_grad():
        for r in range(rounds):
            for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                sync(device); start = time.perf_counter()
                outputs[k] = runs[k]()
                sync(device); times[k].append(time.perf_counter() - start)
            print(f"  generation round {r + 1}/{rounds}: " + ", ".join(f"{k} {times[k][-1]:.2f}s" for k in runs), flush=True)
    paired = lambda a, b: statistics.median(tb / ta for ta, tb in zip(times[a], times[b]))
    same = {k: torch.equal(outputs[k][0], outputs["no_cache"][0]) for k in runs}
    return {"config": cfg_name, "new_tokens": new_tokens, "rounds": rounds, "identical_tokens": same,
            "median_s": {k: statistics.median(t) for k, t in times.items()},
            "tokens_per_s": {k: new_tokens / statistics.median(t) for k, t in times.items()},
            "speedup": {"kv_cache_vs_no_cache": paired("kv_cache", "no_cache"), "kv_cache_vs_hf": paired("kv_cache", "hf_generate")}}


def peak_memory(variant: str, cfg_name: str, batch: int, device="cpu") -> int:
    "Peak memory (bytes) of a fresh process that builds `variant` and runs two training steps: resident set on a CPU, allocated on a GPU."
    # On Linux a child's ru_maxrss starts at its parent's, so read the process's own high-water mark (VmHWM)
    peak = ("torch.cuda.max_memory_allocated()" if torch.device(device).type == "cuda" else
            "next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))")
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import run, torch, transformers\n"
            f"cfg = run.CONFIGS[{cfg_name!r}]\n"
            f"x = torch.randint(0, 50257, ({batch}, cfg['context_length']), device={device!r}); y = torch.randint_like(x, 50257)\n"
            f"model, opt = run.build({variant!r}, cfg, {device!r}); model.train()\n"
            f"for _ in range(2): run.train_step({variant!r}, model, opt, x, y)\n"
            f"print({peak})")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(r.stdout.strip().splitlines()[-1])


def markdown(results: dict) -> str:
    lines = [f"# Benchmark results\n\n{results['machine']}; PyTorch {results['torch']}; "
             f"float32 matmul peak {results['matmul_peak_gflops']:.0f} GFLOP/s (measured).\n"]
    names = {"fast_vs_book": "fast vs book", "fast_tied_vs_hf": "fast (tied) vs Hugging Face", "compiled_vs_fast_tied": "compiled vs eager (tied)"}
    for t in results["training"]:
        lines += [f"\n## Training, {t['config']} config (dropout {t['drop_rate']}), batch {t['batch']} x "
                  f"{t['tokens_per_step'] // t['batch']} tokens ({t['rounds']} interleaved rounds)\n",
                  f"MFU against the float32 matmul throughput measured within the same rounds: {t['matmul_peak_gflops']:.0f} GFLOP/s.\n",
                  "| variant | parameters | median step (s) | first step (s) | tokens/s | MFU | peak memory (GB) |", "|---|---|---|---|---|---|---|"]
        for v in t["median_s"]:
            mem = t.get("peak_memory_bytes", {}).get(v)
            lines.append(f"| {v} | {t['parameters'][v]:,} | {t['median_s'][v]:.3f} | {t['first_step_s'][v]:.1f} | "
                         f"{t['tokens_per_s'][v]:,.0f} | {t['mfu'][v]:.0%} | {f'{mem / 1e9:.2f}' if mem else ''} |")
        lines.append("\nPaired speed-ups: " + ", ".join(f"{names[k]} {x:.2f}x" for k, x in t["speedup"].items()) + ".")
    g = results["generation"]
    lines += [f"\n## Generation, {g['config']} config, batch 1, {g['new_tokens']} new tokens ({g['rounds']} interleaved rounds)\n",
              "| variant | median (s) | tokens/s | same tokens as no cache |", "|---|---|---|---|"]
    for k in g["median_s"]:
        lines.append(f"| {k} | {g['median_s'][k]:.2f} | {g['tokens_per_s'][k]:.1f} | {g['identical_tokens'][k]} |")
    lines.append(f"\nPaired speed-ups: KV cache vs no cache {g['speedup']['kv_cache_vs_no_cache']:.2f}x, "
                 f"KV cache vs Hugging Face generate {g['speedup']['kv_cache_vs_hf']:.2f}x.")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    trainings = results["training"]
    fig, axes = plt.subplots(1, len(trainings) + 1, figsize=(4 * (len(trainings) + 1), 3), dpi=90)
    colors = {"book": "grey", "fast": "tab:blue", "fast_tied": "tab:cyan", "hf": "tab:orange", COMPILED: "tab:green"}
    for ax, t in zip(axes, trainings):
        variants = list(t["tokens_per_s"])
        ax.bar(variants, [t["tokens_per_s"][v] for v in variants], color=[colors[v] for v in variants])
        ax.set_title(f"training, {t['config']}, batch {t['batch']}"); ax.set_ylabel("tokens/s")
        ax.tick_params(axis="x", labelrotation=30)
    g = results["generation"]
    axes[-1].bar(list(g["tokens_per_s"]), list(g["tokens_per_s"].values()), color=["grey", "tab:blue", "tab:orange"])
    axes[-1].set_title(f"generation, {g['config']}, batch 1"); axes[-1].set_ylabel("new tokens/s")
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny configs and few rounds: checks the script, measures nothing useful")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for results.json, results.md and benchmark.png")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch-124m", type=int, default=2, help="sequences per training step at the 124M config (the book's 2)")
    ap.add_argument("--batch-nodrop", type=int, default=8, help="sequences per training step at the 124M config without dropout")
    ap.add_argument("--compile", action="store_true", help=f"also train {COMPILED}: the tied fast path under torch.compile")
    ap.add_argument("--configs", help="comma-separated training configs to run (default: small,124M,124M-nodrop)")
    args = ap.parse_args(argv)
    device = args.device
    variants = TRAIN_VARIANTS + ((COMPILED,) if args.compile else ())
    plan = (([("tiny", 2, 3)], ("tiny", 8, 2)) if args.quick else
            ([("small", 8, 9), ("124M", args.batch_124m, 9), ("124M-nodrop", args.batch_nodrop, 5)], ("124M", 200, 3)))
    if args.configs:
        chosen = args.configs.split(",")
        unknown = [c for c in chosen if c not in CONFIGS]
        if unknown: ap.error(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
        plan = ([p for p in plan[0] if p[0] in chosen], plan[1])
    peak = matmul_peak(512 if args.quick else 2048 if device == "cpu" else 8192, device=device)
    machine = (torch.cuda.get_device_name() if torch.device(device).type == "cuda"
               else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    results = {"machine": machine, "device": device, "torch": torch.__version__, "matmul_peak_gflops": peak / 1e9, "training": []}
    print(f"float32 matmul peak: {peak / 1e9:.1f} GFLOP/s", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "results.partial.json"  # what is measured so far survives a run that is stopped
    for cfg_name, batch, rounds in plan[0]:
        t = bench_training(cfg_name, batch, rounds, device, 512 if args.quick else 2048 if device == "cpu" else 8192, variants)
        t["mfu"] = {v: t["flops_per_step"][v] / t["median_s"][v] / (t["matmul_peak_gflops"] * 1e9) for v in variants}
        t["peak_memory_bytes"] = {v: peak_memory(v, cfg_name, batch, device) for v in variants}
        results["training"].append(t)
        partial.write_text(json.dumps(results, indent=1))
    results["generation"] = bench_generation(*plan[1], device=device)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    partial.unlink(missing_ok=True)
    (out / "results.md").write_text(markdown(results))
    plot(results, out / "benchmark.png")
    print(markdown(results))


if __name__ == "__main__":
    main()
