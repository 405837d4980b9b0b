"""The default backend: an exact, batched, differentiable statevector simulator in pure torch.

One forward pass is one tensor program over all N = prod(leading dims) circuits, compiled once
per circuit (and per fusion decision) into a short list of tensor instructions:
  1. gate matrices: one batched call per gate type and angle source -- all input-independent Rot
     gates of the circuit in one call, all RY(x_i) of the encoding in one (N, n) call, ...;
  2. product prefix: single-qubit gates that act on a wire before any multi-qubit gate touches it
     are applied to per-wire 2-vectors (all wires in one batched matmul) and the state is their
     Kronecker product (N, 2**n) -- no 2**n work per gate. When the first body run is fused and
     every wire starts with RY/RX/a constant, the product is built in Fourier form instead
     (cos(angles @ W^T + b) @ T, see _TrigPrefix) and the other prefix gates join the fused run;
  3. body: runs of input-independent gates (constants and weights) are either fused into one
     dense (2**n, 2**n) unitary, built once per pass and applied with one matmul, or applied as
     a few structured steps -- whichever the cost model `_should_fuse` says is cheaper for this N:
       * consecutive permutation and diagonal gates (CNOT rings, CZ, SWAP, RZ, ...) become ONE
         gather of amplitudes (times one phase vector); its backward is the inverse gather;
       * single-qubit gates between them are merged per wire and applied as Kronecker blocks of
         up to 2**_MAX_BLOCK x 2**_MAX_BLOCK, each with one matmul on the trailing axis;
     the amplitudes stay in whatever wire order the last gather or matmul left them in (the next
     gather, or the observables, absorb the relabelling for free);
     input-dependent gates are applied gate by gate with per-sample matrices;
  4. expectations of Pauli words, grouped by their X/Y mask: one gather + one matmul per group.
Gradients come from torch autograd (a few steps have hand-written backward passes: gathers,
outer products, |psi|^2 @ Z). complex64 by default, complex128 for float64 inputs/weights.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from ..circuits import Circuit, Input, InputProduct, Op, Weight
from ..gates import GATES, gate_column0, gate_matrix
from ._common import prepare

# Cost model (relative units, measured on a 2-core CPU; see docs/performance.md):
_GATE_ELEM = 1.0      # one gate applied to one amplitude
_MATMUL_MAC = 0.13    # one complex multiply-add inside a dense matmul
_OP_OVERHEAD = 3e3    # fixed cost of one torch op sequence (dispatch, autograd bookkeeping)
_MAX_BLOCK = 5        # widest Kronecker block (wires) applied with one matmul in the unfused path


# ------------------------------------------------------------------------------ index helpers
def _bit(b: torch.Tensor, wire: int, n: int) -> torch.Tensor:
    return (b >> (n - 1 - wire)) & 1


def _local_index(wires, n: int) -> torch.Tensor:
    """For every basis index, the index into a gate's own (2**k) basis on `wires`."""
    idx = torch.arange(2 ** n)
    k = len(wires)
    return sum(_bit(idx, w, n) << (k - 1 - j) for j, w in enumerate(wires))


def _gate_src(name: str, wires, n: int) -> torch.Tensor:
    """Permutation gate as a gather: new[i] = old[src[i]]."""
    idx = torch.arange(2 ** n)
    k = len(wires)
    src_local = torch.tensor(GATES[name].perm)[_local_index(wires, n)]
    src = idx.clone()
    for j, w in enumerate(wires):
        shift = n - 1 - w
        src = (src & ~(1 << shift)) | (((src_local >> (k - 1 - j)) & 1) << shift)
    return src


class _Layout:
    """Where amplitudes are stored: stored[:, j] = state[:, perm[j]].

    `order` lists the wires from the most to the least significant bit of the stored index when
    the layout is a relabelling of wires (then matmuls on trailing wires work), else None.
    """

    def __init__(self, perm: torch.Tensor, order: tuple | None):
        self.perm = perm
        self.inv = torch.argsort(perm)
        self.order = order
        self.identity = bool(torch.equal(perm, torch.arange(len(perm))))


def _order_perm(order, n: int) -> torch.Tensor:
    j = torch.arange(2 ** n)
    out = torch.zeros_like(j)
    for p, w in enumerate(order):
        out |= ((j >> (n - 1 - p)) & 1) << (n - 1 - w)
    return out


def _as_order(perm: torch.Tensor, n: int) -> tuple | None:
    """The wire order of a layout permutation, if it is a pure relabelling of wires."""
    order = []
    for p in range(n):
        t = int(perm[1 << (n - 1 - p)])
        if t <= 0 or t & (t - 1):
            return None
        order.append(n - 1 - (t.bit_length() - 1))
    if len(set(order)) != n or not torch.equal(_order_perm(order, n), perm):
        return None
    return tuple(order)


