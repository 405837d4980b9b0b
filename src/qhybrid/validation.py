"""Input checks shared by every wing: "did you mean" hints, choices, config dataclasses from dicts.

    did_you_mean("stpes", ["steps", "seed"])        -> " (did you mean 'steps'?)"
    check_choice("model.attention", "vqx", ATTENTIONS)  raises ValueError naming the valid values
    dataclass_from_dict(TrainConfig, {...}, "train")   rejects unknown keys with the nearest valid one and
                                                       type-checks every value (nested dataclasses too)
    check_value("train.lr", "1e-3", float)            -> 0.001 (a number written as a string is read)
    check_fields(config, "model.quantum")              the same type checks on a built dataclass

Types come from the dataclass annotations: int (not bool), float (int or float; a numeric string such
as "1e-3", which YAML leaves as text, becomes a float), bool, str (an integer becomes its digits),
dict, `X | None`, and nested config dataclasses (built from a mapping).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing


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


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_HINTS: dict = {}


def field_types(cls) -> dict:
    """{field name: annotated type} of a dataclass (or the parameters of a function), resolved once."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _kind(tp) -> str:
    if dataclasses.is_dataclass(tp):
        return "a mapping of settings"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping (key: value)", list: "a list"}.get(tp, getattr(tp, "__name__", str(tp)))


def check_value(where: str, value, tp, example=dataclasses.MISSING):
    """`value` checked against the type `tp`; returns it (a numeric string for a float: the float, an integer
    for a str: its digits, a mapping for a config dataclass: the dataclass). Raises ValueError naming `where`,
    the expected type and, when given, an example value."""
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if value is None and optional:
            return None
        tp = rest[0] if len(rest) == 1 else object
    if tp is typing.Any or tp is object:
        return value
    base = typing.get_origin(tp) or tp
    ok, out = False, value
    if dataclasses.is_dataclass(base):
        if isinstance(value, base):
            ok = True
        elif isinstance(value, dict):
            return dataclass_from_dict(base, value, where)
    elif base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = out = float(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif base is str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = out = str(value)
        ok = isinstance(value, str)
    elif isinstance(base, type):
        ok = isinstance(value, base)
    else:
        ok = True
    if not ok:
        if dataclasses.is_dataclass(base):
            raise ValueError(f"{where} must be a mapping of settings{' or null' if optional else ''}, got {value!r}")
        example = "" if example in (dataclasses.MISSING, None) or isinstance(example, (dict, list, bool)) else \
            f", e.g. {example!r}"
        name = getattr(base, "__name__", str(base))
        raise ValueError(f"{where} must be {name}{' or null' if optional else ''} ({_kind(base)}{example}), "
                         f"got {value!r}")
    return out


def _default(f: dataclasses.Field):
    return f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING


def check_fields(obj, prefix: str = "") -> None:
    """Type-check (and normalise, see `check_value`) every field of a built config dataclass, in place."""
    hints = field_types(type(obj))
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        new = check_value(_join(prefix, f.name), v, hints[f.name], _default(f))
        if new is not v:
            object.__setattr__(obj, f.name, new)


def dataclass_from_dict(cls, data: dict, prefix: str):
    """Build a config dataclass from a dict, rejecting unknown keys with the nearest valid one and checking
    every value's type against the field's annotation (a nested config dataclass from its own mapping)."""
    if not isinstance(data, dict):
        raise ValueError(f"{prefix} must be a mapping of settings, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    names = list(fields)
    for key in data:
        if key not in names:
            hint = nearest(key, names)
            where = _join(prefix, "")
            raise ValueError(f"unknown key {where}{key}" + (f" (did you mean {where}{hint}?)" if hint else "")
                             + f"; valid keys: {', '.join(names)}")
    hints = field_types(cls)
    values = {k: check_value(_join(prefix, k), v, hints[k], _default(fields[k])) for k, v in data.items()}
    return cls(**values)
