"""Shot-based backend benchmark: qhybrid's `aer` backend against qiskit-machine-learning, same circuit and shots.

    .venv/bin/python benchmarks/bench_backends.py               # about 2-3 minutes (the reference dominates)
    .venv/bin/python benchmarks/bench_backends.py --cap 30      # skip a reference point estimated above 30 s

The layer: `qhybrid.build_circuit(4, 2, "angle_y", "strongly_entangling")` (4 inputs, 24 weights, <Z> on
every wire); one step = forward over N = 256 parameter sets + backward of `output.sum()` with gradients for
the weights AND the inputs, 1024 shots per circuit. Timed in one process, torch.set_num_threads(2):
  qhybrid aer           get_backend("aer", shots=1024): ONE EstimatorV2 job per forward (one PUB, 256 sets),
                        ONE per backward (256 x 56 parameter-shifted sets), qhybrid's AerEstimator
  qhybrid + stock Aer   the same jobs through qiskit_aer.primitives.EstimatorV2 (precision 1/32): shows what
                        the faster estimator contributes (the stock one looks results up in O(sets^2))
  EstimatorQNN          qiskit-machine-learning EstimatorQNN + TorchConnector on qiskit_aer's EstimatorV2
                        with default_precision 1/32 (= 1024 shots), input_gradients=True, its default
                        parameter-shift gradient
All three compute exact expectation values per parameter set with Aer and add shot noise (binomial for
qhybrid's estimator, Gaussian of std 1/32 for the stock one). Median over --repeats steps after one
warm-up step (the slow ones: --ref-repeats, no warm-up). Before timing, every output is checked against
the exact statevector values (within 6/32). A reference point whose 16-sample probe extrapolates above
--cap seconds is recorded as over the cap and not run.
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
from qhybrid.backends import get_backend

N, SHOTS, PROBE = 256, 1024, 16


def timed_step(fwd, x, params) -> tuple[float, float, torch.Tensor]:
    """(forward s, backward s, output) of one step with input and weight gradients."""
    x.grad = None
    for p in params:
        p.grad = None
    t0 = time.perf_counter()
    y = fwd(x)
    t1 = time.perf_counter()
    y.sum().backward()
    return t1 - t0, time.perf_counter() - t1, y.detach()


def run(name, fwd, x, params, repeats, warmup, exact, cap=None) -> dict:
    if cap is not None:                                   # probe a slice and extrapolate
        xp = x[:PROBE].detach().clone().requires_grad_(True)
        f, b, _ = timed_step(fwd, xp, params)
        estimate = (f + b) * len(x) / PROBE
        if estimate > cap:
            print(f"  {name}: estimated {estimate:.0f} s > cap {cap:.0f} s, skipped", file=sys.stderr)
            return {"status": "over_cap", "estimate_s": estimate}
    if warmup:
        timed_step(fwd, x, params)
    fs, bs = [], []
    for _ in range(repeats):
        f, b, y = timed_step(fwd, x, params)
        fs.append(f); bs.append(b)
        err = (y.double() - exact).abs().max().item()
        if err > 6 / SHOTS ** 0.5:
            raise SystemExit(f"{name} disagrees with the exact values by {err:.3f} (> 6 sigma)")
    step = [f + b for f, b in zip(fs, bs)]
    print(f"  {name}: {statistics.median(step):.2f} s per step", file=sys.stderr, flush=True)
    return {"status": "ok", "forward_s": fs, "backward_s": bs, "step_s": step,
            "median_forward_s": statistics.median(fs), "median_backward_s": statistics.median(bs),
            "median_step_s": statistics.median(step)}


def reference_layer(circuit, w):
    from qiskit_aer.primitives import EstimatorV2
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    qc = circuit.to_qiskit()
    est = EstimatorV2(options={"default_precision": SHOTS ** -0.5})
    qnn = EstimatorQNN(circuit=qc, estimator=est, observables=circuit.qiskit_observables(),
                       input_params=list(qc.metadata["inputs"]), weight_params=list(qc.metadata["weights"]),
                       input_gradients=True, default_precision=SHOTS ** -0.5)
    return TorchConnector(qnn, initial_weights=w.detach().double().numpy())


def table(results: dict) -> str:
    base = results["qhybrid aer"]["median_step_s"]
    lines = ["| implementation | forward (s) | backward (s) | step (s) | slower than qhybrid |",
             "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        if r["status"] != "ok":
            lines.append(f"| {name} | - | - | > cap (est. {r['estimate_s']:.0f}) | > {r['estimate_s'] / base:.0f}x |")
            continue
        lines.append(f"| {name} | {r['median_forward_s']:.3f} | {r['median_backward_s']:.2f} | "
                     f"{r['median_step_s']:.2f} | {r['median_step_s'] / base:.1f}x |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed steps for qhybrid (median)")
    p.add_argument("--ref-repeats", type=int, default=1, help="timed steps for the slow implementations")
    p.add_argument("--cap", type=float, default=300.0, help="seconds allowed per slow implementation")
    p.add_argument("--no-stock", action="store_true", help="skip the qhybrid + stock Aer estimator column")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_backends.json")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(0)
    circuit = qhybrid.build_circuit(4, 2, "angle_y", "strongly_entangling")
    x = (torch.rand(N, 4, generator=gen) * torch.pi).requires_grad_(True)
    w = torch.nn.Parameter(torch.rand(circuit.n_weights, generator=gen) * 2 * torch.pi)
    exact = circuit.run(x.detach().double(), w.detach().double())

    results = {}
    qh = get_backend("aer", shots=SHOTS, seed=0)
    results["qhybrid aer"] = run("qhybrid aer", lambda xb: qh.expval(circuit, xb, w), x, [w], args.repeats, True, exact)
    if not args.no_stock:
        from qiskit_aer.primitives import EstimatorV2
        stock = get_backend("aer", shots=SHOTS, seed=0)
        stock.estimator = EstimatorV2(options={"backend_options": {"runtime_parameter_bind_enable": True}})
        results["qhybrid + stock Aer EstimatorV2"] = run("qhybrid + stock Aer EstimatorV2",
                                                         lambda xb: stock.expval(circuit, xb, w), x, [w],
                                                         args.ref_repeats, False, exact, args.cap)
    try:
        layer = reference_layer(circuit, w)
    except ImportError:
        print("note: qiskit-machine-learning is not installed (pip install 'qhybrid[bench]'); reference skipped")
    else:
        results["EstimatorQNN + TorchConnector"] = run("EstimatorQNN + TorchConnector", layer, x,
                                                       list(layer.parameters()), args.ref_repeats, False, exact,
                                                       args.cap)
    print(f"\nN = {N} circuits, 4 qubits, {SHOTS} shots, forward + backward (input and weight gradients), "
          f"median over {args.repeats} (qhybrid) / {args.ref_repeats} (others) steps, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs\n")
    print(table(results))
    meta = {"command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
            "N": N, "shots": SHOTS, "qubits": 4, "repeats": args.repeats, "ref_repeats": args.ref_repeats,
            "cap_s": args.cap, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "machine": platform.platform(), "python": platform.python_version(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    for dist in ("qiskit", "qiskit-aer", "qiskit-machine-learning"):
        try:
            meta[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "results": results, "table": table(results)}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