class _Gather(torch.autograd.Function):
    """psi[:, idx] for a permutation idx; the backward is the inverse gather (no scatter-add).
    torch.gather with a broadcast index is several times faster than index_select here."""

    @staticmethod
    def forward(ctx, psi, idx, inv):
        ctx.idx, ctx.inv = idx, inv
        return torch.gather(psi, 1, idx.expand(psi.shape[0], -1))

    @staticmethod
    def backward(ctx, grad):
        return _Gather.apply(grad, ctx.inv, ctx.idx), None, None


class _ZExpect(torch.autograd.Function):
    """y = |psi|^2 @ zt^T for diagonal observables (zt real (k, D): +-1 signs); backward:
    psi * (g @ z2t), z2t = 2 zt. (A contiguous (k, D) right factor used transposed is the fast
    layout for this skinny matmul.)"""

    @staticmethod
    def forward(ctx, psi, zt, z2t):
        ctx.save_for_backward(psi)
        ctx.z2t = z2t
        p = psi.real.square()
        return p.addcmul_(psi.imag, psi.imag) @ zt.mT

    @staticmethod
    def backward(ctx, g):
        psi, = ctx.saved_tensors
        return psi * (g @ ctx.z2t), None, None


class _Outer(torch.autograd.Function):
    """Batched outer product (B, a) x (B, b) -> (B, a*b); the backward is two batched matmuls
    (broadcast multiply-and-sum is several times slower for these shapes)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return (a.unsqueeze(2) * b.unsqueeze(1)).reshape(a.shape[0], -1)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        B = a.shape[0]
        g = g.reshape(B, a.shape[1], b.shape[1])
        ga = torch.bmm(g, b.conj().unsqueeze(2)).reshape(B, -1) if ctx.needs_input_grad[0] else None
        gb = torch.bmm(a.conj().unsqueeze(1), g).reshape(B, -1) if ctx.needs_input_grad[1] else None
        return ga, gb


def _on(owner, key, t: torch.Tensor, device, dtype=None) -> torch.Tensor:
    """t (an index or constant that `owner` keeps on the CPU, named `key`) on `device` as `dtype`;
    the copies are cached on the owner (keys stay valid when a circuit is pickled or copied)."""
    if device.type == "cpu" and (dtype is None or t.dtype == dtype):
        return t
    cache = owner.__dict__.setdefault("_moved", {})
    if (key, device, dtype) not in cache:
        cache[(key, device, dtype)] = t.to(device=device, dtype=dtype or t.dtype)
    return cache[(key, device, dtype)]


# ------------------------------------------------------------------------------ gate matrices
def _block(idx: list[int], p: int, G: int):
    """(start, "gm" | "pm") when angle q of gate g is src[start + g*p + q] (gate-major) or
    src[start + q*G + g] (param-major) for every gate of a group -- idx lists them param-major."""
    if min(idx) < 0:
        return None
    s = min(idx)
    if all(idx[q * G + g] == s + g * p + q for q in range(p) for g in range(G)):
        return s, "gm"
    if all(idx[q * G + g] == s + q * G + g for q in range(p) for g in range(G)):
        return s, "pm"
    return None


def _read_block(src: torch.Tensor, block, p: int, G: int) -> list:
    """The p angle tensors (..., G) of a group stored as a block of the last axis of src."""
    s, how = block
    seg = src if s == 0 and src.shape[-1] == p * G else src[..., s: s + p * G]
    if p == 1:
        return [seg]
    if how == "gm":
        return seg.reshape(seg.shape[:-1] + (G, p)).unbind(-1)
    return seg.reshape(seg.shape[:-1] + (p, G)).unbind(-2)


class _Ctx:
    """Per-pass values: inputs, weights, dtype, and the gate banks, each computed when first read."""

    def __init__(self, prog, x, w, dtype):
        self.prog, self.x, self.w, self.dtype = prog, x, w, dtype
        self.real = torch.float64 if dtype == torch.complex128 else torch.float32
        self.device = x.device
        self.N = x.shape[0]
        self.banks: dict = {}
        self.angles: dict = {}

    def bank(self, key) -> torch.Tensor:
        """key = (kind, name) -> (..., G, d, d) matrices ((..., G, 2) columns for kinds "*0"), or
        (kind, name, start, end) -> rows start:end, or (kind, name, "angle") -> the angles (..., G)
        of a one-parameter group."""
        b = self.banks.get(key)
        if b is None:
            self.prog.make_bank(self, key[:2], angle_only=len(key) == 3)
            b = self.banks[key]
        return b


class _Program:
    """Gate-matrix banks of a circuit: one batched gate_matrix call per (gate type, angle source).

    Each op reads row `g` of bank (kind, name): kind "w" = angles from weights/constants, "x" =
    per-sample angles, "c" = a constant gate; "w0"/"x0"/"c0" hold only column 0 (the gate applied
    to |0>), for the first gate on each wire of the product prefix.
    """

    def __init__(self, circuit: Circuit, column_ops: set):
        self.n = circuit.n_qubits
        self.cache: dict = {}
        self.ref: dict[int, tuple] = {}          # op position -> (kind, name, row)
        ops = circuit.ops
        P = self.P = circuit.n_weights
        groups: dict[tuple, list[int]] = {}
        for k, op in enumerate(ops):
            col = "0" if k in column_ops else ""
            if GATES[op.name].n_params == 0:
                self.ref[k] = ("c" + col, op.name, 0)
            else:
                groups.setdefault(("x" if op.depends_on_input else "w") + col, {}).setdefault(op.name, []).append(k)
        # "w" angles = coef * [1, w...][idx]; "x" angles = coef * src[:, i1] (* src[:, i2]), src = [1, (w...,) x...].
        # Groups whose angles are a plain slice of w or x (Rot(w0, w1, w2), RY(x_i), ...) read a view instead.
        self.groups = {}                         # (kind, name) -> (G, offset, block)
        widx, wcoef, i1, i2, xcoef = [], [], [], [], []
        self.x_needs_w = any(isinstance(p, Weight) for kind in ("x", "x0") for ks in groups.get(kind, {}).values()
                             for k in ks for p in ops[k].params)
        base = 1 + (P if self.x_needs_w else 0)
        for kind, by_name in groups.items():
            for name, ks in by_name.items():
                p, G = GATES[name].n_params, len(ks)
                params = [ops[k].params[q] for q in range(p) for k in ks]
                if kind[0] == "w":
                    block = _block([a.index if isinstance(a, Weight) and a.scale == 1 else -1 for a in params], p, G)
                    self.groups[(kind, name)] = (G, len(widx), block)
                    if block is None:
                        widx += [1 + a.index if isinstance(a, Weight) else 0 for a in params]
                        wcoef += [a.scale if isinstance(a, Weight) else float(a) for a in params]
                else:
                    block = _block([a.index if isinstance(a, Input) and a.scale == 1 else -1 for a in params], p, G)
                    self.groups[(kind, name)] = (G, len(i1), block)
                    for a in params if block is None else ():
                        j = 0
                        if isinstance(a, Input):
                            i, c = base + a.index, a.scale
                        elif isinstance(a, InputProduct):
                            i, j, c = base + a.i, base + a.j, a.scale
                        elif isinstance(a, Weight):
                            i, c = 1 + a.index, a.scale
                        else:
                            i, c = 0, float(a)
                        i1.append(i); i2.append(j); xcoef.append(c)
                for g, k in enumerate(ks):
                    self.ref[k] = (kind, name, g)
        self.widx = torch.tensor(widx, dtype=torch.long)
        self.wcoef = torch.tensor(wcoef, dtype=torch.float64)
        self.xi1 = torch.tensor(i1, dtype=torch.long)
        self.xi2 = torch.tensor(i2, dtype=torch.long) if any(i2) else None
        self.xcoef = torch.tensor(xcoef, dtype=torch.float64)
        self.ranges: dict[tuple, set] = {}       # (kind, name) -> row ranges read as a whole by stacks

    def _angles(self, ctx: _Ctx, source: str):
        """The shared gathered angle vector of the weight ("w") or per-sample ("x") groups."""
        if source not in ctx.angles:
            real, dev = ctx.real, ctx.device
            w = ctx.w.to(real)
            if source == "w":
                wext = torch.cat([w.new_ones(1), w[: self.P]])
                ang = wext[_on(self, "widx", self.widx, dev)] * _on(self, "wcoef", self.wcoef, dev, real)
            else:
                x = ctx.x.to(real)
                N = x.shape[0]
                parts = [x.new_ones(N, 1), w[: self.P].expand(N, -1), x] if self.x_needs_w else [x.new_ones(N, 1), x]
                src = torch.cat(parts, dim=1)
                ang = src.index_select(1, _on(self, "xi1", self.xi1, dev))
                if self.xi2 is not None:
                    ang = ang * src.index_select(1, _on(self, "xi2", self.xi2, dev))
                ang = ang * _on(self, "xcoef", self.xcoef, dev, real)
            ctx.angles[source] = ang
        return ctx.angles[source]

    def make_bank(self, ctx: _Ctx, key, angle_only: bool = False):
        kind, name = key
        G, off, block = self.groups[key]
        p = GATES[name].n_params
        if block is not None:
            angles = _read_block((ctx.w if kind[0] == "w" else ctx.x).to(ctx.real), block, p, G)
        elif kind[0] == "w":
            ang = self._angles(ctx, "w")
            angles = ang[off: off + p * G].view(p, G).unbind(0) if p > 1 else [ang[off: off + G]]
        else:
            a = self._angles(ctx, "x")[:, off: off + p * G]
            angles = a.reshape(-1, p, G).unbind(1) if p > 1 else [a]
        if angle_only:
            ctx.banks[key + ("angle",)] = angles[0]
            return
        fn = gate_column0 if kind.endswith("0") else gate_matrix
        bank = ctx.banks[key] = fn(name, angles, ctx.dtype, ctx.device)
        cuts = self._cuts(kind, name, G)
        if cuts:                                      # disjoint row ranges read by stacks: one split op
            dim = -2 if kind.endswith("0") else -3
            for (s, e), piece in zip(cuts, bank.split([e - s for s, e in cuts], dim=dim)):
                ctx.banks[(kind, name, s, e)] = piece

    def _cuts(self, kind, name, G):
        key = ("cuts", kind, name)
        if key not in self.cache:
            rs = sorted(self.ranges.get((kind, name), ()))
            ok = rs and all(a[1] <= b[0] for a, b in zip(rs, rs[1:])) and not (len(rs) == 1 and rs[0] == (0, G))
            cuts, pos = [], 0
            for s, e in rs if ok else ():
                if s > pos:
                    cuts.append((pos, s))
                cuts.append((s, e))
                pos = e
            if cuts and pos < G:
                cuts.append((pos, G))
            self.cache[key] = cuts
        return self.cache[key]

    def const(self, name: str, ctx: _Ctx, column: bool = False) -> torch.Tensor:
        key = ("const", name, column, ctx.dtype, ctx.device)
        if key not in self.cache:
            m = torch.eye(2, dtype=ctx.dtype, device=ctx.device) if name == "_eye" else \
                gate_matrix(name, [], ctx.dtype, ctx.device)
            self.cache[key] = m[:, 0].contiguous() if column else m
        return self.cache[key]

    def matrix(self, ref, ctx: _Ctx) -> torch.Tensor:
        """One gate's matrix: (d, d), or (N, d, d) for an input-dependent gate."""
        kind, name, g = ref
        if kind == "c":
            return self.const(name, ctx)
        if kind == "w":
            return ctx.bank(("w", name))[g]
        return ctx.bank(("x", name))[:, g]


