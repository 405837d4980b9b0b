"""Reports of a comparison, rebuilt from its run directories at any time.

    write_report(dir)     report.md, results.csv, loss_curves.png, metric_vs_params.png, cost.png
                          (+ sweep_<key>.png: the metric against each swept key)
    aggregate(settings, rows, timings)   per variant: mean +- std of the test metric over seeds, counts,
                          step times (side by side, with quartiles), what the runs cost (CPU s, energy,
                          CO2, QPU s, jobs) and energy relative to the matched classical twin

Only runs whose saved config is the one compare.yaml describes (runs.fingerprint) are shown; the others
are listed as not shown, with the keys that differ. Every file is written atomically; a damaged input
file is a ValueError that names it.
"""
from __future__ import annotations

import copy
import csv
import io
import statistics
from pathlib import Path

import yaml

from .atomic import atomic_text
from .config import TrainConfig, run_config_from_dict, to_dict
from .models import any_quantum
from .runs import (
    config_differences,
    describe_differences,
    fingerprint,
    read_json,
    read_jsonl,
    read_run_config,
    save_figure,
)


def _load_meta(out: Path) -> dict:
    path = out / "compare.yaml"
    if not path.exists():
        raise ValueError(f"{path} is missing; {out} is not a comparison directory (qhybrid compare CONFIG makes one)")
    fix = "run the comparison again to rewrite it"
    try:
        meta = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is damaged (not valid YAML: {str(e).splitlines()[0]}); {fix}") from None
    if not (isinstance(meta, dict) and isinstance(meta.get("settings"), dict) and isinstance(meta.get("runs"), list)
            and all(isinstance(r, dict) and isinstance(r.get("config"), dict) for r in meta["runs"])):
        raise ValueError(f"{path} is damaged (not a comparison: settings and runs are missing); {fix}")
    return meta


def _load_rows(out: Path) -> tuple[dict, list[dict]]:
    path = out / "compare.yaml"
    meta = _load_meta(out)
    rows = []
    for r in meta["runs"]:
        try:
            expected = run_config_from_dict(copy.deepcopy(r["config"]))
        except ValueError as e:
            raise ValueError(f"{path}: run {r['config'].get('name')!r}: {e}") from None
        run_dir = out / "runs" / expected.name
        row = {**r, "config": to_dict(expected), "summary": None, "history": [], "stale": None}
        saved = read_run_config(run_dir)
        if saved is not None and (diffs := config_differences(saved, expected)):
            rows.append({**row, "stale": describe_differences(diffs, requested="compare.yaml")})
            continue
        summary = read_json(run_dir / "summary.json") if (run_dir / "summary.json").exists() else None
        if summary is not None and summary.get("fingerprint", fingerprint(expected)) != fingerprint(expected):
            rows.append({**row, "stale": "its summary.json is the result of another configuration"})
            continue
        history = read_jsonl(run_dir / "metrics.jsonl") if (run_dir / "metrics.jsonl").exists() else []
        rows.append({**row, "summary": summary, "history": history})
    return meta["settings"], rows


