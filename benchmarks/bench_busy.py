"""Training-step time of the VQC-attention TinyLM on a quiet and on a busy machine, per thread setting.

    .venv/bin/python benchmarks/bench_busy.py              # about 3 minutes; needs >= 2 cores and `taskset`
    .venv/bin/python benchmarks/bench_busy.py --quick      # fewer rounds

"Busy" = one competing CPU-bound process (a Python busy loop) pinned to core 0 with taskset, the case
of a browser or a second run sharing a laptop's cores. Each thread setting runs in its own fresh
process (OpenMP reads its settings at start), quiet and busy phases alternate in rounds so that drift
hits both, and every timed value is the median of the steps of one phase. The model, batch and step
are bench_models.py's (bench_config, bench_batch, step_fn; 4 qubits).

Settings: `threads=2` (torch's default here), `threads=1` (what `train.threads: auto`, the default,
chooses for this model: qhybrid.device.auto_threads), and `passive` (2 threads with
OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep at once instead of spinning, so a thread that
shares its core with the competitor is woken quickly instead of having used up its time slice).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORKER = r"""
import sys, time, json, torch
sys.path.insert(0, sys.argv[4])
from bench_models import bench_batch, bench_config, step_fn
from qhybrid.models import TinyLM
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
step = step_fn(TinyLM(bench_config("attention", sys.argv[3], 4)), bench_batch())
for _ in range(3):
    step()
out = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); step(); out.append(time.perf_counter() - t0)
print(json.dumps(out))
"""

HERE = Path(__file__).resolve().parent            # the workers import bench_models from here
SETTINGS = {"threads=2": (2, {}), "threads=1": (1, {}), "passive": (2, {"OMP_WAIT_POLICY": "PASSIVE"})}


def run_worker(threads: int, env: dict, steps: int, kind: str) -> float:
    """Median step time (ms) of a fresh process."""
    e = dict(os.environ, **env)
    out = subprocess.run([sys.executable, "-c", WORKER, str(threads), str(steps), kind, str(HERE)], env=e,
                         capture_output=True, text=True, check=True)
    return statistics.median(json.loads(out.stdout.strip().splitlines()[-1])) * 1e3


def pressure() -> str:
    try:
        return Path("/proc/pressure/cpu").read_text().split("\n")[0]
    except OSError:
        return "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 rounds of 10 steps")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--attention", default="vqc", help="attention kind of the model (default vqc)")
    ap.add_argument("--json", default="benchmarks/results/bench_busy.json")
    args = ap.parse_args()
    rounds = args.rounds or (2 if args.quick else 4)
    steps = args.steps or (10 if args.quick else 20)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("error: needs at least 2 CPU cores (one for the competing process)")
    times = {s: {"quiet": [], "busy": []} for s in SETTINGS}
    print(f"{rounds} rounds x {steps} steps per phase, attention={args.attention}; cpu pressure at start: {pressure()}")
    for r in range(rounds):
        for phase in ("quiet", "busy"):
            hog = None
            if phase == "busy":
                hog = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", "while True: pass"])
                time.sleep(0.5)
            try:
                for name, (threads, env) in SETTINGS.items():
                    times[name][phase].append(run_worker(threads, env, steps, args.attention))
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
        last = ", ".join(f"{n} {v['quiet'][-1]:.1f}/{v['busy'][-1]:.1f} ms" for n, v in times.items())
        print(f"round {r + 1} (quiet/busy): {last}", flush=True)
    best_quiet = min(statistics.median(v["quiet"]) for v in times.values())
    print(f"\ncpu pressure at end: {pressure()}\n")
    print("| setting | quiet ms | busy ms | busy / own quiet | busy / best quiet |")
    print("|---|---:|---:|---:|---:|")
    rows = []
    for name, v in times.items():
        q, b = statistics.median(v["quiet"]), statistics.median(v["busy"])
        rows.append(dict(setting=name, quiet_ms=q, busy_ms=b, quiet_all=v["quiet"], busy_all=v["busy"]))
        print(f"| {name} | {q:.1f} | {b:.1f} | {b / q:.2f} | {b / best_quiet:.2f} |")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"rounds": rounds, "steps": steps, "attention": args.attention,
                                           "rows": rows}, indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
