"""Ctrl-C during `llms finetune-classifier` and `llms finetune-instruct`: the model is saved, usable, and the exit status is 130."""
import signal
import subprocess
import time

import pytest
import torch

from test_cli import ENV, LLMS


@pytest.mark.parametrize("command, saved", [("finetune-classifier", "classifier.pt"), ("finetune-instruct", "checkpoint.pt")])
def test_ctrl_c_saves_the_model(command, saved, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([str(LLMS), command, "--size", "tiny", "--context-length", "128", "--epochs", "20", "--quiet",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        for line in proc.stdout:
            if line.startswith("finetuning"): break  # training starts now
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert f"saved to {out / saved}" in stdout
    assert "Traceback" not in stderr
    checkpoint = torch.load(out / saved, map_location="cpu", weights_only=True)
    assert checkpoint["config"]["emb_dim"] == 64
    assert list(out.glob(".*.part")) == []  # no temporary file left behind
