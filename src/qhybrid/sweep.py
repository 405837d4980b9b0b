"""Sweeps: a `sweep:` block of a comparison config expands into variants (grid or random search).

    sweep:
      mode: grid                        # grid: every combination | random: `samples` points
      samples: 8                        # random only
      seed: 0                           # random only: the sampling seed (same seed -> same points)
      keys:                             # any config keys, dotted
        model.quantum.n_qubits: [2, 4]  # a list: these values (random: one drawn uniformly)
        train.lr: {log_uniform: [1e-4, 1e-2]}    # random only: also uniform: [a, b], int: [a, b]
      variants: [vqc_attention]         # which variants are swept (default: every variant)

Each swept variant v becomes one variant per point, named `v[n_qubits=2,lr=0.001]`, with the point's
values merged into v's overrides; its runs carry `sweep: {key: value}` so the report can group by the
swept keys. Seeds, twins and executors apply to the expanded variants as to any other.
"""
from __future__ import annotations

import itertools
import math
import random

from .validation import did_you_mean

SWEEP_KEYS = ("mode", "samples", "seed", "keys", "variants")
DISTRIBUTIONS = ("log_uniform", "uniform", "int")


def _nested(key: str, value) -> dict:
    out = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def with_point(config: dict, point: dict) -> dict:
    """A copy of a (nested) config dict with each dotted key of `point` set: {"train.lr": 0.01} -> train: {lr: 0.01}."""
    out = dict(config or {})
    for key, value in point.items():
        out = _merge(out, _nested(key, value))
    return out


def _label(point: dict) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    label = ",".join(f"{k.rsplit('.', 1)[-1]}={fmt(v)}" for k, v in point.items())
    return label.replace("/", "_").replace("\\", "_")          # a variant name is part of run folder names


def _draw(key: str, spec, rng: random.Random):
    if isinstance(spec, list):
        return rng.choice(spec)
    (kind, (lo, hi)), = spec.items()
    if kind == "log_uniform":
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if kind == "uniform":
        return rng.uniform(lo, hi)
    return rng.randint(int(lo), int(hi))


def _check(block: dict) -> None:
    if not isinstance(block, dict):
        raise ValueError(f"sweep must be a mapping with keys {', '.join(SWEEP_KEYS)}, got {block!r}")
    for k in block:
        if k not in SWEEP_KEYS:
            raise ValueError(f"unknown key sweep.{k}{did_you_mean(k, SWEEP_KEYS)}; valid: {', '.join(SWEEP_KEYS)}")
    mode = block.get("mode", "grid")
    if mode not in ("grid", "random"):
        raise ValueError(f"sweep.mode must be 'grid' or 'random', got {mode!r}")
    keys = block.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise ValueError("sweep.keys must map dotted config keys to values, e.g. {model.quantum.n_qubits: [2, 4]}")
    for k, spec in keys.items():
        if isinstance(spec, list) and spec:
            continue
        ok = (mode == "random" and isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS
              and isinstance(next(iter(spec.values())), list) and len(next(iter(spec.values()))) == 2)
        if not ok:
            raise ValueError(f"sweep.keys.{k} must be a non-empty list of values" +
                             (f" or one of {{{', '.join(d + ': [low, high]' for d in DISTRIBUTIONS)}}}"
                              if mode == "random" else " (distributions need mode: random)") + f"; got {spec!r}")
        try:
            lo, hi = (float(b) for b in next(iter(spec.values())))     # YAML reads 1e-4 as text
        except (TypeError, ValueError):
            raise ValueError(f"sweep.keys.{k}: the range {next(iter(spec.values()))!r} must be two numbers "
                             f"[low, high]") from None
        spec[next(iter(spec))] = [lo, hi]
        if lo > hi:
            raise ValueError(f"sweep.keys.{k}: the range needs low <= high, got [{lo}, {hi}]")
        if next(iter(spec)) == "log_uniform" and not 0 < lo <= hi:
            raise ValueError(f"sweep.keys.{k}: log_uniform needs 0 < low <= high, got [{lo}, {hi}]")
    if mode == "random":
        n = block.get("samples")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"sweep.samples must be a positive integer (random mode), got {n!r}")


def points(block: dict) -> list[dict]:
    """The sweep's points: [{dotted key: value}], in a fixed order."""
    _check(block)
    keys = block["keys"]
    if block.get("mode", "grid") == "grid":
        return [dict(zip(keys, combo)) for combo in itertools.product(*keys.values())]
    rng = random.Random(block.get("seed", 0))
    return [{k: _draw(k, spec, rng) for k, spec in keys.items()} for _ in range(block["samples"])]


def expand_sweep(variants: dict, block: dict | None) -> tuple[dict, dict]:
    """(variants with every swept variant replaced by one per point, {new variant name: its point})."""
    if not block:
        return variants, {}
    pts = points(block)
    swept = block.get("variants") or list(variants)
    for v in swept:
        if v not in variants:
            raise ValueError(f"sweep.variants names {v!r}, which is not a variant{did_you_mean(v, variants)}; "
                             f"variants: {', '.join(variants)}")
    out, where = {}, {}
    labels = {}
    for p in pts:                                          # a random draw may repeat a point: keep it once
        other = labels.setdefault(_label(p), p)
        if other != p:
            raise ValueError(f"sweep points {other} and {p} would share the variant name [{_label(p)}]; make the "
                             f"values differ in their first 3 significant digits")
    pts = list({_label(p): p for p in pts}.values())
    for name, over in variants.items():
        if name not in swept:
            out[name] = over
            continue
        for p in pts:
            new = f"{name}[{_label(p)}]"
            out[new], where[new] = with_point(over, p), p
    return out, where
