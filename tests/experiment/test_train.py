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


def _snapshot(run):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.iterdir())}


def _with(cfg, **train):
    import dataclasses
    cfg.train = dataclasses.replace(cfg.train, **train)
    return cfg


def test_resume_with_another_config_refuses_and_touches_nothing(tmp_path):
    Trainer(tiny_cfg(tmp_path, "x")).fit(stop_after=6)
    run = tmp_path / "x"
    before = _snapshot(run)
    with pytest.raises(ValueError, match=r"train.lr 0.003 \(run\) -> 0.01 \(requested\)"):
        Trainer(_with(tiny_cfg(tmp_path, "x"), lr=0.01)).fit(resume=True)
    other_data = tiny_cfg(tmp_path, "x")
    other_data.data.name = "toy_mc"
    with pytest.raises(ValueError, match=r"data.name toy_english \(run\) -> toy_mc"):
        Trainer(other_data).fit(resume=True)
    with pytest.raises(ValueError, match=r"model.d_model 16 \(run\) -> 24"):
        Trainer(tiny_cfg(tmp_path, "x", d_model=24)).fit(resume=True)
    assert _snapshot(run) == before
    assert not list(tmp_path.glob(".*lock*")), "a refused resume leaves its lock behind"
    # cosmetic keys may differ
    s = Trainer(_with(tiny_cfg(tmp_path, "x"), progress=True, threads=1, checkpoint_every=3)).fit(resume=True)
    assert s["steps"] == 12


def test_resume_with_more_steps_only_when_allowed(tmp_path):
    Trainer(tiny_cfg(tmp_path, "x")).fit()
    run = tmp_path / "x"
    before = _snapshot(run)
    with pytest.raises(ValueError, match="allow_more_steps"):
        Trainer(_with(tiny_cfg(tmp_path, "x"), steps=16)).fit(resume=True)
    with pytest.raises(ValueError, match="train.steps"):           # fewer steps: never
        Trainer(_with(tiny_cfg(tmp_path, "x"), steps=8)).fit(resume=True, allow_more_steps=True)
    with pytest.raises(ValueError, match="train.lr"):               # the option allows steps, nothing else
        Trainer(_with(tiny_cfg(tmp_path, "x"), steps=16, lr=0.01)).fit(resume=True, allow_more_steps=True)
    assert _snapshot(run) == before
    s = Trainer(_with(tiny_cfg(tmp_path, "x"), steps=16)).fit(resume=True, allow_more_steps=True)
    assert s["steps"] == 16 and s["steps_extended_from"] == [12]
    assert "steps: 16" in (run / "config.yaml").read_text()
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [4, 8, 12, 16]


def test_refuses_to_overwrite_a_checkpoint_without_metrics(tmp_path):
    Trainer(tiny_cfg(tmp_path, "x")).fit(stop_after=2)            # checkpoint at 2, first evaluation at 4
    run = tmp_path / "x"
    assert (run / "checkpoint.pt").exists() and not (run / "metrics.jsonl").exists()
    before = _snapshot(run)
    with pytest.raises(ValueError, match="--resume"):
        Trainer(tiny_cfg(tmp_path, "x")).fit()
    assert _snapshot(run) == before


def test_divergence_stops_keeps_the_last_good_checkpoint_and_writes_no_nan(tmp_path):
    cfg = _with(tiny_cfg(tmp_path, "d"), lr=1e10, checkpoint_every=1)
    with pytest.raises(ValueError, match=r"diverged.*step 2.*checkpoint.pt.*step 1"):
        Trainer(cfg).fit()
    run = tmp_path / "d"
    assert not (run / "summary.json").exists()
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 1
    for f in run.glob("*.json*"):
        docs = f.read_text().splitlines() if f.suffix == ".jsonl" else [f.read_text()]
        for doc in docs:
            json.loads(doc, parse_constant=lambda c: pytest.fail(f"{f.name} holds {c}"))


def test_json_files_never_hold_nan(tmp_path):
    from qhybrid.runs import dumps_json

    text = dumps_json({"a": float("nan"), "b": [float("inf"), 1.5]})
    assert json.loads(text) == {"a": None, "b": [None, 1.5]}


@pytest.mark.parametrize("content", [b"", b"\x80garbage"])
def test_corrupt_checkpoint_on_resume_is_one_clear_error(tmp_path, content):
    Trainer(tiny_cfg(tmp_path, "x")).fit(stop_after=4)
    (tmp_path / "x" / "checkpoint.pt").write_bytes(content)
    with pytest.raises(ValueError, match=r"x/checkpoint.pt .*(empty|corrupt)"):
        Trainer(tiny_cfg(tmp_path, "x")).fit(resume=True)


def test_checkpoint_of_another_shape_is_one_clear_error(tmp_path):
    Trainer(tiny_cfg(tmp_path, "x")).fit(stop_after=4)
    (tmp_path / "x" / "config.yaml").unlink()                      # no saved config to compare with
    with pytest.raises(ValueError, match=r"x/checkpoint.pt was written for another configuration"):
        Trainer(tiny_cfg(tmp_path, "x", d_model=24)).fit(resume=True)
    state = torch.load(tmp_path / "x" / "checkpoint.pt", weights_only=False)
    del state["fingerprint"]                                       # a checkpoint of an older version
    torch.save(state, tmp_path / "x" / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"x/checkpoint.pt does not fit this run's model"):
        Trainer(tiny_cfg(tmp_path, "x", d_model=24)).fit(resume=True)


def test_trainer_refuses_a_run_another_process_trains(tmp_path):
    import socket
    import subprocess
    import sys

    from qhybrid.runs import lock_path

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock_path(tmp_path / "x").write_text(json.dumps({"pid": other.pid, "host": socket.gethostname()}))
        with pytest.raises(ValueError, match="being trained"):
            Trainer(tiny_cfg(tmp_path, "x")).fit()
        assert not (tmp_path / "x").exists()
    finally:
        other.kill(); other.wait()


def test_more_steps_from_the_command_line_extends_a_finished_run(tmp_path, capsys):
    import yaml

    from qhybrid.cli import main
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"name": "m", "out_dir": str(tmp_path), "data": {"name": "toy_english"},
                                   "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1},
                                   "train": {"steps": 2, "batch_size": 2, "eval_every": 2, "eval_batches": 1,
                                             "test_batches": 1, "progress": False}}))
    assert main(["train", str(cfg)]) == 0
    assert main(["train", str(cfg), "--resume", "--set", "train.steps=4"]) == 2           # refused: steps differ
    assert "train.steps" in capsys.readouterr().err
    assert main(["train", str(cfg), "--resume", "--more-steps", "--set", "train.steps=4"]) == 0
    summary = yaml.safe_load((tmp_path / "m" / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["steps_extended_from"] == [2]
