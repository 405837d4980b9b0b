"""Feed-forward blocks: the classical MLP and a dressed-VQC block, with one constructor."""
from __future__ import annotations

from torch import nn

from .linear import QuantumLinear
from .runner import check_twin_options


class MLP(nn.Module):
    """Linear(d, hidden) -> GELU -> Linear(hidden, d) -> dropout (GPT-2 layout)."""

    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0, **quantum_options):
        check_twin_options("MLP", quantum_options)
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model), nn.Dropout(dropout))

    def forward(self, x):                                          # (..., d) -> (..., d)
        return self.net(x)


class VQCFeedForward(nn.Module):
    """A dressed VQC in place of the MLP: Linear(d, n) -> pi/2 tanh -> VQC (<X>,<Y>,<Z> per wire)
    -> Linear(3n, d) -> dropout. Quantum: the circuit weights; `hidden` is not used.
    Reference: Mari et al. 2020 (dressed circuits); the quantum FFN of Di Sipio et al. 2022."""

    def __init__(self, d_model: int, hidden: int = 0, dropout: float = 0.0, n_qubits: int = 4, n_layers: int = 2,
                 ansatz: str = "strongly_entangling", encoding: str = "angle_y", backend="statevector", shots=None):
        super().__init__()
        self.vqc = QuantumLinear(d_model, d_model, n_qubits, n_layers, ansatz, encoding, "xyz", backend, shots)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.vqc(x))
