"""`aer` / `aer:<fake device>`: agreement with the exact simulator, parameter-shift gradients, one job per
pass, device noise, a training step of a tiny model."""
import numpy as np
import pytest
import torch

import qhybrid
from qhybrid import Circuit, Input, InputProduct, Weight
from qhybrid.backends import get_backend
from qhybrid.backends.qiskit.expand import Expanded
from qhybrid.backends.qiskit.param_shift import shift_expval

pytestmark = pytest.mark.qiskit


def mixed_circuit():
    """Every parameterised gate kind, inputs used twice / scaled / multiplied, weights shared and scaled."""
    c = Circuit(3)
    c.ry(0, Input(0)); c.rx(1, Input(1, 0.7)); c.rz(2, Input(0) * Input(2)); c.h(2)
    c.crx(0, 1, Weight(0)); c.cry(1, 2, Weight(1, -1.3)); c.crz(2, 0, Weight(0))
    c.rot(1, Weight(2), 0.3, Weight(3)); c.isingxx(0, 2, Weight(4)); c.isingyy(1, 2, Input(1))
    c.isingzz(0, 1, Weight(2)); c.phaseshift(2, Weight(5)); c.cnot(0, 2); c.s(0); c.cz(0, 2); c.swap(1, 2)
    return c.observe("Z0", "X1 Y2", "Z0 Z2", "Y1")


def _grads(y, x, w, g):
    return torch.autograd.grad((y * g).sum(), (x, w))


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(3)
    c = mixed_circuit()
    x = torch.rand(5, 3, dtype=torch.float64, generator=gen).requires_grad_()
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen).requires_grad_()
    g = torch.randn(5, c.n_obs, dtype=torch.float64, generator=gen)
    return c, x, w, g


def test_exact_aer_matches_statevector_values_and_shift_gradients(data):
    c, x, w, g = data
    ref = c.run(x, w)
    y = get_backend("aer", exact=True).expval(c, x, w)
    assert torch.allclose(y, ref, atol=1e-10)
    for a, b in zip(_grads(y, x, w, g), _grads(ref, x, w, g)):
        assert torch.allclose(a, b, atol=1e-10)


def test_four_term_rule_for_native_controlled_rotations(data):
    """Without decomposition crx/cry/crz keep one parameter each and use the four-term rule (exact runner)."""
    from qiskit.quantum_info import Statevector
    c, x, w, g = data
    exp = Expanded(c, decompose_controlled=False)
    assert sum(len(r) == 4 for r in exp.rules) == 3

    def run(values):                                     # exact, one circuit at a time (test only)
        return np.array([[Statevector(exp.qc.assign_parameters(dict(zip(exp.params, v)))).expectation_value(o).real
                          for o in exp.observables] for v in values])
    y = shift_expval(exp, x, w, run)
    ref = c.run(x, w)
    assert torch.allclose(y, ref, atol=1e-10)
    for a, b in zip(_grads(y, x, w, g), _grads(ref, x, w, g)):
        assert torch.allclose(a, b, atol=1e-10)


def test_one_job_per_forward_and_one_per_backward(data, monkeypatch):
    c, x, w, g = data
    b = get_backend("aer", shots=100)
    calls = []
    orig = b.estimator.run
    monkeypatch.setattr(b.estimator, "run", lambda pubs, **kw: calls.append(len(pubs)) or orig(pubs, **kw))
    y = b.expval(c, x.reshape(5, 1, 3).expand(5, 2, 3), w)           # leading dims (5, 2): 10 parameter sets
    assert y.shape == (5, 2, 4) and calls == [1]
    y.sum().backward()
    assert calls == [1, 1]                                          # all shifted sets in ONE PUB of ONE job


