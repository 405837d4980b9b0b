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
    workers: 2                       # parallel worker processes
    study: {title: ...}              # ignored here: read by benchmarks/run_study.py

Output: report.md, results.csv, loss_curves.png, metric_vs_params.png, cost.png, and one run
directory per (variant, seed) under runs/. Finished runs are reused and interrupted ones resume,
so re-running a comparison only does what is missing.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import io
import json
import os
import statistics
from pathlib import Path

import yaml

from .config import TrainConfig, apply_overrides, load_yaml, run_config_from_dict, to_dict
from .executors import get_executor

COMPARE_KEYS = {"name", "out_dir", "data", "model", "train", "seeds", "variants", "matched_twins",
                "baseline", "workers", "executor", "study"}     # study: metadata for benchmarks/run_study.py


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def expand(spec: dict) -> tuple[dict, list[dict]]:
    """Validate a comparison spec -> (settings, [run config dicts with 'variant' and 'seed'])."""
    for key in spec:
        if key not in COMPARE_KEYS:
            hint = difflib.get_close_matches(key, COMPARE_KEYS, n=1)
            raise ValueError(f"unknown key {key}" + (f" (did you mean {hint[0]}?)" if hint else "")
                             + f"; valid comparison keys: {', '.join(sorted(COMPARE_KEYS))}")
    variants = spec.get("variants") or {"classical": {}}
    if not isinstance(variants, dict):
        raise ValueError("variants must map a variant name to its overrides, e.g. {vqc: {model: {attention: vqc}}}")
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    name, out_dir = spec.get("name", "compare"), spec.get("out_dir", "runs")
    base = {k: spec.get(k, {}) for k in ("data", "model", "train")}
    settings = {"name": name, "dir": str(Path(out_dir) / name), "seeds": seeds,
                "baseline": spec.get("baseline", next(iter(variants))),
                "matched_twins": bool(spec.get("matched_twins", False)),
                "workers": int(spec.get("workers", 1)), "executor": spec.get("executor", "process")}
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
            runs.append({"variant": vname, "seed": seed, "config": cfg, "twin": bool(twin)})
    return settings, runs


def add_matched_twins(runs: list[dict]) -> list[dict]:
    """For each quantum variant, a classical variant '<name>_twin' with matched parameter count."""
    from .data import load_corpus
    from .models import SequenceClassifier, TinyLM, parameter_matched_twin

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
            corpora[key] = load_corpus(d.name, data_dir=d.data_dir, seed=d.seed, **d.options)
        corpus = corpora[key]
        model_cfg = dataclasses.replace(cfg.model, vocab_size=corpus.tokenizer.vocab_size)
        cls = TinyLM
        if corpus.task == "classification":
            cls, model_cfg = SequenceClassifier, dataclasses.replace(model_cfg, n_classes=len(corpus.classes))
        twin = dataclasses.asdict(parameter_matched_twin(model_cfg, cls))
        for seed in sorted({x["seed"] for x in runs if x["variant"] == r["variant"]}):
            cfg_d = copy.deepcopy(r["config"])
            cfg_d["model"] = twin
            cfg_d["train"]["seed"] = seed
            cfg_d["name"] = f"{r['variant']}_twin-s{seed}"
            out.append({"variant": f"{r['variant']}_twin", "seed": seed, "config": cfg_d})
    return out


def run_one(cfg_dict: dict) -> dict:
    """Worker entry point: train (or resume, or reuse) one run; returns its summary."""
    from .train import Trainer

    cfg = run_config_from_dict(copy.deepcopy(cfg_dict))
    summary_path = cfg.run_dir / "summary.json"
    if summary_path.exists():
        return json.loads(summary_path.read_text())
    trainer = Trainer(cfg)
    result = trainer.fit(resume=(cfg.run_dir / "metrics.jsonl").exists() or trainer.checkpoint_path.exists())
    if result.get("interrupted"):
        raise KeyboardInterrupt(f"{cfg.name} stopped at step {result['step']}")
    return result


