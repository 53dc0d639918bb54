"""The benchmark script runs end to end on tiny configs and writes its results (its timings are not checked here)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_results(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--compile", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmark.png", "results.json", "results.md"]
    results = json.loads((tmp_path / "results.json").read_text())
    training = results["training"][0]
    assert set(training["tokens_per_s"]) == {"book", "fast", "fast_tied", "hf", "fast_tied_compiled"}
    assert training["parameters"]["fast_tied_compiled"] == training["parameters"]["fast_tied"]
    assert training["parameters"]["fast"] == training["parameters"]["book"]  # same model, other kernels
    assert all(0 < m < 2 for m in training["mfu"].values())
    assert set(training["speedup"]) == {"fast_vs_book", "fast_tied_vs_hf", "compiled_vs_fast_tied"}
    assert "compiled vs eager (tied)" in (tmp_path / "results.md").read_text()
    generation = results["generation"]
    assert generation["identical_tokens"] == {"no_cache": True, "kv_cache": True, "hf_generate": True}
