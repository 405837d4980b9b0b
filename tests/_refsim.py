"""Shared test helpers: an independent dense-matrix reference simulator and random circuits.

The reference is deliberately naive and written from textbook formulas in numpy, sharing no
code with qhybrid: every gate becomes a full 2**n x 2**n operator built from Kronecker
products of 2x2 matrices (two-qubit gates as sums of Kronecker products of single-qubit
terms, so no index arithmetic is shared with the simulator). Wire 0 is the most significant
bit (the leftmost Kronecker factor), as in PennyLane.
"""
from __future__ import annotations

import numpy as np
import torch

from qhybrid import Circuit, Input, InputProduct, Weight

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
P0 = np.array([[1, 0], [0, 0]], dtype=complex)    # |0><0|
P1 = np.array([[0, 0], [0, 1]], dtype=complex)    # |1><1|
PAULI = {"I": I2, "X": X, "Y": Y, "Z": Z}


def _exp_pauli(theta, p):
    """exp(-i theta/2 P) = cos(theta/2) I - i sin(theta/2) P for any P with P^2 = I."""
    return np.cos(theta / 2) * np.eye(p.shape[0]) - 1j * np.sin(theta / 2) * p


def rx(t): return _exp_pauli(t, X)
def ry(t): return _exp_pauli(t, Y)
def rz(t): return _exp_pauli(t, Z)
def phaseshift(t): return np.array([[1, 0], [0, np.exp(1j * t)]])
def rot(phi, theta, omega): return rz(omega) @ ry(theta) @ rz(phi)


ONE_QUBIT = {
    "rx": rx, "ry": ry, "rz": rz, "phaseshift": phaseshift, "rot": rot,
    "h": lambda: (X + Z) / np.sqrt(2),
    "x": lambda: X, "y": lambda: Y, "z": lambda: Z,
    "s": lambda: phaseshift(np.pi / 2),
    "t": lambda: phaseshift(np.pi / 4),
}
# two-qubit gates as lists of (coefficient, A on first wire, B on second wire): sum_k c_k A_k (x) B_k
TWO_QUBIT = {
    "cnot": lambda: [(1, P0, I2), (1, P1, X)],
    "cz": lambda: [(1, P0, I2), (1, P1, Z)],
    "swap": lambda: [(0.5, I2, I2), (0.5, X, X), (0.5, Y, Y), (0.5, Z, Z)],
    "crx": lambda t: [(1, P0, I2), (1, P1, rx(t))],
    "cry": lambda t: [(1, P0, I2), (1, P1, ry(t))],
    "crz": lambda t: [(1, P0, I2), (1, P1, rz(t))],
    "isingxx": lambda t: [(np.cos(t / 2), I2, I2), (-1j * np.sin(t / 2), X, X)],
    "isingyy": lambda t: [(np.cos(t / 2), I2, I2), (-1j * np.sin(t / 2), Y, Y)],
    "isingzz": lambda t: [(np.cos(t / 2), I2, I2), (-1j * np.sin(t / 2), Z, Z)],
}
N_PARAMS = {"rot": 3, "rx": 1, "ry": 1, "rz": 1, "phaseshift": 1, "crx": 1, "cry": 1, "crz": 1,
            "isingxx": 1, "isingyy": 1, "isingzz": 1}
ALL_GATES = sorted(ONE_QUBIT) + sorted(TWO_QUBIT)


def n_params(name: str) -> int:
    return N_PARAMS.get(name, 0)


def embed(n: int, factors: dict[int, np.ndarray]) -> np.ndarray:
    """Kronecker product over wires 0..n-1 (wire 0 leftmost), identity where no factor is given."""
    out = np.ones((1, 1), dtype=complex)
    for q in range(n):
        out = np.kron(out, factors.get(q, I2))
    return out


def gate_operator(name: str, wires, angles, n: int) -> np.ndarray:
    if name in ONE_QUBIT:
        return embed(n, {wires[0]: np.asarray(ONE_QUBIT[name](*angles), dtype=complex)})
    a, b = wires
    return sum(c * embed(n, {a: A, b: B}) for c, A, B in TWO_QUBIT[name](*angles))


def angle_value(p, x: np.ndarray, w: np.ndarray) -> float:
    """Angle of one sample x (n_inputs,) and weights w."""
    if isinstance(p, Input):
        return p.scale * x[p.index]
    if isinstance(p, InputProduct):
        return p.scale * x[p.i] * x[p.j]
    if isinstance(p, Weight):
        return p.scale * w[p.index]
    return float(p)