class _Stack:
    """The one-qubit matrices of several refs stacked on one axis, identity where a ref is None:
    (..., k, 2, 2), or their first columns (..., k, 2) (`column`); leading batch dim N when a ref
    is input-dependent."""

    def __init__(self, prog: _Program, refs, column: bool = False):
        self.column = column
        eye = ("c0" if self.column else "c", "_eye")
        self.sources: list[tuple] = []
        self.index = []
        for ref in refs:
            src = eye if ref is None else ref[:2]
            if src not in self.sources:
                self.sources.append(src)
            self.index.append((src, 0 if ref is None else ref[2]))
        self.batched = any(s[0][0] == "x" for s in self.sources)
        rows = [g for _, g in self.index]
        self.rows = None                            # (a, b) when the stack is rows a:b of one bank
        if len(self.sources) == 1 and self.sources[0][0][0] != "c" and rows == list(range(rows[0], rows[-1] + 1)):
            self.rows = (rows[0], rows[-1] + 1)     # let the bank be split into such pieces in one op
            prog.ranges.setdefault(self.sources[0], set()).add(self.rows)
            prog.cache.pop(("cuts",) + self.sources[0], None)

    def _bank(self, prog: _Program, ctx: _Ctx, src) -> torch.Tensor:
        if src[0][0] == "c":
            return prog.const(src[1], ctx, self.column)[None]
        return ctx.bank(src)

    def __call__(self, prog: _Program, ctx: _Ctx) -> torch.Tensor:
        dim = -2 if self.column else -3
        if self.rows is not None:
            bank = self._bank(prog, ctx, self.sources[0])
            if bank.shape[dim] == self.rows[1] - self.rows[0]:
                return bank
            piece = ctx.banks.get(self.sources[0] + self.rows)
            if piece is not None:
                return piece
        if not hasattr(self, "idx"):                # row offsets into the concatenated sources
            offs, tot = {}, 0
            for s in self.sources:
                offs[s] = tot
                tot += 1 if s[0][0] == "c" else prog.groups[s][0]
            self.idx = torch.tensor([offs[s] + g for s, g in self.index])
        mats = []
        for s in self.sources:
            m = self._bank(prog, ctx, s)
            if self.batched and s[0][0] != "x":
                m = m.expand((ctx.N,) + m.shape)
            mats.append(m)
        m = mats[0] if len(mats) == 1 else torch.cat(mats, dim=dim)
        return m.index_select(dim, _on(self, "idx", self.idx, ctx.device))


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
    groups = []
    idx = torch.arange(2 ** n)
    masks: dict[int, list[int]] = {}
    for k, obs in enumerate(circuit.observables):
        mask = sum(1 << (n - 1 - w) for w, p in obs if p in "XY")
        masks.setdefault(mask, []).append(k)
    for mask, ks in masks.items():
        phases = torch.ones(2 ** n, len(ks), dtype=torch.complex128)
        for col, k in enumerate(ks):
            for w, p in circuit.observables[k]:
                sign = 1 - 2 * _bit(idx, w, n).to(torch.float64)
                if p == "Z":
                    phases[:, col] *= sign
                elif p == "Y":
                    phases[:, col] *= 1j * sign
        groups.append((mask, ks, phases))
    return Plan(prefix, [op for op, _ in body], groups, prog, prefix_refs, segments, stacks)


