"""Text drawing of a Circuit, one row per wire, gates packed into moments."""
from __future__ import annotations

from .gates import PENNYLANE_NAMES


def _label(op, name: str | None = None) -> str:
    name = name or PENNYLANE_NAMES[op.name]
    return f"{name}({','.join(str(p) if not isinstance(p, float) else f'{p:.3g}' for p in op.params)})" \
        if op.params else name


def draw(circuit) -> str:
    """e.g.  0: ─RY(x0)─╭●──────── ⟨Z0⟩"""
    n = circuit.n_qubits
    moments: list[list] = []
    level = [0] * n
    for op in circuit.ops:
        lo, hi = min(op.wires), max(op.wires)
        d = max(level[lo:hi + 1])                     # a 2-qubit gate blocks the wires it spans
        if d == len(moments):
            moments.append([])
        moments[d].append(op)
        for q in range(lo, hi + 1):
            level[q] = d + 1
    rows = [f"{q}: " for q in range(n)]
    for moment in moments:
        cells = ["─"] * n
        for op in moment:
            if len(op.wires) == 1:
                cells[op.wires[0]] = _label(op)
                continue
            a, b = op.wires
            lo, hi = min(a, b), max(a, b)
            if op.name == "cnot":
                cells[a], cells[b] = "●", "X"
            elif op.name in ("cz",):
                cells[a], cells[b] = "●", "Z"
            elif op.name == "swap":
                cells[a] = cells[b] = "×"
            elif op.name.startswith("c"):
                cells[a], cells[b] = "●", _label(op, PENNYLANE_NAMES[op.name][1:])   # CRX -> RX on target
            else:
                cells[a] = cells[b] = _label(op)
            for q in range(lo + 1, hi):
                cells[q] = "│"
            cells[lo] = "╭" + cells[lo]
            cells[hi] = "╰" + cells[hi]
        width = max(len(s) for s in cells)
        for q in range(n):
            rows[q] += "─" + cells[q].ljust(width, "─")
    obs = {}
    for k, word in enumerate(circuit.observables):
        for w, _ in word:
            obs.setdefault(w, []).append(circuit.observable_labels[k])
    width = max(len(r) for r in rows)
    return "\n".join(r.ljust(width, "─") + "─ " + " ".join(f"⟨{o}⟩" for o in obs.get(q, []))
                     for q, r in enumerate(rows))