def compare(spec: dict | str | Path, overrides: list[str] | None = None, executor: str | None = None) -> dict:
    """Run a comparison spec (dict or YAML path); returns {'dir', 'rows', 'report'}."""
    spec = load_yaml(spec) if isinstance(spec, (str, Path)) else copy.deepcopy(spec)
    spec = apply_overrides(spec, overrides or [])
    settings, runs = expand(spec)
    if settings["matched_twins"]:
        runs = add_matched_twins(runs)
    out = Path(settings["dir"])
    out.mkdir(parents=True, exist_ok=True)
    meta = {"spec": spec, "settings": settings, "runs": runs}
    (out / "compare.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    workers = settings["workers"]
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    for r in runs:
        r["config"].setdefault("train", {}).setdefault("threads", threads)
        r["config"]["train"].setdefault("progress", workers == 1)
    get_executor(executor or settings["executor"], workers).map(run_one, [r["config"] for r in runs])
    return write_report(out)


def _load_rows(out: Path) -> tuple[dict, list[dict]]:
    meta = yaml.safe_load((out / "compare.yaml").read_text())
    rows = []
    for r in meta["runs"]:
        run_dir = out / "runs" / r["config"]["name"]
        summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else None
        history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()] \
            if (run_dir / "metrics.jsonl").exists() else []
        rows.append({**r, "summary": summary, "history": history})
    return meta["settings"], rows


