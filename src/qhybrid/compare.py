"""Side-by-side comparisons: variants x seeds on the same data and token budget -> report.

    name: default                    # output: <out_dir>/<name>/
    data: {...}  model: {...}  train: {...}      # the shared base (see config.py)
    seeds: [0, 1]
    variants:                        # each overrides the base; {} = the base itself
      classical: {}
      vqc_attention: {model: {attention: vqc}}
      vqc_aer: {model: {attention: vqc, quantum: {backend: "aer:fake_manila"}},
                seeds: [0], twin: false}            # per variant: its own seeds; no matched twin
    matched_twins: true              # add a parameter-matched classical twin per quantum variant
    baseline: classical              # step-time ratios are relative to this variant
    sweep: {keys: {model.quantum.n_qubits: [2, 4]}, variants: [vqc_attention]}   # see sweep.py
    timing: {repeats: 7}             # step times measured side by side after the runs (false: skip)
    workers: 2                       # parallel worker processes
    study: {title: ...}              # ignored here: read by benchmarks/run_study.py

Output: report.md, results.csv, loss_curves.png, metric_vs_params.png, cost.png (sweep_<key>.png for
swept keys), timings.json, and one run directory per (variant, seed) under runs/. The report's step
times and ratios are measured side by side after the runs (qhybrid.steptime), not taken from runs that
shared the machine with each other. Finished runs are reused and interrupted ones resume,
so re-running a comparison only does what is missing.

A run is reused or resumed only when its saved config is the requested one (runs.fingerprint; the
cosmetic keys aside). Otherwise the comparison is refused before anything is written, naming the
runs and keys that differ: results of two configurations are never mixed. Each run is trained by one
process at a time (runs.run_lock): a second `compare` on the same directory trains the other runs,
then waits for the ones the first one holds and reuses them.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
from pathlib import Path

import yaml

from .atomic import atomic_text
from .config import apply_overrides, check_comparison, load_yaml, run_config_from_dict, to_dict
from .executors import get_executor
from .report import write_report
from .runs import (
    RunBusy,
    config_differences,
    describe_differences,
    fingerprint,
    load_run_corpus,
    model_config,
    read_json,
    read_run_config,
    run_lock,
)
from .sweep import expand_sweep
from .validation import did_you_mean

COMPARE_KEYS = {"name", "out_dir", "data", "model", "train", "seeds", "variants", "matched_twins",
                "baseline", "workers", "executor", "study", "sweep", "timing"}   # study: read by run_study.py


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def expand(spec: dict) -> tuple[dict, list[dict]]:
    """Validate a comparison spec -> (settings, [run config dicts with 'variant' and 'seed'])."""
    check_comparison(spec)
    for key in spec:
        if key not in COMPARE_KEYS:
            raise ValueError(f"unknown key {key}{did_you_mean(key, COMPARE_KEYS, quote=False)}; valid comparison "
                             f"keys: {', '.join(sorted(COMPARE_KEYS))}")
    variants = spec.get("variants") or {"classical": {}}
    if not isinstance(variants, dict):
        raise ValueError("variants must map a variant name to its overrides, e.g. {vqc: {model: {attention: vqc}}}")
    variants, swept = expand_sweep(variants, spec.get("sweep"))
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    name, out_dir = spec.get("name", "compare"), spec.get("out_dir", "runs")
    base = {k: spec.get(k, {}) for k in ("data", "model", "train")}
    settings = {"name": name, "dir": str(Path(out_dir) / name), "seeds": seeds,
                "baseline": spec.get("baseline", next(iter(variants))),
                "matched_twins": bool(spec.get("matched_twins", False)),
                "workers": int(spec.get("workers", 1)), "executor": spec.get("executor", "process"),
                "sweep_keys": list((spec.get("sweep") or {}).get("keys", {})),
                "timing_repeats": _timing_repeats(spec.get("timing", {}))}
    if settings["baseline"] not in variants:
        raise ValueError(f"baseline {settings['baseline']!r} is not a variant; variants: {', '.join(variants)}")
    runs = []
    for vname, over in variants.items():
        if not isinstance(over, dict):
            raise ValueError(f"variant {vname!r} must be a mapping of overrides (use {{}} for the base)")
        over = dict(over)
        v_seeds, twin = over.pop("seeds", seeds), over.pop("twin", True)
        if not isinstance(v_seeds, list) or not v_seeds or not all(isinstance(s, int) for s in v_seeds):
            raise ValueError(f"variant {vname!r}: seeds must be a non-empty list of integers, got {v_seeds!r}")
        merged = _merge(base, over)
        run_config_from_dict(dict(merged))                     # fail fast on bad keys/values
        for seed in v_seeds:
            cfg = _merge(merged, {"train": {"seed": seed}})
            cfg.update(name=f"{vname}-s{seed}", out_dir=str(Path(settings["dir"]) / "runs"))
            runs.append({"variant": vname, "seed": seed, "config": cfg, "twin": bool(twin),
                         **({"sweep": swept[vname]} if vname in swept else {})})
    return settings, runs


def _timing_repeats(timing) -> int:
    if timing is False or timing is None:
        return 0
    repeats = timing.get("repeats", 7) if isinstance(timing, dict) else None
    if not isinstance(timing, dict) or set(timing) - {"repeats"} or isinstance(repeats, bool) \
            or not isinstance(repeats, int) or repeats < 0:
        raise ValueError(f"timing must be false or {{repeats: N}} with N >= 0 interleaved rounds, got {timing!r}")
    return repeats


def add_matched_twins(runs: list[dict]) -> list[dict]:
    """For each quantum variant, a classical variant '<name>_twin' with matched parameter count."""
    from .models import parameter_matched_twin

    out, done, corpora = list(runs), set(), {}
    for r in runs:
        if r["variant"] in done:
            continue
        cfg = run_config_from_dict(copy.deepcopy(r["config"]))
        if not cfg.model.is_quantum or not r.get("twin", True):
            continue
        done.add(r["variant"])
        d = cfg.data
        key = yaml.safe_dump([d.name, d.data_dir, d.seed, d.options])
        if key not in corpora:                                  # only the vocabulary and classes are needed
            corpora[key] = load_run_corpus(cfg)
        model_cfg, cls = model_config(cfg, corpora[key])
        twin = dataclasses.asdict(parameter_matched_twin(model_cfg, cls))
        for seed in sorted({x["seed"] for x in runs if x["variant"] == r["variant"]}):
            cfg_d = copy.deepcopy(r["config"])
            cfg_d["model"] = twin
            cfg_d["train"]["seed"] = seed
            cfg_d["name"] = f"{r['variant']}_twin-s{seed}"
            out.append({"variant": f"{r['variant']}_twin", "seed": seed, "config": cfg_d, "twin_of": r["variant"],
                        **({"sweep": r["sweep"]} if "sweep" in r else {})})
    return out


def _stale(cfg) -> str | None:
    """Why the run directory of `cfg` holds another configuration's run, or None."""
    saved = read_run_config(cfg.run_dir)
    if saved is not None and (diffs := config_differences(saved, cfg)):
        return describe_differences(diffs)
    return None


