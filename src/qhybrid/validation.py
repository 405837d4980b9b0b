"""Input checks shared by every wing: "did you mean" hints, choices, config dataclasses from dicts.

    did_you_mean("stpes", ["steps", "seed"])        -> " (did you mean 'steps'?)"
    check_choice("model.attention", "vqx", ATTENTIONS)  raises ValueError naming the valid values
    dataclass_from_dict(TrainConfig, {...}, "train")   rejects unknown keys with the nearest valid one
"""
from __future__ import annotations

import dataclasses
import difflib


def nearest(value, options, cutoff: float = 0.6) -> str | None:
    """The option nearest to value (difflib's ratio >= cutoff), or None."""
    hint = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=cutoff)
    return hint[0] if hint else None


def did_you_mean(value, options, quote: bool = True) -> str:
    """' (did you mean X?)' for the option nearest to value, or '' when none is near."""
    hint = nearest(value, options)
    if hint is None:
        return ""
    return f" (did you mean {hint!r}?)" if quote else f" (did you mean {hint}?)"


def check_choice(what: str, value, options, prefix: str = "") -> None:
    """Raise ValueError('<what> = <value> is not valid (did you mean ...); valid: ...') unless value is an option."""
    if value not in options:
        raise ValueError(f"{prefix}{what} = {value!r} is not valid{did_you_mean(value, options)}; "
                         f"valid: {', '.join(map(str, options))}")


def unknown(what: str, value, options) -> ValueError:
    """The error for an unknown name: "unknown gate 'rzz' (did you mean 'rz'?); valid: ..."."""
    return ValueError(f"unknown {what} {value!r}{did_you_mean(value, options)}; valid: {', '.join(map(str, options))}")


def dataclass_from_dict(cls, data: dict, prefix: str):
    """Build a config dataclass from a dict, rejecting unknown keys with the nearest valid one."""
    if not isinstance(data, dict):
        raise ValueError(f"{prefix} must be a mapping of settings, got {data!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            hint = nearest(key, names)
            raise ValueError(f"unknown key {prefix}.{key}" + (f" (did you mean {prefix}.{hint}?)" if hint else "")
                             + f"; valid keys: {', '.join(names)}")
    return cls(**data)