def _plan(circuit: Circuit, from_zero: bool) -> Plan:
    cache = circuit.__dict__.setdefault("_plan_cache", {})
    if from_zero not in cache:
        cache[from_zero] = _compile(circuit, from_zero)
    return cache[from_zero]


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


# ------------------------------------------------------------------------------ schedule
def _want(item, n: int):
    """What stored layout an item needs: ("order", o) | ("bits",) | ("any",)."""
    if item is None:
        return ("any",)
    kind, stage = item
    if kind == "fused" or isinstance(stage, _Mono):
        return ("any",)
    if isinstance(stage, _Layer):
        return ("order", _layer_order(stage, n))
    if kind == "sample":
        return ("bits",)
    rest = tuple(w for w in range(n) if w not in stage.op.wires)
    return ("order", rest + stage.op.wires)                     # 2-qubit weight gate: trailing wires


def _build(plan: Plan, items: list, lay: _Layout, end, n: int) -> tuple[list, _Layout]:
    """Instructions for items [(kind, stage)] starting from layout `lay`; end: ("order", o) | ("any",)."""
    ins: list = []
    ident = tuple(range(n))

    def relayout(lay, order):
        target = _layout(plan, n, order)
        ins.append(_IGather(lay.inv[target.perm]))
        return target

    for i, (kind, stage) in enumerate(items):
        want = _want(items[i + 1], n) if i + 1 < len(items) else end
        if kind == "fused":
            sub, _ = _build(plan, [("run", s) for s in stage], _layout(plan, n, ident),
                            want if want[0] == "order" else ("order", ident), n)
            ins.append(_IFused(sub, None if lay.identity else lay.perm, n))
            lay = _layout(plan, n, want[1] if want[0] == "order" else ident)
        elif isinstance(stage, _Mono):
            pending = _layout(plan, n, perm=torch.argsort(stage.src)[lay.perm])
            if want[0] == "any" or (want[0] == "bits" and pending.order is not None) or (
                    want[0] == "order" and pending.order == want[1]):
                at = pending.perm
                has_diag = stage.const is not None or stage.diags
                if has_diag:
                    ins.append(_IGather(torch.arange(2 ** n), _Phases(stage, at)))
                lay = pending
            else:
                target = _layout(plan, n, want[1] if want[0] == "order" else ident)
                has_diag = stage.const is not None or stage.diags
                ins.append(_IGather(lay.inv[stage.src[target.perm]], _Phases(stage, target.perm) if has_diag else None))
                lay = target
        else:
            need = _want((kind, stage), n)
            if need[0] == "order" and lay.order != need[1]:
                lay = relayout(lay, need[1])
            elif need[0] == "bits" and lay.order is None:
                lay = relayout(lay, ident)
            if isinstance(stage, _Layer):
                layer = _ILayer(plan.prog, stage, lay.order, n)
                ins.append(layer)
                lay = _layout(plan, n, layer.order_out)
            elif kind == "sample" or GATES[stage.op.name].kind != "dense":
                ins.append(_IApply(stage, lay.order, n))
            else:
                ins.append(_ITail(stage))
    if end[0] == "order" and lay.order != end[1]:
        lay = relayout(lay, end[1])
    return ins, lay


