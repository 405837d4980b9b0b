"""Notebooks: stored without outputs, follow the conventions (notebooks/README.md), and run twice in FAST mode.

    pytest tests/test_notebooks.py -m "not slow"      # conventions only (instant)
    pytest tests/test_notebooks.py -m notebooks       # also execute every notebook (QHYBRID_FAST=1, ~2-3 min)

Execution uses nbclient with the "python3" kernel. The venv's kernelspec says `python -m ipykernel_launcher`,
and jupyter_client replaces a bare `python` by `sys.executable`, so the kernel runs this interpreter; the
`kernel_python` fixture checks that (a user-level "python3" kernelspec pointing elsewhere would shadow it).
Each notebook runs in a fresh temporary working directory (so its run directories land there, not in
runs/), with the environment of the test process (QHYBRID_DATA, OPENBLAS_NUM_THREADS, ...) plus QHYBRID_FAST=1.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the notebooks extra: pip install -e '.[notebooks]'")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]
WORKSHOP = NOTEBOOKS_DIR / "workshop"
SOLUTIONS = NOTEBOOKS_DIR / "solutions"      # answers to the main notebooks' exercises
MAIN_SOLUTIONS = ("00_quickstart.ipynb", "01_circuits_as_layers.ipynb", "02_quantum_embeddings.ipynb",
                  "03_quantum_attention.ipynb", "04_quixer_mixing.ipynb", "05_noise_shots_hardware.ipynb",
                  "06_cost_and_scaling.ipynb", "07_pretrained_adapters.ipynb", "08_your_own_data.ipynb")
# student notebook -> its solution, where the exercises are '# EXERCISE' cells with checks (same structure)
CHECKED_PAIRS = {f"workshop/{n}": (WORKSHOP / n, WORKSHOP / "solutions" / n)
                 for n in ("01_circuits.ipynb", "02_quantum_layers.ipynb", "03_fair_comparison.ipynb")}
CHECKED_PAIRS["08_your_own_data.ipynb"] = (NOTEBOOKS_DIR / "08_your_own_data.ipynb",
                                           SOLUTIONS / "08_your_own_data.ipynb")
CELL_TIMEOUT_S = 300
FAST_LINE = re.compile(r"""^FAST\s*=\s*os\.environ\.get\(\s*["']QHYBRID_FAST["']\s*\)\s*==\s*["']1["']""", re.M)


def _id(path: Path) -> str:
    return str(path.relative_to(NOTEBOOKS_DIR))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_notebooks_exist():
    names = {_id(p) for p in NOTEBOOKS}
    expected = {"00_quickstart.ipynb", "01_circuits_as_layers.ipynb", "02_quantum_embeddings.ipynb",
                "03_quantum_attention.ipynb", "04_quixer_mixing.ipynb", "05_noise_shots_hardware.ipynb",
                "06_cost_and_scaling.ipynb", "07_pretrained_adapters.ipynb", "08_your_own_data.ipynb"}
    expected |= {f"solutions/{n}" for n in MAIN_SOLUTIONS}
    expected |= {f"workshop/{n}" for n in ("01_circuits.ipynb", "02_quantum_layers.ipynb", "03_fair_comparison.ipynb")}
    expected |= {f"workshop/solutions/{n}" for n in ("01_circuits.ipynb", "02_quantum_layers.ipynb",
                                                     "03_fair_comparison.ipynb")}
    assert expected <= names, f"missing notebooks: {sorted(expected - names)}"
    assert (NOTEBOOKS_DIR / "README.md").exists() and (WORKSHOP / "README.md").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_stored_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{_id(path)} cell {i} has stored outputs; strip them before committing"
            assert cell.execution_count is None, f"{_id(path)} cell {i} has an execution count"
        assert "execution" not in cell.metadata, f"{_id(path)} cell {i} has execution timestamps"
    assert "widgets" not in nb.metadata, f"{_id(path)} stores widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_follows_conventions(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell: a markdown title"
    head = first.source.lower()
    assert "goal" in head, "first cell states the goal"
    assert "runtime" in head and "qhybrid_fast" in head, "first cell states the expected runtime (normal and FAST)"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(FAST_LINE.search(src) and "SEED" in src for src in code), \
        'a constants cell defines SEED and FAST = os.environ.get("QHYBRID_FAST") == "1"'
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^## Summary", markdown, re.M), "a 'Summary' section"
    assert re.search(r"^## Exercises", markdown, re.M), "an 'Exercises' section"
    assert "qhybrid.__version__" in code[-1] and "torch.__version__" in code[-1], "last code cell prints versions"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "colab.research.google.com/github/" in first.source and _id(path) in first.source, \
        "first cell: an 'Open in Colab' badge for this notebook"
    setup = nb.cells[1]
    assert setup.cell_type == "code" and 'if "google.colab" in sys.modules:' in setup.source \
        and "%pip install" in setup.source, "second cell: installs qhybrid on Colab only"


def _exercise_cells(nb):
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith("# EXERCISE")]


