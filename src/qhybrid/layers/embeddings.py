"""Token embeddings: classical, quantum (QSANN-style word circuit) and ket (word2ketXS).

All map ids (...) -> vectors (..., embedding_dim) and expose `full_weight()` -> (V, d), the
whole table, so a language model can tie its output head to any of them.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..circuit import build_circuit, pauli_observables
from .runner import CircuitRunner, check_twin_options, quantum_parameter


class ClassicalEmbedding(nn.Embedding):
    """nn.Embedding with the shared embedding constructor; init N(0, 0.02) as in GPT-2."""

    def __init__(self, num_embeddings: int, embedding_dim: int, **quantum_options):
        check_twin_options("ClassicalEmbedding", quantum_options)
        super().__init__(num_embeddings, embedding_dim)
        nn.init.normal_(self.weight, std=0.02)

    def full_weight(self) -> torch.Tensor:
        return self.weight


class QuantumEmbedding(nn.Module):
    """Each token owns trainable encoding angles; one shared VQC turns them into features.

    Reference: Li et al., "Quantum self-attention neural networks for text classification"
    (QSANN, 2022): a word is a parameterised circuit whose measured Pauli expectations are its
    features. Quantum: per-token angles (V, n_qubits) ~ U(-pi, pi) and the shared circuit weights.
    Classical: a Linear(3 n_qubits, d) read-out when d != 3 n_qubits.
    The circuit runs once per vocabulary entry per forward pass (V circuits), then ids gather
    rows -- cheaper than B*T circuits whenever V < B*T.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, n_qubits: int = 4, n_layers: int = 2,
                 ansatz: str = "strongly_entangling", encoding: str = "angle_y", backend="statevector",
                 shots: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.angles = quantum_parameter(torch.empty(num_embeddings, n_qubits).uniform_(-math.pi, math.pi))
        circuit = build_circuit(n_qubits, n_layers, encoding, ansatz, pauli_observables(n_qubits, "xyz"))
        self.vqc = CircuitRunner(circuit, backend, shots)
        self.readout = nn.Linear(circuit.n_obs, embedding_dim) if embedding_dim != circuit.n_obs else None

    def full_weight(self) -> torch.Tensor:                       # (V, d)
        feats = self.vqc(self.angles)                            # (V, 3n)
        return self.readout(feats) if self.readout is not None else feats

    def forward(self, ids: torch.Tensor) -> torch.Tensor:       # (...) -> (..., d)
        return self.full_weight()[ids]


class KetEmbedding(nn.Module):
    """word2ketXS: the (V, d) table is a sum of `rank` Kronecker products of `order` small tables.

    Reference: Panahi, Saeedi, Arodz, "word2ket: Space-efficient word embeddings inspired by
    quantum entanglement", ICLR 2020. Quantum-inspired, classical compute; nothing runs on a
    circuit. Factor j is (v_j, q_j) with prod v_j >= V and prod q_j >= d; parameters
    rank * sum_j v_j q_j instead of V d (e.g. V=10000, d=256, order 2, rank 2: 6,400 vs 2,560,000).
    Init: factors ~ N(0, s) with s = (0.02 / sqrt(rank)) ** (1 / order), so entries are ~N(0, 0.02**2).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, order: int = 2, rank: int = 2):
        super().__init__()
        if order < 1 or rank < 1:
            raise ValueError(f"KetEmbedding needs order >= 1 and rank >= 1, got order={order}, rank={rank}")
        self.num_embeddings, self.embedding_dim, self.order, self.rank = num_embeddings, embedding_dim, order, rank
        self.v = math.ceil(num_embeddings ** (1 / order) - 1e-9)
        self.q = math.ceil(embedding_dim ** (1 / order) - 1e-9)
        std = (0.02 / math.sqrt(rank)) ** (1 / order)
        self.factors = nn.Parameter(torch.randn(order, rank, self.v, self.q) * std)   # (k, r, v, q)

    def full_weight(self) -> torch.Tensor:                       # (V, d)
        table = self.factors[0]                                  # (r, v, q)
        for j in range(1, self.order):
            f = self.factors[j]
            table = (table[:, :, None, :, None] * f[:, None, :, None, :]).reshape(
                self.rank, table.shape[1] * self.v, table.shape[2] * self.q)
        return table.sum(0)[: self.num_embeddings, : self.embedding_dim]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.full_weight()[ids]


EMBEDDINGS = {"classical": ClassicalEmbedding, "quantum": QuantumEmbedding, "ket": KetEmbedding}