def _schedule(plan: Plan, n: int, N: int, end: str, from_zero: bool):
    decisions = tuple(seg[0] == "run" and _should_fuse(seg[2], 1 if seg[3] == "1" else N, n)
                      for seg in plan.segments)
    key = (decisions, end)
    if key not in plan.schedules:
        items = []
        for seg, fuse in zip(plan.segments, decisions):
            if seg[0] == "gate":
                items.append(("sample", seg[1]))
            elif fuse:
                items.append(("fused", seg[1]))
            else:
                items.extend(("run", s) for s in seg[1])
        ident = tuple(range(n))
        slots, real = len(plan.prefix_stacks or ()), None
        if from_zero and items and items[0][0] == "fused" and slots > 1:
            # the trailing input-independent prefix slots join the first fused run (as its first layer)
            first_free = max([1] + [j + 1 for j, st in enumerate(plan.prefix_stacks) if st.batched])
            wires = [w for w in range(n) if len(plan.prefix_refs[w]) > first_free]
            if wires:
                layer = _Layer(tuple(wires), [plan.prefix_refs[w][first_free:] for w in wires])
                items[0] = ("fused", [layer] + list(items[0][1]))
                slots = first_free
        first = _want(items[0], n) if items else ("any",)
        start = first[1] if first[0] == "order" and from_zero else ident
        ins, lay = _build(plan, items, _layout(plan, n, start),
                          ("order", ident) if end == "state" else ("any",), n)
        if from_zero and slots == 1 and ins and isinstance(ins[0], _IFused) and ins[0].row_perm is None:
            real = ins[0].trig = _TrigPrefix.make(plan.prog, [r[0] if r else None for r in plan.prefix_refs], n)
        plan.schedules[key] = ((start, slots, real), ins, lay)
    return plan.schedules[key]