def ref_state(circuit: Circuit, x, w) -> np.ndarray:
    """Final state of one sample: x (n_inputs,), w (n_weights,) -> (2**n,) complex128."""
    n = circuit.n_qubits
    x = np.asarray(x, dtype=float).reshape(-1)
    w = np.asarray(w, dtype=float).reshape(-1)
    psi = np.zeros(2 ** n, dtype=complex)
    psi[0] = 1
    for op in circuit.ops:
        angles = [angle_value(p, x, w) for p in op.params]
        psi = gate_operator(op.name, op.wires, angles, n) @ psi
    return psi


def pauli_operator(word, n: int) -> np.ndarray:
    """word: a string like 'X0 Y2' or a parsed tuple ((wire, letter), ...)."""
    if isinstance(word, str):
        word = [(int(tok[1:]), tok[0]) for tok in word.split()]
    return embed(n, {w: PAULI[p] for w, p in word})


def ref_expvals(circuit: Circuit, x, w, words) -> np.ndarray:
    psi = ref_state(circuit, x, w)
    return np.array([np.vdot(psi, pauli_operator(word, circuit.n_qubits) @ psi).real for word in words])


def ref_batch(circuit: Circuit, x, w, words):
    """Reference states (..., 2**n) and expectations (..., len(words)) for inputs x (..., n_inputs)."""
    x = np.asarray(x, dtype=float)
    lead = x.shape[:-1]
    flat = x.reshape(int(np.prod(lead)), x.shape[-1])
    states = np.stack([ref_state(circuit, xi, w) for xi in flat])
    ev = np.stack([ref_expvals(circuit, xi, w, words) for xi in flat])
    return states.reshape(lead + (-1,)), ev.reshape(lead + (len(words),))


# ---- random circuits ------------------------------------------------------------------------

def random_angle(rng: np.random.Generator, n_inputs: int, n_weights: int):
    kind = rng.integers(4)
    if kind == 0:
        return float(rng.uniform(-np.pi, np.pi))
    if kind == 1:
        return Input(int(rng.integers(n_inputs)), float(rng.choice([1.0, rng.uniform(-2, 2)])))
    if kind == 2:
        return InputProduct(int(rng.integers(n_inputs)), int(rng.integers(n_inputs)), float(rng.uniform(-1.5, 1.5)))
    return Weight(int(rng.integers(n_weights)), float(rng.choice([1.0, rng.uniform(-2, 2)])))


def random_circuit(n: int, rng: np.random.Generator, n_extra: int | None = None,
                   n_inputs: int = 3, n_weights: int = 5, gates=None) -> Circuit:
    """Every applicable gate at least once (in random order), plus `n_extra` random gates.

    Angles are a mix of floats, Input(i) with and without scale, InputProduct and Weight(j).
    n_inputs / n_weights are reserved so a circuit that happens not to use the last index
    still has the declared shape.
    """
    names = [g for g in (gates or ALL_GATES) if n >= 2 or g in ONE_QUBIT]
    seq = list(names) + list(rng.choice(names, size=n_extra if n_extra is not None else 2 * n))
    rng.shuffle(seq)
    c = Circuit(n, n_inputs=n_inputs, n_weights=n_weights)
    for name in seq:
        name = str(name)
        k = 1 if name in ONE_QUBIT else 2
        wires = [int(q) for q in rng.choice(n, size=k, replace=False)]
        c.add(name, wires, *[random_angle(rng, n_inputs, n_weights) for _ in range(n_params(name))])
    return c


def random_words(n: int, rng: np.random.Generator, k: int = 4) -> list[str]:
    """k random Pauli words; always includes a single Z, and an X/Y word when n allows."""
    words = ["Z0", f"X{n - 1}"] + ([f"Y0 X{n - 1}"] if n > 1 else ["Y0"])
    while len(words) < k:
        size = int(rng.integers(1, min(n, 3) + 1))
        wires = sorted(int(q) for q in rng.choice(n, size=size, replace=False))
        words.append(" ".join(f"{rng.choice(list('XYZ'))}{q}" for q in wires))
    return words[:k]


def t64(a, requires_grad: bool = False) -> torch.Tensor:
    """A float64 torch copy of an array (a fresh leaf)."""
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=requires_grad)
