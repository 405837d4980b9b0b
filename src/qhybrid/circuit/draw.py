"""Drawing a Circuit: text (one row per wire) or a matplotlib picture, gates packed into moments.

    draw(circuit)       ' 0: ─RY(x0)─╭●──── ⟨Z0⟩ ...'
    draw_mpl(circuit)   a matplotlib Figure: data-encoding gates, trainable gates and fixed gates in three
                        colours (the key is in the figure), measured observables at the right
"""
from __future__ import annotations

import io

from .angles import Input, InputProduct, Weight
from .gates import PENNYLANE_NAMES


def _label(op, name: str | None = None) -> str:
    name = name or PENNYLANE_NAMES[op.name]
    return f"{name}({','.join(str(p) if not isinstance(p, float) else f'{p:.3g}' for p in op.params)})" \
        if op.params else name


def _moments(circuit) -> list[list]:
    """Ops packed left to right into moments; a 2-qubit gate blocks the wires it spans."""
    moments: list[list] = []
    level = [0] * circuit.n_qubits
    for op in circuit.ops:
        lo, hi = min(op.wires), max(op.wires)
        d = max(level[lo:hi + 1])
        if d == len(moments):
            moments.append([])
        moments[d].append(op)
        for q in range(lo, hi + 1):
            level[q] = d + 1
    return moments


def _observed(circuit) -> dict[int, list[str]]:
    obs: dict[int, list[str]] = {}
    for k, word in enumerate(circuit.observables):
        for w, _ in word:
            obs.setdefault(w, []).append(circuit.observable_labels[k])
    return obs


def draw(circuit) -> str:
    """e.g.  0: ─RY(x0)─╭●──────── ⟨Z0⟩"""
    n = circuit.n_qubits
    rows = [f"{q}: " for q in range(n)]
    for moment in _moments(circuit):
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
    obs = _observed(circuit)
    width = max(len(r) for r in rows)
    return "\n".join(r.ljust(width, "─") + "─ " + " ".join(f"⟨{o}⟩" for o in obs.get(q, []))
                     for q, r in enumerate(rows))


_COLOURS = {"input": "#f6c177", "weight": "#9ccfd8", "fixed": "#e0def4"}   # data encoding, trainable, fixed
_SHORT = {"hadamard": "H", "paulix": "X", "pauliy": "Y", "pauliz": "Z"}


def _controlled(op) -> bool:
    return op.name in ("cnot", "cz", "crx", "cry", "crz")


def _boxes(op) -> list[tuple[int, str]]:
    """The boxes a gate draws: [(wire, text)]; a controlled gate boxes its target only."""
    if len(op.wires) == 1:
        name = PENNYLANE_NAMES[op.name]
        return [(op.wires[0], _label(op, _SHORT.get(name.lower(), name)))]
    a, b = op.wires
    if _controlled(op):
        return [(b, {"cnot": "X", "cz": "Z"}.get(op.name) or _label(op, PENNYLANE_NAMES[op.name][1:]))]
    return [(a, _label(op)), (b, _label(op))]


def _box_width(text: str) -> float:
    return max(0.55, 0.085 * len(text) + 0.15)


def _kind(op) -> str:
    if any(isinstance(p, (Input, InputProduct)) for p in op.params):
        return "input"
    return "weight" if any(isinstance(p, Weight) for p in op.params) else "fixed"


def _picture(**kwargs):
    """A bare matplotlib Figure (no pyplot, no backend state changes) that Jupyter shows as a PNG even before
    any pyplot figure has set up the inline display."""
    from matplotlib.figure import Figure

    class CircuitFigure(Figure):
        def _repr_png_(self):
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
            return buf.getvalue()
    return CircuitFigure(**kwargs)


def draw_mpl(circuit, ax=None, title: str | None = None):
    """The circuit as a matplotlib picture (a bare Figure, so no backend state changes); returns the Figure,
    which a notebook shows when it is a cell's value."""
    from matplotlib.patches import Circle, Patch, Rectangle

    n, moments = circuit.n_qubits, _moments(circuit)
    boxes = [[_boxes(op) for op in moment] for moment in moments]      # per op: [(wire, text)]
    widths = [max(_box_width(text) for ops in moment for _, text in ops) for moment in boxes]
    xs, x = [], 0.0                                               # centre of each moment, spaced by its widest box
    for w in widths:
        xs.append(x + w / 2)
        x += w + 0.3
    width = x
    if ax is None:
        fig = _picture(figsize=(min(1.5 + 0.85 * width, 30), 0.7 + 0.6 * n))
        ax = fig.subplots()
    fig = ax.figure
    y = lambda q: n - 1 - q                                       # wire 0 on top, as in the text drawing
    for q in range(n):
        ax.plot([-0.5, width - 0.2], [y(q), y(q)], color="black", lw=0.8, zorder=0)
        ax.text(-0.7, y(q), f"{q}", ha="right", va="center", fontsize=9)
    for t, (moment, ops_boxes) in zip(xs, zip(moments, boxes)):
        for op, wires in zip(moment, ops_boxes):
            colour = _COLOURS[_kind(op)]
            if len(op.wires) == 2:
                a, b = op.wires
                ax.plot([t, t], [y(a), y(b)], color="black", lw=0.8, zorder=1)
                if _controlled(op):
                    ax.add_patch(Circle((t, y(a)), 0.08, color="black", zorder=3))
            for q, text in wires:
                w = _box_width(text)
                ax.add_patch(Rectangle((t - w / 2, y(q) - 0.25), w, 0.5, facecolor=colour, edgecolor="black",
                                       lw=0.6, zorder=2))
                ax.text(t, y(q), text, ha="center", va="center", fontsize=7, zorder=4)
    for q, labels in _observed(circuit).items():
        ax.text(width - 0.1, y(q), " ".join(f"⟨{o}⟩" for o in labels), ha="left", va="center", fontsize=8)
    ax.legend(handles=[Patch(facecolor=c, edgecolor="black", label=k) for k, c in
                       (("data encoding", _COLOURS["input"]), ("trainable", _COLOURS["weight"]),
                        ("fixed", _COLOURS["fixed"]))], loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=3, fontsize=7, frameon=False)
    ax.set_xlim(-1.0, width + 1.2)
    ax.set_ylim(-0.8, n - 0.3)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
