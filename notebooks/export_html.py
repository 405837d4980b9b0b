"""Execute the solution notebooks and write them as self-contained HTML pages, for a room without compute.

    .venv/bin/python notebooks/export_html.py                     # every solution: workshop/ and solutions/
    .venv/bin/python notebooks/export_html.py workshop            # only the workshop's solutions
    .venv/bin/python notebooks/export_html.py 03_quantum          # the solutions whose path contains this
    QHYBRID_FAST=1 .venv/bin/python notebooks/export_html.py      # fast mode (quick check; rougher numbers)

Each notebook runs top to bottom in a fresh kernel ("python3", as in tests/test_notebooks.py) with its own
folder as working directory, exactly like `jupyter nbconvert --to html --execute`, and lands in
notebooks/html/<workshop|solutions>/<name>.html with its figures embedded (one file per notebook, no
assets). Progress-bar widgets are dropped from the page (they mean nothing without a kernel). The pages of
the workshop's solutions are committed; the others are written on demand (see notebooks/README.md).
A notebook that fails stops nothing else: the failures are listed at the end and the exit status is 1.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = {"workshop": HERE / "workshop" / "solutions", "solutions": HERE / "solutions"}
OUT = HERE / "html"
WIDGET = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT_S = 900


def solution_notebooks(patterns: list[str]) -> list[tuple[str, Path]]:
    found = [(group, p) for group, folder in SOURCES.items() for p in sorted(folder.glob("*.ipynb"))]
    if patterns:
        found = [(g, p) for g, p in found if any(s in f"{g}/{p.name}" for s in patterns)]
    return found


def drop_widgets(nb) -> None:
    """Remove progress-bar widget outputs (and saved widget state): static pages cannot show them."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]


def export(group: str, path: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=CELL_TIMEOUT_S, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": str(path.parent)}})
    drop_widgets(nb)
    body, _ = HTMLExporter().from_notebook_node(nb)
    dest = OUT / group / f"{path.stem}.html"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(body, encoding="utf-8")
    return dest


def main(argv: list[str]) -> int:
    todo = solution_notebooks(argv)
    if not todo:
        print(f"no solution notebook matches {argv}", file=sys.stderr)
        return 2
    failed = []
    for group, path in todo:
        t0 = time.perf_counter()
        try:
            dest = export(group, path)
        except Exception as e:                        # report, keep going with the others
            failed.append(f"{group}/{path.name}: {type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}")
            print(f"FAILED {group}/{path.name}", flush=True)
            continue
        print(f"{dest.relative_to(HERE.parent)}: {dest.stat().st_size / 1024:,.0f} KiB, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    for line in failed:
        print("failed:", line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
