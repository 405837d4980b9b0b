"""CircuitRunner, the central piece of every quantum layer: owns a circuit's weights, runs it on a backend.

    runner = CircuitRunner(circuit, backend="statevector", shots=None)
    runner(angles (..., n_inputs)) -> (..., n_obs)      one backend call for every leading dim
    runner.states(angles) -> (..., 2**n)                exact states (a StateBackend is required)
    runner.from_states(psi (N, 2**n)) -> (N, n_obs)     the circuit applied to given states, then read out

Also here: `quantum_parameter` / `is_quantum` (the tag parameter accounting reads), `check_twin_options`
(classical twins take the quantum options by name and refuse anything else), and export of every
circuit of a module (`circuits_of`, `layer_to_qiskit`, `layer_to_qasm3`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._optional import require
from ..backends import get_backend, require_state
from ..circuit import Circuit, to_qiskit
from ..validation import did_you_mean

QUANTUM_OPTIONS = ("n_qubits", "n_layers", "ansatz", "encoding", "backend", "shots")


def quantum_parameter(t: torch.Tensor) -> nn.Parameter:
    """An nn.Parameter tagged as quantum (a circuit angle or coefficient), for parameter accounting."""
    p = nn.Parameter(t)
    p._qhybrid_quantum = True
    return p


def is_quantum(p: torch.Tensor) -> bool:
    return getattr(p, "_qhybrid_quantum", False)


def check_twin_options(layer: str, options: dict) -> None:
    """A classical twin takes its quantum sibling's options (and ignores them); anything else is a typo."""
    for k in options:
        if k not in QUANTUM_OPTIONS:
            raise ValueError(f"{layer} takes no option {k!r}{did_you_mean(k, QUANTUM_OPTIONS)}; it accepts the "
                             f"quantum options {', '.join(QUANTUM_OPTIONS)} (and ignores them)")


class CircuitRunner(nn.Module):
    """Owns a circuit's trainable weights and runs it on a backend: (..., n_inputs) -> (..., n_obs).

    Init: weights ~ U(-init_scale*pi, init_scale*pi) (or U(-init_range, init_range)); a small scale keeps
    deep circuits away from barren plateaus at the start (Grant et al. 2019). `generator` (a
    torch.Generator, None = torch's global one) draws the shot noise of sampling backends.
    """

    def __init__(self, circuit: Circuit, backend="statevector", shots: int | None = None, init_scale: float = 0.1,
                 init_range: float | None = None):
        super().__init__()
        self.circuit = circuit
        self.backend_name = backend if isinstance(backend, str) else getattr(backend, "name", "custom")
        self.backend = get_backend(backend)
        self.shots = shots
        self.generator: torch.Generator | None = None
        w = torch.empty(circuit.n_weights)
        if init_range is not None:
            w = w.uniform_(-init_range, init_range)
        else:
            w = w.uniform_(-math.pi, math.pi) * init_scale
        self.weights = quantum_parameter(w)

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        return self.backend.expval(self.circuit, angles, self.weights, shots=self.shots, generator=self.generator)

    def states(self, angles: torch.Tensor) -> torch.Tensor:
        """Exact final states (..., 2**n) of the circuit for these angles."""
        return require_state(self.backend, "this layer").state(self.circuit, angles, self.weights)

    def from_states(self, psi: torch.Tensor) -> torch.Tensor:
        """The circuit (it reads no inputs) applied to states psi (N, 2**n), then its observables: (N, n_obs)."""
        b = require_state(self.backend, "this layer")
        w = self.weights.to(psi.real.dtype)
        return b.expectations(self.circuit, b.evolve(self.circuit, w.new_zeros(psi.shape[0], 0), w, psi))

    def to_qiskit(self, bind_weights: bool = True):
        """The circuit as a Qiskit QuantumCircuit (current weights bound; inputs stay parameters `x`)."""
        return layer_to_qiskit(self, bind_weights)[""]

    def to_qasm3(self, bind_weights: bool = True) -> str:
        """The circuit as OpenQASM 3 (current weights bound; inputs stay `input float` parameters)."""
        return layer_to_qasm3(self, bind_weights)[""]

    def extra_repr(self) -> str:
        r = self.circuit.resources()
        return (f"n_qubits={r['n_qubits']}, depth={r['depth']}, n_weights={r['n_weights']}, "
                f"n_obs={r['n_observables']}, backend={self.backend_name!r}, shots={self.shots}")


# ---- every circuit of a module ------------------------------------------------------------
def circuits_of(module: nn.Module) -> dict:
    """{qualified name: CircuitRunner} of every circuit inside a torch module (the module itself: name '')."""
    return {name: m for name, m in module.named_modules() if isinstance(m, CircuitRunner)}


def layer_circuits(module) -> dict:
    """{qualified name: Circuit} of every CircuitRunner inside a torch module."""
    return {name: m.circuit for name, m in circuits_of(module).items()}


def layer_to_qiskit(module, bind_weights: bool = True) -> dict:
    """{name: QuantumCircuit} for every circuit of a layer or model; with bind_weights the current trained
    weights are bound and only the inputs `x` stay parameters."""
    out = {}
    for name, m in circuits_of(module).items():
        qc = to_qiskit(m.circuit)
        if bind_weights and m.circuit.n_weights:
            values = m.weights.detach().double().cpu().tolist()
            qc = qc.assign_parameters(dict(zip(qc.metadata["weights"], values)), strict=False)
            qc.metadata = {"inputs": qc.metadata["inputs"] if qc.metadata else None}
        out[name] = qc
    return out


def layer_to_qasm3(module, bind_weights: bool = True) -> dict:
    """{name: OpenQASM 3 text} for every circuit of a layer or model (see layer_to_qiskit)."""
    require("qiskit")
    from qiskit import qasm3
    return {name: qasm3.dumps(qc) for name, qc in layer_to_qiskit(module, bind_weights).items()}