def test_shot_estimates_within_five_sigma(data):
    c, _, _, _ = data
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, dtype=torch.float64, generator=gen)
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen)
    shots = 20000
    y = get_backend("aer", seed=1).expval(c, x, w, shots=shots)
    ref = c.run(x, w)
    sigma = ((1 - ref ** 2).clamp_min(1e-4) / shots).sqrt()
    assert ((y - ref).abs() <= 5 * sigma).all()
    assert (y - ref).abs().mean() > 0                               # really sampled


def test_shot_gradients_statistically_match_autograd(data):
    c, x, w, g = data
    shots = 20000
    y = get_backend("aer", seed=2).expval(c, x, w, shots=shots)
    gx, gw = _grads(y, x, w, g)
    rx, rw = _grads(c.run(x, w), x, w, g)
    # Var of a gradient entry <= sum over its occurrences k of slope_k^2 * (1/4 + 1/4) * sum_o g^2 / shots
    # (two-term rule, each shifted estimate has variance (1 - y^2)/shots <= 1/shots; products x_i x_j: slope
    # <= |scale| as x < 1)
    # slope^2 summed per weight / feature, read from the circuit: a controlled rotation runs as two half-angle
    # occurrences (slopes scale/2 each), every other angle as one occurrence of slope scale
    s_w = torch.zeros(c.n_weights, dtype=torch.float64)
    s_x = torch.zeros(c.n_inputs, dtype=torch.float64)
    for op in c.ops:
        halves = op.name in ("crx", "cry", "crz")
        for p in op.params:
            if isinstance(p, float):
                continue
            slope2 = p.scale ** 2 * (0.5 if halves else 1.0)
            if isinstance(p, Weight):
                s_w[p.index] += slope2
            elif isinstance(p, InputProduct):
                s_x[p.i] += slope2
                s_x[p.j] += slope2
            else:
                s_x[p.index] += slope2
    sigma_w = ((g ** 2).sum() * 0.5 * s_w / shots).sqrt()
    sigma_x = ((g ** 2).sum(1, keepdim=True) * 0.5 * s_x / shots).sqrt()
    assert ((gw - rw).abs() <= 5 * sigma_w + 1e-12).all()
    assert ((gx - rx).abs() <= 5 * sigma_x + 1e-12).all()
    assert (gw - rw).abs().max() > 0                                # really sampled


def test_fake_device_noise_shrinks_expectations():
    c = qhybrid.build_circuit(3, 1, "angle_y", "strongly_entangling")
    gen = torch.Generator().manual_seed(4)
    x = 0.3 * torch.rand(32, 3, generator=gen)
    w = 0.2 * torch.rand(c.n_weights, generator=gen)
    ideal = c.run(x, w)
    noisy = get_backend("aer:fake_manila", exact=True).expval(c, x, w)
    assert ideal.abs().mean() > 0.5
    assert noisy.abs().mean() < 0.97 * ideal.abs().mean()
    assert (noisy - ideal).abs().max() < 0.3                         # noisy, but the same circuit


def test_transpile_once_per_circuit():
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    b = get_backend("aer:fake_manila", shots=64)
    for _ in range(3):
        b.expval(c, torch.rand(4, 2), torch.rand(c.n_weights))
    assert len(b._cache) == 1


def test_tiny_lm_training_step_on_fake_manila():
    from qhybrid.models import ModelConfig, QuantumConfig, TinyLM
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=11, context=4, d_model=8, n_heads=2, n_blocks=1, ffn="vqc",
                      quantum=QuantumConfig(n_qubits=2, n_layers=1, backend="aer:fake_manila", shots=256))
    model = TinyLM(cfg)
    runner = model.blocks[0].ffn.vqc.vqc
    assert runner.backend_name == "aer:fake_manila"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    idx = torch.randint(11, (2, 4))
    before = runner.weights.detach().clone()
    _, loss = model(idx, idx)
    opt.zero_grad(); loss.backward(); opt.step()
    assert torch.isfinite(loss) and runner.weights.grad is not None and runner.weights.grad.abs().sum() > 0
    assert not torch.equal(before, runner.weights.detach())
