"""Cost before running: estimate_cost of one circuit and `qhybrid circuit --backend` for a configured run."""
import pytest
import yaml

import qhybrid
from qhybrid.backends import estimate_cost
from qhybrid.backends.qiskit.qpu_time import circuit_seconds

pytestmark = pytest.mark.qiskit


def test_estimate_cost_counts_and_qpu_model():
    c = qhybrid.build_circuit(4, 2, "angle_y", "strongly_entangling")     # 4 inputs + 24 weight angles
    cost = estimate_cost(c, "ibm:fake_manila", 256, shots=1000)
    assert cost["device"] == "fake_manila" and cost["shots"] == 1000
    assert cost["shift_terms_per_sample"] == 2 * 28
    assert cost["forward"] == {"jobs": 1, "circuits": 256, "total_shots": 256_000,
                               "qpu_seconds": pytest.approx(2.0 + 256_000 * (250e-6 + cost["circuit_seconds"]))}
    assert cost["training_step"]["jobs"] == 2 and cost["training_step"]["circuits"] == 256 * 57
    assert cost["two_qubit_gates"] >= 8 and cost["transpiled_depth"] > c.resources()["depth"]
    assert 1e-6 < cost["circuit_seconds"] < 1e-4
    more = estimate_cost(c, "ibm:fake_manila", 256, shots=4000)
    assert more["forward"]["qpu_seconds"] > 3 * cost["forward"]["qpu_seconds"]
    assert estimate_cost(c, "aer", 10)["forward"]["qpu_seconds"] is None          # simulators: no QPU time


def test_circuit_seconds_uses_reported_durations():
    from qiskit import QuantumCircuit
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2
    dev = FakeManilaV2()
    qc = QuantumCircuit(5)
    qc.sx(0); qc.cx(0, 1); qc.rz(0.3, 1)
    t = dev.target
    expect = t["sx"][(0,)].duration + t["cx"][(0, 1)].duration + max(t["measure"][(q,)].duration for q in (0, 1))
    assert circuit_seconds(qc, t) == pytest.approx(expect)


def test_cli_estimates_a_config_for_ibm_hardware_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    from qhybrid.cli import main
    cfg = {"model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1, "ffn": "vqc",
                     "quantum": {"n_qubits": 2, "n_layers": 1, "max_qpu_seconds": 60}},
           "train": {"steps": 10, "batch_size": 4, "eval_every": 5, "eval_batches": 1, "test_batches": 1}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["circuit", "--backend", "ibm:ibm_brisbane", str(path)]) == 0
    out = capsys.readouterr().out
    assert "RY(x0)" in out and "fake_brisbane" in out and "circuits/fwd" in out
    assert "blocks.0.ffn.vqc.vqc" in out and "          32" in out                  # 4 x 8 tokens per forward
    assert "EXCEEDS model.quantum.max_qpu_seconds = 60" in out
    assert main(["circuit", "--backend", "aer:fake_manila", "--qubits", "2", "--layers", "1", "--circuits", "10"]) == 0
    assert "training_step  jobs 2, circuits 170" in capsys.readouterr().out   # 10 * (1 + 2 * (2 + 6))
    assert main(["circuit", "--backend", "ibm:ibm_nowhere", str(path)]) == 2
    assert "no snapshot" in capsys.readouterr().err


@pytest.mark.parametrize("shots", [0, -5, 2.5, True])
def test_zero_or_bad_shots_are_refused(shots):
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        estimate_cost(c, "ibm:fake_manila", 4, shots=shots)


def _plan(model, data=None, **kw):
    from qhybrid.config import run_config_from_dict
    from qhybrid.planning import plan_run
    cfg = {"data": data or {"name": "toy_english", "options": {"n_train": 60, "n_valid": 12, "n_test": 12}},
           "model": {"context": 6, "d_model": 8, "n_heads": 2, "n_blocks": 1, **model,
                     "quantum": {"n_qubits": 2, "n_layers": 1}},
           "train": {"steps": 4, "batch_size": 3, "eval_every": 2, "eval_batches": 1, "test_batches": 1}}
    return plan_run(run_config_from_dict(cfg), "ibm:fake_manila", **kw)


def test_plan_refuses_zero_shots():
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        _plan({"ffn": "vqc"}, shots=0)


def test_plan_says_quixer_cannot_run_on_hardware(capsys):
    from qhybrid.cli import _print_plan
    p = _plan({"attention": "quixer"})
    assert not p["complete"] and [r["layer"] for r in p["not_on_hardware"]] == ["QuixerAttention"]
    assert "simulated exactly" in p["not_on_hardware"][0]["why"]
    _print_plan(p)
    out = capsys.readouterr().out
    assert "NOT estimated, cannot run on hardware" in out and "no part of this model runs" in out


def test_plan_estimates_kernel_attention_as_overlap_circuits():
    p = _plan({"attention": "kernel"})
    (row,) = [r for r in p["circuits"] if r["kind"] == "kernel_overlap"]
    assert row["forward"]["circuits"] == 3 * 2 * (6 * 7 // 2)          # batch x heads x causal pairs
    assert row["forward"]["qpu_seconds"] > 0 and p["step_qpu_seconds"] > 0 and p["complete"]
    assert row["n_qubits"] == 2 and row["shift_terms_per_sample"] > 0


def test_plan_sizes_classifiers_by_their_sentences():
    p = _plan({"ffn": "vqc", "context": 32}, data={"name": "toy_mc"})
    (row,) = p["circuits"]
    assert row["forward"]["circuits"] < 3 * 32 / 2                      # sentences of a few words, not 32 tokens
    assert "padded to their longest" in p["dry_batch"]


def test_overlap_circuit_gives_the_fidelity():
    import torch

    from qhybrid.layers.attention import overlap_circuit
    phi = qhybrid.build_circuit(3, 2, "angle_y", "reuploading")
    phi.s(0); phi.t(1); phi.h(2); phi.crx(0, 1, qhybrid.Weight(0))
    a, b = torch.rand(5, 3, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64)
    w = torch.rand(phi.n_weights, dtype=torch.float64)
    fid = ((phi.state(a, w).conj() * phi.state(b, w)).sum(-1).abs() ** 2)
    p0 = overlap_circuit(phi).state(torch.cat([a, b], -1), w)[:, 0].abs() ** 2
    assert torch.allclose(p0, fid, atol=1e-10)
