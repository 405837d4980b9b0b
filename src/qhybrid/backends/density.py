"""`density`: a batched density-matrix simulator with noise, in pure torch (n <= 8 qubits).

    density                                 no noise (equals the statevector backend)
    density:fake_manila                     noise numbers read from a fake device's Target (noise.py)
    density:depol1=1e-3,depol2=1e-2,readout=0.02,damp1=1e-4,damp2=5e-4    explicit numbers
    DensityBackend(depol=(p1, p2), damping=(g1, g2), readout=p | (p01, p10))   the same from Python

Noise model, applied to the LOGICAL circuit (no transpilation, so Rot counts as one gate and no
SWAPs are inserted): after every k-qubit gate (k = 1, 2), a depolarising channel on its wires,
rho -> (1 - l_k) rho + l_k I/2^k (x) Tr_wires(rho), then amplitude damping (K0 = diag(1, sqrt(1-g_k)),
K1 = sqrt(g_k)|0><1|) on each of its wires; before measurement, readout bit flips with P(read 1|0) = p01
and P(read 0|1) = p10 on every measured wire (applied exactly to the Pauli expectations, noise.readout_terms).
From a fake device: l_k = depolarizing_from_error(mean k-qubit gate error), g_k = 1 - exp(-t_k / T1)
(mean durations and T1), readout = mean `measure` error. The device's reported gate error already
contains relaxation, so adding damping double-counts a little (t/T1 ~ 1e-4 per gate): documented.

rho (N, 2^n, 2^n) complex; every gate and its noise form ONE superoperator S = noise . (U (x) conj U)
(4^k x 4^k, per sample when U depends on inputs) applied to the rows and columns of the gate's wires
with one matmul, batched over N in one tensor program; autograd differentiates it. shots=k draws a
binomial estimate around the exact value (gradients flow through the exact value).
"""
from __future__ import annotations

import math

import torch

from ..circuit import GATES, angle_value, gate_matrix
from ..circuit.gates import complex_of
from .base import check_shots, pauli_flip_phase, prepare, sample_estimates
from .noise import damping_from_t1, depolarizing_from_error, device_noise, readout_terms

MAX_QUBITS = 8
_KEYS = {"depol1", "depol2", "damp1", "damp2", "readout", "readout01", "readout10"}


def _parse(spec: str) -> dict:
    out = {}
    for part in spec.split(","):
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ValueError(f"cannot read density option {part!r}; write key=value pairs from {sorted(_KEYS)}, "
                             f"e.g. density:depol1=0.001,depol2=0.01,readout=0.02 (or density:fake_manila)")
        try:
            out[key] = float(val)
        except ValueError:
            raise ValueError(f"density option {key} = {val.strip()!r} is not a number; {key} is a probability in "
                             f"[0, 1], e.g. density:{key}=0.001") from None
    return out


def _superop(U: torch.Tensor, lam: float, gamma: float, k: int) -> torch.Tensor:
    """Gate then noise as one superoperator on vec(rho_W) (row-major, rows then columns of the k wires).

    U (d, d) or (N, d, d) -> S (d^2, d^2) or (N, d^2, d^2): S = damping_k ... damping_1 . depol . (U (x) conj U).
    """
    d = 2 ** k
    S = (U[..., :, None, :, None] * U.conj()[..., None, :, None, :]).reshape(U.shape[:-2] + (d * d, d * d))
    eye = torch.eye(d * d, dtype=U.dtype, device=U.device)
    if lam:
        vec_i = torch.eye(d, dtype=U.dtype, device=U.device).reshape(d * d)
        S = ((1 - lam) * eye + lam / d * vec_i[:, None] * vec_i[None, :]) @ S
    if gamma:
        kraus = [torch.tensor([[1, 0], [0, math.sqrt(1 - gamma)]], dtype=U.dtype, device=U.device),
                 torch.tensor([[0, math.sqrt(gamma)], [0, 0]], dtype=U.dtype, device=U.device)]
        for j in range(k):                                   # damping on each wire of the gate
            D = 0
            for K in kraus:
                A = torch.kron(torch.kron(torch.eye(2 ** j, dtype=U.dtype, device=U.device), K),
                               torch.eye(2 ** (k - 1 - j), dtype=U.dtype, device=U.device))
                D = D + torch.kron(A, A.conj())
            S = D @ S
    return S


def _apply(rho: torch.Tensor, S: torch.Tensor, wires, n: int) -> torch.Tensor:
    """Superoperator S on the rows and columns of `wires`: rho (N, 2^n, 2^n) -> (N, 2^n, 2^n)."""
    N, k = rho.shape[0], len(wires)
    src = [1 + w for w in wires] + [1 + n + w for w in wires]
    dst = list(range(1, 2 * k + 1))
    t = rho.reshape((N,) + (2,) * (2 * n)).movedim(src, dst)
    shape = t.shape
    t = S @ t.reshape(N, 4 ** k, -1)
    return t.reshape(shape).movedim(dst, src).reshape(N, 2 ** n, 2 ** n)


