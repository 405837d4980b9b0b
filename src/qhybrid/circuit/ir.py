"""The Circuit IR: a backend-neutral, plain-data description of a variational circuit.

    c = Circuit(3)
    for i in range(3):
        c.ry(i, Input(i))
    c.cnot(0, 1); c.crx(1, 2, Weight(0)); c.rot(2, Weight(1), Weight(2), Weight(3))
    c.observe("Z0", "X1 X2")
    y = c.run(x, w)          # x: (..., 3), w: (4,) -> y: (..., 2)

Each angle is a float, `Input(i)` (feature i of every sample, optionally scaled, or a
product of two features) or `Weight(j)` (trainable parameter j). Conventions are PennyLane's.
Angles live in `angles.py`, export (PennyLane, Qiskit, OpenQASM) in `export.py`, drawing in
`draw.py`. The IR never imports an engine: `c.run` / `c.state` call the runner that
`qhybrid.backends` registers on import (`register_engine`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..validation import did_you_mean
from .angles import Angle, Input, InputProduct, Weight
from .draw import draw, draw_mpl
from .export import qiskit_observables, to_pennylane, to_qasm3, to_qiskit
from .gates import GATES

_ENGINE: dict = {}          # "expval" / "state": set by qhybrid.backends (register_engine)


def register_engine(expval, state) -> None:
    """Install the functions behind Circuit.run and Circuit.state (qhybrid.backends does, on import):
    expval(circuit, inputs, weights, backend, shots, generator) and state(circuit, inputs, weights)."""
    _ENGINE.update(expval=expval, state=state)


def _engine(what: str):
    if what not in _ENGINE:
        raise RuntimeError("no simulator is registered with the circuit IR; `import qhybrid` (or qhybrid.backends) "
                           "registers the default one")
    return _ENGINE[what]


@dataclass(frozen=True)
class Op:
    name: str
    wires: tuple[int, ...]
    params: tuple[Angle, ...]

    @property
    def depends_on_input(self) -> bool:
        return any(isinstance(p, (Input, InputProduct)) for p in self.params)


_PAULI_TOKEN = re.compile(r"([IXYZ])\s*(\d+)")


def parse_pauli(word: str, n_qubits: int) -> tuple[tuple[int, str], ...]:
    """'X1 Z3' -> ((1, 'X'), (3, 'Z')); identity factors dropped; wires checked."""
    text = word.replace("@", " ").strip().upper()
    tokens = _PAULI_TOKEN.findall(text)
    if not tokens or _PAULI_TOKEN.sub("", text).strip():
        raise ValueError(f"cannot read Pauli word {word!r}: write it as letters X, Y, Z (or I) each "
                         f"followed by a wire, separated by spaces, e.g. 'Z0' or 'X1 X2'")
    factors: dict[int, str] = {}
    for letter, wire in tokens:
        w = int(wire)
        if w >= n_qubits:
            raise ValueError(f"Pauli word {word!r} names wire {w}, but the circuit has wires "
                             f"0..{n_qubits - 1}")
        if w in factors:
            raise ValueError(f"Pauli word {word!r} names wire {w} twice; give each wire one letter")
        if letter != "I":
            factors[w] = letter
    return tuple(sorted(factors.items()))


class Circuit:
    """A variational circuit on `n_qubits` wires: gates, angles and observables.

    Gate methods are PennyLane op names in lower case, wires first then angles.
    `n_inputs` / `n_weights` are inferred from the largest index used; pass them to
    reserve more (a layer that ignores some features, say).
    """

    MAX_QUBITS = 30

    def __init__(self, n_qubits: int, n_inputs: int | None = None, n_weights: int | None = None):
        if not isinstance(n_qubits, int) or not 1 <= n_qubits <= self.MAX_QUBITS:
            raise ValueError(f"n_qubits must be an integer from 1 to {self.MAX_QUBITS}, got {n_qubits!r}")
        self.n_qubits = n_qubits
        self.ops: list[Op] = []
        self._observables: list[tuple[tuple[int, str], ...]] | None = None
        self._labels: list[str] | None = None
        self._min_inputs = n_inputs or 0
        self._min_weights = n_weights or 0
        self.version = 0

    # ---- building -------------------------------------------------------------------
    def add(self, name: str, wires, *params) -> "Circuit":
        """Append gate `name` on `wires` with angles `params` (what every gate method calls)."""
        spec = GATES.get(name)
        if spec is None:
            raise ValueError(f"unknown gate {name!r}{did_you_mean(name, GATES)}; valid gates: {', '.join(GATES)}")
        wires = (wires,) if isinstance(wires, int) else tuple(wires)
        if len(wires) != spec.n_wires:
            raise ValueError(f"{name} acts on {spec.n_wires} wire(s), got wires {wires}")
        for w in wires:
            if not isinstance(w, int) or not 0 <= w < self.n_qubits:
                raise ValueError(f"{name}: wire {w!r} is out of range; this circuit has wires "
                                 f"0..{self.n_qubits - 1} (make the Circuit larger or fix the wire)")
        if len(set(wires)) != len(wires):
            raise ValueError(f"{name}: wires must differ, got {wires}")
        if len(params) != spec.n_params:
            raise ValueError(f"{name} takes {spec.n_params} angle(s), got {len(params)}")
        params = tuple(self._check_angle(name, p) for p in params)
        self.ops.append(Op(name, wires, params))
        self._invalidate()
        return self

    @staticmethod
    def _check_angle(name, p):
        if isinstance(p, (Input, InputProduct, Weight)):
            idx = (p.i, p.j) if isinstance(p, InputProduct) else (p.index,)
            if any(not isinstance(k, int) or k < 0 for k in idx):
                raise ValueError(f"{name}: index {idx} of {p} must be a non-negative integer")
            return p
        try:
            return float(p)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: angle {p!r} must be a number, Input(i) or Weight(j)") from None

    def __getattr__(self, item):
        if item.startswith("_"):
            raise AttributeError(item)
        hint = did_you_mean(item, list(GATES) + ["observe", "run", "draw"])
        raise AttributeError(f"Circuit has no method {item!r}{hint}; gates: {', '.join(GATES)}")

    def new_weights(self, k: int) -> list[Weight]:
        """Reserve k fresh trainable parameters (indices after all used so far)."""
        start = self.n_weights
        self._min_weights = start + k
        self._invalidate()
        return [Weight(start + i) for i in range(k)]

    def observe(self, *words: str) -> "Circuit":
        """Set the measured Pauli words, e.g. observe("Z0", "X1 X2"); replaces earlier ones."""
        if not words:
            raise ValueError("observe() needs at least one Pauli word, e.g. observe('Z0')")
        self._observables = [parse_pauli(w, self.n_qubits) for w in words]
        self._labels = [" ".join(f"{p}{w}" for w, p in obs) or "I" for obs in self._observables]
        self._invalidate()
        return self

    def _invalidate(self):
        self.version += 1            # engines key their compiled plans on (circuit, version)

    # ---- gates: PennyLane names and conventions, wires first, then angles ---------------------
    def _gate(self, name: str, args: tuple) -> "Circuit":
        spec = GATES[name]
        if len(args) < spec.n_wires:
            raise ValueError(f"{name} needs {spec.n_wires} wire(s) then {spec.n_params} angle(s)")
        return self.add(name, args[:spec.n_wires], *args[spec.n_wires:])

    def rx(self, *args) -> "Circuit":
        """rx(wire, angle)"""
        return self._gate("rx", args)

    def ry(self, *args) -> "Circuit":
        """ry(wire, angle)"""
        return self._gate("ry", args)

    def rz(self, *args) -> "Circuit":
        """rz(wire, angle)"""
        return self._gate("rz", args)

    def phaseshift(self, *args) -> "Circuit":
        """phaseshift(wire, angle)"""
        return self._gate("phaseshift", args)

    def rot(self, *args) -> "Circuit":
        """rot(wire, phi, theta, omega)"""
        return self._gate("rot", args)

    def h(self, *args) -> "Circuit":
        """h(wire)"""
        return self._gate("h", args)

    def x(self, *args) -> "Circuit":
        """x(wire)"""
        return self._gate("x", args)

    def y(self, *args) -> "Circuit":
        """y(wire)"""
        return self._gate("y", args)

    def z(self, *args) -> "Circuit":
        """z(wire)"""
        return self._gate("z", args)

    def s(self, *args) -> "Circuit":
        """s(wire)"""
        return self._gate("s", args)

    def t(self, *args) -> "Circuit":
        """t(wire)"""
        return self._gate("t", args)

    def cnot(self, *args) -> "Circuit":
        """cnot(control, target)"""
        return self._gate("cnot", args)

    def cz(self, *args) -> "Circuit":
        """cz(control, target)"""
        return self._gate("cz", args)

    def swap(self, *args) -> "Circuit":
        """swap(wire0, wire1)"""
        return self._gate("swap", args)

    def crx(self, *args) -> "Circuit":
        """crx(control, target, angle)"""
        return self._gate("crx", args)

    def cry(self, *args) -> "Circuit":
        """cry(control, target, angle)"""
        return self._gate("cry", args)

    def crz(self, *args) -> "Circuit":
        """crz(control, target, angle)"""
        return self._gate("crz", args)

    def isingxx(self, *args) -> "Circuit":
        """isingxx(wire0, wire1, angle)"""
        return self._gate("isingxx", args)

    def isingyy(self, *args) -> "Circuit":
        """isingyy(wire0, wire1, angle)"""
        return self._gate("isingyy", args)

    def isingzz(self, *args) -> "Circuit":
        """isingzz(wire0, wire1, angle)"""
        return self._gate("isingzz", args)

    # ---- properties -----------------------------------------------------------------
    @property
    def observables(self) -> list[tuple[tuple[int, str], ...]]:
        if self._observables is None:
            return [((w, "Z"),) for w in range(self.n_qubits)]
        return self._observables

    @property
    def observable_labels(self) -> list[str]:
        return self._labels or [f"Z{w}" for w in range(self.n_qubits)]

    @property
    def n_obs(self) -> int:
        return len(self.observables)

    @property
    def n_inputs(self) -> int:
        used = [i for op in self.ops for p in op.params
                for i in ((p.index,) if isinstance(p, Input) else (p.i, p.j) if isinstance(p, InputProduct) else ())]
        return max([self._min_inputs] + [i + 1 for i in used])

    @property
    def n_weights(self) -> int:
        used = [p.index for op in self.ops for p in op.params if isinstance(p, Weight)]
        return max([self._min_weights] + [i + 1 for i in used])

    def resources(self) -> dict:
        """Depth, gate counts and parameter counts of the circuit (before any transpilation)."""
        level = [0] * self.n_qubits
        counts: dict[str, int] = {}
        for op in self.ops:
            d = max(level[w] for w in op.wires) + 1
            for w in op.wires:
                level[w] = d
            counts[op.name] = counts.get(op.name, 0) + 1
        return {
            "n_qubits": self.n_qubits,
            "depth": max(level) if self.ops else 0,
            "gates": len(self.ops),
            "one_qubit_gates": sum(len(op.wires) == 1 for op in self.ops),
            "two_qubit_gates": sum(len(op.wires) == 2 for op in self.ops),
            "n_inputs": self.n_inputs,
            "n_weights": self.n_weights,
            "n_observables": self.n_obs,
            "gate_counts": counts,
        }

    # ---- running and exporting --------------------------------------------------------
    def run(self, inputs=None, weights=None, backend="statevector", shots: int | None = None,
            generator=None):
        """Expectations of the observables: inputs (..., n_inputs), weights (n_weights,) -> (..., n_obs)."""
        return _engine("expval")(self, inputs, weights, backend, shots, generator)

    def state(self, inputs=None, weights=None):
        """Final statevectors (..., 2**n_qubits) from the exact simulator (wire 0 = most significant bit)."""
        return _engine("state")(self, inputs, weights)

    def to_pennylane(self):
        return to_pennylane(self)

    def to_qiskit(self):
        return to_qiskit(self)

    def qiskit_observables(self):
        return qiskit_observables(self)

    def to_qasm3(self) -> str:
        return to_qasm3(self)

    def draw(self, style: str = "text"):
        """style "text": a string, one row per wire; "mpl": a matplotlib Figure (in Jupyter it shows itself)."""
        if style == "mpl":
            return draw_mpl(self)
        if style != "text":
            raise ValueError(f"draw style must be 'text' or 'mpl', got {style!r}")
        return draw(self)

    def __repr__(self):
        r = self.resources()
        return (f"Circuit(n_qubits={self.n_qubits}, gates={r['gates']}, depth={r['depth']}, "
                f"n_inputs={self.n_inputs}, n_weights={self.n_weights}, observables={self.observable_labels})")
