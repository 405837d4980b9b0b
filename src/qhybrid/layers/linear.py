"""QuantumLinear: a drop-in for nn.Linear built around a variational circuit ("dressed" circuit).

    x (..., in_features) -> [Linear(in, n_qubits) -> pi/2 * tanh]   (only if in_features != n_qubits)
                         -> VQC: encoding + ansatz, <P> for P in observables  (..., n_obs)
                         -> [Linear(n_obs, out_features)]             (only if out_features != n_obs)

Reference: Mari et al., "Transfer learning in hybrid classical-quantum neural networks",
Quantum 4, 340 (2020) -- the dressed quantum circuit. Quantum: the circuit weights.
Classical: the optional input/output maps. `n_quantum_parameters` says how many are quantum.
Inputs must be floating point: an integer tensor is refused with a TypeError (never cast silently).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..circuit import build_circuit, pauli_observables
from .runner import CircuitRunner, check_twin_options


class QuantumLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, n_qubits: int = 4, n_layers: int = 2,
                 ansatz: str = "strongly_entangling", encoding: str = "angle_y", observables: str = "z",
                 backend="statevector", shots: int | None = None, bias: bool = True):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        circuit = build_circuit(n_qubits, n_layers, encoding, ansatz, pauli_observables(n_qubits, observables))
        self.vqc = CircuitRunner(circuit, backend, shots)
        n_obs = circuit.n_obs
        self.pre = nn.Linear(in_features, n_qubits, bias=bias) if in_features != n_qubits else None
        self.post = nn.Linear(n_obs, out_features, bias=bias) if out_features != n_obs else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (..., in) -> (..., out)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"QuantumLinear expects (..., {self.in_features}) inputs, got {tuple(x.shape)}")
        if not torch.is_floating_point(x):                      # no silent cast: integers are usually token ids
            raise TypeError(f"QuantumLinear expects a floating-point tensor of features, got {x.dtype}; cast it "
                            f"(x.float()), or pass token ids through an embedding first")
        angles = math.pi / 2 * torch.tanh(self.pre(x)) if self.pre is not None else x
        y = self.vqc(angles)                                    # (..., n_obs) expectations in [-1, 1]
        return self.post(y) if self.post is not None else y

    @property
    def n_quantum_parameters(self) -> int:
        return self.vqc.weights.numel()


class ClassicalLinear(nn.Linear):
    """The classical twin of QuantumLinear: same constructor (quantum options ignored), plain nn.Linear."""

    def __init__(self, in_features: int, out_features: int, *args, bias: bool = True, **quantum_options):
        check_twin_options("ClassicalLinear", quantum_options)
        super().__init__(in_features, out_features, bias=bias)

    n_quantum_parameters = 0
