"""Multi-head self-attention: classical and three quantum kinds (vqc, qsann, kernel).

Every kind has one constructor, `(d_model, n_heads, dropout=0.0, causal=True, n_qubits=4,
n_layers=2, ansatz=..., encoding=..., backend="statevector", shots=None)`, and one call,
`forward(x (B, T, C), key_mask (B, T) bool or None) -> (B, T, C)`. With `causal=True`
position t only sees positions <= t. Set `store_attention = True` to keep the last (B, H, T, T)
attention weights in `.attention` (for plots). The Quixer mixer lives in quixer.py.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..backends import require_state, sample_estimates
from ..circuit import Circuit, Input, InputProduct, Weight, build_circuit, pauli_observables
from .linear import QuantumLinear
from .runner import CircuitRunner, check_twin_options, quantum_parameter


def allowed_mask(T: int, causal: bool, key_mask: torch.Tensor | None, device) -> torch.Tensor | None:
    """Boolean (B or 1, 1, T, T): True where query i may attend to key j."""
    mask = torch.ones(T, T, dtype=torch.bool, device=device).tril() if causal else None
    if key_mask is not None:
        km = key_mask[:, None, None, :].bool()                          # (B, 1, 1, T)
        mask = km if mask is None else mask & km
    elif mask is not None:
        mask = mask[None, None]
    return mask


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1).nan_to_num(0.0)               # fully masked rows -> 0


class _Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, causal: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads, self.causal = d_model, n_heads, causal
        self.dropout = nn.Dropout(dropout)
        self.store_attention = False
        self.attention: torch.Tensor | None = None

    def _keep(self, att):
        if self.store_attention:
            self.attention = att.detach()

    def _split(self, t: torch.Tensor) -> torch.Tensor:                  # (B, T, H*k) -> (B, H, T, k)
        B, T, _ = t.shape
        return t.view(B, T, self.n_heads, -1).transpose(1, 2)

    def _merge(self, t: torch.Tensor) -> torch.Tensor:                  # (B, H, T, k) -> (B, T, H*k)
        B, H, T, k = t.shape
        return t.transpose(1, 2).reshape(B, T, H * k)


class CausalSelfAttention(_Attention):
    """Classical scaled dot-product attention (Vaswani et al. 2017), nanoGPT layout."""

    def __init__(self, d_model, n_heads, dropout=0.0, causal=True, **quantum_options):
        check_twin_options("CausalSelfAttention", quantum_options)
        super().__init__(d_model, n_heads, dropout, causal)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def _project(self, x):
        return self.qkv(x).split(self.d_model, dim=2)

    def forward(self, x, key_mask=None):
        q, k, v = (self._split(t) for t in self._project(x))            # (B, H, T, hd)
        mask = allowed_mask(x.shape[1], self.causal, key_mask, x.device)
        if not self.store_attention:                                     # fused kernel, same maths
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                               dropout_p=self.dropout.p if self.training else 0.0)
            return self.dropout(self.proj(self._merge(y)))
        att = masked_softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), mask)   # (B, H, T, T)
        self._keep(att)
        return self.dropout(self.proj(self._merge(self.dropout(att) @ v)))


class VQCAttention(CausalSelfAttention):
    """Q, K, V and output projections are QuantumLinear (dressed VQC) layers; softmax attention.

    Reference: the quantum-enhanced transformer of Di Sipio et al. (qtransformer, 2022) and
    Cherrat et al. 2024. Quantum: four circuits' weights. Classical: their dressing maps.
    Each projection is one backend call over all B*T tokens.
    """

    def __init__(self, d_model, n_heads, dropout=0.0, causal=True, n_qubits=4, n_layers=2,
                 ansatz="strongly_entangling", encoding="angle_y", backend="statevector", shots=None):
        _Attention.__init__(self, d_model, n_heads, dropout, causal)
        opts = dict(n_qubits=n_qubits, n_layers=n_layers, ansatz=ansatz, encoding=encoding, backend=backend,
                    shots=shots)
        self.q, self.k, self.v = (QuantumLinear(d_model, d_model, **opts) for _ in range(3))
        self.proj = QuantumLinear(d_model, d_model, **opts)

    def _project(self, x):
        return self.q(x), self.k(x), self.v(x)


class QSANNAttention(_Attention):
    """Gaussian-projected quantum self-attention (QSANN; Li et al., arXiv:2205.05625, 2022).

    Per head: angles a = pi/2 tanh(W x) (classical); query and key circuits give scalars
    q_i = <Z0>, k_j = <Z0>; weights exp(-(q_i - k_j)^2), masked (causally) and normalised;
    values are a third circuit's X, Y, Z expectations on every wire. Quantum: three circuits.
    Classical: the angle map and the output projection.
    """

    def __init__(self, d_model, n_heads, dropout=0.0, causal=True, n_qubits=4, n_layers=2,
                 ansatz="strongly_entangling", encoding="angle_y", backend="statevector", shots=None):
        super().__init__(d_model, n_heads, dropout, causal)
        self.n_qubits = n_qubits
        self.angles = nn.Linear(d_model, n_heads * n_qubits)
        circ = lambda obs: CircuitRunner(build_circuit(n_qubits, n_layers, encoding, ansatz, obs), backend, shots)
        self.q_circuit, self.k_circuit = circ(["Z0"]), circ(["Z0"])
        self.v_circuit = circ(pauli_observables(n_qubits, "xyz"))
        self.proj = nn.Linear(n_heads * 3 * n_qubits, d_model)

    def forward(self, x, key_mask=None):
        B, T, _ = x.shape
        a = math.pi / 2 * torch.tanh(self.angles(x)).view(B, T, self.n_heads, self.n_qubits)  # (B, T, H, n)
        q = self.q_circuit(a)[..., 0].transpose(1, 2)                    # (B, H, T)
        k = self.k_circuit(a)[..., 0].transpose(1, 2)                    # (B, H, T)
        v = self.v_circuit(a).transpose(1, 2)                            # (B, H, T, 3n)
        mask = allowed_mask(T, self.causal, key_mask, x.device)
        if not self.store_attention:            # exp(-(q_i - k_j)^2) / sum_j = softmax_j(2 q_i k_j - k_j^2): fused
            qq = torch.stack((2 * q, torch.ones_like(q)), -1)             # (B, H, T, 2)
            kk = torch.stack((k, -k * k), -1)                             # (B, H, T, 2)
            y = F.scaled_dot_product_attention(qq, kk, v, attn_mask=mask, scale=1.0,
                                               dropout_p=self.dropout.p if self.training else 0.0)
            return self.dropout(self.proj(self._merge(y.nan_to_num(0.0))))   # fully masked rows: 0 on any torch
        w = torch.exp(-(q[..., :, None] - k[..., None, :]) ** 2)         # (B, H, T, T) in (0, 1]
        if mask is not None:
            w = w.masked_fill(~mask, 0.0)
        att = w / w.sum(-1, keepdim=True).clamp_min(1e-12)
        self._keep(att)
        return self.dropout(self.proj(self._merge(self.dropout(att) @ v)))


_SELF_INVERSE = {"h", "x", "y", "z", "cnot", "cz", "swap"}
_NEGATED = {"rx", "ry", "rz", "phaseshift", "crx", "cry", "crz", "isingxx", "isingyy", "isingzz"}
_FIXED_ADJOINT = {"s": -math.pi / 2, "t": -math.pi / 4}           # S^dag, T^dag = RZ(-pi/2), RZ(-pi/4) up to phase


def _shifted_negated(p, offset: int):
    """-p, with its inputs read from columns offset.. (the second state of an overlap test)."""
    if isinstance(p, float):
        return -p
    if isinstance(p, Input):
        return Input(p.index + offset, -p.scale)
    if isinstance(p, InputProduct):
        return InputProduct(p.i + offset, p.j + offset, -p.scale)
    return Weight(p.index, -p.scale)


def overlap_circuit(phi: Circuit) -> Circuit:
    """The compute-uncompute test of |<phi(a)|phi(b)>|^2 as one circuit: phi(a), then phi(b)^dagger.

    Inputs (a, b): 2 * phi.n_inputs, weights shared. The fidelity is the probability of reading |0...0>; the
    observable is the all-Z word (one measurement basis, every qubit read), which is what a hardware
    run would measure. One such circuit runs per (query, key) pair.
    """
    n_in = phi.n_inputs
    c = Circuit(phi.n_qubits, n_inputs=2 * n_in, n_weights=phi.n_weights)
    for op in phi.ops:
        c.add(op.name, op.wires, *op.params)
    for op in reversed(phi.ops):
        if op.name in _SELF_INVERSE:
            c.add(op.name, op.wires)
        elif op.name in _FIXED_ADJOINT:
            c.add("rz", op.wires, _FIXED_ADJOINT[op.name])
        elif op.name in _NEGATED:
            c.add(op.name, op.wires, *(_shifted_negated(p, n_in) for p in op.params))
        elif op.name == "rot":                                       # Rot(a,b,c)^dag = Rot(-c,-b,-a)
            c.add("rot", op.wires, *(_shifted_negated(p, n_in) for p in reversed(op.params)))
        else:
            raise ValueError(f"no adjoint for gate {op.name!r} in the overlap circuit")
    return c.observe(" ".join(f"Z{i}" for i in range(phi.n_qubits)))


class KernelAttention(_Attention):
    """Quantum-kernel attention: scores are fidelities |<phi(q_i)|phi(k_j)>|^2 of encoded states.

    Per head, queries and keys are mapped (classically) to angles and encoded by a trainable
    data re-uploading circuit phi (so the trainable part does not cancel in the overlap).
    Weights softmax(beta * F) with a learned inverse temperature beta (init 5). Fidelities
    come from the statevectors (exact); with `shots=k` they are sampled as in a compute-uncompute
    overlap test, F_hat = Binomial(k, F) / k. On hardware each (query, key) pair would be one
    compute-uncompute circuit (`overlap_circuit`; planning estimates it); qhybrid itself runs this layer
    on statevectors only. Reference: quantum kernels, Havlicek et al. 2019; kernel self-attention,
    Zhao et al. (QKSAN) 2023. Quantum: the encoding circuit and beta.
    Classical: angle maps, values, output projection.
    """

    def __init__(self, d_model, n_heads, dropout=0.0, causal=True, n_qubits=4, n_layers=2,
                 ansatz="reuploading", encoding="angle_y", backend="statevector", shots=None):
        super().__init__(d_model, n_heads, dropout, causal)
        require_state(backend, "kernel attention (state fidelities)")
        self.n_qubits, self.shots = n_qubits, shots
        self.q_angles = nn.Linear(d_model, n_heads * n_qubits)
        self.k_angles = nn.Linear(d_model, n_heads * n_qubits)
        self.feature_map = CircuitRunner(build_circuit(n_qubits, max(n_layers, 1), encoding, "reuploading"), backend)
        self.beta = quantum_parameter(torch.tensor(5.0))
        self.v = nn.Linear(d_model, d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.generator: torch.Generator | None = None

    def overlap_circuit(self) -> Circuit:
        """The circuit one (query, key) fidelity needs on hardware (compute-uncompute, see overlap_circuit)."""
        return overlap_circuit(self.feature_map.circuit)

    def overlap_pairs(self, B: int, T: int, key_mask=None) -> int:
        """(query, key) fidelities one forward pass needs: the allowed pairs (causal, key mask) of every head."""
        mask = allowed_mask(T, self.causal, key_mask, "cpu" if key_mask is None else key_mask.device)
        per_head = B * T * T if mask is None else int(mask.expand(B, 1, T, T).sum())
        return self.n_heads * per_head

    def _states(self, x):
        """Query and key states in one backend call: 2 x (B, H, T, 2^n)."""
        B, T, _ = x.shape
        a = torch.stack((self.q_angles(x), self.k_angles(x)))            # (2, B, T, H*n)
        a = math.pi / 2 * torch.tanh(a).view(2, B, T, self.n_heads, self.n_qubits)
        return self.feature_map.states(a).transpose(2, 3).unbind(0)      # (2, B, T, H, 2^n) -> 2 x (B, H, T, 2^n)

    def forward(self, x, key_mask=None):
        B, T, _ = x.shape
        pq, pk = self._states(x)
        ov = torch.view_as_real(pq.conj() @ pk.transpose(-2, -1))        # (B, H, T, T, 2): <phi(q_i)|phi(k_j)>
        fid = ov.square().sum(-1)                                        # (B, H, T, T) in [0, 1]
        if self.shots is not None:                                       # overlap test: Binomial(k, F) / k
            fid = sample_estimates(fid, self.shots, self.generator, probability=True)
        att = masked_softmax(self.beta * fid, allowed_mask(T, self.causal, key_mask, x.device))
        self._keep(att)
        v = self._split(self.v(x))                                        # (B, H, T, hd)
        return self.dropout(self.proj(self._merge(self.dropout(att) @ v)))
