"""Angles of the IR and the one place that turns them into numbers.

An angle is a float constant, `Input(i, scale)` (feature i of every sample), `InputProduct(i, j,
scale)` or `Weight(j, scale)` (trainable parameter j). `term(angle)` reads one as (source, i, j,
coef); `angle_value` evaluates it with any algebra (torch tensors, PennyLane arrays, Qiskit
Parameters); `AngleTable` compiles many into index tensors and evaluates them in one pass
(x (N, n_inputs), w (P,) -> per-sample (N, Kx) and shared (Kw,) angles, differentiable).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Input:
    """Feature `index` of each sample, times `scale` (angle = scale * x[..., index])."""
    index: int
    scale: float = 1.0

    def __mul__(self, other):
        if isinstance(other, Input):
            return InputProduct(self.index, other.index, self.scale * other.scale)
        return Input(self.index, self.scale * float(other))

    __rmul__ = __mul__

    def __str__(self):
        return f"x{self.index}" if self.scale == 1 else f"{self.scale:g}*x{self.index}"


@dataclass(frozen=True)
class InputProduct:
    """scale * x[..., i] * x[..., j] (used by IQP feature maps)."""
    i: int
    j: int
    scale: float = 1.0

    def __mul__(self, other):
        return InputProduct(self.i, self.j, self.scale * float(other))

    __rmul__ = __mul__

    def __str__(self):
        s = f"x{self.i}*x{self.j}"
        return s if self.scale == 1 else f"{self.scale:g}*{s}"


@dataclass(frozen=True)
class Weight:
    """Trainable parameter `index` of the circuit's weight vector, times `scale`."""
    index: int
    scale: float = 1.0

    def __mul__(self, other):
        return Weight(self.index, self.scale * float(other))

    __rmul__ = __mul__

    def __str__(self):
        return f"w{self.index}" if self.scale == 1 else f"{self.scale:g}*w{self.index}"


Angle = float | Input | InputProduct | Weight


def term(p) -> tuple[str, int, int, float]:
    """One angle as (source, i, j, coef): ("const", 0, 0, c) = c; ("x", i, -1, c) = c x_i;
    ("xx", i, j, c) = c x_i x_j; ("w", j, -1, c) = c w_j."""
    if isinstance(p, Input):
        return "x", p.index, -1, p.scale
    if isinstance(p, InputProduct):
        return "xx", p.i, p.j, p.scale
    if isinstance(p, Weight):
        return "w", p.index, -1, p.scale
    return "const", 0, 0, float(p)


def angle_value(p, feature, weight):
    """The value of angle p, given readers feature(i) -> x_i and weight(j) -> w_j in any algebra
    (torch columns, PennyLane arrays, Qiskit Parameters); constants stay floats."""
    src, i, j, c = term(p)
    if src == "const":
        return c
    v = weight(i) if src == "w" else feature(i) if src == "x" else feature(i) * feature(j)
    return v if c == 1 else v * c


class AngleTable:
    """Angles [a_0 .. a_{K-1}] (each optionally times factors[k]) compiled once into index tensors.

    x_cols / w_cols: the positions k that read inputs / weights (constants are in neither).
    split(x (N, n_inputs), w (P,)) -> (theta_x (N, Kx), theta_w (Kw,)), differentiable in x and w.
    """

    def __init__(self, angles, factors=None):
        angles = list(angles)
        factors = [1.0] * len(angles) if factors is None else list(factors)
        terms = [term(a) for a in angles]
        self.K = len(angles)
        self.x_cols = [k for k, t in enumerate(terms) if t[0] in ("x", "xx")]
        self.w_cols = [k for k, t in enumerate(terms) if t[0] == "w"]
        xt, wt = [terms[k] for k in self.x_cols], [terms[k] for k in self.w_cols]
        self._i1 = torch.tensor([i for _, i, _, _ in xt], dtype=torch.long)
        self._i2 = torch.tensor([j for _, _, j, _ in xt], dtype=torch.long)
        self._products = any(j >= 0 for _, _, j, _ in xt)
        self._xs = torch.tensor([c * factors[k] for k, (_, _, _, c) in zip(self.x_cols, xt)], dtype=torch.float64)
        self._wi = torch.tensor([i for _, i, _, _ in wt], dtype=torch.long)
        self._ws = torch.tensor([c * factors[k] for k, (_, _, _, c) in zip(self.w_cols, wt)], dtype=torch.float64)

    def split(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, n_inputs), w (P,) -> theta_x (N, Kx), theta_w (Kw,)."""
        dev = x.device
        tx = x[:, self._i1.to(dev)] if self.x_cols else x.new_zeros(x.shape[0], 0)
        if self._products:
            i2 = self._i2.to(dev)
            tx = tx * torch.where(i2 >= 0, x[:, i2.clamp_min(0)], torch.ones_like(tx))
        tx = tx * self._xs.to(device=dev, dtype=x.dtype)
        tw = w[self._wi.to(w.device)] * self._ws.to(device=w.device, dtype=w.dtype)
        return tx, tw
