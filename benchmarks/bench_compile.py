"""Does torch.compile pay for qhybrid models? Eager vs compiled training step, side by side, with agreement.

    .venv/bin/python benchmarks/bench_compile.py                 # vqc attention and vqc ffn, 4 qubits
    .venv/bin/python benchmarks/bench_compile.py --kinds attention:kernel attention:quixer

The model and step are those of bench_models.py (vocab 65, context 64, batch 32, d_model 32, 4 heads,
2 blocks; forward + cross-entropy + backward + AdamW). For each kind: the compile time (the first
compiled step, minus an eager step), then eager and compiled steps interleaved (median), after
checking that both give the same loss (1e-5 relative) and gradient (1e-4 in relative norm; float32, so
reassociated sums differ in the last bits) from the same weights.
torch.compile needs a C++ compiler on the machine (inductor's CPU backend).
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch
from bench_models import bench_batch, bench_config, step_fn

from qhybrid.models import TinyLM


def loss_and_grads(model, idx):
    model.zero_grad(set_to_none=True)
    _, loss = model(idx[:, :-1], idx[:, 1:])
    loss.backward()
    return loss.detach(), [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", nargs="+", default=["attention:vqc", "ffn:vqc"], help="part:kind, e.g. attention:vqc")
    ap.add_argument("--qubits", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="benchmarks/results/bench_compile.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch._dynamo.config.cache_size_limit = 64      # the engine's per-circuit plans specialise the graph
    idx = bench_batch()
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| kind | compile s | eager ms | compiled ms | compiled / eager | gradient rel. diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for spec in args.kinds:
        part, kind = spec.split(":")
        cfg = bench_config(part, kind, args.qubits)
        torch.manual_seed(0)
        eager = TinyLM(cfg)
        compiled_model = copy.deepcopy(eager)
        compiled = torch.compile(compiled_model)
        t0 = time.perf_counter()
        loss_and_grads(eager, idx)
        t_eager = time.perf_counter() - t0
        t0 = time.perf_counter()
        lc, gc = loss_and_grads(compiled, idx)                 # compiles forward and backward
        compile_s = time.perf_counter() - t0 - t_eager
        le, ge = loss_and_grads(eager, idx)
        lc, gc = loss_and_grads(compiled, idx)
        ge_all, gc_all = torch.cat([g.flatten() for g in ge]), torch.cat([g.flatten() for g in gc])
        diff = ((gc_all - ge_all).norm() / ge_all.norm()).item()        # float32: reassociated sums differ
        assert torch.allclose(lc, le, rtol=1e-5), f"{spec}: compiled loss {lc.item()} != eager {le.item()}"
        assert diff < 1e-4, f"{spec}: compiled gradient differs from eager by {diff:.2e} (relative norm)"
        steps = {"eager": step_fn(eager, idx), "compiled": step_fn(compiled, idx)}
        times = {"eager": [], "compiled": []}
        for _ in range(args.repeats):
            for k, step in steps.items():
                t0 = time.perf_counter()
                step()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        rows.append(dict(kind=spec, qubits=args.qubits, compile_s=compile_s, eager_ms=med["eager"],
                         compiled_ms=med["compiled"], ratio=med["compiled"] / med["eager"], grad_rel_diff=diff))
        print(f"| {spec} | {compile_s:.0f} | {med['eager']:.1f} | {med['compiled']:.1f} | "
              f"{med['compiled'] / med['eager']:.2f} | {diff:.1e} |", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"torch": torch.__version__, "threads": args.threads, "rows": rows},
                                          indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
