"""Parameter-shift differentiation for estimator (shot-based / hardware) backends.

The circuit is exported "expanded": every non-constant angle occurrence k gets its own Qiskit
parameter t[k] (Rot becomes RZ RY RZ, three occurrences). Its value theta_k is computed in torch from
inputs and weights (scale * x_i, scale * x_i * x_j or scale * w_j), so torch's chain rule maps
d(out)/d(theta) to d/d(inputs) and d/d(weights), however often and with whatever scale a feature or
weight appears.

    forward:  ONE estimator job, one PUB: values (N, K)                          -> y (N, n_obs)
    backward: ONE job, one PUB: values (N * R, K), R = sum over shifted occurrences of its rule's terms
              d y / d theta_k = sum_terms coef * y(theta + shift * e_k)

Rules: two-term (+-pi/2, coefficients +-1/2) for gates whose generator has eigenvalues +-1/2 (or one
gap of 1: rx, ry, rz, phaseshift, Rot's parts, isingxx/yy/zz). Controlled rotations crx/cry/crz
(generator eigenvalues 0, +-1/2) are by default DECOMPOSED: C-R(theta) = R(theta/2) CX R(-theta/2) CX
(CZ for crx), the two half angles being two occurrences with the two-term rule -- 4 shifted circuits,
like the four-term rule, and only gates every simulator method supports (Aer 0.17 mis-binds crx/cry/crz
parameters and its density-matrix method lacks them). With decompose_controlled=False they stay native
and use the four-term rule (Anselmetti et al. 2021, as in PennyLane):
    d f = c1 [f(+pi/2) - f(-pi/2)] - c2 [f(+3pi/2) - f(-3pi/2)],  c1,2 = (sqrt2 +- 1) / (4 sqrt2).
Only occurrences whose torch value needs a gradient are shifted (input occurrences are skipped when the
inputs need no gradient).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .._optional import require
from ..circuits import Circuit, Input, InputProduct, Weight
from ..export import qiskit_observables
from ..gates import QISKIT_NAMES

TWO_TERM = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
_C1, _C2 = (math.sqrt(2) + 1) / (4 * math.sqrt(2)), (math.sqrt(2) - 1) / (4 * math.sqrt(2))
FOUR_TERM = ((_C1, math.pi / 2), (-_C1, -math.pi / 2), (-_C2, 3 * math.pi / 2), (_C2, -3 * math.pi / 2))
FOUR_TERM_GATES = {"crx", "cry", "crz"}


class Expanded:
    """A circuit exported with one parameter per angle occurrence, and how to compute the occurrences.

    qc: QuantumCircuit on parameters t[0..K-1] (ParameterVector "t"); observables: SparsePauliOps.
    x_cols / w_cols: occurrence columns that read inputs / weights; rules[k]: ((coef, shift), ...).
    """

    def __init__(self, circuit: Circuit, decompose_controlled: bool = True):
        qk = require("qiskit")
        from qiskit.circuit import ParameterVector

        n = circuit.n_qubits
        self.n_obs = circuit.n_obs
        self.decompose_controlled = decompose_controlled
        occ = []                                 # per occurrence: (IR angle, factor, gate name)
        for op in circuit.ops:
            halves = decompose_controlled and op.name in FOUR_TERM_GATES
            for p in op.params:
                if not isinstance(p, float):
                    occ += [(p, 0.5, op.name), (p, -0.5, op.name)] if halves else [(p, 1.0, op.name)]
        K = self.K = len(occ)
        t = ParameterVector("t", K)
        qc = qk.QuantumCircuit(n)
        k = 0

        def angle(p, factor=1.0):
            nonlocal k
            if isinstance(p, float):
                return p * factor
            k += 1
            return t[k - 1]

        for op in circuit.ops:
            qubits = [n - 1 - q for q in op.wires]          # wire 0 = most significant, as in export.py
            if op.name == "rot":
                qc.rz(angle(op.params[0]), qubits[0]); qc.ry(angle(op.params[1]), qubits[0])
                qc.rz(angle(op.params[2]), qubits[0])
            elif op.name in FOUR_TERM_GATES and decompose_controlled:
                # C-R(theta) = R(theta/2)_t . CX|CZ . R(-theta/2)_t . CX|CZ (CZ for RX: Z RX(a) Z = RX(-a))
                rot, ent = getattr(qc, op.name[1:]), (qc.cz if op.name == "crx" else qc.cx)
                c, tq = qubits
                rot(angle(op.params[0], 0.5), tq); ent(c, tq); rot(angle(op.params[0], -0.5), tq); ent(c, tq)
            else:
                getattr(qc, QISKIT_NAMES[op.name])(*[angle(p) for p in op.params], *qubits)
        self.qc, self.params = qc, t
        self.observables = qiskit_observables(circuit)
        self.rules = [FOUR_TERM if g in FOUR_TERM_GATES and not decompose_controlled else TWO_TERM
                      for _, _, g in occ]
        self.x_cols = [k for k, (a, _, _) in enumerate(occ) if isinstance(a, (Input, InputProduct))]
        self.w_cols = [k for k, (a, _, _) in enumerate(occ) if isinstance(a, Weight)]
        xa = [occ[k] for k in self.x_cols]
        self._i1 = torch.tensor([a.index if isinstance(a, Input) else a.i for a, _, _ in xa], dtype=torch.long)
        self._i2 = torch.tensor([-1 if isinstance(a, Input) else a.j for a, _, _ in xa], dtype=torch.long)
        self._xs = torch.tensor([a.scale * f for a, f, _ in xa], dtype=torch.float64)
        self._wi = torch.tensor([occ[k][0].index for k in self.w_cols], dtype=torch.long)
        self._ws = torch.tensor([occ[k][0].scale * occ[k][1] for k in self.w_cols], dtype=torch.float64)

    def angles(self, x: torch.Tensor, w: torch.Tensor):
        """x (N, n_inputs), w (P,) -> theta_x (N, Kx), theta_w (Kw,), differentiable."""
        tx = x[:, self._i1] if len(self.x_cols) else x.new_zeros(x.shape[0], 0)
        if len(self.x_cols) and bool((self._i2 >= 0).any()):
            other = torch.where(self._i2 >= 0, x[:, self._i2.clamp_min(0)], torch.ones_like(tx))
            tx = tx * other
        tx = tx * self._xs.to(x.dtype)
        tw = w[self._wi] * self._ws.to(w.dtype)
        return tx, tw

    def values(self, tx: torch.Tensor, tw: torch.Tensor) -> np.ndarray:
        """Parameter values (N, K) float64 in the order of the parameter vector t."""
        out = np.empty((tx.shape[0], self.K))
        out[:, self.x_cols] = tx.detach().cpu().double().numpy()
        out[:, self.w_cols] = tw.detach().cpu().double().numpy()[None, :]
        return out


class _ShiftExpval(torch.autograd.Function):
    """(theta_x (N, Kx), theta_w (Kw,)) -> y (N, n_obs) through `run(values (M, K)) -> (M, n_obs)`."""

    @staticmethod
    def forward(ctx, tx, tw, exp: Expanded, run):
        vals = exp.values(tx, tw)
        ctx.exp, ctx.run, ctx.vals = exp, run, vals
        return torch.as_tensor(run(vals), dtype=tx.dtype, device=tx.device)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):                                        # g (N, n_obs)
        exp, vals = ctx.exp, ctx.vals
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        cols = (exp.x_cols if need_x else []) + (exp.w_cols if need_w else [])
        if not cols:
            return None, None, None, None
        terms = [(k, c, s) for k in cols for c, s in exp.rules[k]]
        tk = np.array([k for k, _, _ in terms])
        tc = np.array([c for _, c, _ in terms])
        ts = np.array([s for _, _, s in terms])
        N, R = vals.shape[0], len(terms)
        shifted = np.repeat(vals[:, None, :], R, axis=1)         # (N, R, K)
        shifted[:, np.arange(R), tk] += ts
        y = np.asarray(ctx.run(shifted.reshape(N * R, exp.K))).reshape(N, R, exp.n_obs)
        gy = np.einsum("nro,no->nr", y, g.detach().cpu().double().numpy()) * tc     # (N, R)
        dtheta = np.zeros((N, exp.K))
        np.add.at(dtheta, (slice(None), tk), gy)                 # (N, K): dL/dtheta per sample
        as_t = lambda a: torch.as_tensor(a, dtype=g.dtype, device=g.device)
        gx = as_t(dtheta[:, exp.x_cols]) if need_x else None
        gw = as_t(dtheta[:, exp.w_cols].sum(0)) if need_w else None
        return gx, gw, None, None


def shift_expval(exp: Expanded, x: torch.Tensor, w: torch.Tensor, run) -> torch.Tensor:
    """x (N, n_inputs), w (P,) -> y (N, n_obs); gradients by parameter shift, one job per pass."""
    tx, tw = exp.angles(x, w)
    return _ShiftExpval.apply(tx, tw, exp, run)


def n_shift_terms(exp: Expanded, inputs_grad: bool = True, weights_grad: bool = True) -> int:
    """Shifted circuits per sample in one backward pass."""
    cols = (exp.x_cols if inputs_grad else []) + (exp.w_cols if weights_grad else [])
    return sum(len(exp.rules[k]) for k in cols)