def _mean_std(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def aggregate(settings: dict, rows: list[dict]) -> list[dict]:
    """Per variant: mean +- std of the test metric over seeds, parameter counts, cost ratios."""
    by_variant: dict[str, list[dict]] = {}
    for r in rows:
        by_variant.setdefault(r["variant"], []).append(r)
    done = {v: [r for r in rs if r["summary"]] for v, rs in by_variant.items()}
    base = done.get(settings["baseline"]) or []
    base_step, _ = _mean_std([r["summary"]["step_time_s"] for r in base])
    table = []
    for v, rs in done.items():
        if not rs:
            continue
        s0 = rs[0]["summary"]
        metric = ("test_accuracy" if s0["task"] != "lm" else
                  "test_bits_per_char" if "test_bits_per_char" in s0 else "test_ppl")
        mean, std = _mean_std([r["summary"][metric] for r in rs])
        step, _ = _mean_std([r["summary"]["step_time_s"] for r in rs])
        m = rs[0]["config"].get("model", {})
        q = m.get("quantum", {}) or {}
        table.append({
            "variant": v, "arch": m.get("arch", "transformer"), "d_model": m.get("d_model"),
            "embedding": m.get("embedding", "classical"), "attention": m.get("attention", "classical"),
            "ffn": m.get("ffn", "classical"), "n_qubits": q.get("n_qubits", 4) if _is_quantum(m) else "",
            "seeds": len(rs), "metric": metric, "mean": mean, "std": std,
            "params_total": s0["params"]["total"], "params_non_embedding": s0["params"]["non_embedding"],
            "params_quantum": s0["params"]["quantum"], "step_ms": step * 1e3 if step else None,
            "step_ratio": step / base_step if step and base_step else None,
            "wall_s": statistics.fmean(r["summary"]["wall_s"] for r in rs),
            "steps": s0["steps"],
            "batch_size": rs[0]["config"].get("train", {}).get("batch_size", TrainConfig.batch_size),
            "tokens_seen": s0["tokens_seen"], "bound_ppl": s0.get("bound_ppl"),
        })
    return table


def _is_quantum(m: dict) -> bool:
    return any(m.get(k, "classical") != "classical" for k in ("embedding", "attention", "ffn"))


def _fmt(x, nd=2):
    return "" if x is None else f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def write_report(out: Path) -> dict:
    """(Re)write report.md, results.csv and figures from the run directories under `out`."""
    out = Path(out)
    settings, rows = _load_rows(out)
    table = aggregate(settings, rows)
    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]))
        w.writeheader(); w.writerows(table)
    (out / "results.csv").write_text(buf.getvalue())
    figures = plot_comparison(out, settings, rows, table)
    lines = [f"# Comparison: {settings['name']}", ""]
    missing = [r["config"]["name"] for r in rows if not r["summary"]]
    if table:
        metric = table[0]["metric"]
        lines += [f"Test metric: **{metric}** ({'higher' if metric == 'test_accuracy' else 'lower'} is better), "
                  f"mean ± std over seeds {settings['seeds']}. Step-time ratio relative to `{settings['baseline']}`. "
                  f"Tokens seen per run: {table[0]['tokens_seen']:,}.", ""]
        bound = table[0]["bound_ppl"]
        if bound:
            lines += [f"Entropy-rate bound of the source: best achievable perplexity **{bound:.3f}**.", ""]
        lines += ["| variant | embedding | attention | ffn | qubits | seeds | " + metric
                  + " | params | non-emb | quantum | steps | step ms | ratio | wall s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for t in table:
            lines.append(f"| {t['variant']} | {t['embedding']} | {t['attention']} | {t['ffn']} | {t['n_qubits']} | "
                         f"{t['seeds']} | {_fmt(t['mean'], 3)} ± {_fmt(t['std'], 3)} | {t['params_total']:,} | "
                         f"{t['params_non_embedding']:,} | {t['params_quantum']:,} | {t['steps']:,} | "
                         f"{_fmt(t['step_ms'], 1)} | {_fmt(t['step_ratio'])} | {_fmt(t['wall_s'], 0)} |")
    if missing:
        lines += ["", f"Not finished yet ({len(missing)}): {', '.join(missing)} — run the comparison again to resume."]
    lines += ["", *[f"![{f}]({f})" for f in figures]]
    report = "\n".join(lines) + "\n"
    (out / "report.md").write_text(report)
    return {"dir": str(out), "rows": table, "report": report}


def plot_comparison(out: Path, settings: dict, rows: list[dict], table: list[dict]) -> list[str]:
    import numpy as np
    from matplotlib.figure import Figure

    def subplots(size):
        fig = Figure(figsize=size)
        return fig, fig.subplots()

    figures = []
    fig, ax = subplots((6, 3.6))
    for v in dict.fromkeys(r["variant"] for r in rows):
        curves = [r["history"] for r in rows if r["variant"] == v and r["history"]]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        steps = [c["step"] for c in curves[0][:n]]
        vals = np.array([[c[i]["val_loss"] for i in range(n)] for c in curves])
        mean, std = vals.mean(0), vals.std(0)
        ax.plot(steps, mean, label=v)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("step"); ax.set_ylabel("valid loss (nats)"); ax.legend(fontsize=7)
    ax.set_title("loss (mean ± std over seeds)")
    fig.tight_layout(); fig.savefig(out / "loss_curves.png", dpi=100)
    figures.append("loss_curves.png")
    if table:
        fig, ax = subplots((5, 3.6))
        for t in table:
            ax.errorbar(t["params_total"], t["mean"], yerr=t["std"], fmt="o", label=t["variant"])
        ax.set_xlabel("trainable parameters"); ax.set_ylabel(table[0]["metric"]); ax.legend(fontsize=7)
        fig.tight_layout(); fig.savefig(out / "metric_vs_params.png", dpi=100)
        fig, ax = subplots((5, 3.6))
        qubits = sorted({t["n_qubits"] for t in table if t["n_qubits"] != ""})
        if len(qubits) > 1:
            for kind in dict.fromkeys((t["embedding"], t["attention"], t["ffn"]) for t in table if t["n_qubits"]):
                pts = sorted((t["n_qubits"], t["step_ratio"]) for t in table
                             if (t["embedding"], t["attention"], t["ffn"]) == kind and t["n_qubits"])
                ax.plot(*zip(*pts), "o-", label="/".join(kind))
            ax.set_xlabel("qubits")
        else:
            ax.bar(range(len(table)), [t["step_ratio"] or 0 for t in table])
            ax.set_xticks(range(len(table)), [t["variant"] for t in table], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"step time / {settings['baseline']}"); ax.axhline(1, color="gray", lw=0.5)
        fig.tight_layout(); fig.savefig(out / "cost.png", dpi=100)
        figures += ["metric_vs_params.png", "cost.png"]
    return figures


__all__ = ["compare", "expand", "write_report", "run_one", "aggregate", "to_dict"]