class _TrigPrefix:
    """The product state of first gates RY(a), RX(a) or constants (or none) on every wire, in Fourier
    form. Such a state is real up to constant phases: wire w contributes (cos h_w, sin h_w) * p_w
    (h_w = a/2 for RY/RX, p_w = (1, 1) for RY, (1, -i) for RX; a constant column has a fixed h_w), and
    prod_w (cos or sin)(h_w) = sum over sign patterns s (s_0 = +1) of cos or sin of s.h, so
        psi0 = ([cos(h @ S^T), sin(h @ S^T)] @ T) * phase,   S: (D/2, n) signs, T: (D, D) constants.
    With h = angles * scale + offset and sin u = cos(u - pi/2) the features are ONE matmul, add and
    cos of the raw angles: cos(angles @ W^T + b). That replaces n - 1 outer products (and backward)."""

    @staticmethod
    def make(prog: _Program, refs, n: int):
        parts, phases = [], []                      # per wire: (source, row) or (None, fixed h)
        for ref in refs:
            if ref is None or ref[0] == "c0":
                col = torch.tensor([1, 0], dtype=torch.complex128) if ref is None else \
                    gate_matrix(ref[1], [], torch.complex128)[:, 0]
                mag = col.abs()
                phases.append(torch.where(mag > 0, col / mag.clamp_min(1e-300), torch.ones_like(col)))
                parts.append((None, float(torch.atan2(mag[1], mag[0]))))
            elif ref[1] in ("ry", "rx"):
                phases.append(torch.tensor([1, 1 if ref[1] == "ry" else -1j], dtype=torch.complex128))
                parts.append((ref[:2], ref[2]))
            else:
                return None
        return _TrigPrefix(prog, parts, phases, n)

    def __init__(self, prog, parts, phases, n):
        self.sources = list(dict.fromkeys(src for src, _ in parts if src is not None))
        offs = {}
        for src in self.sources:
            offs[src] = sum(prog.groups[s][0] for s in self.sources[: self.sources.index(src)])
        idx = [offs[src] + g if src is not None else 0 for src, g in parts]
        scale = torch.tensor([0.5 if src is not None else 0.0 for src, _ in parts], dtype=torch.float64)
        offset = torch.tensor([0.0 if src is not None else h for src, h in parts], dtype=torch.float64)
        width = sum(prog.groups[s][0] for s in self.sources)
        self.idx = None if idx == list(range(width)) else torch.tensor(idx)
        D = 2 ** n
        j = torch.arange(D // 2)
        self.S = torch.stack([torch.ones(D // 2)] + [1.0 - 2 * ((j >> (n - 1 - w)) & 1) for w in range(1, n)],
                             dim=1).to(torch.float64)                                   # (D/2, n)
        b = torch.arange(D)
        bits = torch.stack([(b >> (n - 1 - w)) & 1 for w in range(n)], dim=1)            # (D, n)
        k = bits.sum(1)
        prod = torch.where(bits[None].bool(), self.S[:, None, :], torch.ones(1)).prod(2)  # (D/2, D)
        sign = (-1.0) ** (k // 2)
        T = torch.zeros(D, D, dtype=torch.float64)
        T[: D // 2] = torch.where(k % 2 == 0, 2 * prod * sign / D, torch.zeros(1))
        T[D // 2:] = torch.where(k % 2 == 1, 2 * prod * sign / D, torch.zeros(1))
        self.T = T
        S2 = torch.cat([self.S, self.S]) * scale                                         # (D, n)
        self.W = S2 if self.sources else None
        self.b = torch.cat([self.S @ offset, self.S @ offset - math.pi / 2])              # (D,)
        phase = phases[0]
        for p in phases[1:]:
            phase = torch.kron(phase, p)
        self.phase = None if bool(torch.all(phase == 1)) else phase

    def __call__(self, prog: _Program, ctx: _Ctx) -> torch.Tensor:
        """The Fourier features [cos(h @ S^T), sin(h @ S^T)] = cos(angles @ W^T + b): (B, D) real."""
        real, dev = ctx.real, ctx.device
        b = _on(self, "b", self.b, dev, real)
        if self.W is None:
            return torch.cos(b).unsqueeze(0)
        angles = [ctx.bank(src + ("angle",)) for src in self.sources]
        B = max(a.shape[0] if a.dim() == 2 else 1 for a in angles)
        angles = [a if a.dim() == 2 else a.expand(B, -1) for a in angles]
        a = angles[0] if len(angles) == 1 else torch.cat(angles, dim=1)
        if self.idx is not None:
            a = a.index_select(1, _on(self, "idx", self.idx, dev))
        return torch.cos(torch.addmm(b, a, _on(self, "W", self.W, dev, real).mT))


# ------------------------------------------------------------------------------ running
def _should_fuse(g: int, N: int, n: int) -> bool:
    D = 2 ** n
    gates = g * (N * D * _GATE_ELEM + _OP_OVERHEAD)
    fused = g * (D * D * _GATE_ELEM + _OP_OVERHEAD) + N * D * D * _MATMUL_MAC + _OP_OVERHEAD
    return fused < gates


def _product_state(plan: Plan, ctx: _Ctx, spec, n: int) -> torch.Tensor:
    """Per-wire 2-vectors, wire-major (n, B, 2), from the first `slots` prefix slots; then their
    Kronecker product in wire order `order` (or the Fourier features of a _TrigPrefix)."""
    order, slots, trig = spec
    if trig is not None:
        return trig(plan.prog, ctx)                 # Fourier features; _IFused finishes the product
    v = None
    pending = None                                  # product of consecutive weight-only matrices (n, 2, 2)
    for j, st in enumerate(plan.prefix_stacks[:slots]):
        m = st(plan.prog, ctx)
        if j == 0:                                  # columns: (n, 2) or (N, n, 2)
            v = m.unsqueeze(1) if m.dim() == 2 else m.transpose(0, 1)
        elif m.dim() == 3:
            pending = m if pending is None else m @ pending
        else:                                       # per-sample (N, n, 2, 2)
            if pending is not None:
                v = v @ pending.mT
                pending = None
            v = (m.transpose(0, 1) * v.unsqueeze(-2)).sum(-1)
    if pending is not None:
        v = v @ pending.mT                          # (n, B, 2) @ (n, 2, 2): one batched matmul
    if v is None:
        v = plan.prog.const("_eye", ctx, column=True).expand(n, 1, 2)
    vs = v.unbind(0)
    return _kron_states([vs[w] for w in order])


def _kron_states(vs: list) -> torch.Tensor:
    """Kronecker product of per-sample vectors (B, d_i), as a balanced tree of batched outer products."""
    if len(vs) == 1:
        return vs[0]
    h = len(vs) // 2
    a, b = _kron_states(vs[:h]), _kron_states(vs[h:])
    if a.shape[0] != b.shape[0]:
        B = max(a.shape[0], b.shape[0])
        a, b = a.expand(B, -1), b.expand(B, -1)
    return _Outer.apply(a, b)


def _run(circuit: Circuit, x, w, psi0, end: str):
    n = circuit.n_qubits
    N = x.shape[0]
    dtype = torch.complex128 if w.dtype == torch.float64 else torch.complex64
    plan = _plan(circuit, from_zero=psi0 is None)
    spec, ins, lay = _schedule(plan, n, N, end, psi0 is None)
    ctx = _Ctx(plan.prog, x, w, dtype)
    if psi0 is None:
        psi = _product_state(plan, ctx, spec, n)
    else:
        psi = psi0.to(dtype).resolve_conj()
    for i in ins:
        psi = i(psi, plan, ctx)
    return psi, lay, plan


def simulate(circuit: Circuit, x: torch.Tensor, w: torch.Tensor, psi0: torch.Tensor | None = None) -> torch.Tensor:
    """Final states (N, 2**n) for inputs x (N, n_inputs) and weights w (P,), from |0..0> or psi0 (N, 2**n)."""
    psi, _, _ = _run(circuit, x, w, psi0, "state")
    N = x.shape[0]
    return psi.expand(N, -1) if psi.shape[0] != N else psi


def _groups(plan: Plan, lay: _Layout, device, dtype) -> tuple:
    """The observable groups for states stored in layout `lay`, cached on the layout:
    [(obs indices, partner index or None, phases)], and the column order to restore (or None)."""
    cache = lay.__dict__.setdefault("groups", {})
    if (device, dtype) not in cache:
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        out = []
        for mask, ks, phases in plan.groups:
            ph = phases[lay.perm]
            if mask == 0:
                zt = ph.real.T.contiguous().to(device=device, dtype=real)
                out.append((ks, None, (zt, 2 * zt)))
            else:
                out.append((ks, lay.inv[lay.perm ^ mask].to(device), ph.to(device=device, dtype=dtype)))
        order = [k for _, ks, _ in plan.groups for k in ks]
        inv = None
        if order != list(range(len(order))):
            inv = torch.empty(len(order), dtype=torch.long)
            inv[torch.tensor(order)] = torch.arange(len(order))
            inv = inv.to(device)
        cache[(device, dtype)] = (out, inv)
    return cache[(device, dtype)]


def _expect(plan: Plan, psi: torch.Tensor, lay: _Layout) -> torch.Tensor:
    groups, inv = _groups(plan, lay, psi.device, psi.dtype)
    cols = []
    for ks, partner, ph in groups:
        if partner is None:
            y = _ZExpect.apply(psi, *ph)
        else:
            v = _Gather.apply(psi, partner, partner).conj() * psi
            y = (v @ ph).real
        cols.append(y)
    y = cols[0] if len(cols) == 1 else torch.cat(cols, dim=1)
    return y if inv is None else y.index_select(1, inv)


def expectations(circuit: Circuit, psi: torch.Tensor) -> torch.Tensor:
    """<psi|P_k|psi> for every observable: psi (N, 2**n) -> (N, n_obs) real."""
    plan = _plan(circuit, from_zero=True)
    return _expect(plan, psi, _layout(plan, circuit.n_qubits, tuple(range(circuit.n_qubits))))


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


_MEMINFO: list = [-1.0, None]      # (time read, bytes): /proc/meminfo is re-read at most every 0.5 s


def _available_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    now = time.monotonic()
    if now - _MEMINFO[0] < 0.5:
        return _MEMINFO[1]
    have = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    have = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    _MEMINFO[:] = [now, have]
    return have


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
        """Validate and flatten: -> x (N, n_inputs), w (P,), leading shape; refuse what cannot fit in memory."""
        x, w, lead = prepare(circuit, inputs, weights)
        check_memory(circuit.n_qubits, x.shape[0], len(circuit.ops), x.dtype, x.device, torch.is_grad_enabled())
        return x, w, lead

    def state(self, circuit: Circuit, inputs=None, weights=None) -> torch.Tensor:
        x, w, lead = self.prepare(circuit, inputs, weights)
        return simulate(circuit, x, w).reshape(lead + (2 ** circuit.n_qubits,))

    def expval(self, circuit: Circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = self.prepare(circuit, inputs, weights)
        if x.shape[0] == 0:
            return x.new_zeros(lead + (circuit.n_obs,))
        psi, lay, plan = _run(circuit, x, w, None, "expval")
        y = _expect(plan, psi, lay)
        if y.shape[0] != x.shape[0]:
            y = y.expand(x.shape[0], -1)
        if shots is not None:
            if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
                raise ValueError(f"shots must be a positive integer or None (exact), got {shots!r}")
            y = sample_estimates(y, shots, generator)
        return y.reshape(lead + (circuit.n_obs,))


def memory_bytes(n_qubits: int, n_circuits: int, dtype=torch.complex64) -> int:
    """Bytes of one batch of states, for docs and cost tables."""
    return n_circuits * 2 ** n_qubits * torch.tensor([], dtype=dtype).element_size()
