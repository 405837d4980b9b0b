"""Sampling backends are reproducible from torch's RNG (the trainer seeds it and checkpoints its state), and a
backend's usage (jobs, QPU seconds) can be read and restored, so a resumed run keeps its budget."""
import pytest
import torch

from qhybrid.backends import BudgetExceededError, LazyBackend, get_backend
from qhybrid.models import ModelConfig, QuantumConfig, TinyLM

pytestmark = pytest.mark.qiskit


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    import qiskit_ibm_runtime.accounts.management as mgmt
    for var in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QHYBRID_IBM_LOCAL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(mgmt, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(tmp_path / "none.json"))


def _model(backend, **quantum):
    cfg = ModelConfig(vocab_size=11, context=3, d_model=4, n_heads=1, n_blocks=1, ffn="vqc",
                      quantum=QuantumConfig(n_qubits=2, n_layers=1, backend=backend, shots=64, **quantum))
    return TinyLM(cfg)


def _losses(model, steps, state=None):
    """Training steps as the trainer takes them: batches and shot noise from torch's global RNG."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    if state is not None:
        model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"]), torch.set_rng_state(state["rng"])
    out = []
    for _ in range(steps):
        idx = torch.randint(11, (2, 3))
        _, loss = model(idx, idx)
        opt.zero_grad(); loss.backward(); opt.step()
        out.append(loss.item())
    return out, {"model": model.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state()}


def _run(backend, seed, steps=2):
    torch.manual_seed(seed)
    return _losses(_model(backend), steps)[0]


@pytest.mark.parametrize("backend", ["aer", pytest.param("ibm:fake_manila", marks=pytest.mark.slow)])
def test_same_torch_seed_same_shots(backend, no_account):
    a, b, c = _run(backend, 0), _run(backend, 0), _run(backend, 1)
    assert a == b
    assert a != c


def test_resume_continues_the_same_shots():
    torch.manual_seed(3)
    whole, _ = _losses(_model("aer"), 3)
    torch.manual_seed(3)
    model = _model("aer")
    first, state = _losses(model, 1)
    torch.manual_seed(99)                                # a fresh process: the checkpoint restores the RNG
    rest, _ = _losses(_model("aer"), 2, state)
    assert first + rest == whole


def test_a_given_generator_seeds_the_jobs():
    import qhybrid
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    b = get_backend("aer", shots=50)
    x, w = torch.rand(4, 2), torch.rand(c.n_weights)
    ys = [b.expval(c, x, w, generator=torch.Generator().manual_seed(s)) for s in (5, 5, 6)]
    assert torch.equal(ys[0], ys[1]) and not torch.equal(ys[0], ys[2])


def test_ibm_usage_is_read_and_restored_so_the_budget_survives_a_resume(no_account):
    model = _model("ibm:fake_manila", max_qpu_seconds=1e6)
    assert model.backend_usage() == {"backend": "ibm:fake_manila", "jobs": 0, "qpu_seconds": 0.0}
    _losses(model, 1)
    used = model.backend_usage()
    assert used["jobs"] == 2 and used["qpu_seconds"] > 0           # one circuit: a forward and a backward job

    resumed = _model("ibm:fake_manila", max_qpu_seconds=used["qpu_seconds"] + 1.0)
    resumed.restore_backend_usage(used)                              # before the backend is even built
    assert resumed.backend_usage() == used
    with pytest.raises(BudgetExceededError, match="already used"):
        _losses(resumed, 1)
    assert resumed.backend_usage()["jobs"] == used["jobs"]


def test_aer_counts_jobs_and_reports_no_qpu_time():
    model = _model("aer")
    _losses(model, 1)
    u = model.backend_usage()
    assert u["backend"] == "aer" and u["jobs"] > 0 and u["qpu_seconds"] is None
    other = _model("aer")
    other.restore_backend_usage(u)
    assert other.backend_usage() == u


def test_lazy_backend_passes_usage_through():
    lazy = LazyBackend("aer", shots=10)
    lazy.restore_usage({"jobs": 7, "qpu_seconds": None})
    assert lazy._backend is None and lazy.usage()["jobs"] == 7
    assert lazy.backend.usage()["jobs"] == 7                         # applied when the backend is built
    with pytest.raises(ValueError, match="jobs"):
        lazy.restore_usage({"jobs": -1})


def test_exact_model_has_no_usage():
    cfg = ModelConfig(vocab_size=11, context=3, d_model=4, n_heads=1, n_blocks=1, ffn="vqc",
                      quantum=QuantumConfig(n_qubits=2, n_layers=1))
    m = TinyLM(cfg)
    assert m.backend_usage() == {}
    m.restore_backend_usage({})
