"""Index helpers and gate-matrix banks of the statevector engine (see engine.py).

Bit and index helpers, storage layouts (_Layout), the autograd Functions with hand-written backward
passes (_Gather, _ZExpect, _Outer), and the per-circuit gate-matrix program (_Program, _Ctx, _Stack):
one batched gate_matrix call per gate type and angle source.
"""
from __future__ import annotations

import torch

from ...circuit import GATES, Circuit, Input, Weight, gate_column0, gate_matrix, term
from ...circuit.gates import real_of
from ..base import bit as _bit

# ------------------------------------------------------------------------------ index helpers

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


def batched_outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise outer products (B, a) x (B, b) -> (B, a*b), differentiable with a two-matmul backward."""
    return _Outer.apply(a, b)


class _OffDiag(torch.autograd.Function):
    """rho_q[0, 1] = sum over the other wires of psi[.., 0_q, ..] conj(psi[.., 1_q, ..]) for each wire q:
    psi (N, 2^n) -> (N, n) complex. The backward writes each wire's two halves (no gather, no scatter)."""

    @staticmethod
    def forward(ctx, psi, n):
        ctx.save_for_backward(psi)
        ctx.n = n
        N = psi.shape[0]
        out = []
        for q in range(n):
            v = psi.view(N, 2 ** q, 2, 2 ** (n - 1 - q))
            out.append((v[:, :, 0] * v[:, :, 1].conj()).sum((1, 2)))
        return torch.stack(out, 1)

    @staticmethod
    def backward(ctx, g):                                     # g = dL/d conj(rho), per wire (N, n)
        psi, = ctx.saved_tensors
        n, N = ctx.n, psi.shape[0]
        grad = torch.zeros_like(psi)
        for q in range(n):
            v, gv = psi.view(N, 2 ** q, 2, 2 ** (n - 1 - q)), grad.view(N, 2 ** q, 2, 2 ** (n - 1 - q))
            gq = g[:, q, None, None]
            gv[:, :, 0] += gq * v[:, :, 1]
            gv[:, :, 1] += gq.conj() * v[:, :, 0]
        return grad, None


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
        self.real = real_of(dtype)
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
                    for src, i, _, c in map(term, params) if block is None else ():
                        widx.append(1 + i if src == "w" else 0); wcoef.append(c)
                else:
                    block = _block([a.index if isinstance(a, Input) and a.scale == 1 else -1 for a in params], p, G)
                    self.groups[(kind, name)] = (G, len(i1), block)
                    for src, i, j, c in map(term, params) if block is None else ():
                        col = {"x": (base + i, 0), "xx": (base + i, base + j), "w": (1 + i, 0), "const": (0, 0)}[src]
                        i1.append(col[0]); i2.append(col[1]); xcoef.append(c)
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
