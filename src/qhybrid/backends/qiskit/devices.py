"""Fake IBM devices (qiskit-ibm-runtime snapshots) and compiling circuits for a device.

    fake_backend("fake_manila")   -> FakeManilaV2()   ("ibm_brisbane" -> FakeBrisbane(): the snapshot
                                                        of a real device, for offline cost estimates)
    compile_for(circuit, device)  -> (Expanded, ISA circuit, observables on its layout)
    param_columns(isa, exp)       -> value columns in the transpiled circuit's parameter order
The noise numbers read from a device (error rates, T1, readout) are in backends/noise.py.
"""
from __future__ import annotations

from ..._optional import require
from ...validation import did_you_mean
from .expand import Expanded


def fake_class_names() -> list[str]:
    fp = require("qiskit_ibm_runtime.fake_provider")
    return sorted(n for n in dir(fp) if n.startswith("Fake") and "Provider" not in n and "Fractional" not in n)


def fake_names() -> list[str]:
    """fake_manila, fake_brisbane, ... (the names qhybrid accepts)."""
    out = []
    for cls in fake_class_names():
        stem = cls[4:-2] if cls.endswith("V2") else cls[4:]
        out.append("fake_" + "".join("_" + c.lower() if c.isupper() and i else c.lower()
                                     for i, c in enumerate(stem)))
    return out


def fake_backend(name: str):
    """'fake_manila' (or 'FakeManilaV2', or a real name 'ibm_manila') -> a fake backend instance."""
    fp = require("qiskit_ibm_runtime.fake_provider")
    stem = name.lower()
    for prefix in ("fake_", "ibm_", "ibmq_"):
        if stem.startswith(prefix):
            stem = stem[len(prefix):]
            break
    camel = "".join(part.capitalize() for part in stem.split("_"))
    for cls_name in (name, f"Fake{camel}V2", f"Fake{camel}"):
        cls = getattr(fp, cls_name, None)
        if isinstance(cls, type):
            return cls()
    names = fake_names()
    raise ValueError(f"unknown fake device {name!r}{did_you_mean(name.lower(), names)}; "
                     f"qiskit-ibm-runtime ships: {', '.join(names)}")


def check_fits(n_qubits: int, backend, label: str) -> None:
    have = backend.num_qubits
    if n_qubits > have:
        raise ValueError(f"the circuit needs {n_qubits} qubits but {label} has only {have}; "
                         f"use fewer qubits (model.quantum.n_qubits) or a larger device")


def compile_for(circuit, device=None, optimization_level: int = 1):
    """(Expanded, ISA circuit, observables on its layout): the expanded export, transpiled for `device`."""
    exp = Expanded(circuit)
    if device is None:
        return exp, exp.qc, exp.observables
    from qiskit.transpiler import generate_preset_pass_manager
    check_fits(circuit.n_qubits, device, device.name)
    pm = generate_preset_pass_manager(optimization_level=optimization_level, backend=device, seed_transpiler=0)
    isa = pm.run(exp.qc)
    return exp, isa, [o.apply_layout(isa.layout) for o in exp.observables]


def param_columns(isa, exp) -> list[int]:
    """Column of exp's value matrix for each parameter of the (transpiled) circuit, in the circuit's order."""
    pos = {p.name: k for k, p in enumerate(exp.params)}
    return [pos[p.name] for p in isa.parameters]
