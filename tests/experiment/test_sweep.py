"""Sweeps: grid and random expansion into variants, reproducible sampling, clear errors."""
import math

import pytest

from qhybrid.sweep import expand_sweep, points

VARIANTS = {"classical": {}, "vqc": {"model": {"attention": "vqc", "quantum": {"n_layers": 1}}}}


def test_grid_is_every_combination_merged_into_the_swept_variants():
    block = {"keys": {"model.quantum.n_qubits": [2, 4], "train.lr": [0.001, 0.003]}, "variants": ["vqc"]}
    variants, where = expand_sweep(VARIANTS, block)
    assert list(variants) == ["classical", "vqc[n_qubits=2,lr=0.001]", "vqc[n_qubits=2,lr=0.003]",
                              "vqc[n_qubits=4,lr=0.001]", "vqc[n_qubits=4,lr=0.003]"]
    v = variants["vqc[n_qubits=4,lr=0.001]"]
    assert v == {"model": {"attention": "vqc", "quantum": {"n_layers": 1, "n_qubits": 4}}, "train": {"lr": 0.001}}
    assert where["vqc[n_qubits=4,lr=0.001]"] == {"model.quantum.n_qubits": 4, "train.lr": 0.001}
    assert VARIANTS["vqc"] == {"model": {"attention": "vqc", "quantum": {"n_layers": 1}}}     # not mutated


def test_random_points_are_reproducible_and_inside_their_ranges():
    block = {"mode": "random", "samples": 50, "seed": 3,
             "keys": {"train.lr": {"log_uniform": [1e-4, 1e-2]}, "model.quantum.n_qubits": {"int": [2, 5]},
                      "model.attention": ["vqc", "qsann"]}}
    a, b = points(block), points(block)
    assert a == b and len(a) == 50 and a != points({**block, "seed": 4})
    assert all(1e-4 <= p["train.lr"] <= 1e-2 and p["model.quantum.n_qubits"] in (2, 3, 4, 5) for p in a)
    assert {p["model.attention"] for p in a} == {"vqc", "qsann"}
    logs = [math.log10(p["train.lr"]) for p in a]                                  # log-uniform: both decades
    assert min(logs) < -3 < max(logs)


@pytest.mark.parametrize("block, message", [
    ({"keys": {"train.lr": {"uniform": [0, 1]}}}, "distributions need mode: random"),
    ({"mode": "random", "keys": {"train.lr": [1]}}, "sweep.samples must be a positive integer"),
    ({"keys": {}}, "sweep.keys must map dotted config keys"),
    ({"keys": {"train.lr": [1]}, "variant": ["vqc"]}, r"unknown key sweep.variant \(did you mean 'variants'\?\)"),
    ({"keys": {"train.lr": [1]}, "variants": ["vqx"]}, r"not a variant \(did you mean 'vqc'\?\)"),
    ({"mode": "bayes", "keys": {"train.lr": [1]}}, "sweep.mode must be 'grid' or 'random'"),
])
def test_bad_sweeps_are_refused_with_one_clear_line(block, message):
    with pytest.raises(ValueError, match=message):
        expand_sweep(VARIANTS, block)


def test_ranges_written_as_yaml_text_are_numbers_and_repeated_draws_are_kept_once():
    import yaml
    block = yaml.safe_load("{mode: random, samples: 6, seed: 0, keys: {train.lr: {log_uniform: [1e-4, 1e-2]}}}")
    assert isinstance(block["keys"]["train.lr"]["log_uniform"][0], str)       # what PyYAML makes of 1e-4
    assert all(1e-4 <= p["train.lr"] <= 1e-2 for p in points(block))
    variants, where = expand_sweep(VARIANTS, {"mode": "random", "samples": 8, "seed": 0, "variants": ["vqc"],
                                              "keys": {"model.quantum.n_qubits": {"int": [2, 3]}}})
    assert sorted(where.values(), key=str) == [{"model.quantum.n_qubits": 2}, {"model.quantum.n_qubits": 3}]
    with pytest.raises(ValueError, match="must be two numbers"):
        points({"mode": "random", "samples": 1, "keys": {"train.lr": {"uniform": ["a", 1]}}})
