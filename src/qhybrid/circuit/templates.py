"""Circuit templates built from `n_qubits` and `n_layers` (never written out per wire).

Encodings read features x[0..n_qubits-1]; ansätze allocate fresh trainable weights with
`Circuit.new_weights`. Each ansatz reports its weight count via `ansatz_weight_count`.
Where PennyLane has a template of the same name the gate order and weight layout match it
(flattened row-major), so weights can be moved between the two:

    angle_encoding        ~ qml.AngleEmbedding
    iqp_encoding          ~ qml.IQPEmbedding (MultiRZ on two wires == IsingZZ)
    basic_entangler       ~ qml.BasicEntanglerLayers            weights (L, n)
    strongly_entangling   ~ qml.StronglyEntanglingLayers        weights (L, n, 3)
    hardware_efficient    RY-RZ on every wire + CNOT ladder (or ring)    weights (L, n, 2)
    reuploading           L x (encoding + one strongly-entangling layer)  (Perez-Salinas et al. 2020)
"""
from __future__ import annotations

from itertools import combinations

from ..validation import did_you_mean
from .angles import Input
from .ir import Circuit


def angle_encoding(c: Circuit, rotation: str = "Y", n_features: int | None = None, scale: float = 1.0) -> Circuit:
    """Feature i as a rotation angle on wire i (rotation X, Y or Z)."""
    rotation = rotation.upper()
    if rotation not in ("X", "Y", "Z"):
        raise ValueError(f"angle encoding rotation must be 'X', 'Y' or 'Z', got {rotation!r}")
    gate = "r" + rotation.lower()
    for i in range(n_features or c.n_qubits):
        c.add(gate, i, Input(i, scale))
    return c


def iqp_encoding(c: Circuit, n_repeats: int = 1, scale: float = 1.0) -> Circuit:
    """IQP feature map: H, RZ(x_i) on every wire, then IsingZZ(x_i x_j) on every pair (Havlicek et al. 2019)."""
    n = c.n_qubits
    for _ in range(n_repeats):
        for i in range(n):
            c.h(i)
            c.rz(i, Input(i, scale))
        for i, j in combinations(range(n), 2):
            c.isingzz(i, j, Input(i, scale) * Input(j))
    return c


def ring(n_qubits: int, r: int = 1) -> list[tuple[int, int]]:
    """The CNOT ring's (control, target) pairs: (i, i + r mod n) on every wire; one CNOT for n == 2, none for 1."""
    if n_qubits == 2:
        return [(0, 1)]
    return [(i, (i + r) % n_qubits) for i in range(n_qubits)] if n_qubits > 2 else []


def _ring(c: Circuit, r: int = 1):
    for ctrl, tgt in ring(c.n_qubits, r):
        c.cnot(ctrl, tgt)


def basic_entangler(c: Circuit, n_layers: int, rotation: str = "X") -> Circuit:
    """One rotation per wire and a CNOT ring per layer; weights (L, n)."""
    if rotation.upper() not in ("X", "Y", "Z"):
        raise ValueError(f"basic_entangler rotation must be 'X', 'Y' or 'Z', got {rotation!r}")
    gate = "r" + rotation.lower()
    for _ in range(n_layers):
        for i, w in enumerate(c.new_weights(c.n_qubits)):
            c.add(gate, i, w)
        _ring(c)
    return c


def strongly_entangling(c: Circuit, n_layers: int, ranges=None) -> Circuit:
    """Rot on every wire then CNOT(i, i+r_l) with r_l = l mod (n-1) + 1; weights (L, n, 3)."""
    n = c.n_qubits
    for layer in range(n_layers):
        for i in range(n):
            c.rot(i, *c.new_weights(3))
        if n > 1:
            r = ranges[layer] if ranges is not None else layer % (n - 1) + 1
            for i in range(n):
                c.cnot(i, (i + r) % n)
    return c


def hardware_efficient(c: Circuit, n_layers: int, entangle: str = "ladder") -> Circuit:
    """RY(w), RZ(w) on every wire then a CNOT ladder (i, i+1) or ring; weights (L, n, 2)."""
    if entangle not in ("ladder", "ring"):
        raise ValueError(f"entangle must be 'ladder' or 'ring', got {entangle!r}")
    n = c.n_qubits
    for _ in range(n_layers):
        for i in range(n):
            wy, wz = c.new_weights(2)
            c.ry(i, wy)
            c.rz(i, wz)
        for i in range(n - 1):
            c.cnot(i, i + 1)
        if entangle == "ring" and n > 2:
            c.cnot(n - 1, 0)
    return c


def reuploading(c: Circuit, n_layers: int, encoding: str = "angle_y") -> Circuit:
    """Data re-uploading: every layer re-encodes the features, then one strongly-entangling layer."""
    n = c.n_qubits
    for layer in range(n_layers):
        ENCODINGS[encoding](c)
        for i in range(n):
            c.rot(i, *c.new_weights(3))
        _ring(c, 1)
    return c


ENCODINGS = {
    "angle_x": lambda c: angle_encoding(c, "X"),
    "angle_y": lambda c: angle_encoding(c, "Y"),
    "angle_z": lambda c: angle_encoding(c, "Z"),
    "iqp": iqp_encoding,
    "none": lambda c: c,
}
ANSATZES = {
    "strongly_entangling": strongly_entangling,
    "basic_entangler": basic_entangler,
    "hardware_efficient": hardware_efficient,
    "hardware_efficient_ring": lambda c, L: hardware_efficient(c, L, "ring"),
    "reuploading": None,             # handled in build_circuit: it encodes inside every layer
}
_WEIGHTS_PER_WIRE_LAYER = {"strongly_entangling": 3, "basic_entangler": 1, "hardware_efficient": 2,
                           "hardware_efficient_ring": 2, "reuploading": 3}


def ansatz_weight_count(ansatz: str, n_qubits: int, n_layers: int) -> int:
    """Trainable weights an ansatz uses: n_layers * n_qubits * (weights per wire and layer)."""
    _check("ansatz", ansatz, ANSATZES)
    return n_layers * n_qubits * _WEIGHTS_PER_WIRE_LAYER[ansatz]


def _check(what, value, options):
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}{did_you_mean(value, options)}; valid: {', '.join(options)}")


def pauli_observables(n_qubits: int, which: str) -> list[str]:
    """'z' -> Z on every wire (n outputs); 'xyz' -> X, Y and Z on every wire (3n outputs)."""
    if which not in ("z", "xyz"):
        raise ValueError(f"observables must be 'z' or 'xyz', got {which!r}")
    letters = "Z" if which == "z" else "XYZ"
    return [f"{p}{w}" for p in letters for w in range(n_qubits)]


def build_circuit(n_qubits: int, n_layers: int = 1, encoding: str = "angle_y",
                  ansatz: str = "strongly_entangling", observables=None) -> Circuit:
    """Encoding + ansatz on n_qubits wires; reads n_qubits features; default observables Z on every wire."""
    _check("encoding", encoding, ENCODINGS)
    _check("ansatz", ansatz, ANSATZES)
    if not isinstance(n_layers, int) or n_layers < 0:
        raise ValueError(f"n_layers must be a non-negative integer, got {n_layers!r}")
    c = Circuit(n_qubits, n_inputs=n_qubits if encoding != "none" else 0)
    if ansatz == "reuploading":
        reuploading(c, n_layers, encoding)
    else:
        ENCODINGS[encoding](c)
        ANSATZES[ansatz](c, n_layers)
    if observables is not None:
        c.observe(*observables)
    return c
