"""Where the time of one training step goes: a torch.profiler table for one variant of benchmarks/run.py.

    python benchmarks/profile_step.py [--variant fast_tied] [--config 124M] [--batch 2] > benchmarks/results/profile.txt
"""
import argparse

import torch
from torch.profiler import ProfilerActivity, profile

import run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="fast_tied", choices=run.TRAIN_VARIANTS)
    ap.add_argument("--config", default="124M", choices=list(run.CONFIGS))
    ap.add_argument("--batch", type=int, default=2)
    args = ap.parse_args(argv)
    cfg = run.CONFIGS[args.config]
    x = torch.randint(0, cfg["vocab_size"], (args.batch, cfg["context_length"]))
    y = torch.randint_like(x, cfg["vocab_size"])
    model, optimizer = run.build(args.variant, cfg)
    model.train()
    for _ in range(2): run.train_step(args.variant, model, optimizer, x, y)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run.train_step(args.variant, model, optimizer, x, y)
    table = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in table)
    matmul = sum(e.self_cpu_time_total for e in table if e.key in ("aten::mm", "aten::addmm", "aten::bmm"))
    print(f"{args.variant}, {args.config}, batch {args.batch}: one step {total / 1e6:.2f} s of self CPU time, "
          f"matrix products (mm, addmm, bmm) {matmul / total:.0%} of it\n")
    print(table.table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()
