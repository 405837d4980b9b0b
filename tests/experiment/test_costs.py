"""What a run cost: the meter against independent clocks, the stated energy estimate, CodeCarbon offline."""
import time

import pytest

from qhybrid.costs import ESTIMATE_W_PER_CORE, GRID_KG_PER_KWH, RunMeter, add_costs


def busy(seconds: float) -> int:
    end, n = time.process_time() + seconds, 0
    while time.process_time() < end:
        n += 1
    return n


def test_meter_measures_cpu_and_wall_and_states_its_estimate():
    m = RunMeter("cpu", "estimate")
    t0 = time.perf_counter()
    m.start(); busy(0.3); time.sleep(0.2); part = m.stop()
    wall = time.perf_counter() - t0
    assert 0.28 <= part["cpu_s"] <= wall and 0.48 <= part["wall_s"] <= wall        # sleeping uses no CPU
    assert part["energy_kwh"] == pytest.approx(part["cpu_s"] * ESTIMATE_W_PER_CORE / 3.6e6)
    assert part["co2_kg"] == pytest.approx(part["energy_kwh"] * GRID_KG_PER_KWH)
    assert "assumed" in part["energy_method"] and part["device"] == "cpu" and part["peak_memory_bytes"] > 2**20


def test_sessions_add_up_and_off_records_no_energy():
    a = {"wall_s": 1.0, "cpu_s": 2.0, "energy_kwh": 1e-6, "co2_kg": 2e-7, "peak_memory_bytes": 5, "energy_method": "x"}
    b = {"wall_s": 0.5, "cpu_s": 1.0, "energy_kwh": 3e-6, "co2_kg": 1e-7, "peak_memory_bytes": 3, "energy_method": "x"}
    s = add_costs(a, b)
    assert s["wall_s"] == 1.5 and s["cpu_s"] == 3.0 and s["peak_memory_bytes"] == 5
    assert s["energy_kwh"] == pytest.approx(4e-6) and s["co2_kg"] == pytest.approx(3e-7)
    m = RunMeter("cpu", "off"); m.start()
    off = m.stop()
    assert off["energy_kwh"] is None and add_costs(a, off)["energy_kwh"] is None
    with pytest.raises(ValueError, match="train.energy must be one of estimate, codecarbon, off"):
        RunMeter("cpu", "rapl")


@pytest.mark.slow
def test_codecarbon_offline_measures_a_session():
    pytest.importorskip("codecarbon")
    m = RunMeter("cpu", "codecarbon")
    m.start(); busy(0.5); part = m.stop()
    assert part["energy_kwh"] > 0 and part["co2_kg"] > 0 and part["energy_method"].startswith("codecarbon")


def _cfg(out, **model):
    from qhybrid.config import run_config_from_dict
    return run_config_from_dict({"name": "c", "out_dir": str(out), "data": {"name": "toy_english"},
                                 "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1,
                                           "quantum": {"n_qubits": 2, "n_layers": 1}, **model},
                                 "train": {"steps": 4, "batch_size": 2, "eval_every": 2, "eval_batches": 1,
                                           "test_batches": 1, "checkpoint_every": 1, "progress": False}})


def test_every_run_records_its_cost_over_all_sessions(tmp_path):
    from qhybrid.train import Trainer
    Trainer(_cfg(tmp_path)).fit(stop_after=2)
    s = Trainer(_cfg(tmp_path)).fit(resume=True)
    c = s["cost"]
    assert c["device"] == "cpu" and c["cpu_s"] > 0 and c["wall_s"] > 0 and c["peak_memory_bytes"] > 0
    assert c["energy_kwh"] == pytest.approx(c["cpu_s"] * ESTIMATE_W_PER_CORE / 3.6e6)        # both sessions
    assert s["backend_usage"] == {}                                                    # exact simulator: no jobs


@pytest.mark.slow
@pytest.mark.qiskit
def test_jobs_on_a_sampling_backend_are_counted_across_a_resume(tmp_path):
    pytest.importorskip("qiskit_aer")
    from qhybrid.train import Trainer
    aer = {"ffn": "vqc", "quantum": {"n_qubits": 2, "n_layers": 1, "backend": "aer", "shots": 64}}
    whole = Trainer(_cfg(tmp_path / "a", **aer)).fit()
    Trainer(_cfg(tmp_path / "b", **aer)).fit(stop_after=1)
    resumed = Trainer(_cfg(tmp_path / "b", **aer)).fit(resume=True)
    assert whole["backend_usage"]["jobs"] > 0
    assert resumed["backend_usage"] == whole["backend_usage"] and resumed["test_loss"] == whole["test_loss"]
