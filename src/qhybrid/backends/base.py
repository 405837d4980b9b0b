"""The backend contract and the pieces every engine shares.

    class Backend(Protocol):       name, exact, expval(circuit, inputs (..., n_inputs), weights (P,),
                                   shots=None, generator=None) -> (..., n_obs), differentiable
    class StateBackend(Backend):   + state(circuit, inputs, weights) -> (..., 2**n) exact statevectors
                                   + evolve(circuit, x (N, n_inputs), w (P,), psi0 (N, 2**n)) -> (N, 2**n)
                                   + expectations(circuit, psi (N, 2**n)) -> (N, n_obs)

Shared: `prepare` (validate and flatten inputs/weights), `circuit_key` (cache key of a circuit's
structure), `check_shots`, `check_usage`, `sample_estimates` (binomial shot noise around exact values), `bit` (the
wire-bit rule, wire 0 = most significant) and `pauli_flip_phase` (a Pauli word as one gather + phases).
"""
from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Backend(Protocol):
    """What every backend provides: expectations of a circuit's observables, all leading dims in one call."""

    name: str
    exact: bool

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor: ...


@runtime_checkable
class StateBackend(Backend, Protocol):
    """The optional capability of exact statevectors (kernel attention and Quixer ask for it)."""

    def state(self, circuit, inputs=None, weights=None) -> torch.Tensor: ...

    def evolve(self, circuit, x: torch.Tensor, w: torch.Tensor, psi0: torch.Tensor) -> torch.Tensor: ...

    def expectations(self, circuit, psi: torch.Tensor) -> torch.Tensor: ...


def prepare(circuit, inputs, weights):
    """Validate and flatten (every backend's contract): -> x (N, n_inputs), w (P,), lead shape.

    Float64 if either inputs or weights are float64, else float32. A circuit without inputs runs once
    (N = 1, lead = ()).
    """
    n_in, n_w = circuit.n_inputs, circuit.n_weights
    ref = inputs if isinstance(inputs, torch.Tensor) else weights if isinstance(weights, torch.Tensor) else None
    device = ref.device if ref is not None else torch.device("cpu")
    if inputs is None:
        if n_in:
            raise ValueError(f"this circuit reads {n_in} input feature(s); pass inputs of shape (..., {n_in})")
        x, lead = torch.zeros(1, 0, device=device), ()
    else:
        x = torch.as_tensor(inputs, device=device)
        if not torch.is_floating_point(x):
            x = x.to(torch.get_default_dtype())
        if x.dim() == 0 or x.shape[-1] != n_in:
            raise ValueError(f"inputs must have shape (..., {n_in}) -- the circuit reads {n_in} feature(s) "
                             f"-- but got shape {tuple(x.shape)}")
        lead = tuple(x.shape[:-1])
        x = x.reshape(math.prod(lead), n_in)                             # (N, n_in), also for n_in == 0
    if weights is None:
        if n_w:
            raise ValueError(f"this circuit has {n_w} trainable weight(s); pass weights of shape ({n_w},)")
        w = torch.zeros(0, dtype=x.dtype, device=device)
    else:
        w = torch.as_tensor(weights, device=device)
        if not torch.is_floating_point(w):
            w = w.to(torch.get_default_dtype())
        if w.numel() != n_w:
            raise ValueError(f"weights must hold {n_w} value(s) (the circuit uses Weight(0)..Weight({n_w - 1})), "
                             f"got shape {tuple(w.shape)}")
        w = w.reshape(-1)
    real = torch.float64 if torch.float64 in (x.dtype, w.dtype) else torch.float32
    return x.to(real), w.to(real), lead


def circuit_key(circuit) -> tuple:
    """A hashable description of the circuit's structure (gates, angles, observables) for caches."""
    return circuit.n_qubits, circuit.n_inputs, circuit.n_weights, tuple(circuit.ops), tuple(circuit.observables)


def check_shots(shots, default: int | None) -> int | None:
    """shots=None -> the backend's default (None = exact); else a positive integer."""
    if shots is None:
        return default
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        what = "exact" if default is None else "the backend's default"
        raise ValueError(f"shots must be a positive integer or None ({what}), got {shots!r}")
    return shots


def check_usage(state: dict) -> dict:
    """A backend's saved usage {"jobs": int >= 0, "qpu_seconds": float >= 0 or None}, validated."""
    jobs, qpu = state.get("jobs", 0), state.get("qpu_seconds")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"usage 'jobs' must be a non-negative integer, got {jobs!r}")
    if qpu is not None and (isinstance(qpu, bool) or not isinstance(qpu, (int, float)) or not qpu >= 0):
        raise ValueError(f"usage 'qpu_seconds' must be a non-negative number or None, got {qpu!r}")
    return state


def sample_estimates(y: torch.Tensor, shots: int, generator: torch.Generator | None,
                     probability: bool = False) -> torch.Tensor:
    """Finite-shot estimates around exact values y, gradients through the exact value (the estimator of the
    analytic gradient; shot-noisy gradients come with the Qiskit backends).

    +-1-valued observables: est = 2 Binomial(shots, (1+y)/2) / shots - 1, mean y, variance (1 - y^2) / shots;
    probability=True (fidelities of an overlap test): est = Binomial(shots, y) / shots.
    """
    p = y.detach().clamp(0, 1) if probability else ((1 + y.detach()) / 2).clamp(0, 1)
    if generator is not None and generator.device != p.device:
        raise ValueError(f"the shot generator lives on {generator.device}, the data on {p.device}")
    k = torch.binomial(torch.full_like(p, float(shots)), p, generator=generator)
    est = k / shots if probability else 2 * k / shots - 1
    return y + (est - y).detach()


def bit(index, wire: int, n: int):
    """Bit of basis index `index` for `wire` (wire 0 is the most significant of n): (index >> (n-1-wire)) & 1."""
    return (index >> (n - 1 - wire)) & 1


def z_signs(n: int, wires) -> torch.Tensor:
    """Z eigenvalues (+1 for bit 0, -1 for bit 1) of every basis state on each wire: (len(wires), 2**n) float64."""
    idx = torch.arange(2 ** n)
    return torch.stack([1 - 2 * bit(idx, q, n) for q in wires]).double()


def pauli_flip_phase(word, n: int, dtype=torch.complex128, device=None) -> tuple[int, torch.Tensor]:
    """A Pauli word [(wire, 'X'|'Y'|'Z'), ...] as P|i> = phase[i] |i ^ flip>: (flip mask, phase (2**n,))."""
    idx = torch.arange(2 ** n, device=device)
    flip = sum(1 << (n - 1 - w) for w, p in word if p in "XY")
    phase = torch.ones(2 ** n, dtype=dtype, device=device)
    for w, p in word:
        sign = 1 - 2 * bit(idx, w, n).to(torch.float64 if dtype == torch.complex128 else torch.float32)
        if p == "Z":
            phase = phase * sign
        elif p == "Y":                                   # Y|b> = i(-1)^b |1-b>
            phase = phase * (1j * sign)
    return flip, phase
