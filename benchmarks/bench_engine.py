"""Engine benchmark: qhybrid's statevector backend against PennyLane, qiskit-machine-learning,
torchquantum and TensorCircuit-ng.

    .venv/bin/python benchmarks/bench_engine.py            # full run (`make bench`), about 10 minutes
    .venv/bin/python benchmarks/bench_engine.py --quick    # n = 4, 6 and N = 256 only, < 1 minute
    .venv-peers/bin/python benchmarks/bench_engine.py      # torchquantum and TensorCircuit-ng columns

torchquantum 0.1.8 needs qiskit < 1, so those two anchors live in a separate environment
(benchmarks/peers/requirements.txt says how to make it); each anchor whose package is missing is
skipped with a note, so the script runs in either environment.

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
  torchquantum    tq.QuantumDevice(bsz=N) and its functional gates (complex64), tq.measurements.expval,
                  torch autograd
  tc-ng           TensorCircuit-ng on JAX (complex64): per-sample tc.Circuit, K.vmap over the batch,
                  K.value_and_grad for inputs and weights, K.jit of the whole step (compiled before timing)
qhybrid, qhybrid f64, default.qubit, torchquantum and tc-ng run interleaved in short blocks (a busy
machine slows them alike); each entry is the median of --repeats timed steps (fewer once a point has used --cap
seconds, at least 3), each block after one untimed warm-up step. The slow simulators are first
timed on a 16-sample slice; if the extrapolated step time exceeds --cap seconds the point is
recorded as ">cap" (the estimate is in the JSON) and not run. Before timing, the script asserts
that every simulator returns the same outputs (default.qubit, torchquantum and tc-ng also the same
input and weight gradients) as qhybrid, so the same circuit is timed everywhere. The JSON also
records the machine's load.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
import types
import warnings
from pathlib import Path

import torch

import qhybrid
from qhybrid.circuit.angles import Weight, angle_value

PROBE = 16          # samples used to extrapolate the slow simulators
COLUMNS = ["qhybrid", "qhybrid f64", "default.qubit", "torchquantum", "tc-ng", "lightning", "EstimatorQNN"]
RATIOS = ["default.qubit", "torchquantum", "tc-ng", "lightning"]
PEERS_HINT = "a separate environment: see benchmarks/peers/requirements.txt"


def have(module: str) -> bool:
    try:
        return bool(__import__(module))
    except ImportError:
        return False


def import_torchquantum():
    """torchquantum, or None if it is not installed or does not import. torchquantum 0.1.8's package
    __init__ imports its dataset loaders (MNIST, CIFAR, vowel), the only part that needs torchvision;
    PyPI's torchvision wheels are CUDA builds that do not load against the CPU torch, so where
    torchvision is absent that subpackage (unused here) is left out."""
    if importlib.util.find_spec("torchquantum") is None:
        return None
    if importlib.util.find_spec("torchvision") is None:
        sys.modules.setdefault("torchquantum.dataset", types.ModuleType("torchquantum.dataset"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # qiskit-ibm-runtime's pkg_resources deprecation
            import torchquantum
    except Exception as e:  # noqa: BLE001 - any failure means the column is skipped, with the reason
        print(f"note: torchquantum does not import ({type(e).__name__}: {e}); its column is skipped")
        return None
    return torchquantum


def import_tensorcircuit():
    """tensorcircuit (tensorcircuit-ng) set to the JAX backend in complex64, or None."""
    if importlib.util.find_spec("tensorcircuit") is None or importlib.util.find_spec("jax") is None:
        return None
    import tensorcircuit as tc
    tc.set_backend("jax")
    tc.set_dtype("complex64")
    return tc


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


def z_words(circuit) -> list[int]:
    """The wires of the circuit's observables, which must all be single-wire Z (as in this layer)."""
    if any(len(o) != 1 or o[0][1] != "Z" for o in circuit.observables):
        raise NotImplementedError("the peer anchors measure single-wire Z observables only")
    return [o[0][0] for o in circuit.observables]


