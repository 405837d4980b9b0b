"""Calibrate the statevector engine's fuse-or-not cost model (`_should_fuse`) on this machine.

    .venv/bin/python benchmarks/calibrate_fusion.py            # under a minute (quiet machine)
    .venv/bin/python benchmarks/calibrate_fusion.py --quick    # a coarser grid

For layered templates (strongly_entangling, basic_entangler, hardware_efficient; 2 layers,
angle encoding) over n = 2..10 qubits and N = 1..4096 circuits it times one forward + backward
(input and weight gradients) with the input-independent run forced fused and forced unfused,
then grid-searches the constants of

    unfused = g * (N * 2**n * _GATE_ELEM + _OP_OVERHEAD)
    fused   = g * (4**n * _GATE_ELEM + _OP_OVERHEAD) + N * 4**n * _MATMUL_MAC + _OP_OVERHEAD

(_GATE_ELEM fixed to 1) for the smallest total relative regret: sum over the grid of
(time of the chosen path - time of the faster path) / time of the faster path.
Each time is the minimum over a few repeats (robust to a busy machine): wall-clock time with
--threads 2 (the default, as in bench_engine.py), or with --threads 1 the CPU time of the calling
thread (which does not count time the process spends descheduled). Copy the printed constants
into src/qhybrid/backends/statevector.py.
"""
from __future__ import annotations

import argparse
import itertools
import time

import torch

import qhybrid
from qhybrid.backends.statevector import engine, fusable_runs, fusion_mode


def best_time(step, repeats: int) -> float:
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    step()
    best = float("inf")
    for _ in range(repeats):
        t = clock()
        step()
        best = min(best, clock() - t)
    return best


def measure(template: str, n: int, N: int, repeats: int) -> dict:
    c = qhybrid.build_circuit(n, 2, "angle_y", template)
    g = sum(fusable_runs(c)) if n > 0 else 0
    x = torch.rand(N, n, requires_grad=True)
    w = torch.rand(c.n_weights, requires_grad=True)
    out = {"template": template, "n": n, "N": N, "g": g}
    for fused in (True, False):
        def step():
            x.grad = w.grad = None
            c.run(x, w).sum().backward()
        with fusion_mode("always" if fused else "never"):
            out["fused" if fused else "unfused"] = best_time(step, repeats)
    return out


def regret(rows, mac: float, overhead: float) -> float:
    total = 0.0
    for r in rows:
        D = 2 ** r["n"]
        gates = r["g"] * (r["N"] * D + overhead)
        fused = r["g"] * (D * D + overhead) + r["N"] * D * D * mac + overhead
        chosen = r["fused"] if fused < gates else r["unfused"]
        total += chosen / min(r["fused"], r["unfused"]) - 1
    return total


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = [2, 4, 6, 8] if args.quick else [2, 3, 4, 5, 6, 7, 8, 9, 10]
    batches = [1, 64, 1024] if args.quick else [1, 16, 64, 256, 1024, 4096]
    templates = ["strongly_entangling", "basic_entangler", "hardware_efficient"]
    rows = []
    for template, n, N in itertools.product(templates, sizes, batches):
        if n == 10 and N > 1024 and template != "strongly_entangling":
            continue
        r = measure(template, n, N, 3 if n >= 9 else 5)
        rows.append(r)
        print(f"{template:20s} n={n:2d} N={N:5d} g={r['g']:3d}  fused {r['fused'] * 1e3:9.3f} ms"
              f"  unfused {r['unfused'] * 1e3:9.3f} ms", flush=True)
    best = min((regret(rows, mac, oh), mac, oh)
               for mac in [0.01 * i for i in range(1, 41)]
               for oh in [0.0, 1e3, 3e3, 1e4, 2e4, 3e4, 5e4, 1e5, 2e5, 5e5])
    now = regret(rows, engine._MATMUL_MAC, engine._OP_OVERHEAD)
    print(f"\ncurrent constants: _MATMUL_MAC = {engine._MATMUL_MAC}, _OP_OVERHEAD = {engine._OP_OVERHEAD:g}: "
          f"total relative regret {now:.2f} over {len(rows)} points")
    print(f"best fit:          _MATMUL_MAC = {best[1]:.2f}, _OP_OVERHEAD = {best[2]:g}: "
          f"total relative regret {best[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
