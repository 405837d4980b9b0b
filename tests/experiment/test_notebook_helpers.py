"""The notebooks' shared helpers: a training cell run twice reuses its run, a changed cell replaces it."""
import json

import pytest

from qhybrid.config import run_config_from_dict
from qhybrid.notebook import check, runs_dir, show_table, train_run


def tiny(out, **train):
    return run_config_from_dict({"name": "nb", "out_dir": str(out), "data": {"name": "toy_english"},
                                 "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1},
                                 "train": {"steps": 3, "batch_size": 4, "eval_every": 3, "eval_batches": 1,
                                           "test_batches": 1, "progress": False, **train}})


def test_a_training_cell_can_run_twice_and_change(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = runs_dir("nb_test")
    trainer, first = train_run(tiny(out))
    again_trainer, again = train_run(tiny(out))                            # same cell again: reused, same model
    assert again == first
    assert all((a == b).all() for a, b in zip(trainer.model.state_dict().values(),
                                              again_trainer.model.state_dict().values()))
    changed_trainer, changed = train_run(tiny(out, steps=4))               # the student edits the cell
    assert changed["steps"] == 4 and changed_trainer.step == 4
    saved = json.loads((out / "nb" / "summary.json").read_text())
    assert saved["steps"] == 4
    with pytest.raises(ValueError, match="not inside a notebooks run folder"):   # never replaces other runs
        train_run(tiny(tmp_path / "elsewhere"))


def test_runs_dir_check_and_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    d = runs_dir("x")
    (d / "keep").write_text("1")
    assert runs_dir("x") == d and (d / "keep").exists() and not (runs_dir("x", fresh=True) / "keep").exists()
    assert check("solved", True) and not check("open", False)
    show_table([{"a": 1.234, "b": 2}])
    out = capsys.readouterr().out
    assert "✅ solved" in out and "❌ not yet: open" in out
