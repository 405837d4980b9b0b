"""Run one published-results study and write its section of docs/results.md.

    python benchmarks/run_study.py mc              # or: rp yelp ptb ptb_long shakespeare grammar all
    python benchmarks/run_study.py ptb --workers 2
    python benchmarks/run_study.py all --quick     # tiny budgets: checks the pipeline in seconds

A study is a comparison spec (benchmarks/studies/<name>.yaml, see qhybrid.compare) plus a
`study:` block (title, published reference figures, text-sample prompt). Runs go to
runs/studies/<name>/ (runs/studies-quick/ with --quick); finished runs are reused and
interrupted ones resume, so re-running only does what is missing.

Output: the block between `<!-- BEGIN study:<name> -->` and `<!-- END study:<name> -->` in
docs/results.md (command, date, machine, wall time, table, figures, samples) and the files
under docs/results/<name>/ (results.csv, figures, samples.txt). With --quick both go under the
run folder instead, so the committed docs only ever hold numbers from full runs.

A study with a `study.pretrain` block (hf_adapters) first pretrains a small GPT-2 and its BPE
tokenizer on that block's corpus (cached in runs/studies/<name>/base/, reused when present) and
fine-tunes it: every variant's `model.hf.name` is set to that folder. `pretrain: {reuse: <study>}`
(hf_adapters_ptb) fine-tunes that study's base instead.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import platform
import re
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from qhybrid.compare import compare

HERE = Path(__file__).resolve().parent
STUDIES_DIR = HERE / "studies"
ROOT = HERE.parent
QUICK_TRAIN = {"steps": 2, "batch_size": 4, "eval_every": 1, "eval_batches": 1, "test_batches": 1,
               "checkpoint_every": 1, "warmup": 1}


def available() -> list[str]:
    return sorted(p.stem for p in STUDIES_DIR.glob("*.yaml"))


def load_study(name: str) -> tuple[dict, dict]:
    """-> (study metadata, comparison spec) for benchmarks/studies/<name>.yaml."""
    path = STUDIES_DIR / f"{name}.yaml"
    if not path.exists():
        raise SystemExit(f"unknown study {name!r}; studies: {', '.join(available())} (or 'all')")
    spec = yaml.safe_load(path.read_text())
    return spec.pop("study", {}), spec


def quick_spec(spec: dict) -> dict:
    """The same study on a tiny budget: 2 steps, batch 4, one seed, serial."""
    spec = copy.deepcopy(spec)
    spec.setdefault("train", {}).update(QUICK_TRAIN)
    spec["seeds"], spec["workers"], spec["executor"] = [0], 1, "serial"
    for over in spec.get("variants", {}).values():
        if "seeds" in over:
            over["seeds"] = [0]
        if "train" in over:
            over["train"].update(QUICK_TRAIN)
    return spec


def machine() -> str:
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}")


def _describe(t: dict) -> str:
    if t["arch"] == "lstm":
        parts = ["LSTM"] + ([f"{t['embedding']} embedding"] if t["embedding"] != "classical" else [])
    else:
        parts = [f"{v} {k}" for k, v in (("embedding", t["embedding"]), ("attention", t["attention"]),
                                          ("ffn", t["ffn"])) if v != "classical"] or ["transformer"]
    return ", ".join(parts) + f", d={t['d_model']}"


def _digits(metric: str, mean: float) -> int:
    """Decimals to print: perplexities 1 (>= 100) or 2, accuracies and bits/char 3."""
    return (1 if mean >= 100 else 2) if metric == "test_ppl" else 3


def _std(std, nd: int) -> str:
    """A standard deviation for a table: n/a for one seed (None, or empty in a CSV)."""
    return "n/a" if std in (None, "") else f"{float(std):.{nd}f}"


def table_markdown(rows: list[dict], baseline: str) -> str:
    metric = rows[0]["metric"]
    better = "higher" if metric == "test_accuracy" else "lower"
    by_name = {t["variant"]: t for t in rows}
    lines = [f"| variant | model | qubits | seeds | {metric} ({better} is better) | vs twin | "
             f"params (total / non-emb / quantum) | steps | "
             f"{'examples' if metric == 'test_accuracy' else 'tokens'} seen | step ms | step / {baseline} | "
             f"train min per run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in rows:
        twin = by_name.get(f"{t['variant']}_twin")
        vs = f"{100 * (t['mean'] - twin['mean']) / twin['mean']:+.1f}%" if twin and twin["mean"] else ""
        nd = _digits(metric, t["mean"])
        seen = t["steps"] * t["batch_size"] if metric == "test_accuracy" else t["tokens_seen"]   # sentences
        lines.append(
            f"| {t['variant']} | {_describe(t)} | {t['n_qubits']} | {t['seeds']} | {t['mean']:.{nd}f} ± "
            f"{_std(t['std'], nd)} | {vs} | {t['params_total']:,} / {t['params_non_embedding']:,} / "
            f"{t['params_quantum']:,} | {t['steps']:,} | {seen:,} | {t['step_ms']:.1f} | "
            f"{t['step_ratio']:.2f} | {t['wall_s'] / 60:.1f} |")
    return "\n".join(lines)


def plot_cost(rows: list[dict], baseline: str, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    ax.bar(range(len(rows)), [t["step_ratio"] for t in rows],
           color=["tab:purple" if t["n_qubits"] != "" else "tab:gray" for t in rows])
    ax.set_xticks(range(len(rows)), [t["variant"] for t in rows], rotation=35, ha="right", fontsize=7)
    ax.axhline(1, color="k", lw=0.5)
    ax.set_ylabel(f"training step time / {baseline}")
    ax.set_title("cost, measured side by side (purple: quantum)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def samples(out: Path, meta: dict, rows: list[dict]) -> str:
    """Text generated by the seed-0 (or first) run of every LM variant, same prompt and sampler seed."""
    from qhybrid.runs import sample_from_run

    prompt, n = meta.get("prompt"), int(meta.get("sample_tokens", 200))
    if not prompt or rows[0]["metric"] == "test_accuracy":
        return ""
    parts = []
    for t in rows:
        run = sorted((out / "runs").glob(f"{t['variant']}-s*"))[0]
        text = sample_from_run(run, prompt, n, temperature=0.8, top_k=None, seed=0)
        parts.append(f"--- {t['variant']} ({run.name}) ---\n{text}\n")
    return "\n".join(parts)


def log_invocation(out: Path, seconds: float, finished: int) -> float:
    """Append this invocation to <out>/invocations.jsonl; returns the wall time of all invocations
    that finished runs (re-running only to rebuild the report adds nothing)."""
    import json
    log = out / "invocations.jsonl"
    with log.open("a") as f:
        f.write(json.dumps({"utc": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}", "seconds": seconds,
                            "runs_finished": finished}) + "\n")
    entries = [json.loads(ln) for ln in log.read_text().splitlines()]
    return sum(e["seconds"] for e in entries if e["runs_finished"] > 0)


def section(name: str, meta: dict, spec: dict, result: dict, files: Path, docs: Path,
            command: str, elapsed: float, sample_text: str) -> str:
    rows = result["rows"]
    rel = os.path.relpath(files, docs.parent)
    train_total = sum(t["wall_s"] * t["seeds"] for t in rows)
    lines = [f"<!-- BEGIN study:{name} -->", f"### {meta.get('title', name)}", "",
             f"*Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — do not edit by hand.*",
             "", f"- Machine: {machine()}",
             f"- Wall time of the invocations that trained runs: {elapsed / 60:.1f} min; training time summed over "
             f"all runs: "
             f"{train_total / 60:.1f} min ({spec.get('workers', 1)} parallel workers)",
             f"- Data: `{spec['data']['name']}`; spec: [`benchmarks/studies/{name}.yaml`]"
             f"(../benchmarks/studies/{name}.yaml); raw numbers: [results.csv]({rel}/results.csv)", ""]
    if meta.get("published"):
        lines += ["Published reference figures (not rerun here):", "",
                  *[f"- {p}" for p in meta["published"]], ""]
    if rows[0].get("bound_ppl"):
        lines += [f"Exact entropy-rate bound of the source: best achievable test perplexity "
                  f"**{rows[0]['bound_ppl']:.3f}**.", ""]
    lines += [table_markdown(rows, spec.get("baseline", rows[0]["variant"])), "",
              "'vs twin' is the relative difference of the mean test metric against the variant's "
              "parameter-matched classical twin (`<variant>_twin`, ±10% trainable parameters). 'step ms' is "
              f"the median of {result['timing_repeats']} training steps per variant measured side by side after "
              "the runs (1 thread, interleaved); 'train min per run' is the runs' own training wall time, with "
              f"{spec.get('workers', 1)} run(s) at a time sharing the machine.", ""]
    missing = [ln for ln in result["report"].splitlines() if ln.startswith("Not finished yet")]
    lines += [*missing, *([""] if missing else [])]
    lines += [f"![{name}: {f}]({rel}/{f})" for f in ("loss_curves.png", "metric_vs_params.png", "cost.png")]
    if sample_text:
        lines += ["", f"Samples (temperature 0.8, prompt {meta['prompt']!r}, seed-0 runs; all in "
                      f"[samples.txt]({rel}/samples.txt)):", "", "```", _first_lines(sample_text, 40), "```"]
    lines += [f"<!-- END study:{name} -->"]
    return "\n".join(lines)


def _first_lines(text: str, n: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:n] + (["..."] if len(lines) > n else []))


def update_docs(docs: Path, name: str, block: str) -> None:
    """Replace the study's marked block in docs (append it when missing); atomic write."""
    text = docs.read_text() if docs.exists() else "# Results\n"
    pattern = re.compile(rf"<!-- BEGIN study:{re.escape(name)} -->.*?<!-- END study:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = docs.with_name(f".{docs.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, docs)


def summarize(docs: Path) -> str:
    """The cross-study block: every quantum variant against its parameter-matched twin, from the
    results.csv files next to `docs`; plus summary.png. Returns the block ('' when nothing ran yet)."""
    from matplotlib.figure import Figure

    lines, bars = [], []
    for name in available():
        path = docs.parent / "results" / name / "results.csv"
        if not path.exists():
            continue
        rows = {r["variant"]: r for r in csv.DictReader(path.open())}
        for v, r in rows.items():
            twin = rows.get(f"{v}_twin") or rows.get(r.get("matched_to") or "")   # hf studies: the matched LoRA
            if not twin:
                continue
            q, c = float(r["mean"]), float(twin["mean"])
            higher = r["metric"] == "test_accuracy"
            gain = 100 * ((q - c) / c if higher else (c - q) / c)        # > 0: the quantum model is better
            cost = float(r["step_ms"]) / float(twin["step_ms"])
            nd = _digits(r["metric"], q)
            lines.append(f"| {name} | {v} | {r['metric']} | {q:.{nd}f} ± {_std(r['std'], nd)} | {c:.{nd}f} ± "
                         f"{_std(twin['std'], nd)} | {gain:+.1f}% | {cost:.1f}x | {r['seeds']} |")
            bars.append((f"{name}: {v}", gain))
    if not lines:
        return ""
    fig = Figure(figsize=(6.5, 0.32 * len(bars) + 1.2))
    ax = fig.subplots()
    ax.barh(range(len(bars)), [g for _, g in bars], color=["tab:green" if g >= 0 else "tab:red" for _, g in bars])
    ax.set_yticks(range(len(bars)), [n for n, _ in bars], fontsize=7)
    ax.invert_yaxis(); ax.axvline(0, color="k", lw=0.6)
    ax.axvline(-10, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("quantum vs matched twin, % (> 0: quantum better)")
    fig.tight_layout()
    (docs.parent / "results").mkdir(parents=True, exist_ok=True)
    fig.savefig(docs.parent / "results" / "summary.png", dpi=100)
    block = "\n".join([
        "<!-- BEGIN study:summary -->",
        "*Generated from the studies' results.csv files by `python benchmarks/run_study.py` — "
        "do not edit by hand.*", "",
        "| study | quantum variant | metric | quantum (mean ± std) | matched twin | quantum better by | step time "
        "/ twin | seeds |", "|---|---|---|---|---|---|---|---|", *lines, "",
        "'quantum better by' is the relative difference in the direction of the metric (lower perplexity and "
        "bits/char, higher accuracy): negative means the classical twin wins. The dotted line in the "
        "figure marks -10%.", "",
        "![quantum vs matched twin, every study](results/summary.png)", "<!-- END study:summary -->"])
    update_docs(docs, "summary", block)
    return block


# ---- studies of a pretrained Hugging Face model (a `study.pretrain` block) -------------------------
QUICK_PRETRAIN = {"vocab_size": 300, "n_embd": 32, "n_layer": 2, "n_head": 2, "steps": 4, "batch_size": 4}


def prepare_base(meta: dict, spec: dict, out: Path, quick: bool) -> dict:
    """Pretrain (or reuse) the study's base model in <out>/base and point every variant at it; returns the
    pretraining record (sizes, data, tokens seen, valid loss, seconds)."""
    from qhybrid.data import load_corpus
    from qhybrid.hf.pretrain import pretrain_gpt2

    pre = dict(meta["pretrain"])
    if "reuse" in pre:                                    # another study's base: the same folder and settings
        out = out.parent / pre["reuse"]
        pre = dict(load_study(pre["reuse"])[0]["pretrain"])
    data = pre.pop("data")
    if quick:
        pre.update(QUICK_PRETRAIN)
    corpus = load_corpus(data)
    text = {s: ("".join(corpus.splits[s]) if corpus.level == "char" else "".join(t + "\n" for t in corpus.splits[s]))
            for s in ("train", "valid")}
    record = pretrain_gpt2(text["train"], text["valid"], out / "base", threads=1, **pre)
    record["data"], record["study"] = data, out.name
    spec["model"]["hf"]["name"] = str(out / "base")
    return record


def _hf_variants(out: Path) -> dict[str, dict]:
    """variant -> its model.hf settings (from the comparison's compare.yaml)."""
    found: dict[str, dict] = {}
    for r in yaml.safe_load((out / "compare.yaml").read_text())["runs"]:
        found.setdefault(r["variant"], r["config"]["model"]["hf"])
    return found


def add_matches(rows: list[dict], hf: dict[str, dict]) -> list[dict]:
    """Rows with `matched_to`: for a quantum-adapter variant, the LoRA variant sized on the same adapters."""
    loras = {v: h.get("adapters", {}) for v, h in hf.items() if h.get("method") == "lora"}
    out = []
    for t in rows:
        h = hf[t["variant"]]
        match = "" if h.get("method", "quantum_adapter") != "quantum_adapter" else \
            next((v for v, a in loras.items() if a == h.get("adapters", {})), "")
        out.append({**t, "matched_to": match})
    return out


def hf_table_markdown(rows: list[dict], hf: dict[str, dict], baseline: str) -> str:
    metric = rows[0]["metric"]
    better = "higher" if metric == "test_accuracy" else "lower"
    lines = [f"| variant | method | qubits | seeds | {metric} ({better} is better) | trainable params (total / "
             f"quantum) | steps | {'examples' if metric == 'test_accuracy' else 'tokens'} seen | step ms | "
             f"step / {baseline} | train min per run |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in rows:
        h = hf[t["variant"]]
        method = h.get("method", "quantum_adapter")
        qubits = h.get("adapters", {}).get("n_qubits", 4)
        q = qubits if method == "quantum_adapter" else f"({qubits})" if method == "lora" else ""
        nd = _digits(metric, t["mean"])
        seen = t["steps"] * t["batch_size"] if metric == "test_accuracy" else t["tokens_seen"]
        lines.append(f"| {t['variant']} | {method} | {q} | {t['seeds']} | {t['mean']:.{nd}f} ± {_std(t['std'], nd)} | "
                     f"{t['params_total']:,} / {t['params_quantum']:,} | {t['steps']:,} | {seen:,} | "
                     f"{t['step_ms']:.1f} | {t['step_ratio']:.2f} | {t['wall_s'] / 60:.1f} |")
    return "\n".join(lines)


def hf_section(name: str, meta: dict, spec: dict, result: dict, files: Path, docs: Path, command: str,
               elapsed: float, base: dict, out: Path) -> str:
    rows = result["rows"]
    rel = os.path.relpath(files, docs.parent)
    train_total = sum(t["wall_s"] * t["seeds"] for t in rows)
    baseline = spec.get("baseline", rows[0]["variant"])
    a = spec["model"]["hf"].get("adapters", {})
    lines = [f"<!-- BEGIN study:{name} -->", f"### {meta.get('title', name)}", "",
             f"*Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — do not edit by hand.*",
             "", f"- Machine: {machine()}",
             f"- Wall time of the invocations that trained runs: {elapsed / 60:.1f} min (with the base's pretraining "
             f"when this study made it); "
             f"fine-tuning time summed over all runs: {train_total / 60:.1f} min "
             f"({spec.get('workers', 1)} parallel workers)",
             f"- Base model, pretrained here (cached with the `{base['study']}` study): GPT-2 architecture, "
             f"{base['n_layer']} layers, d={base['n_embd']}, "
             f"{base['n_head']} heads, {base['context']} positions, {base['params']:,} parameters "
             f"({base['params_non_embedding']:,} outside the embeddings); byte-level BPE tokenizer with "
             f"{base['vocab_size']:,} tokens fitted on the train split of `{base['data']}`; {base['steps']:,} "
             f"steps of {base['batch_size']} x {base['context']} tokens ({base['tokens_seen']:,} tokens seen, "
             f"{base['train_tokens']:,} distinct train tokens); valid perplexity {base['valid_ppl']:.1f}; "
             f"{base['seconds'] / 60:.1f} min on 1 thread",
             f"- Fine-tuning data: `{spec['data']['name']}`; adapters on `{a.get('target_modules')}` with "
             f"{a.get('n_qubits', 4)} qubits, {a.get('n_layers', 2)} ansatz layers; spec: "
             f"[`benchmarks/studies/{name}.yaml`](../benchmarks/studies/{name}.yaml); raw numbers: "
             f"[results.csv]({rel}/results.csv)", "",
             hf_table_markdown(rows, _hf_variants(out), baseline), "",
             "'qubits' in brackets: the LoRA whose rank matches that many qubits' quantum adapter to within 10% "
             "trainable parameters. Trainable parameters include the freshly initialised classification "
             f"head, which every method trains. 'step ms' is the median of {result['timing_repeats']} training "
             "steps per variant measured side by side after the runs (1 thread, interleaved).", ""]
    missing = [ln for ln in result["report"].splitlines() if ln.startswith("Not finished yet")]
    lines += [*missing, *([""] if missing else [])]
    lines += [f"![{name}: {f}]({rel}/{f})" for f in ("loss_curves.png", "metric_vs_params.png", "cost.png")]
    lines += [f"<!-- END study:{name} -->"]
    return "\n".join(lines)


def run_study(name: str, quick: bool = False, out_root: Path | None = None, docs: Path | None = None,
              workers: int | None = None, command: str | None = None) -> dict:
    meta, spec = load_study(name)
    if quick:
        spec = quick_spec(spec)
        meta["sample_tokens"] = min(20, int(meta.get("sample_tokens", 20)))
    if workers:
        spec["workers"] = workers
    out_root = Path(out_root or ROOT / "runs" / ("studies-quick" if quick else "studies"))
    spec["out_dir"], spec["name"] = str(out_root), name
    spec["timing"] = {"repeats": 1 if quick else 15}           # step times side by side after the runs
    done_before = len(list((out_root / name / "runs").glob("*/summary.json")))
    t0 = time.perf_counter()
    base = prepare_base(meta, spec, out_root / name, quick) if meta.get("pretrain") else None
    result = compare(spec)
    out = Path(result["dir"])
    elapsed = log_invocation(out, time.perf_counter() - t0,
                             len(list((out / "runs").glob("*/summary.json"))) - done_before)
    docs = Path(docs or (out_root / "results.md" if quick else ROOT / "docs" / "results.md"))
    files = docs.parent / "results" / name
    files.mkdir(parents=True, exist_ok=True)
    baseline = spec.get("baseline") or result["rows"][0]["variant"]
    result["timing_repeats"] = spec["timing"]["repeats"]
    if base is not None:
        result["rows"] = add_matches(result["rows"], _hf_variants(out))
    write_csv(result["rows"], files / "results.csv")
    plot_cost(result["rows"], baseline, files / "cost.png")
    for f in ("loss_curves.png", "metric_vs_params.png"):
        shutil.copyfile(out / f, files / f)
    text = samples(out, meta, result["rows"])
    if text:
        (files / "samples.txt").write_text(text)
    command = command or f"python benchmarks/run_study.py {name}" + (" --quick" if quick else "")
    block = section(name, meta, spec, result, files, docs, command, elapsed, text) if base is None else \
        hf_section(name, meta, spec, result, files, docs, command, elapsed, base, out)
    update_docs(docs, name, block)
    summarize(docs)
    print(block)
    return {"dir": str(out), "rows": result["rows"], "docs": str(docs), "files": str(files)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("studies", nargs="+", help=f"{', '.join(available())} or all")
    p.add_argument("--quick", action="store_true", help="tiny budget (2 steps, 1 seed): checks the pipeline")
    p.add_argument("--out", type=Path, help="run folder root (default runs/studies or runs/studies-quick)")
    p.add_argument("--docs", type=Path, help="results markdown to update (default docs/results.md; "
                                             "with --quick <out>/results.md)")
    p.add_argument("--workers", type=int, help="parallel worker processes (default: the spec's)")
    args = p.parse_args(argv)
    names = available() if args.studies == ["all"] else args.studies
    for name in names:
        cmd = f"python benchmarks/run_study.py {name}" + (" --quick" if args.quick else "") + \
              (f" --workers {args.workers}" if args.workers else "")
        run_study(name, args.quick, args.out, args.docs, args.workers, cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
