"""Reports of a comparison, rebuilt from its run directories at any time.

    write_report(dir)     report.md, results.csv, loss_curves.png, metric_vs_params.png, cost.png
    aggregate(settings, rows)   per variant: mean +- std of the test metric over seeds, counts, cost ratios

Every file is written atomically.
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

import yaml

from .config import TrainConfig
from .models import any_quantum
from .runs import atomic_text, save_figure


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
            "ffn": m.get("ffn", "classical"), "n_qubits": q.get("n_qubits", 4) if any_quantum(m) else "",
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
    atomic_text(out / "results.csv", buf.getvalue())
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
    ax.set_xlabel("step"); ax.set_ylabel("valid loss (nats)"); ax.legend(fontsize=7)
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
            ax.bar(range(len(table)), [t["step_ratio"] or 0 for t in table])
            ax.set_xticks(range(len(table)), [t["variant"] for t in table], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(f"step time / {settings['baseline']}"); ax.axhline(1, color="gray", lw=0.5)
        fig.tight_layout(); save_figure(fig, out / "cost.png")
        figures += ["metric_vs_params.png", "cost.png"]
    return figures
