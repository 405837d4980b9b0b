"""Export a Circuit to PennyLane (a quantum function), Qiskit (a parameterised QuantumCircuit)
and OpenQASM 3.

Qiskit numbers qubits little-endian; qhybrid (like PennyLane) makes wire 0 the most
significant bit. We map wire w -> Qiskit qubit n-1-w, so `Statevector(qc).data[i]` equals
qhybrid's amplitude i and Pauli labels read left to right as wires 0..n-1.
"""
from __future__ import annotations

import numpy as np

from ._optional import require
from .circuits import Circuit, Input, InputProduct, Weight
from .gates import PENNYLANE_NAMES, QISKIT_NAMES


def to_pennylane(circuit: Circuit):
    """A quantum function `qfunc(inputs, weights)` returning the expectations; use inside a QNode.

    inputs may carry one leading batch dim (PennyLane parameter broadcasting supports only
    one): inputs (B, n_inputs); reshape more leading dims to one first.
    """
    qml = require("pennylane")

    def value(p, inputs, weights):
        if isinstance(p, Input):
            return inputs[..., p.index] * p.scale
        if isinstance(p, InputProduct):
            return inputs[..., p.i] * inputs[..., p.j] * p.scale
        if isinstance(p, Weight):
            return weights[p.index] * p.scale
        return p

    letters = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}

    def qfunc(inputs=None, weights=None):
        for op in circuit.ops:
            params = [value(p, inputs, weights) for p in op.params]
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


def to_qiskit(circuit: Circuit):
    """A QuantumCircuit with ParameterVectors `x` (inputs) and `w` (weights); no measurements.

    Bind with `qc.assign_parameters({qc_x: x_values, qc_w: w_values}, strict=False)` using the
    vectors stored as `qc.metadata["inputs"]` / `qc.metadata["weights"]` (strict=False: entries
    no gate reads, e.g. reserved inputs or weights, are not in the circuit, and Qiskit's default
    strict binding rejects them).
    """
    qk = require("qiskit")
    from qiskit.circuit import ParameterVector

    n = circuit.n_qubits
    x = ParameterVector("x", circuit.n_inputs)
    w = ParameterVector("w", circuit.n_weights)
    qc = qk.QuantumCircuit(n)

    def value(p):
        if isinstance(p, Input):
            return x[p.index] * p.scale if p.scale != 1 else x[p.index]
        if isinstance(p, InputProduct):
            return x[p.i] * x[p.j] * p.scale
        if isinstance(p, Weight):
            return w[p.index] * p.scale if p.scale != 1 else w[p.index]
        return p

    for op in circuit.ops:
        qubits = [n - 1 - q for q in op.wires]
        angles = [value(p) for p in op.params]
        if op.name == "rot":
            phi, theta, omega = angles
            qc.rz(phi, qubits[0]); qc.ry(theta, qubits[0]); qc.rz(omega, qubits[0])
        else:
            getattr(qc, QISKIT_NAMES[op.name])(*angles, *qubits)
    qc.metadata = {"inputs": x, "weights": w}
    return qc


def qiskit_observables(circuit: Circuit):
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


def to_qasm3(circuit: Circuit) -> str:
    """OpenQASM 3 text of the exported Qiskit circuit (inputs and weights as `input float` parameters)."""
    require("qiskit")
    from qiskit import qasm3

    return qasm3.dumps(to_qiskit(circuit))


# ---- layers ------------------------------------------------------------------------------
def layer_circuits(module) -> dict:
    """{qualified name: Circuit} of every CircuitRunner inside a torch module (the module itself: name '')."""
    from .layers import CircuitRunner
    return {name: m.circuit for name, m in module.named_modules() if isinstance(m, CircuitRunner)}


def layer_to_qiskit(module, bind_weights: bool = True) -> dict:
    """{name: QuantumCircuit} for every circuit of a layer or model; with bind_weights the current trained
    weights are bound and only the inputs `x` stay parameters."""
    from .layers import CircuitRunner
    out = {}
    for name, m in module.named_modules():
        if isinstance(m, CircuitRunner):
            qc = to_qiskit(m.circuit)
            if bind_weights and m.circuit.n_weights:
                values = m.weights.detach().double().cpu().tolist()
                qc = qc.assign_parameters(dict(zip(qc.metadata["weights"], values)), strict=False)
                qc.metadata = {"inputs": qc.metadata["inputs"] if qc.metadata else None}
            out[name] = qc
    return out


def layer_to_qasm3(module, bind_weights: bool = True) -> dict:
    """{name: OpenQASM 3 text} for every circuit of a layer or model (see layer_to_qiskit)."""
    require("qiskit")
    from qiskit import qasm3
    return {name: qasm3.dumps(qc) for name, qc in layer_to_qiskit(module, bind_weights).items()}
