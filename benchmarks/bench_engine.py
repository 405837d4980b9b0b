"""Engine benchmark: qhybrid's statevector backend against PennyLane and qiskit-machine-learning.

    .venv/bin/python benchmarks/bench_engine.py            # full run (`make bench`), about 10 minutes
    .venv/bin/python benchmarks/bench_engine.py --quick    # n = 4, 6 and N = 256 only, < 1 minute

The layer: n features angle-encoded with RY, 2 strongly-entangling layers, <Z> on every wire
(`qhybrid.build_circuit(n, 2, "angle_y", "strongly_entangling")`); one step = forward over a batch
of N circuits + backward of `output.sum()` with gradients for the weights AND the inputs.
Timed in one process with torch.set_num_threads(2):
  qhybrid         Circuit.run, float32 inputs/weights (complex64 states); "qhybrid f64": float64
  default.qubit   qml.qnn.TorchLayer, diff_method="backprop", the whole batch broadcast in one call
                  (PennyLane simulates in complex128 whatever the input dtype)
  lightning       qml.qnn.TorchLayer on lightning.qubit, diff_method="adjoint" (it splits the
                  broadcast batch into one circuit per sample)
  EstimatorQNN    qiskit-machine-learning EstimatorQNN + TorchConnector (StatevectorEstimator,
                  exact, parameter-shift gradients), n = 4 and N = 256 only
qhybrid, qhybrid f64 and default.qubit run interleaved in short blocks (a busy machine slows all
three alike); each entry is the median of --repeats timed steps (fewer once a point has used --cap
seconds, at least 3), each block after one untimed warm-up step. The slow simulators are first
timed on a 16-sample slice; if the extrapolated step time exceeds --cap seconds the point is
recorded as ">cap" (the estimate is in the JSON) and not run. Before timing, the script asserts
that every simulator returns the same outputs (default.qubit also the same input gradients) as
qhybrid, so the same circuit is timed everywhere. The JSON also records the machine's load.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import qhybrid

PROBE = 16          # samples used to extrapolate the slow simulators
COLUMNS = ["qhybrid", "qhybrid f64", "default.qubit", "lightning", "EstimatorQNN"]


def have(module: str) -> bool:
    try:
        return bool(__import__(module))
    except ImportError:
        return False


def load() -> dict:
    """1-minute load average and, where the kernel reports it, CPU pressure (% of time stalled)."""
    out = {"loadavg_1min": os.getloadavg()[0]}
    try:
        out["cpu_pressure_avg10"] = float(Path("/proc/pressure/cpu").read_text().split()[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        pass
    return out


def make_step(fn, x, params):
    """One training-like step: forward, loss = output.sum(), backward (input + weight gradients); on a GPU
    the step waits for the device, so timings are of finished work."""
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)

    def step(xb=x):
        xb.grad = None
        for p in params:
            p.grad = None
        y = fn(xb)
        y.sum().backward()
        sync()
        return y
    return step


def entry(times: list[float]) -> dict:
    return {"status": "ok", "median_ms": 1e3 * statistics.median(times), "times_s": times}


def interleaved(steps: dict, repeats: int, budget: float, block: int = 4) -> dict:
    """Time several steps in rotating blocks: per round, each simulator runs one untimed step (its
    caches and heap are warm again after the others ran) and then `block` timed steps; rounds go
    on until each has `repeats` times or `budget` seconds are spent (at least 3 times each)."""
    times: dict = {k: [] for k in steps}
    start = time.perf_counter()
    while any(len(v) < repeats for v in times.values()):
        for k, step in steps.items():
            step()
            for _ in range(min(block, repeats - len(times[k]))):
                t = time.perf_counter()
                step()
                times[k].append(time.perf_counter() - t)
                if len(times[k]) >= 3 and time.perf_counter() - start > budget:
                    break
        if time.perf_counter() - start > budget and all(len(v) >= 3 for v in times.values()):
            break
    return {k: entry(v) for k, v in times.items()}


def capped(step, x, repeats: int, cap: float, check) -> dict:
    """Time a slow simulator: probe a 16-sample slice, extrapolate, skip the point if over `cap`."""
    xp = x[:PROBE].detach().clone().requires_grad_(True)
    check(step(xp), xp)
    t = time.perf_counter()
    step(xp)
    estimate = (time.perf_counter() - t) * len(x) / PROBE
    if estimate > cap:
        return {"status": "over_cap", "estimate_s": estimate}
    start = time.perf_counter()
    step()
    times = []
    while len(times) < repeats and (not times or time.perf_counter() - start < cap):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return entry(times)


def pennylane_layer(circuit, device_name: str, diff_method: str, w: torch.Tensor):
    import pennylane as qml

    dev = qml.device(device_name, wires=circuit.n_qubits)
    qnode = qml.QNode(circuit.to_pennylane(), dev, interface="torch", diff_method=diff_method)
    layer = qml.qnn.TorchLayer(qnode, {"weights": (circuit.n_weights,)})
    with torch.no_grad():
        layer.weights.copy_(w)
    return layer


def estimator_layer(circuit, w: torch.Tensor):
    from qiskit.primitives import StatevectorEstimator
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    qc = circuit.to_qiskit()
    qnn = EstimatorQNN(circuit=qc, estimator=StatevectorEstimator(), observables=circuit.qiskit_observables(),
                       input_params=list(qc.metadata["inputs"]), weight_params=list(qc.metadata["weights"]),
                       input_gradients=True, default_precision=0.0)
    return TorchConnector(qnn, initial_weights=w.detach().numpy().astype("float64"))


def bench_point(n: int, N: int, args, extras: dict) -> dict:
    gen = torch.Generator().manual_seed(1000 * n + N)
    circuit = qhybrid.build_circuit(n, 2, "angle_y", "strongly_entangling")
    x = (torch.rand(N, n, generator=gen) * torch.pi).to(args.device).requires_grad_(True)
    w = torch.nn.Parameter((torch.rand(circuit.n_weights, generator=gen) * 2 * torch.pi).to(args.device))
    x64 = x.detach().double().requires_grad_(True)
    w64 = torch.nn.Parameter(w.detach().double())
    row = {"n": n, "N": N, "load_before": load()}

    steps = {"qhybrid": make_step(lambda xb: circuit.run(xb, w), x, [w]),
             "qhybrid f64": make_step(lambda xb: circuit.run(xb, w64), x64, [w64])}
    y_ref = steps["qhybrid"]().detach()
    gx_ref = x.grad.detach().clone()
    ref = circuit.run(x[:PROBE], w).detach()

    def check(name, y, xb, atol=1e-4):
        expect = y_ref if len(xb) == N else ref
        torch.testing.assert_close(y.detach().float(), expect, atol=atol, rtol=0,
                                   msg=lambda m: f"{name} disagrees with qhybrid at n={n}, N={N}: {m}")

    check("qhybrid f64", steps["qhybrid f64"](), x)
    if extras["pennylane"]:
        layer = pennylane_layer(circuit, "default.qubit", "backprop", w)
        steps["default.qubit"] = make_step(layer, x, list(layer.parameters()))
        check("default.qubit", steps["default.qubit"](), x)
        torch.testing.assert_close(x.grad, gx_ref, atol=1e-4, rtol=0, msg=lambda m: f"input gradients: {m}")
    row.update(interleaved(steps, args.repeats, args.cap))
    if extras["lightning"] and not (args.quick and N * 2 ** n > 256 * 2 ** 4):
        layer = pennylane_layer(circuit, "lightning.qubit", "adjoint", w)
        step = make_step(layer, x, list(layer.parameters()))
        row["lightning"] = capped(step, x, args.repeats, args.cap, lambda y, xb: check("lightning", y, xb))
    if extras["qiskit_ml"] and n == 4 and N == 256 and not args.quick:
        layer = estimator_layer(circuit, w)
        step = make_step(layer, x, list(layer.parameters()))
        row["EstimatorQNN"] = capped(step, x, max(3, args.repeats // 3), args.cap,
                                     lambda y, xb: check("EstimatorQNN", y, xb))
    row["load_after"] = load()
    return row


def cell(entry, base=None) -> str:
    """An entry's median in ms, or (with base) its ratio to base; '>cap' entries show their estimate."""
    if entry is None:
        return "-"
    if entry["status"] == "over_cap":
        return f">cap (~{entry['estimate_s']:.0f} s)" if base is None else f">{entry['estimate_s'] * 1e3 / base:.0f}"
    return f"{entry['median_ms']:.2f}" if base is None else f"{entry['median_ms'] / base:.1f}"


