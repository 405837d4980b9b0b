"""Pieces every non-default backend shares: input validation/flattening, angle values, cache keys."""
from __future__ import annotations

import math

import torch

from ..circuits import Circuit, Input, InputProduct, Weight


def prepare(circuit: Circuit, inputs, weights):
    """Validate and flatten (the statevector backend's contract): -> x (N, n_inputs), w (P,), lead shape.

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


def angle_value(p, x: torch.Tensor, w: torch.Tensor):
    """One angle of the IR: x (N, n_inputs), w (P,) -> tensor (N,) for inputs, () for weights, float for constants."""
    if isinstance(p, Input):
        return x[:, p.index] * p.scale
    if isinstance(p, InputProduct):
        return x[:, p.i] * x[:, p.j] * p.scale
    if isinstance(p, Weight):
        return w[p.index] * p.scale
    return p


def circuit_key(circuit: Circuit) -> tuple:
    """A hashable description of the circuit's structure (gates, angles, observables) for caches."""
    return circuit.n_qubits, circuit.n_inputs, circuit.n_weights, tuple(circuit.ops), tuple(circuit.observables)


def check_shots(shots, default: int | None) -> int | None:
    """shots=None -> the backend's default; else a positive integer."""
    if shots is None:
        return default
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ValueError(f"shots must be a positive integer or None (the backend's default), got {shots!r}")
    return shots