def _mean_std(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def _cost_mean(rs: list[dict], key: str):
    vals = [(r["summary"].get("cost") or {}).get(key) for r in rs]
    return statistics.fmean(vals) if vals and all(v is not None for v in vals) else None


def _usage_mean(rs: list[dict], key: str):
    vals = [(r["summary"].get("backend_usage") or {}).get(key) for r in rs]
    return statistics.fmean(vals) if vals and all(v is not None for v in vals) else None


def aggregate(settings: dict, rows: list[dict], timings: dict | None = None) -> list[dict]:
    """Per variant: mean +- std of the test metric over seeds (std None for one seed), parameter counts, step
    times and ratios (from `timings`, measured side by side, when given; else the runs' own), run costs."""
    by_variant: dict[str, list[dict]] = {}
    for r in rows:
        by_variant.setdefault(r["variant"], []).append(r)
    done = {v: [r for r in rs if r["summary"]] for v, rs in by_variant.items()}
    base = done.get(settings["baseline"]) or []
    timings = timings or {}
    if settings["baseline"] in timings:
        base_step = timings[settings["baseline"]]["median_ms"] / 1e3
    else:
        base_step, _ = _mean_std([r["summary"]["step_time_s"] for r in base])
    table = []
    for v, rs in done.items():
        if not rs:
            continue
        s0 = rs[0]["summary"]
        metric = ("test_accuracy" if s0["task"] != "lm" else
                  "test_bits_per_char" if "test_bits_per_char" in s0 else "test_ppl")
        mean, std = _mean_std([r["summary"][metric] for r in rs])
        std = std if len(rs) > 1 else None                      # one seed: no spread to report
        in_run, _ = _mean_std([r["summary"]["step_time_s"] for r in rs])
        side = timings.get(v)
        step = side["median_ms"] / 1e3 if side else in_run
        m = rs[0]["config"].get("model", {})
        q = m.get("quantum", {}) or {}
        table.append({
            "variant": v, "arch": m.get("arch", "transformer"), "d_model": m.get("d_model"),
            "embedding": m.get("embedding", "classical"), "attention": m.get("attention", "classical"),
            "ffn": m.get("ffn", "classical"), "n_qubits": q.get("n_qubits", 4) if any_quantum(m) else "",
            "seeds": len(rs), "metric": metric, "mean": mean, "std": std,
            "params_total": s0["params"]["total"], "params_non_embedding": s0["params"]["non_embedding"],
            "params_quantum": s0["params"]["quantum"], "step_ms": step * 1e3 if step else None,
            "step_ms_q25": side["q25_ms"] if side else None, "step_ms_q75": side["q75_ms"] if side else None,
            "step_timing": "side by side" if side else "in run",
            "step_ms_in_run": in_run * 1e3 if in_run else None,
            "step_ratio": step / base_step if step and base_step else None,
            "cpu_s": _cost_mean(rs, "cpu_s"), "energy_kwh": _cost_mean(rs, "energy_kwh"),
            "co2_kg": _cost_mean(rs, "co2_kg"), "qpu_seconds": _usage_mean(rs, "qpu_seconds"),
            "jobs": _usage_mean(rs, "jobs"), "energy_vs_twin": None,
            **{f"sweep.{k}": (rs[0].get("sweep") or {}).get(k) for k in settings.get("sweep_keys", [])},
            "wall_s": statistics.fmean(r["summary"]["wall_s"] for r in rs),
            "steps": s0["steps"],
            "batch_size": rs[0]["config"].get("train", {}).get("batch_size", TrainConfig.batch_size),
            "tokens_seen": s0["tokens_seen"], "bound_ppl": s0.get("bound_ppl"),
            "twin_of": rs[0].get("twin_of"),
        })
    energy = {t["variant"]: t["energy_kwh"] for t in table}
    for t in table:                                       # a quantum variant's energy over its matched twin's
        twin = energy.get(f"{t['variant']}_twin")
        if t["energy_kwh"] is not None and twin:
            t["energy_vs_twin"] = t["energy_kwh"] / twin
    return table


def read_timings(out: Path) -> dict:
    """{variant: side-by-side step times} from timings.json, or {} when the comparison has none."""
    path = out / "timings.json"
    return read_json(path).get("variants", {}) if path.exists() else {}


def _energy_method(rows: list[dict]) -> str:
    methods = {(r["summary"].get("cost") or {}).get("energy_method") for r in rows if r["summary"]}
    methods.discard(None)
    return "; ".join(sorted(methods)) or "not recorded"


def _fmt(x, nd=2):
    return "" if x is None else f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def write_report(out: Path) -> dict:
    """(Re)write report.md, results.csv and figures from the run directories under `out`."""
    out = Path(out)
    settings, rows = _load_rows(out)
    timings = read_timings(out)
    table = aggregate(settings, rows, timings)
    buf = io.StringIO()
    if table:
        w = csv.DictWriter(buf, fieldnames=list(table[0]))
        w.writeheader(); w.writerows(table)
    atomic_text(out / "results.csv", buf.getvalue())
    figures = plot_comparison(out, settings, rows, table)
    lines = [f"# Comparison: {settings['name']}", ""]
    missing = [r["config"]["name"] for r in rows if not r["summary"] and not r.get("stale")]
    stale = [f"{r['config']['name']} ({r['stale']})" for r in rows if r.get("stale")]
    if table:
        metric = table[0]["metric"]
        side = all(t["step_timing"] == "side by side" for t in table)
        timing = (f"measured side by side after the runs ({settings.get('timing_repeats') or 'several'} interleaved "
                  f"rounds, 1 thread; [quartiles])" if side else "the runs' own (they may have shared the machine)")
        lines += [f"Test metric: **{metric}** ({'higher' if metric == 'test_accuracy' else 'lower'} is better), "
                  f"mean ± std over seeds {settings['seeds']} (n/a: one seed, no spread). Step times {timing}; "
                  f"ratio relative to `{settings['baseline']}`. Energy: {_energy_method(rows)}. "
                  f"Tokens seen per run: {table[0]['tokens_seen']:,}.", ""]
        bound = table[0]["bound_ppl"]
        if bound:
            lines += [f"Entropy-rate bound of the source: best achievable perplexity **{bound:.3f}**.", ""]
        swept = [f"sweep.{k}" for k in settings.get("sweep_keys", [])]
        lines += ["| variant | " + "".join(f"{k[6:]} | " for k in swept) + "embedding | attention | ffn | qubits | "
                  "seeds | " + metric + " | params | non-emb | quantum | steps | step ms | ratio | wall s | CPU s | "
                  "energy J | energy / twin | QPU s | jobs |",
                  "|---" * (19 + len(swept)) + "|"]
        for t in table:
            spread = f" [{t['step_ms_q25']:.1f}–{t['step_ms_q75']:.1f}]" if t["step_ms_q25"] is not None else ""
            std = "n/a" if t["std"] is None else _fmt(t["std"], 3)
            joules = None if t["energy_kwh"] is None else t["energy_kwh"] * 3.6e6
            lines.append(f"| {t['variant']} | " + "".join(f"{_fmt(t[k])} | " for k in swept)
                         + f"{t['embedding']} | {t['attention']} | {t['ffn']} | {t['n_qubits']} | "
                         f"{t['seeds']} | {_fmt(t['mean'], 3)} ± {std} | {t['params_total']:,} | "
                         f"{t['params_non_embedding']:,} | {t['params_quantum']:,} | {t['steps']:,} | "
                         f"{_fmt(t['step_ms'], 1)}{spread} | {_fmt(t['step_ratio'])} | {_fmt(t['wall_s'], 0)} | "
                         f"{_fmt(t['cpu_s'], 1)} | {_fmt(joules, 0)} | {_fmt(t['energy_vs_twin'])} | "
                         f"{_fmt(t['qpu_seconds'], 1)} | {_fmt(t['jobs'], 0)} |")
    if missing:
        lines += ["", f"Not finished yet ({len(missing)}): {', '.join(missing)} — run the comparison again to resume."]
    if stale:
        lines += ["", f"Not shown ({len(stale)}), their saved config differs from compare.yaml: {'; '.join(stale)}. "
                  f"Delete those run directories and run the comparison again to train them."]
    lines += ["", *[f"![{f}]({f})" for f in figures]]
    report = "\n".join(lines) + "\n"
    atomic_text(out / "report.md", report)
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
    bound = next((t["bound_ppl"] for t in table if t.get("bound_ppl")), None)
    if bound:                                        # the source's entropy rate: no model can go below it
        ax.axhline(float(np.log(bound)), color="black", ls="--", lw=0.8, label=f"entropy bound (ppl {bound:.2f})")
    ax.set_xlabel("step"); ax.set_ylabel("valid loss (nats)")
    if ax.lines:                                    # no finished curves yet: an empty frame, no legend
        ax.legend(fontsize=7)
    ax.set_title("loss (mean ± std over seeds)")
    fig.tight_layout(); save_figure(fig, out / "loss_curves.png")
    figures.append("loss_curves.png")
    if table:
        fig, ax = subplots((5, 3.6))
        for t in table:
            ax.errorbar(t["params_total"], t["mean"], yerr=t["std"], fmt="o", label=t["variant"])
        ax.set_xlabel("trainable parameters"); ax.set_ylabel(table[0]["metric"]); ax.legend(fontsize=7)
        fig.tight_layout(); save_figure(fig, out / "metric_vs_params.png")
        fig, ax = subplots((5, 3.6))
        qubits = sorted({t["n_qubits"] for t in table if t["n_qubits"] != ""})
        if len(qubits) > 1:
            for kind in dict.fromkeys((t["embedding"], t["attention"], t["ffn"]) for t in table if t["n_qubits"]):
                pts = sorted((t["n_qubits"], t["step_ratio"]) for t in table
                             if (t["embedding"], t["attention"], t["ffn"]) == kind and t["n_qubits"])
                ax.plot(*zip(*pts), "o-", label="/".join(kind))
            ax.set_xlabel("qubits")
        else:
            ratios = [t["step_ratio"] or 0 for t in table]
            base_ms = next((t["step_ms"] / t["step_ratio"] for t in table if t["step_ratio"]), None)
            err = None
            if base_ms and all(t["step_ms_q25"] is not None for t in table):   # quartiles of the side-by-side times
                # a quartile can equal the median: rounding must not make its distance negative
                err = [[max(0.0, r - t["step_ms_q25"] / base_ms) for r, t in zip(ratios, table)],
                       [max(0.0, t["step_ms_q75"] / base_ms - r) for r, t in zip(ratios, table)]]
            ax.bar(range(len(table)), ratios, yerr=err, capsize=3)
            ax.set_xticks(range(len(table)), [t["variant"] for t in table], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"step time / {settings['baseline']}"); ax.axhline(1, color="gray", lw=0.5)
        fig.tight_layout(); save_figure(fig, out / "cost.png")
        figures += ["metric_vs_params.png", "cost.png"]
        figures += _plot_sweeps(out, settings, rows, table)
    return figures


def _plot_sweeps(out: Path, settings: dict, rows: list[dict], table: list[dict]) -> list[str]:
    """sweep_<key>.png: the test metric against each swept key, one dot per seed and the mean per point."""
    from matplotlib.figure import Figure

    figures = []
    metric = table[0]["metric"]
    for key in settings.get("sweep_keys", []):
        fig = Figure(figsize=(5, 3.6))
        ax = fig.subplots()
        groups: dict[str, list] = {}                       # swept base variant (or its twins) -> points
        for r in rows:
            if r["summary"] and r.get("sweep") and key in r["sweep"]:
                family = r["variant"].split("[")[0] + ("_twin" if r.get("twin_of") else "")
                groups.setdefault(family, []).append((r["sweep"][key], r["summary"][metric]))
        for family, pts in groups.items():
            numeric = all(isinstance(x, (int, float)) for x, _ in pts)
            xs = sorted({x for x, _ in pts}, key=lambda x: x if numeric else str(x))
            pos = {x: (x if numeric else i) for i, x in enumerate(xs)}
            ax.plot([pos[x] for x, _ in pts], [y for _, y in pts], "o", alpha=0.4)
            means = [statistics.fmean(y for x2, y in pts if x2 == x) for x in xs]
            ax.plot([pos[x] for x in xs], means, "-", color=ax.lines[-1].get_color(), label=family)
            if not numeric:
                ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        if "lr" in key and all(isinstance(x, (int, float)) and x > 0 for p in groups.values() for x, _ in p):
            ax.set_xscale("log")
        ax.set_xlabel(key); ax.set_ylabel(metric); ax.legend(fontsize=7)
        ax.set_title("one dot per seed; line: mean", fontsize=8)
        name = f"sweep_{key.replace('.', '_')}.png"
        fig.tight_layout(); save_figure(fig, out / name)
        figures.append(name)
    return figures
