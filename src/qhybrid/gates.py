"""Gate registry: names, arities and batched torch matrices (PennyLane conventions).

Every gate is data: a `GateSpec` with its wire count, parameter count, a function that
turns angles into matrices, and a `kind` the simulator uses to pick a fast path:
"diag" (diagonal), "perm" (a permutation of basis states) or "dense".

Conventions: wire 0 is the most significant bit; a k-wire matrix acts on the basis
|w_0 w_1 ...> of its own wires in the order given; Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class GateSpec:
    name: str
    n_wires: int
    n_params: int
    kind: str                      # "diag" | "perm" | "dense"
    matrix: Callable               # (*angles (...,)) -> (..., d, d) complex; constants ignore dtype args
    perm: tuple | None = None      # for kind "perm": new_state[i] = old_state[perm[i]]


def _c(angle: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return angle.to(dtype)


def _stack(rows, dtype):
    """rows: nested lists of tensors broadcastable together -> (..., d, d)."""
    elems = torch.broadcast_tensors(*[e.to(dtype) for r in rows for e in r])
    m = torch.stack(elems, dim=-1)
    return m.reshape(m.shape[:-1] + (len(rows), len(rows)))


def _cs(theta, dtype):
    half = theta / 2
    return _c(torch.cos(half), dtype), _c(torch.sin(half), dtype)


def _rx(t, dtype):
    c, s = _cs(t, dtype)
    return _stack([[c, -1j * s], [-1j * s, c]], dtype)


def _ry(t, dtype):
    c, s = _cs(t, dtype)
    return _stack([[c, -s], [s, c]], dtype)


def _phase(t, dtype):
    return torch.exp(1j * _c(t, dtype))


def _rz(t, dtype):
    z = torch.zeros_like(t, dtype=dtype)
    return _stack([[_phase(-t / 2, dtype), z], [z, _phase(t / 2, dtype)]], dtype)


def _phaseshift(t, dtype):
    z = torch.zeros_like(t, dtype=dtype)
    one = torch.ones_like(t, dtype=dtype)
    return _stack([[one, z], [z, _phase(t, dtype)]], dtype)


def _rot(phi, theta, omega, dtype):
    c, s = _cs(theta, dtype)
    return _stack([[_phase(-(phi + omega) / 2, dtype) * c, -_phase((phi - omega) / 2, dtype) * s],
                   [_phase(-(phi - omega) / 2, dtype) * s, _phase((phi + omega) / 2, dtype) * c]], dtype)


def _controlled(fn):
    def mat(t, dtype):
        m = fn(t, dtype)                                    # (..., 2, 2)
        out = torch.zeros(m.shape[:-2] + (4, 4), dtype=dtype, device=m.device)
        out[..., 0, 0] = 1
        out[..., 1, 1] = 1
        out[..., 2:, 2:] = m
        return out
    return mat


def _ising(pauli: torch.Tensor):
    def mat(t, dtype):
        c, s = _cs(t, dtype)
        p = pauli.to(dtype=dtype, device=t.device)
        eye = torch.eye(4, dtype=dtype, device=t.device)
        return c[..., None, None] * eye - 1j * s[..., None, None] * p
    return mat


def _isingzz(t, dtype):
    a, b = _phase(-t / 2, dtype), _phase(t / 2, dtype)
    return torch.diag_embed(torch.stack([a, b, b, a], dim=-1))


def _const(values):
    base = torch.tensor(values, dtype=torch.complex128)

    def mat(dtype=torch.complex64, device=None):
        return base.to(dtype=dtype, device=device)
    return mat


_X = [[0, 1], [1, 0]]
_Y = [[0, -1j], [1j, 0]]
_Z = [[1, 0], [0, -1]]
_r2 = 1 / math.sqrt(2)
_XX = torch.kron(torch.tensor(_X, dtype=torch.complex128), torch.tensor(_X, dtype=torch.complex128))
_YY = torch.kron(torch.tensor(_Y, dtype=torch.complex128), torch.tensor(_Y, dtype=torch.complex128))

GATES: dict[str, GateSpec] = {g.name: g for g in [
    GateSpec("rx", 1, 1, "dense", _rx),
    GateSpec("ry", 1, 1, "dense", _ry),
    GateSpec("rz", 1, 1, "diag", _rz),
    GateSpec("phaseshift", 1, 1, "diag", _phaseshift),
    GateSpec("rot", 1, 3, "dense", _rot),
    GateSpec("h", 1, 0, "dense", _const([[_r2, _r2], [_r2, -_r2]])),
    GateSpec("x", 1, 0, "perm", _const(_X), perm=(1, 0)),
    GateSpec("y", 1, 0, "dense", _const(_Y)),
    GateSpec("z", 1, 0, "diag", _const(_Z)),
    GateSpec("s", 1, 0, "diag", _const([[1, 0], [0, 1j]])),
    GateSpec("t", 1, 0, "diag", _const([[1, 0], [0, complex(_r2, _r2)]])),
    GateSpec("cnot", 2, 0, "perm", _const([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]),
             perm=(0, 1, 3, 2)),
    GateSpec("cz", 2, 0, "diag", _const([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]])),
    GateSpec("swap", 2, 0, "perm", _const([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
             perm=(0, 2, 1, 3)),
    GateSpec("crx", 2, 1, "dense", _controlled(_rx)),
    GateSpec("cry", 2, 1, "dense", _controlled(_ry)),
    GateSpec("crz", 2, 1, "diag", _controlled(_rz)),
    GateSpec("isingxx", 2, 1, "dense", _ising(_XX)),
    GateSpec("isingyy", 2, 1, "dense", _ising(_YY)),
    GateSpec("isingzz", 2, 1, "diag", _isingzz),
]}

# PennyLane operation class names and Qiskit method names, for export.
PENNYLANE_NAMES = {
    "rx": "RX", "ry": "RY", "rz": "RZ", "phaseshift": "PhaseShift", "rot": "Rot", "h": "Hadamard",
    "x": "PauliX", "y": "PauliY", "z": "PauliZ", "s": "S", "t": "T", "cnot": "CNOT", "cz": "CZ",
    "swap": "SWAP", "crx": "CRX", "cry": "CRY", "crz": "CRZ", "isingxx": "IsingXX",
    "isingyy": "IsingYY", "isingzz": "IsingZZ",
}
QISKIT_NAMES = {
    "rx": "rx", "ry": "ry", "rz": "rz", "phaseshift": "p", "h": "h", "x": "x", "y": "y", "z": "z",
    "s": "s", "t": "t", "cnot": "cx", "cz": "cz", "swap": "swap", "crx": "crx", "cry": "cry",
    "crz": "crz", "isingxx": "rxx", "isingyy": "ryy", "isingzz": "rzz",
}   # "rot" is exported as rz, ry, rz


def gate_matrix(name: str, angles: list, dtype: torch.dtype, device=None) -> torch.Tensor:
    """Matrix of gate `name` for angles (tensors of one broadcastable shape): (..., d, d)."""
    spec = GATES[name]
    if spec.n_params == 0:
        return spec.matrix(dtype=dtype, device=device)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    angles = [torch.as_tensor(a, dtype=real, device=device) for a in angles]
    return spec.matrix(*angles, dtype)
