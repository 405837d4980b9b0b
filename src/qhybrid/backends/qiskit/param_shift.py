"""Parameter-shift differentiation for estimator (shot-based / hardware) backends.

The circuit is exported "expanded": every non-constant angle occurrence k gets its own Qiskit
parameter t[k] (Rot becomes RZ RY RZ, three occurrences). Its value theta_k is computed in torch from
inputs and weights (scale * x_i, scale * x_i * x_j or scale * w_j), so torch's chain rule maps
d(out)/d(theta) to d/d(inputs) and d/d(weights), however often and with whatever scale a feature or
weight appears.

    forward:  ONE estimator job per circuit, one PUB: values (N, K)              -> y (N, n_obs)
    backward: ONE job per circuit, one PUB: values (N * R, K), R = sum over shifted occurrences of its rule's terms
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

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ..base import check_shots, check_usage, circuit_key, prepare
from .devices import param_columns
from .expand import Expanded


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
    """x (N, n_inputs), w (P,) -> y (N, n_obs); gradients by parameter shift, one `run` (job) per pass."""
    tx, tw = exp.angles(x, w)
    return _ShiftExpval.apply(tx, tw, exp, run)


def n_shift_terms(exp: Expanded, inputs_grad: bool = True, weights_grad: bool = True) -> int:
    """Shifted circuits per sample in one backward pass."""
    cols = (exp.x_cols if inputs_grad else []) + (exp.w_cols if weights_grad else [])
    return sum(len(exp.rules[k]) for k in cols)


def pub_of(isa, obs, exp: Expanded, values: np.ndarray) -> tuple:
    """ONE estimator PUB: (ISA circuit, observables (1, n_obs), values (M, 1, K) in the circuit's order)."""
    return isa, [obs], np.ascontiguousarray(values[:, param_columns(isa, exp)])[:, None, :]


def job_seed(generator: torch.Generator | None) -> int:
    """The seed of one sampled job, drawn from `generator` or (None) from torch's global RNG, so the same torch
    seed gives the same shots and a restored RNG state (a resumed run) the same continuation."""
    device = generator.device if generator is not None else "cpu"
    return int(torch.randint(1, 2 ** 31 - 1, (1,), generator=generator, device=device))


class ShiftEstimatorBackend:
    """The flow every estimator backend (aer:, ibm:) shares: compile a circuit once per structure, then
    one job per circuit per forward pass and one per backward pass, gradients by parameter shift.

    Subclasses set `name`, `default_shots` and provide `compile(circuit) -> entry` (entry[0] is the
    Expanded circuit) and `run_values(entry, values (M, K), shots, seed) -> (M, n_obs)`; a sampled job gets
    its seed from `job_seed(generator)` (None when exact). `usage()` / `restore_usage(state)`: the jobs run
    (and QPU seconds, where a QPU is used) of this instance, for checkpoints and summaries."""

    exact = False
    uses_qpu = False                                             # True: usage counts QPU seconds (ibm:)
    jobs = 0

    def compiled(self, circuit):
        key = circuit_key(circuit)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = self.compile(circuit)
        return cache[key]

    def shots_for(self, shots):
        return check_shots(shots, self.default_shots)

    def usage(self) -> dict:
        """{"jobs": jobs run, "qpu_seconds": QPU time used (None: no QPU)}."""
        return {"jobs": self.jobs, "qpu_seconds": None}

    def restore_usage(self, state: dict) -> None:
        """Continue counting from a saved usage() (a resumed run)."""
        self.jobs = check_usage(state).get("jobs", 0)

    def _job(self, entry, values, shots, generator):
        out = self.run_values(entry, values, shots, None if shots is None else job_seed(generator))
        self.jobs += 1
        return out

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = prepare(circuit, inputs, weights)
        shots = self.shots_for(shots)
        entry = self.compiled(circuit)
        y = shift_expval(entry[0], x, w, lambda v: self._job(entry, v, shots, generator))
        return y.reshape(lead + (circuit.n_obs,))
