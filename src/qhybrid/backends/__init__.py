"""Backend registry: a backend turns (circuit, inputs, weights) into expectations.

Contract: `expval(circuit, inputs (..., n_inputs), weights (P,), shots=None, generator=None)`
returns a torch tensor (..., n_obs) that autograd can differentiate. All leading dims go
through in one call.

Names are `family` or `family:argument` (see docs/backends.md):

    statevector               exact torch simulator (default)
    density[:fake_x|:k=v,..]  torch density-matrix simulator with noise (n <= 8)
    pennylane:<device>        a PennyLane device, e.g. pennylane:lightning.qubit
    aer[:fake_x]              Qiskit Aer through an EstimatorV2 primitive (shots; fake-device noise)
    ibm:<device>              IBM Quantum through qiskit-ibm-runtime EstimatorV2 (ibm:fake_x = local testing mode)

Families other than statevector live in their own modules and are imported on first use, so
`import qhybrid` never imports PennyLane or Qiskit. `get_backend(name, **options)` passes
options to the family's constructor (e.g. max_qpu_seconds for ibm:).
"""
from __future__ import annotations

import difflib
import importlib

from .statevector import StatevectorBackend

# family -> "module:Class" (lazy) or the class itself
_BACKENDS = {
    "statevector": StatevectorBackend,
    "density": "density:DensityBackend",
    "pennylane": "pennylane:PennyLaneBackend",
    "aer": "aer:AerBackend",
    "ibm": "ibm:IBMBackend",
}

_FORMS = {
    "statevector": "statevector",
    "density": "density, density:fake_<device>, density:depol1=..,depol2=..,readout=..",
    "pennylane": "pennylane:<device> (e.g. pennylane:default.qubit, pennylane:lightning.qubit)",
    "aer": "aer, aer:fake_<device> (e.g. aer:fake_manila)",
    "ibm": "ibm:<device> (e.g. ibm:ibm_brisbane; ibm:fake_manila = local testing mode)",
}


def available_backends() -> list[str]:
    """Backend families (the part of a name before ':')."""
    return sorted(_BACKENDS)


def backend_forms() -> dict[str, str]:
    """family -> the names it accepts, for `qhybrid list backends` and error messages."""
    return dict(sorted(_FORMS.items()))


def backend_class(family: str):
    entry = _BACKENDS[family]
    if isinstance(entry, str):
        module, cls = entry.split(":")
        entry = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
    return entry


def get_backend(name="statevector", **options):
    """A backend instance from its name (or the instance itself, returned unchanged)."""
    if not isinstance(name, str):
        if hasattr(name, "expval"):
            return name
        raise ValueError(f"backend must be a name or an object with .expval(), got {type(name).__name__}")
    key, _, arg = name.partition(":")
    if key not in _BACKENDS:
        hint = difflib.get_close_matches(key, _BACKENDS, n=1)
        raise ValueError(f"unknown backend {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + "; available: " + "; ".join(backend_forms().values()))
    cls = backend_class(key)
    if ":" not in name:
        return cls(**options)
    if not arg:
        raise ValueError(f"backend {name!r} names no device after ':'; valid forms: {_FORMS[key]}")
    return cls(arg, **options)


class LazyBackend:
    """A backend built on its first expval (so building a model to draw it or count its parameters never
    connects to IBM Quantum); every circuit sharing this object shares one instance, cache and budget."""

    def __init__(self, name: str, **options):
        key = name.partition(":")[0]
        if key not in _BACKENDS:
            get_backend(name)                            # the registry's clear error, now
        self.name, self.options, self._backend = name, options, None

    @property
    def backend(self):
        if self._backend is None:
            self._backend = get_backend(self.name, **self.options)
        return self._backend

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None):
        return self.backend.expval(circuit, inputs, weights, shots=shots, generator=generator)

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"LazyBackend({self.name!r})" if self._backend is None else repr(self._backend)


def estimate_cost(circuit, backend_name: str, n_circuits: int, shots: int | None = None, **kw) -> dict:
    """Circuits, shots, transpiled depth, 2-qubit gates and QPU seconds (see backends/cost.py)."""
    from .cost import estimate_cost as _estimate
    return _estimate(circuit, backend_name, n_circuits, shots, **kw)


__all__ = ["StatevectorBackend", "LazyBackend", "available_backends", "backend_forms", "get_backend", "estimate_cost"]
