"""The `qhybrid` command: run, train, compare, report, generate, circuit, list.

Every verb has --help. Bad input prints one clear error line, `qhybrid <verb>: error: <what was wrong,
what is valid, how to fix it>`, and exits with status 2: the one error boundary is `main`, which turns
every ValueError (bad configs and arguments, data errors, corrupt files), OSError, YAML error and
ImportError (with the extra that installs the module) into that line. Anything else is a bug in
qhybrid and keeps its traceback. An interrupted run exits with 130 and resumes when run again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CONFIG = "configs/default.yaml"


def _load_run_config(path, overrides):
    from .config import apply_overrides, load_yaml, run_config_from_dict

    return run_config_from_dict(apply_overrides(load_yaml(path), overrides))


def _cmd_train(args) -> int:
    from .train import Trainer

    cfg = _load_run_config(args.config, args.set)
    if args.more_steps and not args.resume:
        raise ValueError("--more-steps continues a run with a larger train.steps; use it with --resume")
    result = Trainer(cfg).fit(resume=args.resume, allow_more_steps=args.more_steps)
    if result.get("interrupted"):
        print(f"stopped at step {result['step']}; checkpoint saved in {cfg.run_dir}. "
              f"Continue with: qhybrid train {args.config} --resume" + "".join(f" --set {s}" for s in args.set or []))
        return 130
    _print_summary(result)
    print(f"\nrun directory: {cfg.run_dir}")
    return 0


def _print_summary(s: dict) -> None:
    keys = [k for k in s if k.startswith("test_")] + ["steps", "tokens_seen", "wall_s", "step_time_s", "bound_ppl"]
    for k in keys:
        v = s.get(k)
        if v is not None:
            print(f"{k:>16}: {v:.4g}" if isinstance(v, float) else f"{k:>16}: {v}")
    print(f"{'params':>16}: " + ", ".join(f"{k} {v:,}" for k, v in s["params"].items()))


def _cmd_compare(args) -> int:
    from .compare import compare
    from .config import apply_overrides, check_comparison, load_yaml

    spec = apply_overrides(load_yaml(args.config), args.set)
    check_comparison(spec)
    options = {"address": args.address} if args.address else {}
    if options and (args.executor or spec.get("executor")) != "ray":
        raise ValueError("--address names a Ray cluster; use it with --executor ray")
    result = compare(spec, executor=args.executor, executor_options=options)
    print(result["report"])
    print(f"report: {Path(result['dir']) / 'report.md'}")
    return 0


def _cmd_run(args) -> int:
    """The main job: the default comparison (built-in corpus, no network)."""
    if not Path(args.config).exists():
        raise ValueError(f"{args.config} not found; run from the project root (where configs/ is) "
                         f"or pass a comparison config: qhybrid run CONFIG")
    args.executor = args.address = None
    return _cmd_compare(args)


def _summary(path: Path) -> dict:
    from .runs import read_json

    s = read_json(path)
    if not isinstance(s, dict) or not isinstance(s.get("params"), dict):
        raise ValueError(f"{path} is not a run summary (a JSON object with params, test metrics, steps); "
                         f"restore it or delete the run directory and train it again")
    return s


def _cmd_report(args) -> int:
    from .report import write_report

    d = Path(args.run_dir)
    if not d.exists():
        raise ValueError(f"{d} does not exist; give a run directory (<out_dir>/<name>, written by qhybrid train) "
                         f"or a comparison directory (written by qhybrid compare)")
    if not d.is_dir():
        raise ValueError(f"{d} is a file, not a directory; give a run or comparison directory")
    if (d / "compare.yaml").exists():
        print(write_report(d)["report"])              # it names any damaged file it reads
    elif (d / "summary.json").exists():
        _print_summary(_summary(d / "summary.json"))
    elif (d / "metrics.jsonl").exists():
        for line in (d / "metrics.jsonl").read_text().splitlines():
            print(line)
        print("(run not finished: no summary.json yet)")
    else:
        raise ValueError(f"{d} is neither a run directory (summary.json/metrics.jsonl) nor a comparison (compare.yaml)")
    return 0


def _cmd_generate(args) -> int:
    from .runs import sample_from_run

    print(sample_from_run(args.run_dir, args.prompt, args.tokens, temperature=args.temperature, top_k=args.top_k,
                          seed=args.seed))
    return 0


def _cmd_circuit(args) -> int:
    import dataclasses

    from .circuit import build_circuit
    from .layers import circuits_of

    if args.backend and not args.config:
        from .backends import estimate_cost
        circuit = build_circuit(args.qubits, args.layers, args.encoding, args.ansatz)
        _show(circuit, "template")
        _print_cost_single(estimate_cost(circuit, args.backend, args.circuits, args.shots))
        return 0
    if args.config:
        from .runs import build_model, load_run_corpus

        cfg = _load_run_config(args.config, args.set)
        corpus = load_run_corpus(cfg)
        if args.backend:                      # draw with the exact simulator; cost on the named backend
            from .planning import plan_run
            plan = plan_run(cfg, args.backend, args.shots, corpus=corpus)
            cfg.model = dataclasses.replace(cfg.model, quantum=dataclasses.replace(
                cfg.model.quantum, backend="statevector", backend_options={}))
        model = build_model(cfg, corpus)
        shown = set()
        for name, m in circuits_of(model).items():
            if repr(m.circuit.ops) not in shown:
                shown.add(repr(m.circuit.ops))
                _show(m.circuit, f"{name} (backend {m.backend_name}, shots {m.shots})")
        if not shown:
            print("this model has no circuits (every part is classical)")
        elif args.backend:
            _print_plan(plan)
        return 0
    _show(build_circuit(args.qubits, args.layers, args.encoding, args.ansatz), "template")
    return 0


def _secs(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3g} s" if v < 120 else f"{v / 60:.3g} min" if v < 7200 else f"{v / 3600:.3g} h"


def _print_cost_single(c: dict) -> None:
    print(f"== cost on {c['backend']} ({c['note']}), one circuit")
    print(f"   {c['shots']} shots; transpiled depth {c['transpiled_depth']}, 2-qubit gates {c['two_qubit_gates']}, "
          f"circuit {c['circuit_seconds'] * 1e6:.2f} us; {c['shift_terms_per_sample']} shifted circuits per sample")
    for part in ("forward", "training_step"):
        p = c[part]
        print(f"   {part:<14} jobs {p['jobs']}, circuits {p['circuits']:,}, shots {p['total_shots']:,}, "
              f"QPU {_secs(p['qpu_seconds'])}")
    print(f"   model: {c['model']}")
    print("   (a model runs one such job per circuit per pass; `qhybrid circuit --backend B CONFIG` sums them)")


def _print_plan(p: dict) -> None:
    print(f"== cost on {p['backend']} ({p['note']}), {p['shots']} shots per circuit")
    if p.get("dry_batch"):
        print(f"   sized on {p['dry_batch']}")
    if p["circuits"]:
        print(f"   {'circuit':<36} {'calls':>5} {'circuits/fwd':>12} {'depth':>6} {'2q':>4} {'QPU/fwd':>10} "
              f"{'QPU/step':>10}")
    for r in p["circuits"]:
        print(f"   {r['name']:<36} {r['calls']:>5} {r['forward']['circuits']:>12,} {r['transpiled_depth']:>6} "
              f"{r['two_qubit_gates']:>4} {_secs(r['forward']['qpu_seconds']):>10} "
              f"{_secs(r['training_step']['qpu_seconds']):>10}")
        if r.get("why"):
            print(f"      ({r['why']})")
    for r in p.get("not_on_hardware", []):
        print(f"   {r['name']} ({r['layer']}): NOT estimated, cannot run on hardware: {r['why']}")
    if not p["circuits"]:
        print("   no part of this model runs as a circuit on a backend: nothing to estimate")
        return
    print(f"   model: {p['circuits'][0]['model']}")
    print(f"   per forward pass: {_secs(p['forward_qpu_seconds'])} ({p.get('jobs_per_forward', '?')} jobs: one per "
          f"circuit call); per training step: {_secs(p['step_qpu_seconds'])} ({p['jobs_per_step']} jobs)")
    partial = "" if p.get("complete", True) else " (ONLY the circuits above; the parts not estimated are extra)"
    print(f"   whole run: {p['steps']} steps + {p['eval_forwards']} evaluation forwards = "
          f"{_secs(p['total_qpu_seconds'])} of QPU time{partial}")
    limit, total = p["max_qpu_seconds"], p["total_qpu_seconds"]
    hardware = p["backend"].startswith("ibm:")
    if total is None:
        print("   (a simulator: no QPU time)")
    elif not hardware:
        print("   (QPU time as if the device ran it; max_qpu_seconds applies to ibm: backends only)")
    elif limit is None:
        print("   model.quantum.max_qpu_seconds is not set: hardware jobs would run without a limit")
    elif total > limit:
        print(f"   EXCEEDS model.quantum.max_qpu_seconds = {limit:g}: jobs past the budget will be refused")
    else:
        print(f"   within model.quantum.max_qpu_seconds = {limit:g}")


def _show(circuit, title):
    print(f"== {title}")
    print(circuit.draw())
    r = circuit.resources()
    print("   " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "gate_counts"))
    print("   gates: " + ", ".join(f"{k} {v}" for k, v in r["gate_counts"].items()) + "\n")


def _cmd_list(args) -> int:
    if args.what == "datasets":
        from .data import list_datasets

        for d in list_datasets():
            print(f"{d['name']:<16} {d['task']:<15} {d['level']:<5} {d['source']:<9} {d['description']}")
    elif args.what == "backends":
        from .backends import backend_forms

        for family, forms in backend_forms().items():
            print(f"{family:<12} {forms}")
    else:
        from .layers import ATTENTIONS, EMBEDDINGS, FFNS

        for part, reg in (("embedding", EMBEDDINGS), ("attention", ATTENTIONS), ("ffn", FFNS)):
            for kind, cls in reg.items():
                doc = (cls.__doc__ or "").strip().splitlines()[0]
                print(f"{part:<10} {kind:<10} {cls.__name__:<20} {doc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qhybrid", description="Quantum-classical hybrid language-model experiments.")
    sub = p.add_subparsers(dest="command", required=True)
    setopt = dict(action="append", metavar="KEY=VALUE", help="override a config value, e.g. model.attention=vqc")

    r = sub.add_parser("run", help="the main job: the default comparison on the built-in corpus (no network)")
    r.add_argument("config", nargs="?", default=DEFAULT_CONFIG, help=f"comparison config (default {DEFAULT_CONFIG})")
    r.add_argument("--set", **setopt)
    r.set_defaults(fn=_cmd_run)

    t = sub.add_parser("train", help="train one configuration into runs/<name>/")
    t.add_argument("config", help="YAML run config (see configs/)")
    t.add_argument("--set", **setopt)
    t.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")
    t.add_argument("--more-steps", action="store_true", help="with --resume: train.steps may be larger than the "
                   "run's (nothing else may differ); the learning-rate schedule stretches to the new total")
    t.set_defaults(fn=_cmd_train)

    c = sub.add_parser("compare", help="train variants x seeds and write report.md, results.csv, figures")
    c.add_argument("config", help="YAML comparison config (variants, seeds)")
    c.add_argument("--set", **setopt)
    c.add_argument("--executor", choices=["serial", "process", "ray"], default=None,
                   help="where runs execute (default: the config's, else local processes)")
    c.add_argument("--address", default=None, help="ray: the cluster to use, 'auto' (this machine's cluster) or "
                   "ray://<head>:10001; default $RAY_ADDRESS, else a local instance (docs/cluster.md)")
    c.set_defaults(fn=_cmd_compare)

    rp = sub.add_parser("report", help="print (and rewrite) the report of a run or a comparison directory")
    rp.add_argument("run_dir")
    rp.set_defaults(fn=_cmd_report)

    g = sub.add_parser("generate", help="sample text from a trained language-model run")
    g.add_argument("run_dir")
    g.add_argument("--prompt", required=True, help="text to continue")
    g.add_argument("--tokens", type=int, default=50, help="new tokens to sample (count, 1 to 100,000: each one "
                   "is a forward pass)")
    g.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (> 0; lower = greedier)")
    g.add_argument("--top-k", type=int, default=None, help="sample only from the k most likely tokens (k >= 1)")
    g.add_argument("--seed", type=int, default=0, help="sampling seed")
    g.set_defaults(fn=_cmd_generate)

    ci = sub.add_parser("circuit", help="draw circuits (of a config's model, or a template) with resource counts")
    ci.add_argument("config", nargs="?", help="YAML run config; omit to draw a template")
    ci.add_argument("--set", **setopt)
    ci.add_argument("--qubits", type=int, default=4, help="template: number of qubits (wires)")
    ci.add_argument("--layers", type=int, default=2, help="template: ansatz layers")
    ci.add_argument("--encoding", default="angle_y", help="template: feature encoding")
    ci.add_argument("--ansatz", default="strongly_entangling", help="template: trainable ansatz")
    ci.add_argument("--backend", default=None, help="also estimate the cost on this backend before running "
                    "(circuits, shots, transpiled depth, 2-qubit gates, QPU time), e.g. ibm:ibm_brisbane")
    ci.add_argument("--shots", type=int, default=None,
                    help="cost: shots per circuit (default: the config's, else 1024)")
    ci.add_argument("--circuits", type=int, default=256, help="cost of a template: parameter sets per forward pass")
    ci.set_defaults(fn=_cmd_circuit)

    ls = sub.add_parser("list", help="list data sets, backends or layer kinds")
    ls.add_argument("what", choices=["datasets", "backends", "layers"])
    ls.set_defaults(fn=_cmd_list)
    return p


def _known_errors() -> tuple:
    """What bad input raises (the rest are bugs): ValueError (DataError, JSON, Unicode), OSError, ImportError, YAML
    errors and unreadable pickles (a corrupt checkpoint)."""
    import pickle

    import yaml

    return ValueError, OSError, ImportError, yaml.YAMLError, pickle.UnpicklingError


def error_line(e: BaseException) -> str:
    """An error as one line (a multi-line message joined); an ImportError with the extra that installs it."""
    text = str(e).strip() or type(e).__name__
    if isinstance(e, ImportError) and "pip install" not in text:
        from ._optional import EXTRAS, install_hint

        if (e.name or "").split(".")[0] in EXTRAS:
            text += f"; {install_hint(e.name)}"
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except _known_errors() as e:
        print(f"qhybrid {args.command}: error: {error_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"qhybrid {args.command}: interrupted{': ' + str(e) if str(e) else ''}; run the same command "
              f"again to resume (finished runs are kept)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
