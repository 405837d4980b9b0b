"""Compilation and tensor instructions of the statevector engine (see engine.py).

A circuit compiles once into a Plan: product prefix, body segments of stages (_Layer, _Mono, _Gate)
and observable groups; the instructions (_IGather, _ILayer, _ITail, _IApply, _IFused) are the steps
a schedule is made of.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import torch

from ...circuit import GATES, Circuit, Op, Weight, gate_matrix
from ..base import pauli_flip_phase
from .program import (
    _as_order,
    _gate_src,
    _Gather,
    _Layout,
    _local_index,
    _on,
    _order_perm,
    _Program,
    _Stack,
)

_MAX_BLOCK = 5        # widest Kronecker block (wires) applied with one matmul in the unfused path


# ------------------------------------------------------------------------------ compile
@dataclass
class _Layer:                   # input-independent single-qubit gates on distinct wires, merged per wire
    wires: tuple
    refs: list                  # per wire: list of refs in application order


@dataclass
class _Mono:                    # permutation and diagonal gates: new[i] = d[i] * old[src[i]]
    src: torch.Tensor
    const: torch.Tensor | None = None                    # complex128 (D,) constant phases
    diags: list = field(default_factory=list)            # [(ref, local index (D,))] weight-dependent phases


@dataclass
class _Gate:                    # one gate on its own: a 2-qubit dense weight gate or an input-dependent gate
    op: Op
    ref: tuple


@dataclass
class Plan:
    prefix: list[list[Op]]        # per wire: single-qubit ops applied to |0> (empty when not from |0>)
    body: list[Op]
    groups: list                  # [(mask, obs indices, phase matrix (D, k) complex128)]
    prog: _Program = None
    prefix_refs: list = None      # per wire: refs of the prefix ops
    segments: list = None         # [("run", [stages], n_gates, rows) | ("gate", _Gate, 1, rows)]
    prefix_stacks: list = None    # per prefix depth: _Stack of the wires' matrices (depth 0: columns)
    schedules: dict = field(default_factory=dict)
    layouts: dict = field(default_factory=dict)
    local: list | None = None     # [(wire, "X" | "Y" | "Z")] per observable when every word is one Pauli
    local_z: dict = field(default_factory=dict)   # their Z sign tables per (wires, device, dtype)


def _stages(ops_refs, n: int) -> list:
    """Input-independent gates -> [_Layer | _Mono | _Gate] (1-qubit gates commute past gates on other wires)."""
    stages: list = []
    pending: dict[int, list] = {}

    def flush():
        if pending:
            wires = tuple(sorted(pending))
            stages.append(_Layer(wires, [pending[w] for w in wires]))
            pending.clear()

    for op, ref in ops_refs:
        spec = GATES[op.name]
        if len(op.wires) == 1:
            pending.setdefault(op.wires[0], []).append(ref)
            continue
        if any(w in pending for w in op.wires):
            flush()
        if spec.kind in ("perm", "diag"):
            if not stages or not isinstance(stages[-1], _Mono):
                stages.append(_Mono(torch.arange(2 ** n)))
            st = stages[-1]
            if spec.kind == "perm":
                g = _gate_src(op.name, op.wires, n)
                st.src = st.src[g]
                st.const = None if st.const is None else st.const[g]
                st.diags = [(r, loc[g]) for r, loc in st.diags]
            else:
                loc = _local_index(op.wires, n)
                if ref[0] == "c" or all(not isinstance(p, Weight) for p in op.params):
                    angles = [torch.tensor(float(p), dtype=torch.float64) for p in op.params]
                    d = torch.diagonal(gate_matrix(op.name, angles, torch.complex128), dim1=-2, dim2=-1)[loc]
                    st.const = d if st.const is None else st.const * d
                else:
                    st.diags.append((ref, loc))
        else:
            stages.append(_Gate(op, ref))
    flush()
    return stages


def _compile(circuit: Circuit, from_zero: bool) -> Plan:
    n = circuit.n_qubits
    prefix_pos: list[list[int]] = [[] for _ in range(n)]
    body_pos: list[int] = []
    touched = [not from_zero] * n
    for k, op in enumerate(circuit.ops):
        if len(op.wires) == 1 and not touched[op.wires[0]]:
            prefix_pos[op.wires[0]].append(k)       # commutes past every body op so far
        else:
            body_pos.append(k)
            for w in op.wires:
                touched[w] = True
    prog = _Program(circuit, {ks[0] for ks in prefix_pos if ks})
    prefix = [[circuit.ops[k] for k in ks] for ks in prefix_pos]
    prefix_refs = [[prog.ref[k] for k in ks] for ks in prefix_pos]
    body = [(circuit.ops[k], prog.ref[k]) for k in body_pos]
    depth = max(len(r) for r in prefix_refs)
    stacks = [_Stack(prog, [r[j] if j < len(r) else None for r in prefix_refs], column=j == 0) for j in range(depth)]
    rows = "N" if (not from_zero or any(r[0][0] == "x" for refs in prefix_refs for r in refs)) else "1"
    segments, run = [], []
    for op, ref in body + [(None, None)]:
        if op is not None and not op.depends_on_input:
            run.append((op, ref))
            continue
        if run:
            segments.append(("run", _stages(run, n), len(run), rows))
            run = []
        if op is not None:
            segments.append(("gate", _Gate(op, ref), 1, rows))
            rows = "N"
    masks: dict[int, list] = {}                  # X/Y flip mask -> [(observable index, phases (D,))]
    for k, obs in enumerate(circuit.observables):
        mask, phase = pauli_flip_phase(obs, n)
        masks.setdefault(mask, []).append((k, phase))
    groups = [(mask, [k for k, _ in kp], torch.stack([p for _, p in kp], 1)) for mask, kp in masks.items()]
    words = circuit.observables
    local = [w[0] for w in words] if words and all(len(w) == 1 for w in words) else None
    return Plan(prefix, [op for op, _ in body], groups, prog, prefix_refs, segments, stacks, local=local)


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # circuit -> (version, {key: compiled})


def _cached(circuit: Circuit, key, make):
    """make(circuit), cached per circuit object and key until the circuit changes (its version)."""
    entry = _PLANS.get(circuit)
    if entry is None or entry[0] != circuit.version:
        entry = _PLANS[circuit] = (circuit.version, {})
    cache = entry[1]
    if key not in cache:
        cache[key] = make(circuit)
    return cache[key]


def _plan(circuit: Circuit, from_zero: bool) -> Plan:
    """The compiled Plan of a circuit (from |0..0> or from given states), cached until the circuit changes."""
    return _cached(circuit, from_zero, lambda c: _compile(c, from_zero))


def _layout(plan: Plan, n: int, order=None, perm=None) -> _Layout:
    key = tuple(order) if order is not None else ("perm", perm.numpy().tobytes())
    if key not in plan.layouts:
        if order is not None:
            plan.layouts[key] = _Layout(_order_perm(order, n), tuple(order))
        else:
            plan.layouts[key] = _Layout(perm, _as_order(perm, n))
    return plan.layouts[key]


# ------------------------------------------------------------------------------ instructions
def _chunks(wires, k_max: int) -> list[tuple]:
    k = len(wires)
    m = -(-k // k_max)
    sizes = [k // m + (1 if i < k % m else 0) for i in range(m)]
    out, s = [], 0
    for size in sizes:
        out.append(tuple(wires[s:s + size]))
        s += size
    return out


def _layer_order(layer: _Layer, n: int) -> tuple:
    rest = tuple(w for w in range(n) if w not in layer.wires)
    return rest + tuple(w for c in _chunks(layer.wires, _MAX_BLOCK) for w in c)


_KRON_INDEX: dict = {}


def _kron_all(ms: torch.Tensor) -> torch.Tensor:
    """(k, 2, 2) one-qubit matrices -> their Kronecker product (2**k, 2**k) in two autograd nodes:
    K[(a_1..a_k), (b_1..b_k)] = prod_j m_j[a_j, b_j] as one gather and one product (k - 1 broadcast
    products would each add a node, and complex products are several kernels in backward)."""
    k = ms.shape[0]
    if k == 1:
        return ms[0]
    key = (k, ms.device)
    if key not in _KRON_INDEX:
        D = 2 ** k
        i = torch.arange(D * D)
        row, col = i // D, i % D
        _KRON_INDEX[key] = torch.stack([2 * ((row >> (k - 1 - j)) & 1) + ((col >> (k - 1 - j)) & 1)
                                        for j in range(k)]).to(ms.device)
    idx = _KRON_INDEX[key]
    return torch.gather(ms.reshape(k, 4), 1, idx).prod(0).reshape(2 ** k, 2 ** k)


class _IGather:
    """new[:, j] = d[j] * psi[:, idx[j]] (the gather skipped when idx is the identity)."""

    def __init__(self, idx, diag=None):
        self.idx, self.inv, self.diag = idx, torch.argsort(idx), diag
        self.noop = bool(torch.equal(idx, torch.arange(len(idx))))

    def __call__(self, psi, plan, ctx):
        if not self.noop:
            psi = _Gather.apply(psi, _on(self, "idx", self.idx, ctx.device), _on(self, "inv", self.inv, ctx.device))
        if self.diag is not None:
            psi = psi * self.diag(plan, ctx)
        return psi


class _Phases:
    """d[i] = const[at[i]] * prod_k diag(matrix_k)[loc_k[at[i]]] for a monomial stage, read at `at`."""

    def __init__(self, mono: _Mono, at: torch.Tensor):
        self.const = None if mono.const is None else mono.const[at]
        self.diags = [(ref, loc[at]) for ref, loc in mono.diags]

    def __call__(self, plan, ctx):
        d = None if self.const is None else _on(self, "const", self.const, ctx.device, ctx.dtype)
        for k, (ref, loc) in enumerate(self.diags):
            f = torch.diagonal(plan.prog.matrix(ref, ctx), dim1=-2, dim2=-1)[_on(self, k, loc, ctx.device)]
            d = f if d is None else d * f
        return d


class _ILayer:
    """Merged single-qubit matrices on the trailing wires, as Kronecker blocks applied by matmul."""

    def __init__(self, prog: _Program, layer: _Layer, order: tuple, n: int):
        depth = max(len(r) for r in layer.refs)
        self.slots = [_Stack(prog, [r[j] if j < len(r) else None for r in layer.refs]) for j in range(depth)]
        self.steps = []                               # (chunk index, block size, rotate after?)
        order = list(order)
        chunks = _chunks(layer.wires, _MAX_BLOCK)
        self.sizes = [len(c) for c in chunks]
        for i, chunk in enumerate(reversed(chunks)):   # the trailing block first
            size = len(chunk)
            block = order[n - size:]
            assert block == list(chunk)                # merged matrices of a chunk: consecutive rows, in order
            rotate = i < len(chunks) - 1
            self.steps.append((len(chunks) - 1 - i, 2 ** size, rotate))
            if rotate:                                 # (B, rest, C) -> (B, C, rest): the next block trails
                order = block + order[: n - size]
        self.order_out = tuple(order)

    def krons(self, plan, ctx) -> list:
        """The Kronecker block of every chunk, in chunk order."""
        m = self.slots[0](plan.prog, ctx)
        for s in self.slots[1:]:
            m = s(plan.prog, ctx) @ m
        parts = m.split(self.sizes) if len(self.sizes) > 1 else [m]
        return [_kron_all(p) for p in parts]

    def __call__(self, psi, plan, ctx):
        ks = self.krons(plan, ctx)
        B = psi.shape[0]
        for c, C, rotate in self.steps:
            if rotate:    # (B, rest, C) @ K^T written straight into the rotated layout (B, C, rest)
                psi = torch.matmul(ks[c], psi.reshape(B, -1, C).transpose(1, 2)).reshape(B, -1)
            else:
                psi = (psi.reshape(-1, C) @ ks[c].mT).reshape(B, -1)
        return psi


class _ITail:
    """A 2-qubit weight gate on the two trailing wires: one matmul."""

    def __init__(self, gate: _Gate):
        self.ref = gate.ref

    def __call__(self, psi, plan, ctx):
        m = plan.prog.matrix(self.ref, ctx)
        return (psi.reshape(-1, 4) @ m.mT).reshape(psi.shape[0], -1)


class _IApply:
    """One gate (per-sample or not) at the stored bit positions of its wires."""

    def __init__(self, gate: _Gate, order: tuple, n: int):
        self.ref, self.n = gate.ref, n
        self.kind = GATES[gate.op.name].kind
        self.pos = tuple(order.index(w) for w in gate.op.wires)

    def __call__(self, psi, plan, ctx):
        mat = plan.prog.matrix(self.ref, ctx)
        return _apply(psi, mat, self.kind, self.pos, self.n)


def _apply(psi: torch.Tensor, mat: torch.Tensor, kind: str, pos: tuple, n: int) -> torch.Tensor:
    """Apply a gate matrix ((d, d) or per-sample (N, d, d)) at stored bit positions `pos`."""
    B = psi.shape[0]
    batched = mat.dim() == 3
    Bo = max(B, mat.shape[0]) if batched else B
    if len(pos) == 1:
        p = pos[0]
        s = psi.reshape(B, 2 ** p, 2, 2 ** (n - p - 1))       # (B, L, 2, R)
        m = mat.reshape(-1, 1, 1, 2, 2) if batched else mat
        if kind == "diag":
            d = torch.stack((m[..., 0, 0], m[..., 1, 1]), -1)
            return (s * d.reshape(-1, 1, 2, 1)).reshape(Bo, -1)
        a, b = s[:, :, 0], s[:, :, 1]                          # (B, L, R)
        out = torch.stack((m[..., 0, 0] * a + m[..., 0, 1] * b, m[..., 1, 0] * a + m[..., 1, 1] * b), dim=2)
        return out.reshape(Bo, -1)
    k = len(pos)
    dims = tuple(1 + q for q in pos)
    s = psi.reshape((B,) + (2,) * n)
    if kind == "diag":
        d = torch.diagonal(mat, dim1=-2, dim2=-1).reshape((-1,) + (2,) * k)   # (N or 1, 2, 2)
        order = sorted(range(k), key=lambda j: pos[j])
        d = d.permute((0,) + tuple(1 + j for j in order))
        shape = [d.shape[0]] + [1] * n
        for j in order:
            shape[1 + pos[j]] = 2
        return (s * d.reshape(shape)).reshape(Bo, -1)
    s = s.movedim(dims, tuple(range(-k, 0)))                  # (B, ..., 2, .., 2)
    moved = s.shape
    s = s.reshape(B, -1, 2 ** k) @ mat.mT                      # (Bo, rest, 2**k)
    s = s.reshape((Bo,) + moved[1:])
    return s.movedim(tuple(range(-k, 0)), dims).reshape(Bo, -1)


class _IFused:
    """psi @ R, R = U^T of an input-independent run, built each pass by running it on the identity.

    A real input (the Fourier features of a _TrigPrefix: psi = (features @ T) * phase) is multiplied
    as features @ (T @ [Re R', Im R']), R' = diag(phase) R -- one real matmul gives the complex result.
    """

    def __init__(self, sub: list, row_perm: torch.Tensor | None, n: int):
        self.sub, self.row_perm, self.D = sub, row_perm, 2 ** n
        self.trig = None

    def __call__(self, psi, plan, ctx):
        sub = self.sub
        if sub and isinstance(sub[0], _ILayer) and len(sub[0].steps) == 1 and sub[0].steps[0][1] == self.D:
            r = sub[0].krons(plan, ctx)[0].mT          # the first layer applied to the identity
            sub = sub[1:]
        else:
            key = ("eye", self.D, ctx.dtype, ctx.device)
            if key not in plan.prog.cache:
                plan.prog.cache[key] = torch.eye(self.D, dtype=ctx.dtype, device=ctx.device)
            r = plan.prog.cache[key]
        for ins in sub:
            r = ins(r, plan, ctx)
        if self.row_perm is not None:
            r = r.index_select(0, _on(self, "row_perm", self.row_perm, ctx.device))
        if psi.is_complex():
            return psi @ r
        if self.trig.phase is not None:
            r = r * _on(self.trig, "phase", self.trig.phase, ctx.device, ctx.dtype).unsqueeze(1)
        m = _on(self.trig, "T", self.trig.T, ctx.device, ctx.real) @ torch.view_as_real(r).reshape(self.D, 2 * self.D)
        return torch.view_as_complex((psi @ m).view(psi.shape[0], self.D, 2))
