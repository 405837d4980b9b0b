"""Quixer-style token mixing: a linear combination of token unitaries, then a polynomial (QSVT).

Reference: Khatri et al., "Quixer: A Quantum Transformer Model", arXiv:2406.04305 (2024).
Here causal: position t mixes only tokens s <= t.

    angles_s = W x_s                                  (classical map, one vector per token)
    U_s      = PQC(angles_s)                          (n-qubit unitary, all angles data-dependent)
    M_t      = sum_{s<=t} b_s U_s / sum_{s<=t} |b_s|   (LCU, trainable complex b per position)
    psi_t    = P(M_t)|0> / ||P(M_t)|0>||,  P(M) = sum_k c_k M^k / sum_k |c_k|   (trainable complex c)
    y_t      = <X_i>, <Y_i>, <Z_i> of V(w) psi_t      (trainable read-out circuit) -> Linear -> d_model

With `store_attention`, `.attention` (B, 1, T, T) holds the normalised LCU weights |b_s| / sum|b|.
The success (postselection) probability of the block-encoded P(M_t) applied to |0> is
||P(M_t)|0>||^2 with the normalisations above; its batch mean after each forward is kept in
`.success_probability` (a hardware run would need about 1/p repetitions per kept sample).
Quantum: the token PQC, b, c and the read-out circuit. Classical: the angle map and output map.
Like the paper, one mixer spans the whole width (n_heads is not used). Cost: B*T unitaries of
size 2^n x 2^n per pass, built directly from Kronecker products (token_unitaries), and their
prefix sums; M_t|0> is a column of the prefix sum, so degree K needs K - 1 matrix-vector products.
Batches with more than CHUNK_ELEMENTS matrix elements run chunk by chunk under activation
checkpointing: a chunk's unitaries are rebuilt in the backward pass instead of being kept (at 6
qubits in bench_models.py this cut the memory saved for backward from 783 to 37 MB, and the step got no slower). The
read-out circuit runs on a backend with exact statevectors (the StateBackend capability).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..backends import batched_outer, bit, check_memory, require_state
from ..circuit import Circuit, Input, build_circuit, pauli_observables, ring
from ..circuit.gates import complex_of
from .attention import _Attention
from .runner import CircuitRunner, quantum_parameter


def token_circuit(n_qubits: int, n_layers: int) -> Circuit:
    """The per-token PQC: n_layers x (RY, RZ on every wire from inputs, then a CNOT ring)."""
    c = Circuit(n_qubits)
    k = 0
    for _ in range(n_layers):
        for i in range(n_qubits):
            c.ry(i, Input(k)); c.rz(i, Input(k + 1))
            k += 2
        for ctrl, tgt in ring(n_qubits):
            c.cnot(ctrl, tgt)
    return c


def circuit_unitaries(circuit: Circuit, angles: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Unitaries of an input-dependent circuit: angles (N, n_inputs) -> (N, D, D)."""
    N, D = angles.shape[0], 2 ** circuit.n_qubits
    dtype = complex_of(angles.dtype)
    eye = torch.eye(D, dtype=dtype, device=angles.device)
    sim = require_state("statevector", "circuit_unitaries")
    rows = sim.evolve(circuit, angles.repeat_interleave(D, 0), weights, eye.repeat(N, 1))   # (N*D, D)
    return rows.view(N, D, D).transpose(1, 2)                      # row k of rows = U e_k -> column k


def _ring_rows(n_qubits: int) -> torch.Tensor:
    """Row order r with (P K)[y] = K[r[y]] for P = the token circuit's CNOT ring on basis states."""
    D = 2 ** n_qubits
    image = []
    for x in range(D):
        for ctrl, tgt in ring(n_qubits):
            if bit(x, ctrl, n_qubits):
                x ^= 1 << (n_qubits - 1 - tgt)
        image.append(x)
    rows = torch.empty(D, dtype=torch.long)
    rows[torch.tensor(image)] = torch.arange(D)
    return rows


def _wire_matrices(angles: torch.Tensor, n_qubits: int, n_layers: int) -> torch.Tensor:
    """RZ(phi) RY(theta) of every wire and layer: angles (N, 2 n L) -> (N, L, n, 2, 2)."""
    N = angles.shape[0]
    a = angles.view(N, n_layers, n_qubits, 2)
    half_theta, half_phi = a[..., 0] / 2, a[..., 1] / 2
    c, s = torch.cos(half_theta), torch.sin(half_theta)
    e = torch.complex(torch.cos(half_phi), -torch.sin(half_phi))     # e^{-i phi/2}
    ec = e.conj()
    return torch.stack([torch.stack([c * e, -s * e], -1), torch.stack([s * ec, c * ec], -1)], -2)


def _kron(f: torch.Tensor) -> torch.Tensor:
    """Kronecker product of per-wire matrices f (N, k, 2, 2), wire 0 most significant: (N, 2^k, 2^k)."""
    N, K = f.shape[0], f[:, 0]
    for q in range(1, f.shape[1]):
        K = (K[:, :, None, :, None] * f[:, q, None, :, None, :]).reshape(N, 2 * K.shape[1], 2 * K.shape[2])
    return K


