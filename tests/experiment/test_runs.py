"""Run identity (fingerprint and differences), the run lock, atomic writes and clear read errors."""
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qhybrid.config import run_config_from_dict

TINY = {"data": {"name": "toy_english", "options": {"n_train": 300, "n_valid": 40, "n_test": 40}},
        "model": {"context": 8, "d_model": 16, "n_heads": 2, "n_blocks": 1, "quantum": {"n_qubits": 2, "n_layers": 1}},
        "train": {"steps": 4, "batch_size": 4, "eval_every": 2, "eval_batches": 1, "test_batches": 1,
                  "checkpoint_every": 2, "warmup": 1, "progress": False}}


def cfg(**sections):
    d = json.loads(json.dumps(TINY))
    for section, values in sections.items():
        if isinstance(values, dict):
            d.setdefault(section, {}).update(values)
        else:
            d[section] = values
    return run_config_from_dict(d)


def test_fingerprint_ignores_cosmetic_keys_only():
    from qhybrid.runs import fingerprint

    base = fingerprint(cfg())
    assert fingerprint(cfg(name="other", out_dir="elsewhere")) == base
    assert fingerprint(cfg(train={"progress": True, "threads": 3, "checkpoint_every": 1})) == base
    assert fingerprint(cfg(train={"lr": 0.003})) == base                     # the default, spelled out
    assert fingerprint(cfg(train={"lr": 1})) == fingerprint(cfg(train={"lr": 1.0}))
    assert len({base, fingerprint(cfg(train={"lr": 0.01})), fingerprint(cfg(train={"steps": 5})),
                fingerprint(cfg(model={"attention": "vqc"})), fingerprint(cfg(model={"d_model": 8})),
                fingerprint(cfg(data={"name": "toy_mc"})), fingerprint(cfg(train={"seed": 1}))}) == 7
    q2, q3 = ({"attention": "vqc", "quantum": {"n_qubits": n, "n_layers": 1}} for n in (2, 3))
    assert fingerprint(cfg(model=q2)) != fingerprint(cfg(model=q3))
    # a model with no quantum part ignores model.quantum: a qubit sweep reuses its classical baseline
    assert fingerprint(cfg(model={**q3, "attention": "classical"})) == base


def test_differences_name_the_keys_and_both_values():
    from qhybrid.runs import config_differences, describe_differences

    q3 = {"attention": "vqc", "quantum": {"n_qubits": 3, "n_layers": 1}}
    diffs = config_differences(cfg(model={"attention": "vqc"}), cfg(train={"steps": 9}, model=q3))
    assert [k for k, _, _ in diffs] == ["model.quantum.n_qubits", "train.steps"]
    text = describe_differences(diffs)
    assert "train.steps 4 (run) -> 9 (requested)" in text and "model.quantum.n_qubits 2 (run) -> 3" in text
    assert config_differences(cfg(), cfg(train={"progress": True}, name="x")) == []


def test_tokenizer_save_is_atomic(tmp_path, monkeypatch):
    from qhybrid import atomic
    from qhybrid.data import load_tokenizer
    from qhybrid.runs import load_run_corpus

    tok = load_run_corpus(cfg()).tokenizer
    replaced = []
    real = os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (replaced.append(Path(b)), real(a, b)))
    tok.save(tmp_path / "tokenizer.json")
    assert replaced == [tmp_path / "tokenizer.json"] and load_tokenizer(tmp_path / "tokenizer.json") == tok
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    from qhybrid.atomic import atomic_text, atomic_write

    atomic_text(tmp_path / "f.txt", "old")

    def broken(p):
        Path(p).write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "f.txt", broken)
    assert (tmp_path / "f.txt").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_unreadable_files_are_named(tmp_path):
    from qhybrid.runs import read_checkpoint, read_json, read_run_config

    (tmp_path / "summary.json").write_text('{"test_loss": ')
    with pytest.raises(ValueError, match="summary.json"):
        read_json(tmp_path / "summary.json")
    for content in (b"", b"not a checkpoint"):
        (tmp_path / "checkpoint.pt").write_bytes(content)
        with pytest.raises(ValueError, match=r"checkpoint.pt .*(empty|corrupt)"):
            read_checkpoint(tmp_path / "checkpoint.pt")
    (tmp_path / "config.yaml").write_text("model: {d_model: [")
    with pytest.raises(ValueError, match="config.yaml"):
        read_run_config(tmp_path)
    assert read_run_config(tmp_path / "nothing") is None


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_run_lock_is_exclusive_and_takes_over_a_dead_owner(tmp_path):
    from qhybrid.runs import RunBusy, lock_path, run_lock

    run_dir = tmp_path / "r"
    with run_lock(run_dir):
        assert json.loads(lock_path(run_dir).read_text())["pid"] == os.getpid()
        with run_lock(run_dir):                          # the same process may nest (compare -> Trainer.fit)
            pass
        assert lock_path(run_dir).exists()
    assert not lock_path(run_dir).exists()
    assert not run_dir.exists(), "taking the lock must not create the run directory"

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock_path(run_dir).write_text(json.dumps({"pid": other.pid, "host": socket.gethostname()}))
        with pytest.raises(RunBusy, match=rf"process {other.pid}"):
            with run_lock(run_dir):
                pass
        assert json.loads(lock_path(run_dir).read_text())["pid"] == other.pid      # left alone
    finally:
        other.kill(); other.wait()
    lock_path(run_dir).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    with run_lock(run_dir):                              # stale: its owner is gone
        assert json.loads(lock_path(run_dir).read_text())["pid"] == os.getpid()
    assert not lock_path(run_dir).exists()


CHILD = textwrap.dedent("""
    import os, sys
    import qhybrid.train as train
    log, spec = sys.argv[1], sys.argv[2]
    real = train.Trainer.fit
    def fit(self, *a, **k):
        with open(log, "a") as f:
            f.write(self.cfg.name + "\\n")
        return real(self, *a, **k)
    train.Trainer.fit = fit
    from qhybrid.compare import compare
    compare(spec, executor="serial")
""")


@pytest.mark.slow
def test_two_compare_processes_never_train_a_run_twice(tmp_path):
    import yaml

    spec = {**json.loads(json.dumps(TINY)), "name": "both", "out_dir": str(tmp_path), "seeds": [0, 1],
            "variants": {"classical": {}}}
    spec["train"]["steps"] = 8
    (tmp_path / "cmp.yaml").write_text(yaml.safe_dump(spec))
    log = tmp_path / "trained.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(log), str(tmp_path / "cmp.yaml")], env=env)
             for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    trained = log.read_text().split()
    assert sorted(trained) == ["classical-s0", "classical-s1"], trained
    runs = tmp_path / "both" / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["classical-s0", "classical-s1"]     # no lock files left
    assert "| classical |" in (tmp_path / "both" / "report.md").read_text()
