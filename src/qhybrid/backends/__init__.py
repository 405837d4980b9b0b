"""The backends wing: where circuits run. Imports only the circuit wing.

    get_backend("statevector" | "density[:...]" | "pennylane:<dev>" | "aer[:fake_<dev>]" | "ibm:<dev>")
    Backend, StateBackend       the contract (base.py): expval, and optionally exact states
    LazyBackend                 a backend built on its first use (models share one per run)
    usage_of(b), restore_usage(b, state)   jobs run and QPU seconds used, saved and restored across a resume
    require_state(backend)      the StateBackend capability, or a clear error
    run(circuit, x, w), state(circuit, x, w)   what Circuit.run / Circuit.state call
    estimate_cost(circuit, backend, n_circuits, shots)   QPU time of one circuit (Qiskit extra)
    check_memory(n, N, ..., need=bytes)   refuse, before allocating, what cannot fit (statevector/memory.py)
    BudgetExceededError, QPUJobError   hardware errors

Importing this package registers the engine behind Circuit.run / Circuit.state with the IR.
"""
from __future__ import annotations

from ..circuit import register_engine
from .base import Backend, StateBackend, bit, check_shots, circuit_key, pauli_flip_phase, prepare, sample_estimates
from .qiskit.jobs import BudgetExceededError, QPUJobError
from .registry import (
    LazyBackend,
    available_backends,
    backend_class,
    backend_forms,
    backend_options,
    check_options,
    get_backend,
    require_state,
    restore_usage,
    usage_of,
)
from .statevector import StatevectorBackend, batched_outer, check_memory


def run(circuit, inputs=None, weights=None, backend="statevector", shots=None, generator=None):
    """Expectations of a circuit's observables on a backend: inputs (..., n_inputs), weights (P,) -> (..., n_obs)."""
    return get_backend(backend).expval(circuit, inputs, weights, shots=shots, generator=generator)


def state(circuit, inputs=None, weights=None):
    """Exact final statevectors (..., 2**n) (wire 0 = most significant bit)."""
    return StatevectorBackend().state(circuit, inputs, weights)


def estimate_cost(circuit, backend_name: str, n_circuits: int, shots: int | None = None, **kw) -> dict:
    """Circuits, shots, transpiled depth, 2-qubit gates and QPU seconds of one circuit (qiskit/qpu_time.py)."""
    from .qiskit.qpu_time import estimate_cost as _estimate
    return _estimate(circuit, backend_name, n_circuits, shots, **kw)


register_engine(run, state)

__all__ = ["Backend", "StateBackend", "StatevectorBackend", "LazyBackend", "available_backends", "backend_class",
           "backend_forms", "backend_options", "check_options", "get_backend", "require_state", "run", "state",
           "estimate_cost", "bit", "pauli_flip_phase", "check_shots", "circuit_key", "prepare", "sample_estimates",
           "BudgetExceededError", "QPUJobError", "usage_of", "restore_usage", "check_memory",
           "batched_outer"]
