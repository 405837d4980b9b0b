"""The `qhybrid` command line: run (the main job), circuit, list."""
from __future__ import annotations

import argparse
import sys


def _cmd_run(args) -> int:
    import runpy
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_engine.py"
    if not bench.exists():
        print("qhybrid run: benchmarks/bench_engine.py not found (run from a source checkout)", file=sys.stderr)
        return 2
    sys.argv = [str(bench), "--quick"]
    runpy.run_path(str(bench), run_name="__main__")
    return 0


def _cmd_circuit(args) -> int:
    from .templates import build_circuit

    c = build_circuit(args.qubits, args.layers, args.encoding, args.ansatz)
    print(c.draw())
    print()
    for k, v in c.resources().items():
        print(f"{k:>16}: {v}")
    return 0


def _cmd_list(args) -> int:
    from .backends import available_backends
    from .templates import ANSATZES, ENCODINGS

    items = {"backends": available_backends(), "encodings": list(ENCODINGS), "ansatzes": list(ANSATZES)}
    for name in items[args.what]:
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qhybrid", description="Quantum-classical hybrid language-model experiments.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the main job (the built-in default, no network)")
    r.set_defaults(fn=_cmd_run)
    c = sub.add_parser("circuit", help="draw a template circuit and print its resource counts")
    c.add_argument("--qubits", type=int, default=4, help="number of qubits (wires)")
    c.add_argument("--layers", type=int, default=2, help="ansatz layers")
    c.add_argument("--encoding", default="angle_y", help="feature encoding (see `qhybrid list encodings`)")
    c.add_argument("--ansatz", default="strongly_entangling", help="trainable ansatz (see `qhybrid list ansatzes`)")
    c.set_defaults(fn=_cmd_circuit)
    ls = sub.add_parser("list", help="list available backends, encodings or ansatzes")
    ls.add_argument("what", choices=["backends", "encodings", "ansatzes"])
    ls.set_defaults(fn=_cmd_list)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ValueError, ImportError) as e:
        print(f"qhybrid {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