@pytest.mark.parametrize("name", sorted(CHECKED_PAIRS))
def test_exercises_and_solutions_match(name):
    student, solution = (_read(p) for p in CHECKED_PAIRS[name])
    ex, sol = _exercise_cells(student), _exercise_cells(solution)
    assert ex, f"{name}: no '# EXERCISE' cells"
    assert all("TODO" in src for src in ex), f"{name}: every exercise cell has a TODO"
    assert len(sol) == len(ex), f"{name}: the solution has a different number of exercise cells"
    assert not any("TODO" in src for src in sol), f"{name}: a solution still contains a TODO"
    assert len(student.cells) == len(solution.cells), f"{name}: student and solution notebooks differ in structure"

    def same_part(src):           # the runtime line, the Colab badge and the run directory's name may differ
        return [line for line in src.splitlines() if "runs_dir(" not in line and "Expected runtime" not in line
                and "colab.research.google.com" not in line]

    for i, (a, b) in enumerate(zip(student.cells, solution.cells)):
        if not (a.cell_type == "code" and a.source.lstrip().startswith("# EXERCISE")):
            assert same_part(a.source) == same_part(b.source), \
                f"{name} cell {i}: non-exercise cells must be identical in the solution"


# ---------------------------------------------------------------------------------------------- execution
@pytest.fixture(scope="session")
def kernel_python(tmp_path_factory):
    """The interpreter the 'python3' kernel runs; must be this one (the venv with qhybrid)."""
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}}).execute()
    exe = nb.cells[0].outputs[0]["text"].strip()
    assert Path(exe).resolve() == Path(sys.executable).resolve(), (
        f"the 'python3' Jupyter kernel runs {exe}, not {sys.executable}; a user-level kernelspec shadows the "
        f"venv's (see `jupyter kernelspec list`). Remove it, or run "
        f"`{sys.executable} -m ipykernel install --sys-prefix`.")
    return exe


def _check_lines(nb) -> list[str]:
    """The ✅ / ❌ lines the exercise checks printed."""
    return [line for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("name") == "stdout"
            for line in o["text"].splitlines() if line.startswith(("✅", "❌"))]


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_runs_twice_in_one_kernel_in_fast_mode(path, tmp_path, monkeypatch, kernel_python):
    """Top to bottom, then top to bottom again in the same kernel (a teacher re-running cells): no error either
    time; in the workshop, every exercise check fails on the placeholders and passes on the solutions."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("QHYBRID_FAST", "1")
    nb = _read(path)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    checks = []
    with client.setup_kernel():
        for round_ in (1, 2):
            try:
                for i, cell in enumerate(nb.cells):
                    client.execute_cell(cell, i)
            except CellExecutionError as e:                  # the message holds the failing cell and traceback
                pytest.fail(f"{_id(path)} failed in FAST mode (run {round_}):\n{e}", pytrace=False)
            errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
            assert not errors, f"run {round_}"
            checks.append(_check_lines(nb))
    elapsed = time.perf_counter() - t0
    n_ex = len(_exercise_cells(nb))
    if n_ex or WORKSHOP in path.parents:                 # checked exercises: the workshop and 08
        for lines in checks:
            assert len(lines) == n_ex, f"{_id(path)}: {n_ex} exercises but check lines {lines}"
            if "solutions" in path.parts:
                assert all(x.startswith("✅") for x in lines), f"a solution fails its check: {lines}"
            else:
                assert all(x.startswith("❌") for x in lines), f"a placeholder passes its check: {lines}"
    print(f"{_id(path)}: {elapsed:.1f} s for two runs in FAST mode")
