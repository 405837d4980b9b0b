"""Backend registry: a backend turns (circuit, inputs, weights) into expectations.

Contract: `expval(circuit, inputs (..., n_inputs), weights (P,), shots=None, generator=None)`
returns a torch tensor (..., n_obs) that autograd can differentiate. All leading dims go
through in one call.
"""
from __future__ import annotations

import difflib

from .statevector import StatevectorBackend

_BACKENDS = {"statevector": StatevectorBackend}


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def get_backend(name="statevector"):
    """A backend instance from its name (or the instance itself)."""
    if not isinstance(name, str):
        if hasattr(name, "expval"):
            return name
        raise ValueError(f"backend must be a name or an object with .expval(), got {type(name).__name__}")
    key = name.split(":", 1)[0]
    if key not in _BACKENDS:
        hint = difflib.get_close_matches(key, _BACKENDS, n=1)
        raise ValueError(f"unknown backend {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; available: {', '.join(available_backends())}")
    return _BACKENDS[key]() if ":" not in name else _BACKENDS[key](name.split(":", 1)[1])
