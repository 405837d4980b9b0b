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
    column0: Callable | None = None   # optional fast (..., 2): the gate applied to |0>, same args as matrix


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


_TABLES: dict = {}


def real_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype paired with a complex one: complex128 -> float64, else float32."""
    return torch.float64 if dtype == torch.complex128 else torch.float32


def complex_of(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype paired with a real one: float64 -> complex128, else complex64."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _table(values, like: torch.Tensor) -> torch.Tensor:
    key = (values, like.dtype, like.device)
    t = _TABLES.get(key)
    if t is None:
        t = _TABLES[key] = torch.tensor(values, dtype=like.dtype, device=like.device)
    return t


def _entries(e: torch.Tensor, dtype) -> torch.Tensor:
    """(..., 8) real (re, im) of m00, m01, m10, m11 -- or (..., 4) real entries -- -> (..., 2, 2) complex."""
    if e.shape[-1] == 4:
        return e.to(dtype).reshape(e.shape[:-1] + (2, 2))
    return torch.view_as_complex(e.reshape(e.shape[:-1] + (4, 2))).to(dtype).reshape(e.shape[:-1] + (2, 2))


def _trig1(t, dtype, scale, pick, const=None):
    """One-angle gate: entries = [cos h, sin h] @ pick (+ const), h = scale * t.

    One small matmul with a 0/+-1 table instead of separate stack/neg/exp ops: few autograd nodes.
    """
    h = (t if t.is_floating_point() else t.to(real_of(dtype))) * scale
    e = torch.stack((torch.cos(h), torch.sin(h)), dim=-1) @ _table(pick, h)
    if const is not None:
        e = e + _table(const, h)
    return _entries(e, dtype)


def _rx(t, dtype):    # [[c, -is], [-is, c]], c = cos(t/2), s = sin(t/2)
    return _trig1(t, dtype, 0.5, ((1, 0, 0, 0, 0, 0, 1, 0), (0, 0, 0, -1, 0, -1, 0, 0)))


def _ry(t, dtype):    # [[c, -s], [s, c]]
    return _trig1(t, dtype, 0.5, ((1, 0, 0, 1), (0, -1, 1, 0)))


def _rz(t, dtype):    # diag(exp(-it/2), exp(it/2))
    return _trig1(t, dtype, 0.5, ((1, 0, 0, 0, 0, 0, 1, 0), (0, -1, 0, 0, 0, 0, 0, 1)))


def _phaseshift(t, dtype):    # diag(1, exp(it))
    return _trig1(t, dtype, 1.0, ((0, 0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 0, 1)), (1, 0, 0, 0, 0, 0, 0, 0))


def _phase(t, dtype):
    return torch.exp(1j * _c(t, dtype))


def _col1(t, dtype, scale, pick):
    """Column 0 of a one-angle gate: [cos h, sin h] @ pick, pick (2, 4) gives (re, im) of m00, m10."""
    h = (t if t.is_floating_point() else t.to(real_of(dtype))) * scale
    e = torch.stack((torch.cos(h), torch.sin(h)), dim=-1)
    if pick is None:                                   # real column (cos h, sin h)
        return e.to(dtype)
    e = e @ _table(pick, h)
    return torch.view_as_complex(e.reshape(e.shape[:-1] + (2, 2))).to(dtype)


def _rx0(t, dtype):
    return _col1(t, dtype, 0.5, ((1, 0, 0, 0), (0, 0, 0, -1)))


def _ry0(t, dtype):
    return _col1(t, dtype, 0.5, None)


def _rz0(t, dtype):
    return _col1(t, dtype, 0.5, ((1, 0, 0, 0), (0, -1, 0, 0)))


# Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi). With a = (phi + omega)/2, b = (phi - omega)/2,
# h = theta/2: [[e^{-ia} cos h, -e^{ib} sin h], [e^{-ib} sin h, e^{ia} cos h]]. Every (re, im) entry is
# (one of +-cos a, +-sin a, +-cos b, +-sin b) * (cos h or sin h): two 0/+-1 tables over
# [cos a, cos b, cos h, sin a, sin b, sin h].
_ROT_ANGLES = ((.5, .5, 0), (0, 0, .5), (.5, -.5, 0))          # (phi, theta, omega) -> (a, b, h)
_ROT_PHASE = ((1, 0, 0, 0, 0, 0, 1, 0), (0, 0, -1, 0, 1, 0, 0, 0), (0,) * 8,
              (0, -1, 0, 0, 0, 0, 0, 1), (0, 0, 0, -1, 0, -1, 0, 0), (0,) * 8)
_ROT_MAG = ((0,) * 8, (0,) * 8, (1, 1, 0, 0, 0, 0, 1, 1), (0,) * 8, (0,) * 8, (0, 0, 1, 1, 1, 1, 0, 0))


def _rot_trig(phi, theta, omega, dtype):
    real = torch.promote_types(torch.promote_types(phi.dtype, theta.dtype), omega.dtype)
    real = real if real.is_floating_point else real_of(dtype)
    angles = [a.to(real) for a in (phi, theta, omega)]
    if not (angles[0].shape == angles[1].shape == angles[2].shape):
        angles = torch.broadcast_tensors(*angles)
    h = torch.stack(angles, dim=-1) @ _table(_ROT_ANGLES, angles[0])
    return torch.cat((torch.cos(h), torch.sin(h)), dim=-1)


def _rot(phi, theta, omega, dtype):
    tr = _rot_trig(phi, theta, omega, dtype)
    return _entries((tr @ _table(_ROT_PHASE, tr)) * (tr @ _table(_ROT_MAG, tr)), dtype)


_ROT0_PHASE = tuple(row[:2] + row[4:6] for row in _ROT_PHASE)    # (re, im) of m00 and m10
_ROT0_MAG = tuple(row[:2] + row[4:6] for row in _ROT_MAG)


def _rot0(phi, theta, omega, dtype):
    tr = _rot_trig(phi, theta, omega, dtype)
    e = (tr @ _table(_ROT0_PHASE, tr)) * (tr @ _table(_ROT0_MAG, tr))
    return torch.view_as_complex(e.reshape(e.shape[:-1] + (2, 2))).to(dtype)


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
    GateSpec("rx", 1, 1, "dense", _rx, column0=_rx0),
    GateSpec("ry", 1, 1, "dense", _ry, column0=_ry0),
    GateSpec("rz", 1, 1, "diag", _rz, column0=_rz0),
    GateSpec("phaseshift", 1, 1, "diag", _phaseshift),
    GateSpec("rot", 1, 3, "dense", _rot, column0=_rot0),
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
    real = real_of(dtype)
    angles = [torch.as_tensor(a, dtype=real, device=device) for a in angles]
    return spec.matrix(*angles, dtype)


def gate_column0(name: str, angles: list, dtype: torch.dtype, device=None) -> torch.Tensor:
    """The gate applied to |0>, i.e. column 0 of its matrix, for one-qubit gates: (..., 2)."""
    spec = GATES[name]
    if spec.column0 is None or spec.n_params == 0:
        return gate_matrix(name, angles, dtype, device)[..., 0]
    real = real_of(dtype)
    angles = [torch.as_tensor(a, dtype=real, device=device) for a in angles]
    return spec.column0(*angles, dtype)