class DensityBackend:
    """Density-matrix simulation with depolarising, amplitude-damping and readout noise (n <= 8)."""

    exact = True

    def __init__(self, spec: str | None = None, *, device=None, depol=(0.0, 0.0), damping=(0.0, 0.0), readout=0.0):
        self.name = "density" + (f":{spec}" if spec else "")
        self.source = "explicit"
        if spec and "=" not in spec and device is None:
            raise ValueError(f"density:{spec} reads a device's noise: build it with get_backend('density:{spec}') "
                             f"(which loads the snapshot), or pass device=<a Qiskit backend>")
        if device is not None:
            dev = device
            nz = device_noise(dev)
            depol = (depolarizing_from_error(nz["error_1q"], 1), depolarizing_from_error(nz["error_2q"], 2))
            damping = (damping_from_t1(nz["time_1q"], nz["t1"]), damping_from_t1(nz["time_2q"], nz["t1"]))
            readout = nz["readout"]
            self.source = f"averages of {dev.name}'s reported errors, durations and T1"
        elif spec:
            o = _parse(spec)
            depol = (o.get("depol1", 0.0), o.get("depol2", 0.0))
            damping = (o.get("damp1", 0.0), o.get("damp2", 0.0))
            r = o.get("readout", 0.0)
            readout = (o.get("readout01", r), o.get("readout10", r))
        readout = (readout, readout) if isinstance(readout, (int, float)) else tuple(readout)
        self.depol, self.damping, self.readout = tuple(depol), tuple(damping), readout
        for name, vals in (("depol", self.depol), ("damping", self.damping), ("readout", self.readout)):
            if len(vals) != 2 or any(not 0 <= v <= 1 for v in vals):
                raise ValueError(f"{name} must be two probabilities in [0, 1], got {vals}")

    def __repr__(self):
        return (f"DensityBackend({self.name!r}, depol={self.depol}, damping={self.damping}, "
                f"readout={self.readout})")

    @property
    def noiseless(self) -> bool:
        return not any(self.depol + self.damping + self.readout)

    def density(self, circuit, inputs=None, weights=None) -> torch.Tensor:
        """Final density matrices (..., 2^n, 2^n) (wire 0 = most significant bit), before readout."""
        x, w, lead = prepare(circuit, inputs, weights)
        d = 2 ** circuit.n_qubits
        return self._evolve(circuit, x, w).reshape(lead + (d, d))

    def _evolve(self, circuit, x, w) -> torch.Tensor:
        n = circuit.n_qubits
        if n > MAX_QUBITS:
            raise ValueError(f"the density backend simulates at most {MAX_QUBITS} qubits (4^n memory); this circuit "
                             f"has {n}. Use statevector, aer or aer:<device> for larger circuits")
        N, cdt = x.shape[0], complex_of(x.dtype)
        rho = torch.zeros(N, 2 ** n, 2 ** n, dtype=cdt, device=x.device)
        rho[:, 0, 0] = 1
        for op in circuit.ops:
            angles = [angle_value(p, lambda i: x[:, i], lambda j: w[j]) for p in op.params]
            U = gate_matrix(op.name, angles, cdt, x.device)                    # (d, d) or (N, d, d)
            k = GATES[op.name].n_wires
            rho = _apply(rho, _superop(U, self.depol[k - 1], self.damping[k - 1], k), op.wires, n)
        return rho

    def _expect(self, circuit, rho) -> torch.Tensor:
        """<P> for every observable with readout mixing: rho (N, d, d) -> (N, n_obs) real."""
        n, cols = circuit.n_qubits, []
        for word in circuit.observables:
            total = 0.0
            for sub, coef in readout_terms([self.readout] * len(word)):
                total = total + coef * (_pauli_expect(rho, [word[i] for i in sub], n) if sub else 1.0)
            cols.append(total if torch.is_tensor(total) else rho.new_full((rho.shape[0],), total).real)
        return torch.stack(cols, -1)

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = prepare(circuit, inputs, weights)
        y = self._expect(circuit, self._evolve(circuit, x, w))
        if x.shape[0] != y.shape[0]:
            y = y.expand(x.shape[0], -1)
        shots = check_shots(shots, None)
        if shots is not None:
            y = sample_estimates(y, shots, generator)
        return y.reshape(lead + (circuit.n_obs,))


def _pauli_expect(rho: torch.Tensor, word, n: int) -> torch.Tensor:
    """Tr(P rho) for a Pauli word [(wire, 'X'|'Y'|'Z'), ...]: P has one nonzero per row, so one gather."""
    idx = torch.arange(2 ** n, device=rho.device)
    flip, phase = pauli_flip_phase(word, n, rho.dtype, rho.device)
    # Tr(P rho) = sum_i P[j, i] rho[i, j] with j = i ^ flip, P[j, i] = phase(i)
    vals = rho[:, idx, idx ^ flip]                         # rho[i, j]
    return (vals * phase).sum(-1).real
