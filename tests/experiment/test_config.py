"""Run-config validation: every key type-checked against its dataclass field, ranges, names, files."""
import pytest

from qhybrid.config import (
    RunConfig,
    TrainConfig,
    apply_overrides,
    check_comparison,
    load_yaml,
    run_config_from_dict,
)
from qhybrid.models import ModelConfig, QuantumConfig
from qhybrid.validation import check_value


def cfg(*overrides):
    return run_config_from_dict(apply_overrides({}, list(overrides)))


@pytest.mark.parametrize("value,got", [("2.5", "2.5"), ("four", "'four'"), ("true", "True")])
def test_nested_quantum_keys_are_type_checked(value, got):
    with pytest.raises(ValueError, match=rf"model\.quantum\.n_qubits must be int \(an integer, e\.g\. 4\), got {got}"):
        cfg(f"model.quantum.n_qubits={value}")


def test_direct_construction_is_type_checked_too():
    with pytest.raises(ValueError, match=r"model\.quantum\.n_layers must be int \(an integer"):
        QuantumConfig(n_layers="2")
    with pytest.raises(ValueError, match=r"model\.d_model must be int \(an integer"):
        ModelConfig(d_model="32")
    with pytest.raises(ValueError, match=r"train\.progress must be bool \(true or false\)"):
        TrainConfig(progress="yes")


def test_every_section_and_optional_fields():
    with pytest.raises(ValueError, match=r"model\.quantum\.shots must be int or null \(an integer"):
        cfg("model.quantum.shots=many")
    with pytest.raises(ValueError, match=r"model\.quantum\.backend_options must be dict \(a mapping"):
        cfg("model.quantum.backend_options=3")
    with pytest.raises(ValueError, match=r"data\.seed must be int \(an integer"):
        cfg("data.seed=x")
    with pytest.raises(ValueError, match=r"model\.quantum must be a mapping of settings"):
        cfg("model.quantum=4")
    assert cfg("model.quantum.shots=null").model.quantum.shots is None
    assert cfg("name=2024").name == "2024"                   # a number where a name goes: its digits


def test_float_fields_accept_numbers_written_as_strings():
    c = cfg("train.lr=1e-3", "model.dropout=5E-2", "train.weight_decay=0")
    assert c.train.lr == 1e-3 and isinstance(c.train.lr, float) and c.model.dropout == 0.05
    with pytest.raises(ValueError, match=r"train\.lr must be float \(a number, e\.g\. 0\.003\), got 'fast'"):
        cfg("train.lr=fast")
    with pytest.raises(ValueError, match=r"train\.lr must be float"):
        cfg("train.lr=nan")


@pytest.mark.parametrize("override,message", [
    ("train.threads=-1", r"train\.threads must be auto, a positive number of CPU threads or null"),
    ("train.threads=0", r"train\.threads must be auto, a positive number of CPU threads or null"),
    ("train.threads=many", r"train\.threads must be auto, a positive number of CPU threads or null.*many"),
    ("model.ffn_hidden=-4", r"model\.ffn_hidden must be a positive integer or null \(4 \* d_model\), got -4"),
    ("model.quantum.n_qubits=0", r"model\.quantum\.n_qubits must be >= 1, got 0"),
    ("model.quantum.qsvt_degree=0", r"model\.quantum\.qsvt_degree must be >= 1"),
    ("train.warmup=-1", r"train\.warmup must be >= 0"),
    ("train.min_lr_ratio=2", r"train\.min_lr_ratio must be in \[0, 1\]"),
    ("train.grad_clip=-1", r"train\.grad_clip must be >= 0"),
    ("train.steps=0", r"train\.steps must be >= 1, got 0"),
])
def test_ranges_name_the_valid_range(override, message):
    with pytest.raises(ValueError, match=message):
        cfg(override)


def test_malformed_override_names_the_override():
    with pytest.raises(ValueError, match=r"override 'train\.steps=\[1,' has a value that is not valid YAML"):
        apply_overrides({}, ["train.steps=[1,"])
    with pytest.raises(ValueError, match="empty key"):
        apply_overrides({}, ["model..attention=vqc"])


def test_data_options_are_checked_against_the_loader():
    with pytest.raises(ValueError, match=r"data\.options: unknown option.*'foo'.*n_train"):
        cfg("data.options.foo=1")
    with pytest.raises(ValueError, match=r"data\.options\.n_train must be int \(an integer"):
        cfg("data.options.n_train=many")
    with pytest.raises(ValueError, match=r"unknown option.*'seed'.*data\.seed"):
        cfg("data.options.seed=3")
    with pytest.raises(ValueError, match=r"data\.options\.lower must be bool \(true or false\)"):
        cfg("data.name=some/file.txt", "data.options.lower=maybe")
    assert cfg("data.options.n_train=50").data.options == {"n_train": 50}


@pytest.mark.parametrize("name", ["../../x", "", ".", "..", "/tmp/abs", "a/b", "a\\b"])
def test_run_names_stay_inside_the_runs_folder(name):
    with pytest.raises(ValueError, match="not a valid run name.*one folder name"):
        run_config_from_dict({"name": name})
    with pytest.raises(ValueError, match="not a valid run name"):
        RunConfig(name=name)


def test_comparison_settings():
    with pytest.raises(ValueError,
                       match=r"workers must be a positive integer \(parallel worker processes\), got 'two'"):
        check_comparison({"workers": "two"})
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        check_comparison({"workers": 0})
    with pytest.raises(ValueError, match="executor = 'threads' is not valid.*serial, process, ray"):
        check_comparison({"executor": "threads"})
    with pytest.raises(ValueError, match="matched_twins must be true or false"):
        check_comparison({"matched_twins": "yes"})
    with pytest.raises(ValueError, match="not a valid run name"):
        check_comparison({"name": "../up"})
    check_comparison({"workers": 2, "executor": "serial", "name": "ok", "matched_twins": True})


def test_config_files(tmp_path):
    with pytest.raises(ValueError, match="is a directory, not a YAML file"):
        load_yaml(tmp_path)
    binary = tmp_path / "model.pt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match="is not a text file"):
        load_yaml(binary)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n\n")
    with pytest.raises(ValueError, match="is empty.*a config is a YAML mapping"):
        load_yaml(empty)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {attention: vqc\n")
    with pytest.raises(ValueError, match=r"is not valid YAML.*line \d+") as e:
        load_yaml(bad)
    assert "\n" not in str(e.value)


def test_check_value_types():
    assert check_value("x", "1e-3", float) == 1e-3
    assert check_value("x", 3, float) == 3
    assert check_value("x", None, int | None) is None
    with pytest.raises(ValueError, match=r"x must be int or null \(an integer"):
        check_value("x", 1.5, int | None)
    with pytest.raises(ValueError, match="x must be str"):
        check_value("x", [1], str)
