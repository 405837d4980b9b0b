"""`density`: exact without noise, and the same numbers as Aer under the same noise model."""
import pytest
import torch

from qhybrid import Circuit, Input, Weight
from qhybrid.backends import get_backend


def _circuit():
    c = Circuit(3)
    c.ry(0, Input(0)); c.rx(1, Input(1, 0.7)); c.rz(2, Input(0) * Input(2)); c.h(2)
    c.crx(0, 1, Weight(0)); c.cry(1, 2, Weight(1, -1.3)); c.crz(2, 0, Weight(0)); c.rot(1, Weight(2), 0.3, Weight(3))
    c.isingxx(0, 2, Weight(4)); c.isingyy(1, 2, Input(1)); c.isingzz(0, 1, Weight(2)); c.phaseshift(2, Weight(5))
    c.cnot(0, 2); c.s(0); c.t(1); c.y(2); c.z(0); c.x(1); c.cz(0, 2); c.swap(1, 2)
    return c.observe("Z0", "X1 Y2", "Z0 Z2", "Y1", "X0 Y1 Z2")


def test_noiseless_density_equals_statevector_with_gradients():
    gen = torch.Generator().manual_seed(0)
    c = _circuit()
    x = torch.rand(2, 3, 3, dtype=torch.float64, generator=gen).requires_grad_()
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen).requires_grad_()
    g = torch.randn(2, 3, c.n_obs, dtype=torch.float64, generator=gen)
    ref, y = c.run(x, w), get_backend("density").expval(c, x, w)
    assert y.shape == (2, 3, 5) and torch.allclose(y, ref, atol=1e-10)
    for a, b in zip(torch.autograd.grad((y * g).sum(), (x, w)), torch.autograd.grad((ref * g).sum(), (x, w))):
        assert torch.allclose(a, b, atol=1e-10)
    rho = get_backend("density").density(c, x[0, 0], w)
    psi = c.state(x[0, 0], w)
    assert torch.allclose(rho, torch.outer(psi, psi.conj()), atol=1e-10)


def _noisy_pair(p1, p2, g1, g2, r01, r10):
    """The density backend and an Aer NoiseModel with the same channels after every gate, same readout."""
    from qiskit_aer.noise import NoiseModel, ReadoutError, amplitude_damping_error, depolarizing_error
    ad1 = amplitude_damping_error(g1)
    ad2 = amplitude_damping_error(g2)
    nm = NoiseModel(basis_gates=["rx", "ry", "rz", "cx", "cz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(p1, 1).compose(ad1), ["rx", "ry", "rz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(p2, 2).compose(ad2.tensor(ad2)), ["cx", "cz"])
    nm.add_all_qubit_readout_error(ReadoutError([[1 - r01, r01], [r10, 1 - r10]]))
    dens = get_backend("density", depol=(p1, p2), damping=(g1, g2), readout=(r01, r10))
    return dens, nm


def _plain_circuit():
    """Only gates both sides apply as ONE noisy gate (Rot and controlled rotations are split in Qiskit export)."""
    c = Circuit(3)
    c.ry(0, Input(0)); c.ry(1, Input(1)); c.rx(2, Input(2, 0.5))
    c.cnot(0, 1); c.rz(1, Weight(0)); c.cz(1, 2); c.rx(0, Weight(1)); c.cnot(2, 0); c.ry(2, Weight(2))
    return c.observe("Z0", "Z1", "X2", "Z0 Z2", "Y1 X2")


@pytest.mark.qiskit
def test_density_matches_aer_under_the_same_noise_model():
    dens, nm = _noisy_pair(0.02, 0.05, 0.01, 0.03, 0.04, 0.07)
    c = _plain_circuit()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(16, 3, dtype=torch.float64, generator=gen)
    w = torch.rand(c.n_weights, dtype=torch.float64, generator=gen)
    y = dens.expval(c, x, w)
    exact = get_backend("aer", exact=True, noise_model=nm).expval(c, x, w)
    assert torch.allclose(y, exact, atol=1e-10)                          # same channels, same numbers
    assert (y - c.run(x, w)).abs().max() > 0.02                          # and the noise is visible
    shots = 10000
    sampled = get_backend("aer", noise_model=nm, seed=3).expval(c, x, w, shots=shots)
    sigma = ((1 - y ** 2).clamp_min(1e-4) / shots).sqrt()
    assert ((sampled - y).abs() <= 5 * sigma).all()


@pytest.mark.qiskit
def test_density_from_fake_device_reads_its_error_rates():
    b = get_backend("density:fake_manila")
    p1, p2 = b.depol
    assert 0 < p1 < p2 < 0.1 and 0 < b.damping[0] < b.damping[1] < 0.01 and 0 < b.readout[0] < 0.1
    c = _plain_circuit()
    x, w = torch.rand(8, 3), torch.rand(c.n_weights)
    assert b.expval(c, x, w).abs().mean() < c.run(x, w).abs().mean()


def test_density_shots_are_binomial_around_the_exact_value():
    c = _plain_circuit()
    b = get_backend("density:depol1=0.01,depol2=0.02,readout=0.03")
    x = torch.rand(64, 3, dtype=torch.float64)
    w = torch.rand(c.n_weights, dtype=torch.float64, requires_grad=True)
    exact = b.expval(c, x, w)
    gen = torch.Generator().manual_seed(0)
    y = b.expval(c, x, w, shots=4000, generator=gen)
    sigma = ((1 - exact ** 2).clamp_min(1e-4) / 4000).sqrt()
    assert ((y - exact).abs() <= 5 * sigma).all() and not torch.equal(y, exact)
    y.sum().backward()
    assert w.grad is not None
