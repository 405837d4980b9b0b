"""Backend registry: a backend turns (circuit, inputs, weights) into expectations (contract: base.py).

Names are `family` or `family:argument` (see docs/backends.md):

    statevector               exact torch simulator (default)
    density[:fake_x|:k=v,..]  torch density-matrix simulator with noise (n <= 8)
    pennylane:<device>        a PennyLane device, e.g. pennylane:lightning.qubit
    aer[:fake_x]              Qiskit Aer through an EstimatorV2 primitive (shots; fake-device noise)
    ibm:<device>              IBM Quantum through qiskit-ibm-runtime EstimatorV2 (ibm:fake_x = local testing mode)

Families other than statevector live in their own modules and are imported on first use, so
`import qhybrid` never imports PennyLane or Qiskit. `usage_of` / `restore_usage` read and restore what
a job-based backend has used (jobs, QPU seconds), so a resumed run keeps its budget.
`get_backend(name, **options)` passes options to the family's constructor (e.g. max_qpu_seconds for
ibm:); an option the family does not take is refused with the ones it does (`check_options`).
`require_state` asks for the StateBackend capability (exact statevectors) and says clearly which
backends have it.
"""
from __future__ import annotations

import functools
import importlib
import inspect

from ..validation import did_you_mean
from .base import StateBackend, check_usage
from .statevector import StatevectorBackend

# family -> "module:Class" (lazy, relative to qhybrid.backends) or the class itself
_BACKENDS = {
    "statevector": StatevectorBackend,
    "density": "density:DensityBackend",
    "pennylane": "pennylane:PennyLaneBackend",
    "aer": "qiskit.aer:AerBackend",
    "ibm": "qiskit.ibm:IBMBackend",
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
        entry = getattr(importlib.import_module(f"qhybrid.backends.{module}"), cls)
    return entry


def get_backend(name="statevector", **options):
    """A backend instance from its name (or the instance itself, returned unchanged)."""
    if not isinstance(name, str):
        if hasattr(name, "expval"):
            return name
        raise ValueError(f"backend must be a name or an object with .expval(), got {type(name).__name__}")
    key, _, arg = name.partition(":")
    if key not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}{did_you_mean(key, _BACKENDS)}; available: "
                         + "; ".join(backend_forms().values()))
    cls = backend_class(key)
    check_options(name, options)
    if ":" not in name:
        return cls(**options)
    if not arg:
        raise ValueError(f"backend {name!r} names no device after ':'; valid forms: {_FORMS[key]}")
    if not _takes_argument(key):
        raise ValueError(f"backend {name!r}: {key} takes nothing after ':'; valid forms: {_FORMS[key]}")
    if key == "density" and "=" not in arg:              # a device's noise: read its snapshot here, so the
        from .qiskit.devices import fake_backend  # torch simulator itself never imports Qiskit
        options = {**options, "device": fake_backend(arg)}
    return cls(arg, **options)


def backend_options(name: str) -> list[str]:
    """The keyword options the family of backend `name` takes (its constructor's keyword arguments)."""
    key = name.partition(":")[0]
    if key not in _BACKENDS:
        get_backend(name)                                 # the clear error
    return list(_family_options(key))


@functools.cache
def _takes_argument(key: str) -> bool:
    params = list(inspect.signature(backend_class(key).__init__).parameters.values())[1:]
    return any(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)


@functools.cache
def _family_options(key: str) -> tuple[str, ...]:
    params = inspect.signature(backend_class(key).__init__).parameters.values()
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and
                                                                         p.name not in ("self", "device", "spec")))


def check_options(name: str, options: dict) -> None:
    """Refuse options the backend family does not take, naming the ones it does."""
    if not options:
        return
    valid = backend_options(name)
    for k in options:
        if k not in valid:
            raise ValueError(f"backend {name!r} takes no option {k!r}{did_you_mean(k, valid)}; its options: "
                             f"{', '.join(valid) or 'none'}")


def require_state(backend, what: str):
    """The backend as a StateBackend (exact statevectors), or a clear error naming the ones that are."""
    b = get_backend(backend) if isinstance(backend, str) else backend
    if isinstance(b, LazyBackend):
        b = b.backend
    if not isinstance(b, StateBackend):
        name = getattr(b, "name", type(b).__name__)
        raise ValueError(f"{what} needs exact statevectors, which backend {name!r} does not give; "
                         f"backends with statevectors: statevector. Use backend='statevector' "
                         f"(shots=k still simulates sampling where the layer supports it)")
    return b


def usage_of(backend) -> dict:
    """What a backend has used: {"jobs", "qpu_seconds"} for job-based backends (aer, ibm), {} for simulators
    that submit no jobs."""
    return dict(backend.usage()) if callable(getattr(backend, "usage", None)) else {}


def restore_usage(backend, state: dict) -> None:
    """Continue a backend's usage from a saved usage_of() (a resumed run); simulators ignore it."""
    if not state:
        return
    check_usage(state)
    if callable(getattr(backend, "restore_usage", None)):
        backend.restore_usage(state)


class LazyBackend:
    """A backend built on its first expval (so building a model to draw it or count its parameters never
    connects to IBM Quantum); every circuit sharing this object shares one instance, cache and budget."""

    def __init__(self, name: str, **options):
        key = name.partition(":")[0]
        if key not in _BACKENDS:
            get_backend(name)                            # the registry's clear error, now
        check_options(name, options)
        if ":" in name and not _takes_argument(key):
            get_backend(name)                            # the registry's clear error, now
        self.name, self.options, self._backend = name, options, None
        self._restored: dict | None = None

    @property
    def backend(self):
        if self._backend is None:
            b = get_backend(self.name, **self.options)
            if self._restored is not None:
                restore_usage(b, self._restored)
            self._backend = b
        return self._backend

    def usage(self) -> dict:
        """The backend's usage (jobs, QPU seconds); before it is built, what was restored (or nothing used)."""
        if self._backend is not None:
            return usage_of(self._backend)
        if self._restored is not None:
            return dict(self._restored)
        cls = backend_class(self.name.partition(":")[0])
        if not hasattr(cls, "usage"):
            return {}
        return {"jobs": 0, "qpu_seconds": 0.0 if getattr(cls, "uses_qpu", False) else None}

    def restore_usage(self, state: dict) -> None:
        """Restore a saved usage(); kept until the backend is built (a resume never connects early)."""
        if self._backend is not None:
            restore_usage(self._backend, state)
            return
        check_usage(state)
        self._restored = dict(state)

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None):
        return self.backend.expval(circuit, inputs, weights, shots=shots, generator=generator)

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"LazyBackend({self.name!r})" if self._backend is None else repr(self._backend)


__all__ = ["LazyBackend", "available_backends", "backend_forms", "backend_class", "backend_options", "check_options",
           "get_backend", "require_state", "restore_usage", "usage_of"]