def finished_summary(cfg) -> dict | None:
    """The summary of the run of exactly this config, when it has finished; else None."""
    path = cfg.run_dir / "summary.json"
    if not path.exists():
        return None
    summary = read_json(path)
    if summary.get("fingerprint", fingerprint(cfg)) != fingerprint(cfg) or _stale(cfg):
        raise ValueError(f"{path} is the result of another configuration than {cfg.name}'s; delete the run "
                         f"directory {cfg.run_dir} to train it again")
    return summary


def run_one(cfg_dict: dict) -> dict:
    """Worker entry point: train (or resume, or reuse) one run; returns its summary, or {'busy': name}
    when another process is training that run now."""
    from .train import Trainer

    cfg = run_config_from_dict(copy.deepcopy(cfg_dict))
    try:
        with run_lock(cfg.run_dir):
            summary = finished_summary(cfg)
            if summary is not None:
                return summary
            trainer = Trainer(cfg)
            result = trainer.fit(resume=(cfg.run_dir / "metrics.jsonl").exists() or trainer.checkpoint_path.exists())
    except RunBusy:
        return {"busy": cfg.name}
    if result.get("interrupted"):
        raise KeyboardInterrupt(f"{cfg.name} stopped at step {result['step']}")
    return result


def check_existing_runs(out: Path, runs: list[dict]) -> None:
    """Refuse (ValueError) when a run directory holds a run of another configuration than requested."""
    stale = []
    for r in runs:
        cfg = run_config_from_dict(copy.deepcopy(r["config"]))
        if why := _stale(cfg):
            stale.append((cfg, why))
    if stale:
        listed = "; ".join(f"{cfg.name}: {why}" for cfg, why in stale)
        raise ValueError(f"comparison {out} already holds runs of another configuration, and results of two "
                         f"configurations are never mixed: {listed}. Choose a new comparison name (--set name=...), "
                         f"or delete those run directories to train them again: rm -r "
                         + " ".join(str(cfg.run_dir) for cfg, _ in stale))