def torchquantum_layer(circuit, w: torch.Tensor):
    """The circuit on torchquantum: a tq.QuantumDevice with bsz = N, its functional gates (batched
    RY(x_i) matrices, one shared matrix per weight gate; complex64), tq.measurements.expval of
    PauliZ on the measured wires, torch autograd. Returns (layer(x) -> (N, n_obs), its weight Parameter)."""
    tq = import_torchquantum()
    import torchquantum.functional as tqf

    fns = {"rx": tqf.rx, "ry": tqf.ry, "rz": tqf.rz, "rot": tqf.rot, "cnot": tqf.cnot, "cz": tqf.cz}
    wq = torch.nn.Parameter(w.detach().clone())
    gates = []
    for op in circuit.ops:
        if op.name not in fns:
            raise NotImplementedError(f"no torchquantum mapping for gate {op.name!r}")
        ps = op.params
        start = ps[0].index if ps and isinstance(ps[0], Weight) else -1
        if len(ps) > 1 and all(isinstance(p, Weight) and p.scale == 1 and p.index == start + k
                               for k, p in enumerate(ps)):
            read = (lambda xb, a=start, b=start + len(ps): wq[a:b].unsqueeze(0))    # (1, k): one matrix
        elif ps:
            def read(xb, ps=ps):
                vals = [angle_value(p, lambda i: xb[:, i], lambda j: wq[j]) for p in ps]
                vals = torch.broadcast_tensors(*[torch.as_tensor(v, dtype=xb.dtype) for v in vals])
                return vals[0] if len(vals) == 1 else torch.stack(vals, -1)
        else:
            read = None
        gates.append((fns[op.name], list(op.wires), read))
    wires = z_words(circuit)
    observables = [tq.PauliZ() for _ in wires]

    def layer(xb):
        qdev = tq.QuantumDevice(n_wires=circuit.n_qubits, bsz=len(xb), device=xb.device)
        for fn, ws, read in gates:
            fn(qdev, wires=ws, params=None if read is None else read(xb))
        return tq.measurements.expval(qdev, wires, observables)
    return layer, wq


