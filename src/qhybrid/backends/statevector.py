"""The default backend: an exact, batched, differentiable statevector simulator in pure torch.

One forward pass is one tensor program over all N = prod(leading dims) circuits:
  1. product prefix: single-qubit gates that act on a wire before any multi-qubit gate
     touches it are applied to per-wire 2-vectors and the state is built by a Kronecker
     product (N, 2**n) -- no 2**n work per gate;
  2. body: runs of input-independent gates (constants and weights) are either fused into
     one dense (2**n, 2**n) unitary, built once per pass and applied with one matmul, or
     applied gate by gate -- whichever a simple cost model says is cheaper for this N;
     input-dependent gates are applied gate by gate with per-sample angles;
  3. expectations of Pauli words, grouped by their X/Y mask: one gather + one matmul per group.
Gradients come from torch autograd. complex64 by default, complex128 for float64 inputs/weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..circuits import Circuit, Input, InputProduct, Op, Weight
from ..gates import GATES, gate_matrix

# Cost model (relative units, calibrated on a 2-core CPU; see docs/performance.md):
_GATE_ELEM = 1.0      # one gate applied to one amplitude
_MATMUL_MAC = 0.12    # one complex multiply-add inside a dense matmul
_OP_OVERHEAD = 2e4    # fixed cost of one torch op sequence (dispatch, autograd bookkeeping)


@dataclass
class Plan:
    prefix: list[list[Op]]        # per wire: single-qubit ops applied to |0> (empty when not from |0>)
    body: list[Op]
    perms: dict                   # (name, wires) -> LongTensor permutation of basis indices
    groups: list                  # [(mask, obs indices, phase matrix (D, k) complex128)]


def _bit(b: torch.Tensor, wire: int, n: int) -> torch.Tensor:
    return (b >> (n - 1 - wire)) & 1


def _compile(circuit: Circuit, from_zero: bool) -> Plan:
    n = circuit.n_qubits
    prefix: list[list[Op]] = [[] for _ in range(n)]
    body: list[Op] = []
    touched = [not from_zero] * n
    for op in circuit.ops:
        if len(op.wires) == 1 and not touched[op.wires[0]]:
            prefix[op.wires[0]].append(op)       # commutes past every body op so far
        else:
            body.append(op)
            for w in op.wires:
                touched[w] = True
    D = 2 ** n
    idx = torch.arange(D)
    perms = {}
    for op in body:
        spec = GATES[op.name]
        if spec.kind == "perm" and (op.name, op.wires) not in perms:
            k = len(op.wires)
            local = sum(_bit(idx, w, n) << (k - 1 - j) for j, w in enumerate(op.wires))
            src_local = torch.tensor(spec.perm)[local]             # new[i] = old[perm[i]]
            src = idx.clone()
            for j, w in enumerate(op.wires):
                shift = n - 1 - w
                src = (src & ~(1 << shift)) | (((src_local >> (k - 1 - j)) & 1) << shift)
            perms[(op.name, op.wires)] = src
    groups = []
    masks: dict[int, list[int]] = {}
    for k, obs in enumerate(circuit.observables):
        mask = sum(1 << (n - 1 - w) for w, p in obs if p in "XY")
        masks.setdefault(mask, []).append(k)
    for mask, ks in masks.items():
        phases = torch.ones(D, len(ks), dtype=torch.complex128)
        for col, k in enumerate(ks):
            for w, p in circuit.observables[k]:
                bit = _bit(idx, w, n).to(torch.float64)
                sign = 1 - 2 * bit
                if p == "Z":
                    phases[:, col] *= sign
                elif p == "Y":
                    phases[:, col] *= 1j * sign
        groups.append((mask, ks, phases))
    return Plan(prefix, body, perms, groups)


def _plan(circuit: Circuit, from_zero: bool) -> Plan:
    cache = circuit.__dict__.setdefault("_plan_cache", {})
    if from_zero not in cache:
        cache[from_zero] = _compile(circuit, from_zero)
    return cache[from_zero]


def _angle(p, x: torch.Tensor, w: torch.Tensor):
    """Angle value: (N,) for input-dependent angles, a 0-dim tensor or float otherwise."""
    if isinstance(p, Input):
        return x[:, p.index] * p.scale
    if isinstance(p, InputProduct):
        return x[:, p.i] * x[:, p.j] * p.scale
    if isinstance(p, Weight):
        return w[p.index] * p.scale
    return torch.tensor(p, dtype=w.dtype, device=w.device)


def _apply(psi: torch.Tensor, op: Op, x, w, plan: Plan, n: int) -> torch.Tensor:
    """Apply one gate to states psi (B, 2**n); per-sample angles need B == N."""
    B = psi.shape[0]
    spec = GATES[op.name]
    if spec.kind == "perm":
        return psi.index_select(1, plan.perms[(op.name, op.wires)].to(psi.device))
    mat = gate_matrix(op.name, [_angle(p, x, w) for p in op.params], psi.dtype, psi.device)
    batched = mat.dim() == 3                                   # (N, d, d) vs (d, d)
    if len(op.wires) == 1:
        wire = op.wires[0]
        s = psi.view(B, 2 ** wire, 2, 2 ** (n - wire - 1))    # (B, L, 2, R)
        m = mat.reshape(-1, 1, 1, 2, 2) if batched else mat
        if spec.kind == "diag":
            d = torch.stack((m[..., 0, 0], m[..., 1, 1]), -1)
            return (s * d.reshape(-1, 1, 2, 1) if batched else s * d.reshape(1, 1, 2, 1)).view(B, -1)
        a, b = s[:, :, 0], s[:, :, 1]                          # (B, L, R)
        out = torch.stack((m[..., 0, 0] * a + m[..., 0, 1] * b, m[..., 1, 0] * a + m[..., 1, 1] * b), dim=2)
        return out.view(B, -1)
    k = len(op.wires)
    dims = tuple(1 + q for q in op.wires)
    s = psi.view((B,) + (2,) * n).movedim(dims, tuple(range(-k, 0)))   # (B, ..., 2, .., 2)
    moved_shape = s.shape
    if spec.kind == "diag":
        d = torch.diagonal(mat, dim1=-2, dim2=-1)              # (N, 4) or (4,)
        shape = (-1,) + (1,) * (n - k) + (2,) * k if batched else (2,) * k
        s = s * d.reshape(shape)
    else:
        s = s.reshape(B, -1, 2 ** k) @ mat.transpose(-1, -2)     # (B, rest, 2**k)
        s = s.reshape(moved_shape)
    return s.movedim(tuple(range(-k, 0)), dims).reshape(B, -1)


def _run_gates(psi, ops, x, w, plan, n):
    for op in ops:
        psi = _apply(psi, op, x, w, plan, n)
    return psi


def _fused_transpose(ops, w, plan, n, dtype, device) -> torch.Tensor:
    """R = U^T of an input-independent run of gates, built by running them on the identity rows."""
    eye = torch.eye(2 ** n, dtype=dtype, device=device)
    return _run_gates(eye, ops, None, w, plan, n)


def _should_fuse(g: int, N: int, n: int) -> bool:
    D = 2 ** n
    gates = g * (N * D * _GATE_ELEM + _OP_OVERHEAD)
    fused = g * (D * D * _GATE_ELEM + _OP_OVERHEAD) + N * D * D * _MATMUL_MAC + _OP_OVERHEAD
    return fused < gates


def _product_state(plan: Plan, x, w, N: int, n: int, dtype, device) -> torch.Tensor:
    psi = None
    for wire in range(n):
        v = torch.tensor([1, 0], dtype=dtype, device=device).reshape(1, 2)
        for op in plan.prefix[wire]:
            mat = gate_matrix(op.name, [_angle(p, x, w) for p in op.params], dtype, device)
            v = (mat.reshape(-1, 2, 2) @ v.unsqueeze(-1)).squeeze(-1)   # (N or 1, 2)
        psi = v if psi is None else (psi.unsqueeze(2) * v.unsqueeze(1)).reshape(max(psi.shape[0], v.shape[0]), -1)
    return psi.expand(N, -1) if psi.shape[0] != N else psi


def simulate(circuit: Circuit, x: torch.Tensor, w: torch.Tensor, psi0: torch.Tensor | None = None) -> torch.Tensor:
    """Final states (N, 2**n) for inputs x (N, n_inputs) and weights w (P,), from |0..0> or psi0 (N, 2**n)."""
    n = circuit.n_qubits
    N = x.shape[0]
    dtype = torch.complex128 if w.dtype == torch.float64 else torch.complex64
    plan = _plan(circuit, from_zero=psi0 is None)
    psi = _product_state(plan, x, w, N, n, dtype, x.device) if psi0 is None else psi0.to(dtype)
    run: list[Op] = []
    for op in plan.body + [None]:
        if op is not None and not op.depends_on_input:
            run.append(op)
            continue
        if run:
            if _should_fuse(len(run), N, n):
                psi = psi @ _fused_transpose(run, w, plan, n, dtype, x.device)
            else:
                psi = _run_gates(psi, run, x, w, plan, n)
            run = []
        if op is not None:
            psi = _apply(psi, op, x, w, plan, n)
    return psi


def expectations(circuit: Circuit, psi: torch.Tensor) -> torch.Tensor:
    """<psi|P_k|psi> for every observable: psi (N, 2**n) -> (N, n_obs) real."""
    plan = _plan(circuit, from_zero=True)
    real = torch.float64 if psi.dtype == torch.complex128 else torch.float32
    cols = []
    for mask, ks, phases in plan.groups:
        if mask == 0:
            v = psi.real ** 2 + psi.imag ** 2                          # (N, D) probabilities
            y = v @ phases.real.to(dtype=real, device=psi.device)
        else:
            idx = torch.arange(psi.shape[1], device=psi.device) ^ mask
            v = psi.index_select(1, idx).conj() * psi                  # (N, D)
            y = (v @ phases.to(dtype=psi.dtype, device=psi.device)).real
        cols.append((ks, y))
    if len(cols) == 1 and cols[0][0] == list(range(circuit.n_obs)):
        return cols[0][1]
    order = [k for ks, _ in cols for k in ks]
    y = torch.cat([y for _, y in cols], dim=1)
    inv = torch.empty(len(order), dtype=torch.long)
    inv[torch.tensor(order)] = torch.arange(len(order))
    return y.index_select(1, inv.to(psi.device))


def sample_estimates(y: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
    """Finite-shot estimates of +-1-valued observables with exact expectations y.

    Each observable gets its own `shots` samples: est = 2 * Binomial(shots, (1+y)/2) / shots - 1,
    mean y and variance (1 - y**2) / shots. Gradients flow through the exact value
    (the estimator of the analytic gradient; shot-noisy gradients come with the Qiskit backends).
    """
    p = ((1 + y.detach()) / 2).clamp(0, 1)
    counts = torch.full_like(p, float(shots))
    if generator is not None and generator.device != p.device:
        raise ValueError(f"the shot generator lives on {generator.device}, the data on {p.device}")
    k = torch.binomial(counts, p, generator=generator)
    est = 2 * k / shots - 1
    return y + (est - y).detach()


def _available_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(n: int, N: int, n_gates: int, dtype: torch.dtype, device, grad: bool):
    """Raise a clear error before allocating states that cannot fit."""
    item = 16 if dtype in (torch.float64, torch.complex128) else 8
    states = 3 + (n_gates if grad else 0)
    need = N * 2 ** n * item * states + (4 ** n * item * 2 if n <= 14 else 0)
    have = _available_bytes(torch.device(device))
    if have is not None and need > have:
        raise ValueError(f"simulating {N} circuit(s) of {n} qubits needs about {need / 2**30:.1f} GiB "
                         f"({'with' if grad else 'without'} gradients), but only {have / 2**30:.1f} GiB is "
                         f"available on {device}; use fewer qubits, a smaller batch, or torch.no_grad()")


class StatevectorBackend:
    """Exact expectations by statevector simulation in torch (CPU or CUDA, follows the inputs)."""

    name = "statevector"
    exact = True

    def prepare(self, circuit: Circuit, inputs, weights):
        """Validate and flatten: -> x (N, n_inputs), w (P,), leading shape."""
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
            x = x.reshape(-1, n_in)
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
        x, w = x.to(real), w.to(real)
        check_memory(circuit.n_qubits, x.shape[0], len(circuit.ops), real, device, torch.is_grad_enabled())
        return x, w, lead

    def state(self, circuit: Circuit, inputs=None, weights=None) -> torch.Tensor:
        x, w, lead = self.prepare(circuit, inputs, weights)
        return simulate(circuit, x, w).reshape(lead + (2 ** circuit.n_qubits,))

    def expval(self, circuit: Circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = self.prepare(circuit, inputs, weights)
        if x.shape[0] == 0:
            return x.new_zeros(lead + (circuit.n_obs,))
        y = expectations(circuit, simulate(circuit, x, w))
        if shots is not None:
            if not isinstance(shots, int) or shots < 1:
                raise ValueError(f"shots must be a positive integer or None (exact), got {shots!r}")
            y = sample_estimates(y, shots, generator)
        return y.reshape(lead + (circuit.n_obs,))


def memory_bytes(n_qubits: int, n_circuits: int, dtype=torch.complex64) -> int:
    """Bytes of one batch of states, for docs and cost tables."""
    return n_circuits * 2 ** n_qubits * torch.tensor([], dtype=dtype).element_size()

