"""`pennylane:<device>`: QNodes with broadcasting agree with the statevector backend (values and gradients)."""
import pytest
import torch

import qhybrid
from qhybrid import Circuit, Input, Weight
from qhybrid.backends import get_backend

pytestmark = pytest.mark.pennylane


def _circuit():
    c = Circuit(3)
    c.ry(0, Input(0)); c.rx(1, Input(1, 0.7)); c.rz(2, Input(0) * Input(2)); c.h(2)
    c.crx(0, 1, Weight(0)); c.cry(1, 2, Weight(1, -1.3)); c.crz(2, 0, Weight(0)); c.rot(1, Weight(2), 0.3, Weight(3))
    c.isingxx(0, 2, Weight(4)); c.isingyy(1, 2, Input(1)); c.isingzz(0, 1, Weight(2)); c.phaseshift(2, Weight(5))
    c.cnot(0, 2); c.s(0); c.t(1); c.cz(0, 2); c.swap(1, 2)
    return c.observe("Z0", "X1 Y2", "Z0 Z2", "Y1")


@pytest.mark.parametrize("device", ["lightning.qubit", "default.qubit"])
def test_pennylane_device_matches_statevector_float64(device):
    gen = torch.Generator().manual_seed(0)
    c = _circuit()
    x = torch.rand(2, 4, 3, dtype=torch.float64, generator=gen).requires_grad_()     # two leading dims
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen).requires_grad_()
    g = torch.randn(2, 4, c.n_obs, dtype=torch.float64, generator=gen)
    y, ref = get_backend(f"pennylane:{device}").expval(c, x, w), c.run(x, w)
    assert y.shape == (2, 4, 4) and y.dtype == torch.float64
    assert torch.allclose(y, ref, atol=1e-8, rtol=0)
    for a, b in zip(torch.autograd.grad((y * g).sum(), (x, w)), torch.autograd.grad((ref * g).sum(), (x, w))):
        assert torch.allclose(a, b, atol=1e-8, rtol=0)


def test_input_free_circuit_and_template():
    c = Circuit(2, n_weights=1)
    c.ry(0, Weight(0)); c.cnot(0, 1)
    y = get_backend("pennylane:default.qubit").expval(c, None, torch.tensor([0.4]))
    assert y.shape == (2,) and torch.allclose(y, c.run(None, torch.tensor([0.4])), atol=1e-6)
    t = qhybrid.build_circuit(3, 2, "angle_y", "strongly_entangling")
    x, w = torch.rand(5, 3), torch.rand(t.n_weights)
    assert torch.allclose(get_backend("pennylane:lightning.qubit").expval(t, x, w), t.run(x, w), atol=1e-5)


def test_shots_sample():
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    x, w = torch.rand(3, 2, dtype=torch.float64), torch.rand(c.n_weights, dtype=torch.float64)
    y = get_backend("pennylane:default.qubit", shots=20000).expval(c, x, w)
    assert (y - c.run(x, w)).abs().max() < 5 / 20000 ** 0.5


@pytest.mark.parametrize("options", [dict(diff_method="parameter-shift"), dict(shots=2000)])
def test_parameter_shift_gradients_through_a_batch(options):
    """Parameter shift (asked for, or what shots resolve to) differentiates a batch: the broadcast is expanded."""
    c = _circuit()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 3, dtype=torch.float64, generator=gen).requires_grad_()
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen).requires_grad_()
    g = torch.randn(2, 3, c.n_obs, dtype=torch.float64, generator=gen)
    y = get_backend("pennylane:default.qubit", **options).expval(c, x, w)
    ref = c.run(x, w)
    tol = 1e-8 if "shots" not in options else 0.5
    assert y.shape == (2, 3, 4)
    for a, b in zip(torch.autograd.grad((y * g).sum(), (x, w)), torch.autograd.grad((ref * g).sum(), (x, w))):
        assert a.shape == b.shape and torch.allclose(a, b, atol=tol, rtol=0)


@pytest.mark.slow
def test_training_step_with_shots_is_reproducible_from_torch_seed():
    from qhybrid.models import ModelConfig, QuantumConfig, TinyLM

    def losses(seed):
        torch.manual_seed(seed)
        cfg = ModelConfig(vocab_size=7, context=3, d_model=4, n_heads=1, n_blocks=1, ffn="vqc",
                          quantum=QuantumConfig(n_qubits=2, n_layers=1, backend="pennylane:default.qubit", shots=32))
        model = TinyLM(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        out = []
        for _ in range(2):
            idx = torch.randint(7, (2, 3))
            _, loss = model(idx, idx)
            opt.zero_grad(); loss.backward(); opt.step()
            assert model.blocks[0].ffn.vqc.vqc.weights.grad.abs().sum() > 0
            out.append(loss.item())
        return out

    assert losses(0) == losses(0) != losses(1)