def tensorcircuit_step(circuit, x: torch.Tensor, w: torch.Tensor):
    """The circuit on TensorCircuit-ng's JAX backend (complex64): a per-sample tc.Circuit, K.vmap over
    the batch, K.value_and_grad of the summed outputs for inputs and weights, K.jit of the whole step.
    Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) is tc's U(theta, omega, phi) up to a global
    phase. <Z_w> = |psi|^2 . z_w from tc's state. Returns (step() -> (y, gx, gw) as numpy, compile s)."""
    tc = import_tensorcircuit()
    import jax
    import numpy as np

    K = tc.backend
    n = circuit.n_qubits
    wires = z_words(circuit)
    bits = (np.arange(2 ** n)[:, None] >> (n - 1 - np.array(wires))[None, :]) & 1    # wire 0 = MSB
    signs = K.convert_to_tensor((1 - 2 * bits).astype(np.float32))

    def single(xs, ws):
        c = tc.Circuit(n)
        for op in circuit.ops:
            v = [angle_value(p, lambda i: xs[i], lambda j: ws[j]) for p in op.params]
            if op.name == "rot":
                c.u(op.wires[0], theta=v[1], phi=v[2], lbd=v[0])
            elif op.name in ("rx", "ry", "rz"):
                getattr(c, op.name)(op.wires[0], theta=v[0])
            elif op.name in ("cnot", "cz"):
                getattr(c, op.name)(*op.wires)
            else:
                raise NotImplementedError(f"no TensorCircuit mapping for gate {op.name!r}")
        psi = c.state()
        return K.real(psi * K.conj(psi)) @ signs

    batched = K.vmap(single, vectorized_argnums=0)

    def loss(xb, wb):
        y = batched(xb, wb)
        return K.sum(y), y

    vag = K.jit(K.value_and_grad(loss, argnums=(0, 1), has_aux=True))
    xj, wj = jax.numpy.asarray(x.detach().cpu().numpy()), jax.numpy.asarray(w.detach().cpu().numpy())

    def step():
        (_, y), (gx, gw) = vag(xj, wj)
        return jax.block_until_ready((y, gx, gw))

    t = time.perf_counter()
    step()
    return step, time.perf_counter() - t


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
    gx_ref, gw_ref = x.grad.detach().clone(), w.grad.detach().clone()
    ref = circuit.run(x[:PROBE], w).detach()

    def check(name, y, xb, atol=1e-4):
        expect = y_ref if len(xb) == N else ref
        torch.testing.assert_close(torch.as_tensor(y).detach().float(), expect, atol=atol, rtol=0,
                                   msg=lambda m: f"{name} disagrees with qhybrid at n={n}, N={N}: {m}")

    def check_grads(name, gx, gw=None):
        # the weight gradients are sums over the batch: compare them relative to their largest entry
        torch.testing.assert_close(torch.as_tensor(gx).float(), gx_ref, atol=1e-4, rtol=0,
                                   msg=lambda m: f"{name} input gradients at n={n}, N={N}: {m}")
        if gw is not None:
            torch.testing.assert_close(torch.as_tensor(gw).float(), gw_ref, rtol=0,
                                       atol=1e-4 * max(1.0, gw_ref.abs().max().item()),
                                       msg=lambda m: f"{name} weight gradients at n={n}, N={N}: {m}")

    check("qhybrid f64", steps["qhybrid f64"](), x)
    if extras["pennylane"]:
        layer = pennylane_layer(circuit, "default.qubit", "backprop", w)
        params = list(layer.parameters())
        steps["default.qubit"] = make_step(layer, x, params)
        check("default.qubit", steps["default.qubit"](), x)
        check_grads("default.qubit", x.grad, params[0].grad)
    if extras["torchquantum"]:
        layer, wq = torchquantum_layer(circuit, w)
        steps["torchquantum"] = make_step(layer, x, [wq])
        check("torchquantum", steps["torchquantum"](), x)
        check_grads("torchquantum", x.grad, wq.grad)
    if extras["tc-ng"]:
        step, row["tc-ng compile_s"] = tensorcircuit_step(circuit, x, w)
        y, gx, gw = step()
        check("tc-ng", y, x)
        check_grads("tc-ng", gx, gw)
        steps["tc-ng"] = step
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
    ratios = [c for c in RATIOS if c in cols]
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
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2); JAX uses every CPU "
                                                          "the process may run on: pin with taskset to match")
    p.add_argument("--n", type=int, nargs="+", default=None, help="qubit counts (default 4 6 8 10; quick 4 6)")
    p.add_argument("--N", type=int, nargs="+", default=None, help="batch sizes (default 256 4096; quick 256)")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_engine.json")
    p.add_argument("--device", default="cpu", help="where qhybrid runs (cpu, cuda, cuda:N); the other "
                                                  "simulators run on the CPU and are skipped off it")
    args = p.parse_args(argv)
    args.device = torch.device(args.device)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but torch sees no CUDA device on this machine", file=sys.stderr)
        return 2
    args.repeats, args.cap = args.repeats or (7 if args.quick else 15), args.cap or (3.0 if args.quick else 60.0)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    on_cpu = args.device.type == "cpu"
    extras = {"pennylane": on_cpu and have("pennylane"), "lightning": on_cpu and have("pennylane_lightning"),
              "qiskit_ml": on_cpu and have("qiskit_machine_learning"),
              "torchquantum": on_cpu and import_torchquantum() is not None,
              "tc-ng": on_cpu and import_tensorcircuit() is not None}
    for name, ok in extras.items():
        if not ok and on_cpu:
            how = PEERS_HINT if name in ("torchquantum", "tc-ng") else "pip install 'qhybrid[all]'"
            print(f"note: {name} is not available; its column is skipped ({how})")
    sizes = args.n or ([4, 6] if args.quick else [4, 6, 8, 10])
    batches = args.N or ([256] if args.quick else [256, 4096])
    rows = []
    for n in sizes:
        for N in batches:
            t = time.perf_counter()
            rows.append(bench_point(n, N, args, extras))
            print(f"  n={n:2d} N={N:4d}: {time.perf_counter() - t:5.1f} s", file=sys.stderr, flush=True)

    print(f"\nforward + backward (input and weight gradients), median ms, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {len(os.sched_getaffinity(0))} of {os.cpu_count()} CPUs, "
          f"device {args.device}\n")
    print(table(rows))
    busy = max(r["load_before"].get("cpu_pressure_avg10", 0) for r in rows)
    if busy > 10:
        print(f"\nnote: the machine was busy during this run (CPU pressure up to {busy:.0f}%); "
              f"absolute times are inflated, compare the ratios")
    meta = {"command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
            "device": str(args.device), "gpu": torch.cuda.get_device_name(args.device) if not on_cpu else None,
            "quick": args.quick, "repeats": args.repeats, "cap_s": args.cap, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)), "machine": platform.platform(),
            "processor": platform.processor(), "python": platform.python_version(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    for dist in ("pennylane", "pennylane_lightning", "qiskit", "qiskit-machine-learning", "torchquantum",
                 "tensorcircuit-ng", "jax", "jaxlib"):
        try:
            meta[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
