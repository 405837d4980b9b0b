"""Circuits that re-upload their inputs: every input rotation layer is a diagonal phase in a fixed basis.

Re-uploading feature maps read the inputs again after entangling gates, where the gate-by-gate
path pays a few passes over the N x 2^n amplitudes per input gate. But RX, RY, RZ (and the
phase shift, IsingZZ) with input angles are exp(-i theta P / 2): diagonal in the basis V that
diagonalises P (H for X, S H for Y, identity for Z). So a circuit

    F_L  E_L(x)  F_{L-1} ... E_1(x)  F_0 |0...0>,    E_k(x) = V_k diag(exp(i phi_k(x))) V_k^dag

(F_k: the input-free gates between, built once per pass as 2^n x 2^n matrices from the weights)
is, with G_k = V_{k+1}^dag F_k V_k,

    psi = G_L (exp(i phi_L(x)) * (G_{L-1} ... (exp(i phi_1(x)) * G_0 e_0)))

where phi_k(x) = theta_k(x) @ C_k^T is one small matmul of the layer's angles with a 0, +-1/2 table:
per input layer one (N, 2^n) x (2^n, 2^n) matmul and a few elementwise ops, whatever the number
of gates. Worth it while 2^n is small against the gate count (`worth_it`); the engine takes this path in
its "auto" fusion mode only (the forced modes keep the gate-by-gate path testable).

    plan = reupload_plan(circuit)        # None unless every input gate is a Pauli rotation (see above)
    psi  = reupload_states(plan, x, w, psi0, simulate)   # (N, 2^n), the same states as the engine's
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ...circuit import Circuit
from ...circuit.angles import AngleTable, term
from ...circuit.gates import complex_of, real_of
from ..base import z_signs

_BASIS = {"rx": "X", "ry": "Y", "rz": "Z", "phaseshift": "Z", "isingzz": "Z"}
_r2 = 1 / math.sqrt(2)
# V per axis P: its columns are the eigenvectors of P (eigenvalue +1, then -1), so P = V Z V^dag
_V = {"Z": ((1, 0), (0, 1)), "X": ((_r2, _r2), (_r2, -_r2)), "Y": ((_r2, _r2), (1j * _r2, -1j * _r2))}
MAX_QUBITS = 7         # measured to pay up to here (docs/performance.md); the dense matmul grows as 4^n


@dataclass
class _InputLayer:
    basis: tuple              # per wire "X" | "Y" | "Z"
    table: AngleTable         # the gates' angles -> theta (N, G)
    coef: torch.Tensor        # (2^n, G) float64: phi = theta @ coef^T


@dataclass
class ReuploadPlan:
    n_qubits: int
    fixed: list               # L + 1 input-free Circuits F_0 .. F_L
    layers: list              # L _InputLayer
    consts: dict = field(default_factory=dict)   # bases and phase tables per (dtype, device)


def _reads_input(op) -> bool:
    return any(term(p)[0] in ("x", "xx") for p in op.params)


def _coef(op, n: int) -> torch.Tensor:
    """The phase of each basis state (in the layer's eigenbasis) per unit angle: (2^n,) float64."""
    z = z_signs(n, range(n))                                                     # (n, 2^n)
    if op.name == "phaseshift":                                                  # diag(1, e^{i theta})
        return (1 - z[op.wires[0]]) / 2
    if op.name == "isingzz":                                                     # exp(-i theta/2 Z Z)
        return -z[op.wires[0]] * z[op.wires[1]] / 2
    return -z[op.wires[0]] / 2                                                   # exp(-i theta/2 P)


def reupload_plan(circuit: Circuit) -> ReuploadPlan | None:
    """Split the circuit into input-free parts and commuting input rotation layers; None if some input gate
    is not a Pauli rotation of this kind (then the engine runs it gate by gate)."""
    n = circuit.n_qubits
    fixed, layers, cur_fixed, cur = [], [], [], None            # cur: (ops, basis per wire) of the open layer
    for op in circuit.ops:
        if not _reads_input(op):
            if cur is not None:
                layers.append(cur)
                cur = None
            cur_fixed.append(op)
            continue
        if op.name not in _BASIS or len(op.params) != 1:
            return None
        axis = _BASIS[op.name]
        clash = cur is not None and any(cur[1][q] is not None and (cur[1][q] != axis or axis != "Z")
                                        for q in op.wires)          # only Z-diagonal gates share a wire
        if cur is None or clash:                                # a new input layer
            if cur is not None:
                layers.append(cur)
            fixed.append(cur_fixed)
            cur_fixed, cur = [], ([], [None] * n)
        cur[0].append(op)
        for q in op.wires:
            cur[1][q] = axis
    if cur is not None:
        layers.append(cur)
    fixed.append(cur_fixed)
    if not layers:
        return None
    parts = []
    for ops in fixed:
        c = Circuit(n, n_inputs=0, n_weights=circuit.n_weights)
        for op in ops:
            c.add(op.name, op.wires, *op.params)
        parts.append(c)
    out = []
    for ops, basis in layers:
        coef = torch.stack([_coef(op, n) for op in ops], 1)                     # (2^n, G)
        out.append(_InputLayer(tuple(b or "Z" for b in basis), AngleTable([op.params[0] for op in ops]), coef))
    return ReuploadPlan(n, parts, out)


def worth_it(plan: ReuploadPlan | None) -> bool:
    """Use this path: the circuit re-uploads (an input layer after input-free gates) and 2^n is small."""
    return (plan is not None and plan.n_qubits <= MAX_QUBITS
            and any(len(f.ops) for f in plan.fixed[1:len(plan.layers)]))


def _basis(basis: tuple, dtype, device) -> torch.Tensor:
    """V = (x) V_q (wire 0 most significant): (2^n, 2^n)."""
    out = torch.ones(1, 1, dtype=dtype, device=device)
    for b in basis:
        out = torch.kron(out, torch.tensor(_V[b], dtype=dtype, device=device))
    return out


def _unitary(c: Circuit, w: torch.Tensor, dtype, simulate) -> torch.Tensor:
    """The input-free circuit's 2^n x 2^n unitary (column k = U e_k)."""
    D = 2 ** c.n_qubits
    eye = torch.eye(D, dtype=dtype, device=w.device)
    if not c.ops:
        return eye
    return simulate(c, w.new_zeros(D, 0), w, psi0=eye).T


def _cached_consts(plan: ReuploadPlan, dtype, device) -> dict:
    """The plan's bases V_k and phase tables C_k^T on a device, cached per (dtype, device)."""
    key, cache = (dtype, device), plan.consts
    if key not in cache:
        real = real_of(dtype)
        cache[key] = dict(
            V=[_basis(layer.basis, dtype, device) for layer in plan.layers],
            coef=[layer.coef.T.to(device=device, dtype=real).contiguous() for layer in plan.layers])
    return cache[key]


def reupload_states(plan: ReuploadPlan, x: torch.Tensor, w: torch.Tensor, psi0: torch.Tensor | None,
                    simulate) -> torch.Tensor:
    """Final states (N, 2^n) for inputs x (N, n_inputs), weights w (P,), from |0...0> or psi0 (N, 2^n).
    `simulate(circuit, x, w, psi0)` (the engine's) builds the input-free parts' unitaries."""
    dtype = complex_of(w.dtype)                                                # as the engine: w sets it
    consts = _cached_consts(plan, dtype, x.device)
    x = x.to(w.dtype)
    F = [_unitary(c, w, dtype, simulate) for c in plan.fixed]
    V = consts["V"]
    L = len(plan.layers)
    G = [V[0].conj().T @ F[0]] + [V[k + 1].conj().T @ F[k + 1] @ V[k] for k in range(L - 1)] + [F[L] @ V[L - 1]]
    psi = G[0][:, 0][None] if psi0 is None else psi0.to(dtype) @ G[0].T       # (1 or N, 2^n)
    for k, layer in enumerate(plan.layers):
        theta = layer.table.split(x, w)[0]                                     # (N, G) input angles
        phi = theta @ consts["coef"][k]                                        # (N, 2^n)
        psi = (psi * torch.complex(torch.cos(phi), torch.sin(phi))) @ G[k + 1].T      # cheaper than polar
    return psi
