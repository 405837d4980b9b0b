"""Shared pieces of the quantum layers: tagging quantum parameters and running a circuit."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..backends import get_backend
from ..circuits import Circuit


def quantum_parameter(t: torch.Tensor) -> nn.Parameter:
    """An nn.Parameter tagged as quantum (a circuit angle or coefficient), for parameter accounting."""
    p = nn.Parameter(t)
    p._qhybrid_quantum = True
    return p


def is_quantum(p: torch.Tensor) -> bool:
    return getattr(p, "_qhybrid_quantum", False)


class CircuitRunner(nn.Module):
    """Owns a circuit's trainable weights and runs it on a backend: (..., n_inputs) -> (..., n_obs).

    Init: weights ~ U(-init_scale*pi, init_scale*pi); a small scale keeps deep circuits away
    from barren plateaus at the start (Grant et al. 2019).
    """

    def __init__(self, circuit: Circuit, backend="statevector", shots: int | None = None, init_scale: float = 0.1):
        super().__init__()
        self.circuit = circuit
        self.backend_name = backend if isinstance(backend, str) else getattr(backend, "name", "custom")
        self.backend = get_backend(backend)
        self.shots = shots
        self.weights = quantum_parameter(torch.empty(circuit.n_weights).uniform_(-math.pi, math.pi) * init_scale)

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        return self.backend.expval(self.circuit, angles, self.weights, shots=self.shots)

    def to_qiskit(self, bind_weights: bool = True):
        """The circuit as a Qiskit QuantumCircuit (current weights bound; inputs stay parameters `x`)."""
        from ..export import layer_to_qiskit
        return layer_to_qiskit(self, bind_weights)[""]

    def to_qasm3(self, bind_weights: bool = True) -> str:
        """The circuit as OpenQASM 3 (current weights bound; inputs stay `input float` parameters)."""
        from ..export import layer_to_qasm3
        return layer_to_qasm3(self, bind_weights)[""]

    def extra_repr(self) -> str:
        r = self.circuit.resources()
        return (f"n_qubits={r['n_qubits']}, depth={r['depth']}, n_weights={r['n_weights']}, "
                f"n_obs={r['n_observables']}, backend={self.backend_name!r}, shots={self.shots}")


def pauli_observables(n_qubits: int, which: str) -> list[str]:
    """'z' -> Z on every wire (n outputs); 'xyz' -> X, Y and Z on every wire (3n outputs)."""
    if which not in ("z", "xyz"):
        raise ValueError(f"observables must be 'z' or 'xyz', got {which!r}")
    letters = "Z" if which == "z" else "XYZ"
    return [f"{p}{w}" for p in letters for w in range(n_qubits)]
