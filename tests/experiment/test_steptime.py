"""Side-by-side step times: every variant timed in the same rounds, a slower model measures slower."""
from qhybrid.steptime import step_times

BASE = {"data": {"name": "toy_english"}, "train": {"batch_size": 8, "progress": False},
        "model": {"context": 16, "n_heads": 2, "n_blocks": 1}}


def test_a_bigger_model_is_slower_and_the_spread_is_ordered():
    small = {**BASE, "name": "s", "model": {**BASE["model"], "d_model": 8}}
    big = {**BASE, "name": "b", "model": {**BASE["model"], "d_model": 256, "n_blocks": 4}}
    t = step_times({"small": small, "big": big}, repeats=5)
    assert set(t) == {"small", "big"} and all(r["repeats"] == 5 for r in t.values())
    assert all(r["q25_ms"] <= r["median_ms"] <= r["q75_ms"] for r in t.values())
    assert t["big"]["median_ms"] > 2 * t["small"]["median_ms"]           # about 100x the compute


def test_variants_on_job_backends_are_not_timed_and_one_thread_holds():
    import torch
    aer = {**BASE, "name": "a", "model": {**BASE["model"], "d_model": 8, "ffn": "vqc",
                                         "quantum": {"n_qubits": 2, "n_layers": 1, "backend": "aer"}},
           "train": {**BASE["train"], "threads": 2}}
    small = {**BASE, "name": "s", "model": {**BASE["model"], "d_model": 8}, "train": {**BASE["train"], "threads": 2}}
    before = torch.get_num_threads()
    seen = []
    import qhybrid.steptime as st
    real = st.Trainer

    class Spy(real):
        def train_step(self):
            seen.append(torch.get_num_threads())
            return super().train_step()
    st.Trainer = Spy
    try:
        t = st.step_times({"aer": aer, "small": small}, repeats=2)
    finally:
        st.Trainer = real
    assert set(t) == {"small"} and set(seen) == {1} and torch.get_num_threads() == before
