"""The `qhybrid` command end to end on a tiny config: every verb, errors without tracebacks."""
import subprocess
import sys

import pytest
import yaml

from qhybrid.cli import main

TINY_RUN = {"data": {"name": "toy_english", "options": {"n_train": 200, "n_valid": 30, "n_test": 30}},
            "model": {"context": 10, "d_model": 16, "n_heads": 2, "n_blocks": 1,
                      "quantum": {"n_qubits": 3, "n_layers": 1}},
            "train": {"steps": 6, "batch_size": 4, "eval_every": 3, "eval_batches": 1, "test_batches": 1,
                      "progress": False}}


@pytest.fixture
def run_config(tmp_path):
    cfg = dict(TINY_RUN, name="cli-run", out_dir=str(tmp_path / "runs"))
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_train_generate_report_circuit(run_config, tmp_path, capsys):
    assert main(["train", str(run_config), "--set", "model.attention=vqc"]) == 0
    assert "test_ppl" in capsys.readouterr().out
    run_dir = tmp_path / "runs" / "cli-run"
    assert main(["generate", str(run_dir), "--prompt", "the", "--tokens", "5", "--top-k", "3"]) == 0
    text = capsys.readouterr().out.strip()
    assert text.startswith("the") and len(text.split()) >= 2
    assert main(["report", str(run_dir)]) == 0
    assert "params" in capsys.readouterr().out
    assert main(["circuit", str(run_config), "--set", "model.attention=vqc"]) == 0
    out = capsys.readouterr().out
    assert "RY(x0)" in out and "two_qubit_gates" in out


def test_compare_writes_report_and_reuses_runs(tmp_path, capsys):
    spec = dict(TINY_RUN, name="cmp", out_dir=str(tmp_path / "runs"), seeds=[0, 1], workers=1,
                variants={"classical": {}, "qffn": {"model": {"ffn": "vqc"}}}, matched_twins=True)
    path = tmp_path / "cmp.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["compare", str(path), "--executor", "serial"]) == 0
    out = tmp_path / "runs" / "cmp"
    report = (out / "report.md").read_text()
    for v in ("classical", "qffn", "qffn_twin"):
        assert f"| {v} |" in report
    csv = (out / "results.csv").read_text().splitlines()
    assert len(csv) == 4 and "params_quantum" in csv[0]
    for f in ("loss_curves.png", "metric_vs_params.png", "cost.png"):
        assert (out / f).exists()
    mtime = (out / "runs" / "qffn-s0" / "summary.json").stat().st_mtime
    assert main(["compare", str(path), "--executor", "serial"]) == 0      # finished runs are reused
    assert (out / "runs" / "qffn-s0" / "summary.json").stat().st_mtime == mtime
    assert main(["report", str(out)]) == 0
    assert "qffn_twin" in capsys.readouterr().out


def test_list_verbs(capsys):
    for what, expect in (("datasets", "toy_english"), ("backends", "statevector"), ("layers", "quixer")):
        assert main(["list", what]) == 0
        assert expect in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["train", "nope.yaml"], "does not exist"),
    (["train", "{cfg}", "--set", "model.embedding=quantm"], "did you mean 'quantum'"),
    (["train", "{cfg}", "--set", "train.stpes=3"], "did you mean train.steps"),
    (["generate", "/nonexistent", "--prompt", "x"], "missing"),
])
def test_errors_are_one_line_without_traceback(argv, message, run_config):
    argv = [a.replace("{cfg}", str(run_config)) for a in argv]
    p = subprocess.run([sys.executable, "-m", "qhybrid.cli", *argv], capture_output=True, text=True)
    assert p.returncode == 2
    assert message in p.stderr and "Traceback" not in p.stderr


def test_help_for_every_verb(capsys):
    for verb in ("run", "train", "compare", "report", "generate", "circuit", "list"):
        with pytest.raises(SystemExit) as e:
            main([verb, "--help"])
        assert e.value.code == 0 and f"usage: qhybrid {verb}" in capsys.readouterr().out
