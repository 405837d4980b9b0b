"""Helpers the notebooks share (public API; nothing here is needed outside Jupyter).

    OUT = runs_dir("00_quickstart")          runs/notebooks/<name> at the repository root (else under the cwd)
    trainer, summary = train_run(cfg)        re-runnable: a finished run of the same config is reused, a run
                                             of another config in the notebook's own folder is replaced
    trainer = fresh_trainer(cfg)             a Trainer that will train from scratch (the cell's earlier run of
                                             cfg removed), for cells that hook into training
    show_table(rows)                         a list of dicts as a Markdown table
    check("label", ok)                       an exercise check: ✅ or ❌ (never raises, never shows the answer)
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .config import RunConfig
from .runs import config_differences, read_json, read_run_config, run_lock
from .train import Trainer


def runs_dir(name: str, fresh: bool = False) -> Path:
    """runs/notebooks/<name> at the repository root (git-ignored), created if missing; outside the repository,
    under the working directory. fresh=True empties it first."""
    here = Path.cwd().resolve()
    root = next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)
    path = root / "runs" / "notebooks" / name
    if fresh:
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def train_run(cfg: RunConfig, corpus=None) -> tuple[Trainer, dict]:
    """Train cfg, safely re-runnable from a notebook cell: (trainer with the trained model, summary).

    A finished run of the same run identity as cfg (runs.fingerprint: cosmetic keys such as train.progress
    aside) is loaded, not retrained (its summary is returned);
    anything else in cfg.run_dir (another config, or an unfinished run) is the notebook's own earlier
    attempt and is replaced by a fresh run."""
    d = _own(cfg)
    trainer = Trainer(cfg, corpus)
    saved = read_run_config(d) if (d / "summary.json").exists() else None
    if saved is not None and not config_differences(saved, cfg):     # the same run identity (runs.fingerprint)
        trainer.load_checkpoint()
        return trainer, read_json(d / "summary.json")
    with run_lock(d):                                   # never under a process that trains it now
        shutil.rmtree(d, ignore_errors=True)
    return trainer, trainer.fit()


def fresh_trainer(cfg: RunConfig, corpus=None) -> Trainer:
    """A Trainer for cfg that trains from step 0: the notebook's own earlier run in cfg.run_dir is removed."""
    with run_lock(_own(cfg)):
        shutil.rmtree(cfg.run_dir, ignore_errors=True)
    return Trainer(cfg, corpus)


def _own(cfg: RunConfig) -> Path:
    """cfg.run_dir, when it lies in a notebooks run folder (runs/notebooks/...), the only place these helpers
    replace runs; anything else is refused."""
    d = cfg.run_dir.resolve()
    if not any(p.name == "notebooks" and p.parent.name == "runs" for p in d.parents):
        raise ValueError(f"{cfg.run_dir} is not inside a notebooks run folder (runs/notebooks/<name>, see "
                         f"runs_dir): train_run and fresh_trainer replace only the notebook's own runs")
    return cfg.run_dir


def show_table(rows: list[dict], floats: int = 2) -> None:
    """Display a list of dicts as a Markdown table (plain text outside IPython)."""
    def fmt(v):
        return f"{v:,.{floats}f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(fmt(r[k]) for k in head) + " |" for r in rows]
    try:
        from IPython.display import Markdown, display
    except ImportError:
        print("\n".join(lines))
        return
    display(Markdown("\n".join(lines)))


def check(label: str, ok: bool) -> bool:
    """Print whether an exercise is solved; the hints are in the notebook, the answers in solutions/."""
    print(("✅ " if ok else "❌ not yet: ") + label)
    return bool(ok)