def _kron_rows(m: torch.Tensor, rows: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Rows `rows` of the Kronecker product of per-wire matrices m (N, n, 2, 2) (wire 0 most significant),
    times scale (N,) if given: (N, D, D) built as ONE outer product of its two halves' row-gathered factors."""
    N, n = m.shape[:2]
    h = n // 2
    if h == 0:
        K = _kron(m)[:, rows]
        return K if scale is None else K * scale[:, None, None]
    A, Bm = _kron(m[:, :h]), _kron(m[:, h:])                         # (N, d1, d1), (N, d2, d2)
    d2 = Bm.shape[1]
    if scale is not None:
        A = A * scale[:, None, None]
    Ar, Br = A[:, rows // d2], Bm[:, rows % d2]                      # (N, D, d1), (N, D, d2)
    D = rows.shape[0]
    return batched_outer(Ar.reshape(N * D, -1), Br.reshape(N * D, -1)).view(N, D, -1)


def token_unitaries(angles: torch.Tensor, n_qubits: int, n_layers: int, scale: torch.Tensor | None = None):
    """The unitaries of token_circuit(n_qubits, n_layers) built directly: angles (N, 2 n L) -> (N, D, D)
    (times scale (N,) complex if given).

    Per layer the single-qubit part is a Kronecker product of RZ(phi) RY(theta) on every wire, the
    CNOT ring a fixed row permutation, built together as one outer product of the two half-register
    factors with their rows already in ring order; layers multiply. Same result as circuit_unitaries
    on the token circuit (tested), without simulating D basis states gate by gate.
    """
    m = _wire_matrices(angles, n_qubits, n_layers)                  # (N, L, n, 2, 2)
    rows = _ring_rows(n_qubits).to(angles.device)
    U = _kron_rows(m[:, 0], rows, scale)
    for layer in range(1, n_layers):
        U = _kron_rows(m[:, layer], rows) @ U
    return U


def quixer_bytes(B: int, T: int, n_qubits: int, n_layers: int, dtype: torch.dtype, grad: bool) -> int:
    """Peak memory of one Quixer forward: the token unitaries of one chunk of the batch (see _chunk) and
    their prefix sums, with autograd's copies when grad (a chunk is recomputed in the backward pass)."""
    item = 16 if dtype in (torch.float64, torch.complex128) else 8
    matrices = 3 + (2 * n_layers + 2 if grad else 0)
    return _chunk(B, T, n_qubits) * T * 4 ** n_qubits * item * matrices


CHUNK_ELEMENTS = 2 ** 20       # matrix elements per chunk (8 MiB in complex64): big batches run chunk by chunk


def _chunk(B: int, T: int, n_qubits: int) -> int:
    """Batch rows per chunk: all of them while B*T unitaries are small, else about CHUNK_ELEMENTS per chunk."""
    return max(1, min(B, CHUNK_ELEMENTS // (T * 4 ** n_qubits)))


def _lcu_coefficients(b: torch.Tensor, B: int, key_mask: torch.Tensor | None) -> torch.Tensor:
    """The LCU weight of every token: b (T,) per position, zero at masked keys -> (B, T)."""
    coef = b[None, :].expand(B, b.shape[0])
    return coef if key_mask is None else coef * key_mask.to(coef.real.dtype)


def lcu_qsvt_states(U: torch.Tensor, b: torch.Tensor, c: torch.Tensor, causal: bool,
                    key_mask: torch.Tensor | None = None, scaled: bool = False):
    """U (B, T, D, D), b (T,) complex, c (K+1,) complex -> states (B, T, D) and success prob (B, T).

    With scaled=True, U already holds b_s U_s (the key mask applied) and b is only read for its norms."""
    B, T, D, _ = U.shape
    coef = _lcu_coefficients(b, B, key_mask)                       # (B, T)
    terms = U if scaled else coef[..., None, None] * U             # (B, T, D, D)
    norm = coef.abs()
    if causal:
        W, l1 = terms.cumsum(1), norm.cumsum(1)                    # prefix sums: position t sees s <= t
    else:
        W, l1 = terms.sum(1, keepdim=True), norm.sum(1, keepdim=True).expand(B, T)
    inv = (1 / l1.clamp_min(1e-12)).to(U.dtype)[..., None]          # (B, T, 1): M_t = W_t / l1_t
    v = W[..., 0].expand(B, T, D) * inv                            # M |0> is column 0: no matvec
    out = c[1] * v if c.shape[0] > 1 else torch.zeros_like(v)
    out[..., 0] += c[0]                                            # c_0 |0...0>
    for k in range(2, c.shape[0]):
        v = (W @ v.unsqueeze(-1)).squeeze(-1) * inv                # M^k |0>
        out = out + c[k] * v
    out = out / c.abs().sum()
    p = torch.view_as_real(out).square().sum((-2, -1))              # (B, T) success probability
    return out / p.sqrt().clamp_min(1e-12)[..., None], p


def _mix(a, b, c, mask, n, layers, causal):
    """One chunk: angles a (b, T, 2nL) -> states (b, T, D), success probability (b, T)."""
    Bc, T, _ = a.shape
    coef = _lcu_coefficients(b, Bc, mask)
    U = token_unitaries(a.reshape(Bc * T, -1), n, layers, scale=coef.reshape(-1)).view(Bc, T, 2 ** n, 2 ** n)
    return lcu_qsvt_states(U, b, c, causal, mask, scaled=True)


class QuixerAttention(_Attention):
    """Causal Quixer token mixer (see module docstring); a drop-in for CausalSelfAttention."""

    not_on_hardware = ("its token unitaries, their LCU and the QSVT polynomial are simulated exactly as matrices "
                       "(a hardware version would need block encodings with ancillas and postselection, about "
                       "1/p repetitions per kept sample at success probability p); the read-out circuit acts on "
                       "those simulated states, so no part of it runs as a circuit on a QPU")

    def __init__(self, d_model, n_heads, dropout=0.0, causal=True, n_qubits=4, n_layers=2,
                 ansatz="strongly_entangling", encoding="angle_y", backend="statevector", shots=None,
                 qsvt_degree=2, context=256):
        super().__init__(d_model, n_heads, dropout, causal)
        require_state(backend, "quixer attention (token unitaries and their LCU)")
        if shots is not None:
            raise ValueError("quixer attention is simulated exactly (it needs the token unitaries); use shots=None")
        if qsvt_degree < 1:
            raise ValueError(f"qsvt_degree must be >= 1, got {qsvt_degree}")
        self.context = context
        self.token_pqc = token_circuit(n_qubits, n_layers)
        self.angles = nn.Linear(d_model, self.token_pqc.n_inputs)
        self.lcu = quantum_parameter(torch.randn(context, 2) * 0.1 + torch.tensor([1.0, 0.0]))   # b = 1 + small noise
        self.poly = quantum_parameter(torch.randn(qsvt_degree + 1, 2) * 0.1 + torch.tensor([1.0, 0.0]))
        self.readout = CircuitRunner(build_circuit(n_qubits, n_layers, "none", ansatz,
                                                   pauli_observables(n_qubits, "xyz")), backend, init_range=0.3)
        self.proj = nn.Linear(self.readout.circuit.n_obs, d_model)
        self._success: torch.Tensor | None = None         # batch mean of the last forward, kept on the device

    def forward(self, x, key_mask=None):
        B, T, _ = x.shape
        if T > self.context:
            raise ValueError(f"sequence length {T} exceeds the Quixer context {self.context}")
        a = self.angles(x).reshape(B * T, -1)                                      # (B*T, n_angles)
        n = self.token_pqc.n_qubits
        layers = self.token_pqc.n_inputs // (2 * n)
        grad = torch.is_grad_enabled()
        check_memory(n, B * T, 0, a.dtype, a.device, grad, what="quixer token unitaries",
                     need=quixer_bytes(B, T, n, layers, a.dtype, grad))
        dtype = complex_of(a.dtype)
        b = torch.view_as_complex(self.lcu[:T].contiguous()).to(dtype)
        c = torch.view_as_complex(self.poly.contiguous()).to(dtype)
        a = a.view(B, T, -1)
        step = _chunk(B, T, n)
        parts = []
        for i in range(0, B, step):                     # big batches chunk by chunk, recomputed in backward
            m = None if key_mask is None else key_mask[i:i + step]
            args = (a[i:i + step], b, c, m, n, layers, self.causal)
            parts.append(checkpoint(_mix, *args, use_reentrant=False) if grad and step < B else _mix(*args))
        psi, p = (torch.cat(t) for t in zip(*parts)) if len(parts) > 1 else parts[0]   # (B, T, D), (B, T)
        if self.store_attention:                    # LCU weights |b_s| / sum |b|: who mixes into t
            w = b.abs().real[None, :].expand(T, T).clone()
            w = w.tril() if self.causal else w
            self._keep((w / w.sum(-1, keepdim=True))[None, None].expand(B, 1, T, T))
        self._success = p.detach().mean()                    # no host sync in the forward pass
        y = self.readout.from_states(psi.reshape(B * T, -1)).view(B, T, -1)       # (B, T, 3n)
        return self.dropout(self.proj(y))

    def step_metrics(self) -> dict:
        """Per-step metrics the trainer records: the batch-mean postselection probability of the last forward."""
        p = self.success_probability
        return {} if p is None else {"quixer_success_probability": p}

    @property
    def success_probability(self) -> float | None:
        """The batch-mean postselection probability of the last forward pass (None before the first)."""
        return None if self._success is None or self._success.is_meta else float(self._success)
