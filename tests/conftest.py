"""Shared test set-up: two shared cores, so one torch thread per process unless the caller chose otherwise."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402  (after the thread setting, which torch reads at import)

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
