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

Where the pieces live (package backends/statevector/):
  * program.py: index helpers, layouts, the autograd Functions with hand-written backward
    passes, and the gate-matrix banks (_Program, _Ctx, _Stack) -- step 1;
  * compile.py: compiling a circuit into a Plan (prefix, body stages, observable groups) and
    the tensor instructions a schedule is made of (_IGather, _ILayer, _ITail, _IApply, _IFused);
  * memory.py: the memory check before allocating (check_memory, memory_bytes);
  * this module: the cost model (_should_fuse), the schedule (_schedule, _TrigPrefix), running
    and expectations, and StatevectorBackend (the StateBackend capability: state, evolve,
    expectations).
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch

from ...circuit import GATES, Circuit, gate_matrix
from ...circuit.gates import complex_of, real_of
from ..base import check_shots, prepare, sample_estimates, z_signs
from .compile import (
    Plan,
    _cached,
    _IApply,
    _IFused,
    _IGather,
    _ILayer,
    _ITail,
    _Layer,
    _layer_order,
    _layout,
    _Mono,
    _Phases,
    _plan,
)
from .memory import check_memory
from .program import _Ctx, _Gather, _Layout, _OffDiag, _on, _Outer, _Program, _ZExpect
from .reupload import reupload_plan, reupload_states, worth_it

# Cost model (relative units, measured on a 2-core CPU; see docs/performance.md):
_GATE_ELEM = 1.0      # one gate applied to one amplitude
_MATMUL_MAC = 0.13    # one complex multiply-add inside a dense matmul
_OP_OVERHEAD = 3e3    # fixed cost of one torch op sequence (dispatch, autograd bookkeeping)


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
_FUSION = ["auto"]        # "auto": the cost model decides; "always" / "never": forced (tests, calibration)
FUSION_MODES = ("auto", "always", "never")


def set_fusion(mode: str) -> str:
    """Choose how input-independent gate runs are applied, process-wide; returns the previous mode."""
    if mode not in FUSION_MODES:
        raise ValueError(f"fusion mode must be one of {', '.join(FUSION_MODES)}, got {mode!r}")
    old, _FUSION[0] = _FUSION[0], mode
    return old


@contextmanager
def fusion_mode(mode: str):
    """`with fusion_mode("never"): ...` runs the block with that fusion mode, then restores the previous one."""
    old = set_fusion(mode)
    try:
        yield
    finally:
        set_fusion(old)


def fusable_runs(circuit: Circuit) -> list[int]:
    """Gate counts of the circuit's input-independent runs (the candidates for fusion), from |0..0>."""
    return [seg[2] for seg in _plan(circuit, True).segments if seg[0] == "run"]


def _should_fuse(g: int, N: int, n: int) -> bool:
    if _FUSION[0] != "auto":
        return _FUSION[0] == "always"
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
    dtype = complex_of(w.dtype)
    plan = _plan(circuit, from_zero=psi0 is None)
    rp = _cached(circuit, "reupload", reupload_plan) if N > 1 and _FUSION[0] == "auto" else None
    if worth_it(rp):                                          # inputs re-read after other gates: phase layers
        return reupload_states(rp, x, w, psi0, simulate), _layout(plan, n, tuple(range(n))), plan
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
        real = real_of(dtype)
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


LOCAL_MIN_XY = 3      # single-qubit X/Y words from which the reduced-density path is used


def _local_expect(plan: Plan, psi: torch.Tensor, lay: _Layout, n: int) -> torch.Tensor:
    """One-qubit words only: <X_q> = 2 Re rho_q[0, 1], <Y_q> = -2 Im rho_q[0, 1] from the off-diagonal of each
    wire's reduced density matrix (a product of the two half-states, no gather per word), <Z_q> from |psi|^2."""
    if not lay.identity:                                             # back to the standard basis order
        psi = _Gather.apply(psi, lay.inv.to(psi.device), lay.perm.to(psi.device))
    cols, zs = [], {}
    rho = torch.view_as_real(_OffDiag.apply(psi, n))                 # (N, n, 2): re, im of rho_q[0, 1]
    zw = sorted({q for q, P in plan.local if P == "Z"})
    if zw:
        cache, key = plan.local_z, (tuple(zw), psi.device, psi.dtype)
        if key not in cache:
            zt = z_signs(n, zw).to(device=psi.device, dtype=real_of(psi.dtype))
            cache[key] = (zt, 2 * zt)
        z = _ZExpect.apply(psi, *cache[key])
        zs = {q: z[:, i] for i, q in enumerate(zw)}
    for q, P in plan.local:
        cols.append(zs[q] if P == "Z" else 2 * rho[:, q, 0] if P == "X" else -2 * rho[:, q, 1])
    return torch.stack(cols, 1)


def _expect(plan: Plan, psi: torch.Tensor, lay: _Layout) -> torch.Tensor:
    if plan.local is not None and sum(P in "XY" for _, P in plan.local) >= LOCAL_MIN_XY:
        return _local_expect(plan, psi, lay, int(psi.shape[1]).bit_length() - 1)
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


class StatevectorBackend:
    """Exact expectations by statevector simulation in torch (CPU or CUDA, follows the inputs).

    A StateBackend: besides expval it gives exact final states (`state`), evolves given states
    (`evolve`) and reads expectations of given states (`expectations`)."""

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

    def evolve(self, circuit: Circuit, x: torch.Tensor, w: torch.Tensor, psi0: torch.Tensor) -> torch.Tensor:
        """States psi0 (N, 2**n) after the circuit with inputs x (N, n_inputs) and weights w (P,) -> (N, 2**n)."""
        return simulate(circuit, x, w, psi0=psi0)

    def expectations(self, circuit: Circuit, psi: torch.Tensor) -> torch.Tensor:
        return expectations(circuit, psi)

    def expval(self, circuit: Circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = self.prepare(circuit, inputs, weights)
        shots = check_shots(shots, None)
        if x.shape[0] == 0:
            return x.new_zeros(lead + (circuit.n_obs,))
        psi, lay, plan = _run(circuit, x, w, None, "expval")
        y = _expect(plan, psi, lay)
        if y.shape[0] != x.shape[0]:
            y = y.expand(x.shape[0], -1)
        if shots is not None:
            y = sample_estimates(y, shots, generator)
        return y.reshape(lead + (circuit.n_obs,))
