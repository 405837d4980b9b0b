"""`ibm:<device>` end to end in qiskit-ibm-runtime's local testing mode, budget, retries, and the token:
it must never appear in an error message, a log record, a repr or a run directory."""
import logging
import pickle
import traceback

import pytest
import torch
import yaml

import qhybrid
from qhybrid.backends import BudgetExceededError, QPUJobError, get_backend

pytestmark = pytest.mark.qiskit
TOKEN = "qhybrid-FAKE-token-0123456789abcdef"


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    """No env token, no saved account, no forced local mode."""
    import qiskit_ibm_runtime.accounts.management as mgmt
    for var in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QHYBRID_IBM_LOCAL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(mgmt, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(tmp_path / "none.json"))


@pytest.fixture
def fake_token(no_account, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    return TOKEN


def _everything(err: BaseException) -> str:
    return str(err) + repr(err) + "".join(traceback.format_exception(err))


def test_local_testing_mode_end_to_end_one_job_per_pass(no_account, monkeypatch):
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    b = get_backend("ibm:fake_manila", shots=4000)
    assert b.local and "local=True" in repr(b)
    runs = []
    est = b._get_estimator()
    orig = est.run
    monkeypatch.setattr(est, "run", lambda pubs, **kw: runs.append(len(pubs)) or orig(pubs, **kw))
    x = torch.rand(3, 2, requires_grad=True)
    w = torch.rand(c.n_weights, requires_grad=True)
    y = b.expval(c, x, w)
    assert y.shape == (3, 2) and (y - c.run(x, w)).abs().max() < 0.25      # noisy snapshot, 4000 shots
    y.sum().backward()
    assert runs == [1, 1] and b.jobs == 2                                    # one PUB per job, one job per pass
    assert w.grad.abs().sum() > 0 and x.grad.shape == (3, 2)
    assert b.budget.used > 0


def test_forced_local_mode_maps_a_real_name_to_its_snapshot(no_account, monkeypatch):
    monkeypatch.setenv("QHYBRID_IBM_LOCAL", "1")
    b = get_backend("ibm:ibm_brisbane")
    assert b.local and b.device.name == "fake_brisbane"
    with pytest.raises(ValueError, match="only in local testing mode"):
        get_backend("ibm:fake_manila", local=False)


def test_budget_refuses_before_submitting(no_account):
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    b = get_backend("ibm:fake_manila", max_qpu_seconds=1.0)
    with pytest.raises(BudgetExceededError, match=r"max_qpu_seconds = 1.*qhybrid circuit --backend"):
        b.expval(c, torch.rand(4, 2), torch.rand(c.n_weights))
    assert b.jobs == 0 and b._estimator is None                              # nothing was submitted
    from qhybrid.models import ModelConfig, QuantumConfig, TinyLM
    cfg = ModelConfig(vocab_size=7, context=3, d_model=4, n_heads=1, n_blocks=1, ffn="vqc",
                      quantum=QuantumConfig(n_qubits=2, n_layers=1, backend="ibm:fake_manila", max_qpu_seconds=2))
    with pytest.raises(ValueError, match="max_qpu_seconds = 2"):
        TinyLM(cfg)(torch.randint(7, (1, 3)))


class _FlakyEstimator:
    """Fails `fails` times with a transient runtime error (quoting `secret`), then runs the real estimator."""

    def __init__(self, real, fails, secret=""):
        self.real, self.fails, self.secret, self.options = real, fails, secret, real.options

    def run(self, pubs, **kw):
        from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError
        if self.fails:
            self.fails -= 1
            raise RuntimeJobFailureError(f"Job failed: device in maintenance (auth {self.secret})")
        return self.real.run(pubs, **kw)


def test_transient_failures_are_retried_with_exponential_backoff(no_account):
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    sleeps = []
    b = get_backend("ibm:fake_manila", retries=3, backoff_s=0.5, sleep=sleeps.append)
    b._estimator = _FlakyEstimator(b._get_estimator(), fails=2)
    y = b.expval(c, torch.rand(2, 2), torch.rand(c.n_weights))
    assert torch.isfinite(y).all() and sleeps == [0.5, 1.0] and b.jobs == 1
    b._estimator = _FlakyEstimator(b._estimator.real, fails=10)
    with pytest.raises(QPUJobError, match="failed 4 time.*--resume"):
        b.expval(c, torch.rand(2, 2), torch.rand(c.n_weights))
    assert sleeps == [0.5, 1.0, 0.5, 1.0, 2.0]


def test_missing_token_says_how_to_set_it(no_account):
    with pytest.raises(ValueError, match=r"QISKIT_IBM_TOKEN.*save_account.*QHYBRID_IBM_LOCAL"):
        get_backend("ibm:ibm_brisbane")


def test_token_never_leaks(fake_token, monkeypatch, caplog):
    import qiskit_ibm_runtime as rt
    caplog.set_level(logging.DEBUG)

    class ChattyService:                                    # the worst case: errors that quote the token
        def __init__(self, *a, **k):
            logging.getLogger("qiskit_ibm_runtime.api").debug("Authorization: Bearer %s", fake_token)
            if k.get("instance") == "bad":
                raise RuntimeError(f"401 Unauthorized for token {fake_token}")

        def backend(self, name):
            raise RuntimeError(f"backend {name} not found (token={fake_token})")

        def backends(self):
            return []

    monkeypatch.setattr(rt, "QiskitRuntimeService", ChattyService)
    errors = []
    for kw in ({"instance": "bad"}, {}):
        with pytest.raises(ValueError) as e:
            get_backend("ibm:ibm_brisbane", **kw)
        errors.append(e.value)
    assert "could not open IBM Quantum" in str(errors[0]) and "not available to this account" in str(errors[1])
    # a job failure that quotes the token, in local mode
    b = get_backend("ibm:fake_manila", retries=1, backoff_s=0.0, sleep=lambda s: None)
    b._estimator = _FlakyEstimator(b._get_estimator(), fails=5, secret=fake_token)
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    with pytest.raises(QPUJobError) as e:
        b.expval(c, torch.rand(2, 2), torch.rand(c.n_weights))
    errors.append(e.value)
    logging.getLogger("qhybrid.backends").error("oops %s", fake_token)
    texts = [_everything(err) for err in errors] + [caplog.text, repr(b)]
    assert all(fake_token not in t for t in texts)
    assert "***" in str(errors[0]) and "***" in caplog.text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(b)


def test_training_run_in_local_mode_writes_no_token(fake_token, tmp_path):
    from qhybrid.cli import main
    cfg = {"name": "ibm-local", "out_dir": str(tmp_path / "runs"),
           "data": {"name": "toy_english", "options": {"n_train": 60, "n_valid": 12, "n_test": 12}},
           "model": {"context": 3, "d_model": 4, "n_heads": 1, "n_blocks": 1, "ffn": "vqc",
                     "quantum": {"n_qubits": 2, "n_layers": 1, "backend": "ibm:fake_manila", "shots": 256,
                                 "max_qpu_seconds": 100000}},
           "train": {"steps": 1, "batch_size": 1, "eval_every": 1, "eval_batches": 1, "test_batches": 1,
                     "checkpoint_every": 1, "progress": False}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path)]) == 0
    files = [f for f in (tmp_path / "runs" / "ibm-local").rglob("*") if f.is_file()]
    assert any(f.name == "checkpoint.pt" for f in files)
    assert all(fake_token.encode() not in f.read_bytes() for f in files)


@pytest.mark.filterwarnings("ignore:The resilience_level option has no effect")
def test_account_path_with_a_stand_in_service(fake_token, monkeypatch):
    """The non-local branch (service -> device -> Batch -> EstimatorV2 with resilience options), with a service
    whose device is a snapshot, so it runs offline."""
    import qiskit_ibm_runtime as rt
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    class Service:
        def __init__(self, *a, **k):
            pass

        def backend(self, name):
            assert name == "ibm_manila"
            return FakeManilaV2()

    monkeypatch.setattr(rt, "QiskitRuntimeService", Service)
    b = get_backend("ibm:ibm_manila", max_qpu_seconds=1e6)
    assert not b.local
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    w = torch.rand(c.n_weights, requires_grad=True)
    b.expval(c, torch.rand(2, 2), w).sum().backward()
    assert b.jobs == 2 and b._estimator.options.resilience_level == 0 and w.grad is not None
    b.close()
    assert b._estimator is None
