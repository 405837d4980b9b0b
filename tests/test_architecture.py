"""The one-way architecture, enforced: parse every import of src/qhybrid (module level and inside
functions), then fail on any import cycle between files and on any forbidden direction.

Wings, bottom to top: circuit <- backends <- layers <- models <- experiment (config, runs, train,
planning, compare, report, executors, cli); data stands apart; validation, _optional and atomic are leaves.
hf (the Hugging Face integration) sits on models: it uses circuit, the backends' face, layers and
models, and nothing of those (nor data) imports it.
"""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
EXPERIMENT = {"config", "runs", "train", "planning", "compare", "report", "executors", "cli"}
LEAVES = {"validation", "_optional", "atomic"}
TORCH_SIMULATORS = ("qhybrid.backends.statevector", "qhybrid.backends.density", "qhybrid.backends.base",
                    "qhybrid.backends.noise")


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted((SRC / "qhybrid").rglob("*.py")):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the qhybrid modules it imports (resolved to files; a package means its __init__)."""
    mods = modules()

    def resolve(name):
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges = defaultdict(set)
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                r = resolve(t) if t.startswith("qhybrid") else None
                if r and r != m:
                    edges[m].add(r)
    return edges


def wing(m: str) -> str:
    parts = m.split(".")
    return parts[1] if len(parts) > 1 else ""


def forbidden(a: str, b: str) -> str | None:
    """Why the import a -> b breaks a rule, or None."""
    wa, wb = wing(a), wing(b)
    if wb == "cli":
        return "nothing imports the CLI"
    if wb == "hf" and wa in {"circuit", "backends", "layers", "models", "data"} | LEAVES:
        return "the Hugging Face wing sits on top of models; nothing below imports it"
    if wa == "hf" and (wb not in {"circuit", "backends", "layers", "models", "hf"} | LEAVES or
                       (wb == "backends" and b != "qhybrid.backends")):
        return "the Hugging Face wing uses circuit, the backends' face, layers and models only"
    if wa in LEAVES and wb != "" and wb not in LEAVES:
        return "validation, _optional and atomic are leaves"
    if wa == "circuit" and wb not in {"circuit"} | LEAVES:
        return "the circuit IR imports nothing else of qhybrid"
    if wa == "backends" and wb not in {"circuit", "backends"} | LEAVES:
        return "a backend never knows about layers, models or experiments"
    if a.startswith(TORCH_SIMULATORS) and b.startswith("qhybrid.backends.qiskit"):
        return "the torch simulators never import the Qiskit edge"
    if a.startswith("qhybrid.backends.qiskit") and b.startswith("qhybrid.backends.statevector"):
        return "the Qiskit edge never uses the statevector engine's internals"
    if wa == "layers" and (wb not in {"circuit", "backends", "layers"} | LEAVES or
                           (wb == "backends" and b != "qhybrid.backends")):
        return "a layer uses the circuit wing and the backends' public face only"
    if wa == "models" and wb not in {"circuit", "backends", "layers", "models"} | LEAVES:
        return "models never import the experiment wing"
    if wa == "data" and wb not in {"data"} | LEAVES:
        return "data imports nothing quantum"
    if wa == "train" and wb in {"compare", "report", "planning"}:
        return "the trainer never knows about comparisons or reports"
    return None


def cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_files():
    assert cycles(import_graph()) == []


def test_no_forbidden_import_direction():
    bad = [f"{a} -> {b}: {why}" for a, bs in import_graph().items() for b in sorted(bs)
           if (why := forbidden(a, b))]
    assert bad == []


@pytest.mark.parametrize("a, b", [
    ("qhybrid.circuit.ir", "qhybrid.backends"),
    ("qhybrid.backends.qiskit.qpu_time", "qhybrid.models"),
    ("qhybrid.backends.density", "qhybrid.backends.qiskit.devices"),
    ("qhybrid.layers.attention", "qhybrid.backends.statevector"),
    ("qhybrid.models", "qhybrid.runs"),
    ("qhybrid.data.corpus", "qhybrid.layers"),
    ("qhybrid.train", "qhybrid.report"),
    ("qhybrid.compare", "qhybrid.cli"),
    ("qhybrid.models", "qhybrid.hf.adapters"),
    ("qhybrid.layers.linear", "qhybrid.hf"),
    ("qhybrid.hf.adapters", "qhybrid.backends.statevector"),
    ("qhybrid.hf.adapters", "qhybrid.runs"),
])
def test_the_rules_catch_the_old_couplings(a, b):
    """The checker itself: each import the old layout had (or could grow) is named as forbidden."""
    assert forbidden(a, b)


@pytest.mark.parametrize("a, b", [
    ("qhybrid.hf.adapters", "qhybrid.layers"), ("qhybrid.hf.adapters", "qhybrid.models"),
    ("qhybrid.hf.adapters", "qhybrid.circuit"), ("qhybrid.hf.attention", "qhybrid.backends"),
    ("qhybrid.hf.baselines", "qhybrid.hf.adapters"), ("qhybrid.hf.adapters", "qhybrid._optional"),
])
def test_the_hf_wing_may_use_the_wings_below(a, b):
    assert forbidden(a, b) is None


def test_the_checker_sees_function_level_imports_and_cycles():
    edges = import_graph()
    assert "qhybrid.backends.qiskit.qpu_time" in edges["qhybrid.backends"]        # inside estimate_cost()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
