"""The DDP example across processes on the CPU (gloo): spawned, under torchrun, and with a failing rank."""
import os
import subprocess
import sys
import time

import torch

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run(*args, timeout=180):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def same_weights(folder, ranks):
    weights = [torch.load(folder / f"rank{r}.pt", weights_only=True) for r in ranks]
    return all(torch.equal(w[k], weights[0][k]) for w in weights[1:] for k in weights[0])


def test_spawned_processes_finish_with_identical_weights(tmp_path):
    r = run("-m", "llms_from_scratch.ddp", "--world-size", "2", "--save-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "backend gloo" in r.stdout or "backend nccl" in r.stdout
    assert r.stdout.count("Epoch:") == 3  # rank 0 alone prints, once per step
    assert same_weights(tmp_path, (0, 1))


def test_torchrun_processes_finish_with_identical_weights(tmp_path):
    r = run("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "llms_from_scratch.ddp",
            "--save-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "test accuracy 1.0" in r.stdout
    assert same_weights(tmp_path, (0, 1))


def test_a_crashing_rank_fails_the_run_quickly_with_its_error():
    for launcher in (["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "llms_from_scratch.ddp"],
                     ["-m", "llms_from_scratch.ddp", "--world-size", "2"]):
        started = time.monotonic()
        r = run(*launcher, "--crash-rank", "1", timeout=120)
        assert r.returncode != 0
        assert "rank 1: deliberate failure" in r.stdout + r.stderr
        assert time.monotonic() - started < 90, "the other rank should not wait for the crashed one"


def test_too_many_processes_for_the_data_is_a_clear_error():
    r = run("-m", "llms_from_scratch.ddp", "--world-size", "8")
    assert r.returncode == 2
    assert "shared by 8 processes give each 1" in r.stderr and "Traceback" not in r.stderr