def table(rows) -> str:
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    ratios = [c for c in ("default.qubit", "lightning") if c in cols]
    head = ["n", "N"] + [f"{c} ms" for c in cols] + [f"{c} / qhybrid" for c in ratios]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [str(r["n"]), str(r["N"])] + [cell(r.get(c)) for c in cols]
        cells += [cell(r.get(c), r["qhybrid"]["median_ms"]) for c in ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="n = 4, 6 and N = 256 only; no slow simulators")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per point (default 15, quick 7)")
    p.add_argument("--cap", type=float, default=None, help="seconds allowed per point and simulator "
                                                           "(default 60, quick 3)")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_engine.json")
    p.add_argument("--device", default="cpu", help="where qhybrid runs (cpu, cuda, cuda:N); the other "
                                                  "simulators run on the CPU and are skipped off it")
    args = p.parse_args(argv)
    args.device = torch.device(args.device)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device on this machine", file=sys.stderr)
        return 2
    args.repeats, args.cap = args.repeats or (7 if args.quick else 15), args.cap or (3.0 if args.quick else 60.0)
    torch.set_num_threads(2)
    torch.manual_seed(0)

    on_cpu = args.device.type == "cpu"
    extras = {"pennylane": on_cpu and have("pennylane"), "lightning": on_cpu and have("pennylane_lightning"),
              "qiskit_ml": on_cpu and have("qiskit_machine_learning")}
    for name, ok in extras.items():
        if not ok:
            print(f"note: {name} is not installed; its column is skipped (pip install 'qhybrid[all]')")
    sizes = [4, 6] if args.quick else [4, 6, 8, 10]
    batches = [256] if args.quick else [256, 4096]
    rows = []
    for n in sizes:
        for N in batches:
            t = time.perf_counter()
            rows.append(bench_point(n, N, args, extras))
            print(f"  n={n:2d} N={N:4d}: {time.perf_counter() - t:5.1f} s", file=sys.stderr, flush=True)

    print(f"\nforward + backward (input and weight gradients), median ms, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, device {args.device}\n")
    print(table(rows))
    busy = max(r["load_before"].get("cpu_pressure_avg10", 0) for r in rows)
    if busy > 10:
        print(f"\nnote: the machine was busy during this run (CPU pressure up to {busy:.0f}%); "
              f"absolute times are inflated, compare the ratios")
    meta = {"command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
            "device": str(args.device), "gpu": torch.cuda.get_device_name(args.device) if not on_cpu else None,
            "quick": args.quick, "repeats": args.repeats, "cap_s": args.cap, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "machine": platform.platform(),
            "processor": platform.processor(), "python": platform.python_version(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    for dist in ("pennylane", "pennylane_lightning", "qiskit", "qiskit-machine-learning"):
        if have(dist.replace("-", "_")):
            meta[dist] = importlib.metadata.version(dist)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
