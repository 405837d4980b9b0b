"""QPU time before running: circuits, shots, transpiled depth, 2-qubit gates and QPU seconds of a circuit.

(The cost of a whole configured run, circuit by circuit, is qhybrid.planning.plan_run.)

QPU-time model (stated, not measured; see docs/backends.md):

    job seconds = job_overhead_s + circuits * shots * (rep_delay_s + circuit_s)
    circuit_s   = critical path of the transpiled circuit with the device's reported gate durations
                  (Target instruction durations; 0 for virtual RZ) + the measurement duration

A forward pass of one circuit is 1 job of N circuits (parameter sets); a training step adds 1 backward
job of N * R circuits, R = parameter-shift terms per sample (2 per shifted angle occurrence, inputs
included). A model runs this per circuit call (planning.plan_run sums them).
Defaults: job_overhead_s = 2.0 (submission, loading, compilation on the server -- an assumption),
rep_delay_s = the device's default_rep_delay (250 us on IBM devices) or 250 us.
"""
from __future__ import annotations

import os

from ..base import check_shots
from ..registry import backend_forms, get_backend
from .account import account_configured, open_service, redact
from .devices import compile_for, fake_backend
from .expand import Expanded
from .param_shift import n_shift_terms

JOB_OVERHEAD_S = 2.0
REP_DELAY_S = 250e-6
_FALLBACK = {1: 50e-9, 2: 500e-9}          # gate seconds when a device reports none
_MEASURE_S = 1.5e-6


def circuit_seconds(isa, target=None) -> float:
    """Critical-path duration of a transpiled circuit (plus final measurement) from Target durations."""
    finish = [0.0] * isa.num_qubits
    used = set()
    for inst in isa.data:
        name = inst.operation.name
        if name in ("barrier", "save_expval", "save_expectation_value"):
            continue
        qs = tuple(isa.find_bit(q).index for q in inst.qubits)
        used.update(qs)
        dur = None
        if target is not None and name in target.operation_names:
            props = target[name].get(qs)
            dur = props.duration if props is not None else None
        if dur is None:
            dur = 0.0 if name == "rz" else _FALLBACK.get(len(qs), _FALLBACK[2])
        start = max(finish[q] for q in qs)
        for q in qs:
            finish[q] = start + dur
    meas = _MEASURE_S
    if target is not None and "measure" in target.operation_names and used:
        durs = [target["measure"].get((q,)) for q in used]
        durs = [p.duration for p in durs if p is not None and p.duration]
        meas = max(durs) if durs else meas
    return max(finish, default=0.0) + meas


def resolve_device(backend_name: str):
    """(device backend or None, note) for a backend name, without running anything.

    ibm:<real device>: the live device when an account is configured and reachable, else the
    qiskit-ibm-runtime snapshot of the same name (fake_<name>), said so in the note.
    """
    family, _, arg = backend_name.partition(":")
    if family not in backend_forms():
        get_backend(backend_name)                     # raises the registry's clear error
    if not arg or family in ("pennylane", "statevector") or (family == "density" and not arg.startswith("fake_")):
        return None, "simulator: no device, no QPU time"
    if family != "ibm" or arg.startswith("fake_"):
        dev = fake_backend(arg)
        return dev, f"device snapshot {dev.name} (qiskit-ibm-runtime fake provider)"
    if account_configured() and os.environ.get("QHYBRID_IBM_LOCAL", "") not in ("1", "true", "yes"):
        try:
            return open_service().backend(arg), f"live device {arg} (current calibration)"
        except Exception as e:                       # offline, or no access: fall back to the snapshot
            reason = redact(str(e))[:120]
    else:
        reason = "no IBM account configured"
    try:
        dev = fake_backend(arg)
    except ValueError as e:
        raise ValueError(f"cannot estimate {backend_name}: the live device is out of reach ({reason}) and "
                         f"qiskit-ibm-runtime has no snapshot named like it. {e}") from None
    return dev, f"snapshot {dev.name} of {arg} ({reason}); live calibration may differ"


def estimate_cost(circuit, backend_name: str, n_circuits: int, shots: int | None = None, *,
                  inputs_grad: bool = True, job_overhead_s: float = JOB_OVERHEAD_S,
                  rep_delay_s: float | None = None, device=None, note: str | None = None) -> dict:
    """Cost of one forward pass and one training step of `n_circuits` parameter sets of `circuit`.

    Returns {"backend", "device", "note", "shots", "n_qubits", "transpiled_depth", "two_qubit_gates",
    "circuit_seconds", "forward": {...}, "training_step": {...}, "model"}; forward/training_step hold
    jobs, circuits, total_shots and qpu_seconds (None on simulators without a device).
    """
    require_int = isinstance(n_circuits, int) and n_circuits >= 1
    if not require_int:
        raise ValueError(f"n_circuits must be a positive integer, got {n_circuits!r}")
    shots = check_shots(shots, 1024)
    if device is None:
        device, note = resolve_device(backend_name)
    else:
        note = note or f"device {device.name}"
    if device is not None:
        exp, isa, _ = compile_for(circuit, device)
        target = device.target
        rep = rep_delay_s if rep_delay_s is not None else (getattr(device, "default_rep_delay", None) or REP_DELAY_S)
    else:
        from qiskit import transpile
        exp = Expanded(circuit)
        isa = transpile(exp.qc, basis_gates=["rz", "sx", "x", "cx"], optimization_level=1, seed_transpiler=0)
        target, rep = None, rep_delay_s if rep_delay_s is not None else REP_DELAY_S
    two_q = sum(1 for inst in isa.data if len(inst.qubits) == 2)
    dur = circuit_seconds(isa, target)
    R = n_shift_terms(exp, inputs_grad=inputs_grad)

    def part(jobs, circuits):
        qpu = jobs * job_overhead_s + circuits * shots * (rep + dur) if device is not None else None
        return {"jobs": jobs, "circuits": circuits, "total_shots": circuits * shots, "qpu_seconds": qpu}

    fwd = part(1, n_circuits)
    step = part(2, n_circuits * (1 + R))
    return {
        "backend": backend_name, "device": getattr(device, "name", None), "note": note, "shots": shots,
        "n_qubits": circuit.n_qubits, "device_qubits": getattr(device, "num_qubits", None),
        "transpiled_depth": isa.depth(), "two_qubit_gates": two_q, "circuit_seconds": dur,
        "shift_terms_per_sample": R, "forward": fwd, "training_step": step,
        "model": (f"qpu_seconds = jobs * {job_overhead_s:g} s + circuits * shots * (rep_delay {rep * 1e6:.0f} us "
                  f"+ circuit {dur * 1e6:.2f} us)"),
    }
