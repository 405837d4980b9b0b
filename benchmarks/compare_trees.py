"""The statevector engine of two source trees, side by side: did a change alter its speed or its numbers?

    .venv/bin/python benchmarks/compare_trees.py OLD_SRC [NEW_SRC] [--rounds 3]
    e.g.  git worktree add /tmp/base HEAD~1 && .venv/bin/python benchmarks/compare_trees.py /tmp/base/src

Each round runs one process per tree (PYTHONPATH=<tree>, alternating, so a busy machine slows both
alike): the engine benchmark's layer (RY encoding + 2 strongly-entangling layers, <Z> on every
wire), fwd + bwd of output.sum() with input and weight gradients, 2 threads, best of 5 blocks of
steps, for n = 4..10 qubits and N = 256, 4096 circuits; plus the float64 output sum, to compare bit
for bit. Prints a markdown table: best time over rounds per tree, their ratio, whether outputs agree.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

POINTS = [(4, 256), (4, 4096), (6, 256), (6, 4096), (8, 256), (8, 4096), (10, 256), (10, 4096)]

CHILD = r"""
import json, sys, time, torch, qhybrid
torch.set_num_threads(2)
out = {}
for n, N in json.loads(sys.argv[1]):
    c = qhybrid.build_circuit(n, 2, "angle_y", "strongly_entangling")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, n, generator=g, requires_grad=True)
    w = torch.rand(c.n_weights, generator=g, requires_grad=True)
    def step():
        x.grad = w.grad = None
        c.run(x, w).sum().backward()
    step(); step()
    k = max(2, int(0.2 / max(1e-4, (lambda t: (step(), time.perf_counter() - t)[1])(time.perf_counter()))))
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(k):
            step()
        best = min(best, (time.perf_counter() - t) / k)
    out[f"{n},{N}"] = [best * 1e3, float(c.run(x.detach().double(), w.detach().double()).sum())]
print(json.dumps(out))
"""


def run_tree(src: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(POINTS)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="src/ folder of the reference tree")
    p.add_argument("new", nargs="?", default=str(Path(__file__).resolve().parents[1] / "src"),
                   help="src/ folder of the changed tree (default: this checkout)")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    old, new = [], []
    for _ in range(a.rounds):
        old.append(run_tree(a.old))
        new.append(run_tree(a.new))
    print("| n | N | old ms | new ms | new / old | outputs identical |\n|---|---|---|---|---|---|")
    for n, N in POINTS:
        k = f"{n},{N}"
        o, w = min(r[k][0] for r in old), min(r[k][0] for r in new)
        same = len({r[k][1] for r in old + new}) == 1
        print(f"| {n} | {N} | {o:.3f} | {w:.3f} | {w / o:.2f} | {'yes' if same else 'NO'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
