"""One test per notebook, run by nbdev's own runner, so a failing notebook shows up by name."""
from configparser import ConfigParser
from pathlib import Path

import pytest
from nbdev.test import test_nb as run_notebook  # renamed: pytest would collect `test_nb` as a test

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("_"))


def _skip_flags():
    cfg = ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini")
    return cfg["DEFAULT"]["tst_flags"].split()


def test_found_notebooks():
    assert {"00_data", "02_tokenizer", "03_attention", "04_gpt", "05_training", "05a_gpt2_weights",
            "D_training_loop", "10_cli", "02a_bpe", "A_pytorch", "A2_ddp", "06_classification",
            "07_instruction", "07a_evaluation", "E_lora", "11_cli_finetune", "00_setup", "01_intro", "12_site",
            "08_fast", "08a_flops", "08b_benchmarks"} <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook(notebook):
    ok, _ = run_notebook(notebook, skip_flags=_skip_flags(), basepath=ROOT)
    assert ok, f"{notebook.name} failed: its traceback is in the captured stderr above"
