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
    (["train", "{cfg}", "--more-steps"], "use it with --resume"),
    (["compare", "{cfg}", "--address", "auto"], "use it with --executor ray"),
    (["train", "{cfg}", "--set", "train.device=gpu"], "valid: auto, cpu, cuda, cuda:N"),
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


def _error_line(capsys, verb):
    """The one stderr line of a refused command (and nothing that looks like a traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qhybrid {verb}: error: "), err
    return lines[0]


@pytest.mark.parametrize("overrides,message", [
    (["model.quantum.n_qubits=2.5"], "model.quantum.n_qubits must be int (an integer, e.g. 4), got 2.5"),
    (["model.quantum.n_qubits=four"], "model.quantum.n_qubits must be int (an integer, e.g. 4), got 'four'"),
    (["train.steps=[1,"], "override 'train.steps=[1,' has a value that is not valid YAML"),
    (["train.threads=-1"], "train.threads must be auto, a positive number of CPU threads or null"),
    (["model.ffn_hidden=-4"], "model.ffn_hidden must be a positive integer or null (4 * d_model), got -4"),
    (["data.options.foo=1"], "data.options: unknown option(s) ['foo']"),
    (["name=../../x"], "'../../x' is not a valid run name"),
    (["name="], "'' is not a valid run name"),
    (["model.attention=vqc", "model.quantum.backend=density:depol1=abc"],
     "density option depol1 = 'abc' is not a number"),
])
def test_bad_settings_are_one_line(overrides, message, run_config, capsys):
    argv = ["train", str(run_config)] + [a for o in overrides for a in ("--set", o)]
    assert main(argv) == 2
    assert message in _error_line(capsys, "train")


def test_bad_config_files_are_one_line(tmp_path, capsys):
    assert main(["train", str(tmp_path)]) == 2
    assert "is a directory, not a YAML file" in _error_line(capsys, "train")
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    assert main(["train", str(binary)]) == 2
    assert "is not a text file" in _error_line(capsys, "train")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert main(["train", str(empty)]) == 2
    assert "is empty" in _error_line(capsys, "train")
    assert not (tmp_path / "runs").exists() and not __import__("pathlib").Path("runs/run").exists()


def test_comparison_settings_are_one_line(tmp_path, capsys):
    spec = dict(TINY_RUN, name="cmp", out_dir=str(tmp_path / "runs"), variants={"classical": {}})
    path = tmp_path / "cmp.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["compare", str(path), "--set", "workers=two"]) == 2
    assert "workers must be a positive integer (parallel worker processes), got 'two'" in _error_line(capsys, "compare")
    assert not (tmp_path / "runs").exists()


def test_report_errors_name_the_directory_or_file(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'} does not exist" in _error_line(capsys, "report")
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text('{"test_ppl": 3.1, "para')
    assert main(["report", str(run)]) == 2
    line = _error_line(capsys, "report")
    assert str(run / "summary.json") in line and "not valid JSON" in line
    cmp = tmp_path / "cmp"
    (cmp / "runs" / "a-s0").mkdir(parents=True)
    (cmp / "compare.yaml").write_text(yaml.safe_dump({
        "settings": {"name": "cmp", "seeds": [0], "baseline": "a"},
        "runs": [{"variant": "a", "seed": 0, "config": {"name": "a-s0"}}]}))
    (cmp / "runs" / "a-s0" / "summary.json").write_text("not json")
    assert main(["report", str(cmp)]) == 2
    assert str(cmp / "runs" / "a-s0" / "summary.json") in _error_line(capsys, "report")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gen")
    cfg = dict(TINY_RUN, name="gen", out_dir=str(tmp / "runs"))
    cfg["train"] = dict(cfg["train"], steps=2, eval_every=2)
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path)]) == 0
    return tmp / "runs" / "gen"


@pytest.mark.parametrize("extra,message", [
    (["--tokens", "-5"], "--tokens must be between 1 and 100,000"),
    (["--tokens", "0"], "--tokens must be between 1 and 100,000"),
    (["--tokens", "100000000"], "--tokens must be between 1 and 100,000"),
    (["--top-k", "0"], "--top-k must be >= 1"),
    (["--temperature", "0"], "--temperature must be > 0"),
])
def test_generate_refuses_bad_arguments(extra, message, trained_run, capsys):
    assert main(["generate", str(trained_run), "--prompt", "the", *extra]) == 2
    assert message in _error_line(capsys, "generate")


def test_generate_refuses_a_prompt_of_unknown_tokens(trained_run, capsys):
    assert main(["generate", str(trained_run), "--prompt", "zzyzx qwxq", "--tokens", "2"]) == 2
    line = _error_line(capsys, "generate")
    assert "none of the prompt's tokens" in line and "e.g." in line
    assert main(["generate", str(trained_run), "--prompt", "the zzyzx", "--tokens", "2"]) == 0


def test_import_errors_carry_the_install_hint(monkeypatch, capsys):
    import qhybrid.cli as cli
    from qhybrid import _optional

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(_optional.importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r"pip install 'qhybrid\[ray\]'"):
        _optional.require("ray")

    def raw(args):
        raise ModuleNotFoundError("No module named 'ray'", name="ray")

    monkeypatch.setattr(cli, "_cmd_list", raw)
    assert main(["list", "layers"]) == 2
    assert "pip install 'qhybrid[ray]'" in _error_line(capsys, "list")


def test_every_install_hint_names_an_extra_that_installs_the_module():
    import tomllib
    from pathlib import Path

    from qhybrid._optional import EXTRAS

    extras = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for module, extra in EXTRAS.items():
        packages = " ".join(extras[extra]).lower().replace("_", "-")
        assert module.replace("_", "-") in packages, (module, extra)
    for extra in ("pennylane", "qiskit", "hf", "ray", "energy", "notebooks", "bench"):
        assert extra in set(EXTRAS.values()), extra


def test_multi_line_errors_become_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    import qhybrid.cli as cli
    from qhybrid.data import DataError

    def data_error(args):
        raise DataError("data file x is not available.\n  looked in: here\n  fix: set QHYBRID_DATA")

    monkeypatch.setattr(cli, "_cmd_list", data_error)
    assert main(["list", "layers"]) == 2
    assert _error_line(capsys, "list").endswith("not available. looked in: here fix: set QHYBRID_DATA")

    def bug(args):
        raise KeyError("params")

    monkeypatch.setattr(cli, "_cmd_list", bug)
    with pytest.raises(KeyError):
        main(["list", "layers"])


def test_the_main_job_verb_runs_a_comparison(tmp_path, capsys):
    import yaml
    cfg = tmp_path / "main.yaml"
    cfg.write_text(yaml.safe_dump({"name": "mj", "out_dir": str(tmp_path), "data": {"name": "toy_english"},
                                   "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1},
                                   "train": {"steps": 1, "batch_size": 2, "eval_every": 1, "eval_batches": 1,
                                             "test_batches": 1, "progress": False}, "timing": {"repeats": 1}}))
    assert main(["run", str(cfg)]) == 0
    assert "# Comparison: mj" in capsys.readouterr().out


def test_an_empty_section_takes_overrides(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: e\nout_dir: {tmp_path}\nmodel:\ntrain: {{steps: 1, batch_size: 2, eval_every: 1, "
                   f"eval_batches: 1, test_batches: 1, progress: false}}\n")
    assert main(["train", str(cfg), "--set", "model.d_model=8", "--set", "model.n_heads=2",
                 "--set", "model.context=8"]) == 0
