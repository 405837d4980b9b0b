"""Export a Circuit (anything with the IR's n_qubits, ops and observables) to PennyLane (a quantum
function), Qiskit (a parameterised QuantumCircuit) and OpenQASM 3.

Qiskit numbers qubits little-endian; qhybrid (like PennyLane) makes wire 0 the most
significant bit. We map wire w -> Qiskit qubit n-1-w, so `Statevector(qc).data[i]` equals
qhybrid's amplitude i and Pauli labels read left to right as wires 0..n-1.
"""
from __future__ import annotations

import numpy as np

from .._optional import require
from .angles import angle_value
from .gates import PENNYLANE_NAMES, QISKIT_NAMES

CONTROLLED_ROTATIONS = ("crx", "cry", "crz")     # C-R(theta) = R(theta/2) CX|CZ R(-theta/2) CX|CZ when decomposed


def to_pennylane(circuit):
    """A quantum function `qfunc(inputs, weights)` returning the expectations; use inside a QNode.

    inputs may carry one leading batch dim (PennyLane parameter broadcasting supports only
    one): inputs (B, n_inputs); reshape more leading dims to one first.
    """
    qml = require("pennylane")

    letters = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}

    def qfunc(inputs=None, weights=None):
        for op in circuit.ops:
            params = [angle_value(p, lambda i: inputs[..., i], lambda j: weights[j]) for p in op.params]
            ref = next((a for a in params if not isinstance(a, float)), None)
            if len(params) > 1 and ref is not None:
                # PennyLane's Rot cannot mix a Python float with a torch tensor (phi float,
                # omega tensor raises TypeError), so constants follow the tensors' interface
                # (via a float64 array: a bare float would pass through float32 in torch).
                params = [qml.math.cast_like(qml.math.convert_like(np.asarray(a), ref), ref)
                          if isinstance(a, float) else a for a in params]
            getattr(qml, PENNYLANE_NAMES[op.name])(*params, wires=list(op.wires))
        out = []
        for obs in circuit.observables:
            if not obs:
                out.append(qml.expval(qml.Identity(0)))
                continue
            term = letters[obs[0][1]](obs[0][0])
            for w, p in obs[1:]:
                term = term @ letters[p](w)
            out.append(qml.expval(term))
        return out

    return qfunc


def build_qiskit(circuit, angle, decompose_controlled: bool = False):
    """The one Qiskit builder: a QuantumCircuit of `circuit` (wire w -> qubit n-1-w), no measurements.

    angle(p, factor) gives the Qiskit value of IR angle p times factor; it is called once per angle
    occurrence in gate order (Rot is exported as RZ RY RZ; with decompose_controlled each controlled
    rotation becomes R(theta/2) CX|CZ R(-theta/2) CX|CZ on the target, two occurrences: factors 1/2, -1/2).
    """
    qk = require("qiskit")
    n = circuit.n_qubits
    qc = qk.QuantumCircuit(n)
    for op in circuit.ops:
        qubits = [n - 1 - q for q in op.wires]
        if op.name == "rot":
            phi, theta, omega = (angle(p, 1.0) for p in op.params)
            qc.rz(phi, qubits[0]); qc.ry(theta, qubits[0]); qc.rz(omega, qubits[0])
        elif decompose_controlled and op.name in CONTROLLED_ROTATIONS:
            rot, ent = getattr(qc, op.name[1:]), (qc.cz if op.name == "crx" else qc.cx)   # Z RX(a) Z = RX(-a)
            c, t = qubits
            rot(angle(op.params[0], 0.5), t); ent(c, t); rot(angle(op.params[0], -0.5), t); ent(c, t)
        else:
            getattr(qc, QISKIT_NAMES[op.name])(*[angle(p, 1.0) for p in op.params], *qubits)
    return qc


def to_qiskit(circuit):
    """A QuantumCircuit with ParameterVectors `x` (inputs) and `w` (weights); no measurements.

    Bind with `qc.assign_parameters({qc_x: x_values, qc_w: w_values}, strict=False)` using the
    vectors stored as `qc.metadata["inputs"]` / `qc.metadata["weights"]` (strict=False: entries
    no gate reads, e.g. reserved inputs or weights, are not in the circuit, and Qiskit's default
    strict binding rejects them).
    """
    require("qiskit")
    from qiskit.circuit import ParameterVector

    x = ParameterVector("x", circuit.n_inputs)
    w = ParameterVector("w", circuit.n_weights)
    qc = build_qiskit(circuit, lambda p, factor: angle_value(p, x.__getitem__, w.__getitem__))
    qc.metadata = {"inputs": x, "weights": w}
    return qc


def qiskit_observables(circuit):
    """The observables as Qiskit SparsePauliOps on the exported circuit's qubit order."""
    require("qiskit")
    from qiskit.quantum_info import SparsePauliOp

    n = circuit.n_qubits
    ops = []
    for obs in circuit.observables:
        label = ["I"] * n
        for wire, p in obs:
            label[wire] = p          # string position = wire (Qiskit reads labels right to left)
        ops.append(SparsePauliOp("".join(label)))
    return ops


def to_qasm3(circuit) -> str:
    """OpenQASM 3 text of the exported Qiskit circuit (inputs and weights as `input float` parameters)."""
    require("qiskit")
    from qiskit import qasm3

    return qasm3.dumps(to_qiskit(circuit))