def compare(spec: dict | str | Path, overrides: list[str] | None = None, executor: str | None = None,
            executor_options: dict | None = None) -> dict:
    """Run a comparison spec (dict or YAML path); returns {'dir', 'rows', 'report'}.
    executor_options go to the executor (e.g. {"address": "auto"} for ray)."""
    spec = load_yaml(spec) if isinstance(spec, (str, Path)) else copy.deepcopy(spec)
    spec = apply_overrides(spec, overrides or [])
    settings, runs = expand(spec)
    if settings["matched_twins"]:
        runs = add_matched_twins(runs)
    out = Path(settings["dir"])
    check_existing_runs(out, runs)                      # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    meta = {"spec": spec, "settings": settings, "runs": runs}
    atomic_text(out / "compare.yaml", yaml.safe_dump(meta, sort_keys=False))
    workers = settings["workers"]
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    for r in runs:
        train = r["config"].setdefault("train", {})
        if workers > 1:                                 # each worker its share of the cores; one worker: auto
            train.setdefault("threads", share)
        train.setdefault("progress", workers == 1)
    name = executor or settings["executor"]
    options = dict(executor_options or {})
    if name == "ray" and any(str((r["config"].get("train") or {}).get("device", "auto")).startswith("cuda")
                             for r in runs):
        options.setdefault("gpus_per_run", 1)            # train.device: cuda -> each Ray task declares one GPU
    pool = get_executor(name, workers, **options)
    pending = [r["config"] for r in runs]
    while pending:                                      # runs another process trains: wait, then reuse
        results = pool.map(run_one, pending)
        pending = [c for c, res in zip(pending, results) if "busy" in res]
        for c in pending:
            with run_lock(run_config_from_dict(copy.deepcopy(c)).run_dir, wait=True):
                pass
    if settings["timing_repeats"]:
        write_timings(out, runs, settings["timing_repeats"])
    return write_report(out)


def write_timings(out: Path, runs: list[dict], repeats: int) -> dict:
    """Step times of every variant measured side by side (steptime.py), saved as timings.json."""
    from .steptime import step_times

    first: dict[str, dict] = {}
    for r in runs:
        first.setdefault(r["variant"], r["config"])
    times = step_times(first, repeats)
    atomic_text(out / "timings.json", json.dumps({"repeats": repeats, "threads": 1, "variants": times}, indent=1))
    return times


__all__ = ["compare", "expand", "add_matched_twins", "write_report", "run_one", "check_existing_runs",
           "finished_summary", "to_dict"]
