"""The circuit wing: the IR (Circuit, angles, Pauli words), the gate registry, templates, drawing and
export to PennyLane / Qiskit / OpenQASM. Plain data: it imports nothing else of qhybrid but
`_optional` and `validation`, and never an engine."""
from . import templates
from .angles import Angle, AngleTable, Input, InputProduct, Weight, angle_value, term
from .export import build_qiskit, qiskit_observables, to_pennylane, to_qasm3, to_qiskit
from .gates import GATES, GateSpec, gate_column0, gate_matrix
from .ir import Circuit, Op, parse_pauli, register_engine
from .templates import ANSATZES, ENCODINGS, build_circuit, pauli_observables, ring

__all__ = ["Angle", "AngleTable", "Input", "InputProduct", "Weight", "angle_value", "term", "build_qiskit",
           "qiskit_observables", "to_pennylane", "to_qasm3", "to_qiskit", "GATES", "GateSpec", "gate_column0",
           "gate_matrix", "Circuit", "Op", "parse_pauli", "register_engine", "ANSATZES", "ENCODINGS",
           "build_circuit", "pauli_observables", "ring", "templates"]
