"""Trainer: determinism, atomic checkpoints, resume equivalence, metrics and run directory."""
import json

import pytest
import torch

from qhybrid.config import run_config_from_dict
from qhybrid.train import Trainer, lr_at

TINY = {"data": {"name": "toy_english", "options": {"n_train": 300, "n_valid": 40, "n_test": 40}},
        "model": {"context": 12, "d_model": 16, "n_heads": 2, "n_blocks": 1, "quantum": {"n_qubits": 3, "n_layers": 1}},
        "train": {"steps": 12, "batch_size": 8, "eval_every": 4, "eval_batches": 2, "test_batches": 2,
                  "checkpoint_every": 2, "warmup": 3, "progress": False}}


def tiny_cfg(tmp_path, name="r", **model):
    d = json.loads(json.dumps(TINY))
    d["model"].update(model)
    d.update(name=name, out_dir=str(tmp_path))
    return run_config_from_dict(d)


def strip_wall(records):
    drop = {"step_time_s", "tokens_per_s", "wall_s"}
    return [{k: v for k, v in r.items() if k not in drop} for r in records]


def test_lr_schedule_warms_up_then_decays():
    cfg = tiny_cfg(".").train
    lrs = [lr_at(s, cfg) for s in range(cfg.steps)]
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(cfg.lr)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:]))
    assert lr_at(cfg.steps, cfg) == pytest.approx(cfg.lr * cfg.min_lr_ratio)


def test_run_directory_contents_and_determinism(tmp_path):
    a = Trainer(tiny_cfg(tmp_path, "a")).fit()
    b = Trainer(tiny_cfg(tmp_path, "b")).fit()
    assert a["test_loss"] == b["test_loss"] and a["test_ppl"] == pytest.approx(torch.e ** a["test_loss"])
    run = tmp_path / "a"
    for f in ("config.yaml", "metrics.jsonl", "summary.json", "tokenizer.json", "checkpoint.pt", "loss.png"):
        assert (run / f).exists(), f
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [4, 8, 12]
    assert a["params"]["total"] > 0 and a["bound_ppl"] > 1
    assert not list(run.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize("attention", ["classical", "vqc"])
def test_interrupt_and_resume_gives_identical_metrics(tmp_path, attention):
    full = Trainer(tiny_cfg(tmp_path, "full", attention=attention)).fit()
    cfg = tiny_cfg(tmp_path, "cut", attention=attention)
    partial = Trainer(cfg).fit(stop_after=6)                   # stops between evals (eval at 4, 8)
    assert partial == {"interrupted": True, "step": 6}
    resumed = Trainer(tiny_cfg(tmp_path, "cut", attention=attention)).fit(resume=True)
    assert resumed["test_loss"] == full["test_loss"]
    hist_full = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    hist_cut = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert strip_wall(hist_cut) == strip_wall(hist_full)


def test_refuses_to_overwrite_a_run_without_resume(tmp_path):
    Trainer(tiny_cfg(tmp_path, "x")).fit(stop_after=4)
    with pytest.raises(ValueError, match="--resume"):
        Trainer(tiny_cfg(tmp_path, "x")).fit()


def test_classification_run_reports_accuracy(tmp_path):
    d = json.loads(json.dumps(TINY))
    d["data"] = {"name": "toy_mc", "options": {"n_train": 60, "n_valid": 20, "n_test": 20}}
    d["model"].update(causal=False, attention="qsann")
    d.update(name="cls", out_dir=str(tmp_path))
    d["train"]["steps"] = 8
    s = Trainer(run_config_from_dict(d)).fit()
    assert 0 <= s["test_accuracy"] <= 1 and s["task"] == "classification"


def test_config_validation_messages():
    with pytest.raises(ValueError, match=r"unknown key train.step \(did you mean train.steps\?\)"):
        run_config_from_dict({"train": {"step": 3}})
    with pytest.raises(ValueError, match=r"unknown key modle \(did you mean model\?\)"):
        run_config_from_dict({"modle": {}})
    with pytest.raises(ValueError, match="train.lr must be float"):
        run_config_from_dict({"train": {"lr": "fast"}})
    with pytest.raises(ValueError, match="train.steps must be >= 1"):
        run_config_from_dict({"train": {"steps": 0}})
    with pytest.raises(ValueError, match="did you mean 'vqc'"):
        run_config_from_dict({"model": {"ffn": "vcq"}})
