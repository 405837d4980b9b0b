"""Core tests of the torch statevector backend (no PennyLane or Qiskit needed).

References: the independent numpy simulator in _refsim.py, closed-form expectations of tiny
circuits, finite differences, torch.autograd.gradcheck and binomial shot statistics.
"""
import math

import numpy as np
import pytest
import torch
from _refsim import ALL_GATES, ONE_QUBIT, n_params, random_circuit, random_words, ref_batch, ref_state, t64

from qhybrid import Circuit, Input, InputProduct, Weight, build_circuit
from qhybrid.circuit import GATES

TOL = 1e-10


def test_reference_covers_every_registered_gate():
    assert set(GATES) == set(ALL_GATES)


# ---- against the independent dense-matrix simulator -------------------------------------

def _scrambled(n: int, rng) -> Circuit:
    """A circuit whose output is a generic entangled state (so a gate's whole matrix matters)."""
    c = Circuit(n, n_inputs=2, n_weights=3)
    for q in range(n):
        c.rot(q, *rng.uniform(-np.pi, np.pi, 3))
    for q in range(n - 1):
        c.cnot(q, q + 1)
    for q in range(n):
        c.rot(q, *rng.uniform(-np.pi, np.pi, 3))
    return c


@pytest.mark.parametrize("name", ALL_GATES)
def test_each_gate_on_generic_state(name, fusion, rng):
    n = 3
    wire_sets = [(1,), (0,), (2,)] if name in ONE_QUBIT else [(0, 1), (1, 0), (2, 0), (0, 2), (1, 2)]
    for wires in wire_sets:
        c = _scrambled(n, rng)
        # one input-dependent copy (per-sample angles) and one weight copy (fusable run)
        params_x = [Input(k % 2, 1.3) for k in range(n_params(name))]
        params_w = [Weight(k, 0.7) for k in range(n_params(name))]
        c.add(name, wires, *params_x)
        c.add(name, wires, *params_w)
        c.h(2)
        c.add(name, wires, *[float(a) for a in rng.uniform(-3, 3, n_params(name))])
        x = rng.uniform(-2, 2, (4, 2))
        w = rng.uniform(-2, 2, 3)
        words = ["Z0", "X1", "Y2", "X0 Y1 Z2"]
        c.observe(*words)
        ref_psi, ref_ev = ref_batch(c, x, w, words)
        psi = c.state(t64(x), t64(w))
        assert psi.dtype == torch.complex128
        np.testing.assert_allclose(psi.numpy(), ref_psi, atol=TOL, err_msg=f"{name} on {wires}")
        np.testing.assert_allclose(c.run(t64(x), t64(w)).numpy(), ref_ev, atol=TOL, err_msg=f"{name} on {wires}")


@pytest.mark.parametrize("fuse", [True, False])
def test_fusion_switch_is_consulted(fuse, monkeypatch, rng):
    """Guards the `fusion` fixture: the simulator really asks `_should_fuse` (so patching it picks the path)."""
    from qhybrid.backends.statevector import engine
    calls = []
    monkeypatch.setattr(engine, "_should_fuse", lambda g, N, n: calls.append((g, N, n)) or fuse)
    c = random_circuit(3, rng)
    x, w = rng.uniform(-1, 1, (2, c.n_inputs)), rng.uniform(-1, 1, c.n_weights)
    _, ref_ev = ref_batch(c, x, w, ["Z0", "Z1", "Z2"])
    np.testing.assert_allclose(c.run(t64(x), t64(w)).numpy(), ref_ev, atol=TOL)
    assert calls and all(n == 3 and g >= 1 for g, N, n in calls)


@pytest.mark.parametrize("n", range(1, 9))
def test_random_circuits_match_reference(n, fusion, rng):
    for _ in range(2):
        c = random_circuit(n, rng)
        words = random_words(n, rng, 5)
        c.observe(*words)
        x = rng.uniform(-2, 2, (2, 3, c.n_inputs))
        w = rng.uniform(-2, 2, c.n_weights)
        ref_psi, ref_ev = ref_batch(c, x, w, words)
        np.testing.assert_allclose(c.state(t64(x), t64(w)).numpy(), ref_psi, atol=TOL)
        y = c.run(t64(x), t64(w))
        assert y.shape == (2, 3, len(words)) and y.dtype == torch.float64
        np.testing.assert_allclose(y.numpy(), ref_ev, atol=TOL)


@pytest.mark.parametrize("ansatz", ["strongly_entangling", "basic_entangler", "hardware_efficient_ring",
                                    "reuploading"])
@pytest.mark.parametrize("encoding", ["angle_x", "iqp", "none"])
def test_layered_templates_match_reference(encoding, ansatz, fusion, rng):
    """Wide layers of one-qubit gates on 7 wires with entangling rings (the simulator's structured paths)."""
    n = 7
    words = ["Z0", "X6", "Y3 Z4", "X0 Y1 X5"]
    c = build_circuit(n, 2, encoding=encoding, ansatz=ansatz, observables=words)
    x = rng.uniform(-2, 2, (3, c.n_inputs) if c.n_inputs else (0,))     # no features: inputs=None
    w = rng.uniform(-2, 2, c.n_weights)
    ref_psi, ref_ev = ref_batch(c, x, w, words)
    xt = t64(x) if c.n_inputs else None
    np.testing.assert_allclose(c.state(xt, t64(w)).numpy(), ref_psi, atol=TOL)
    np.testing.assert_allclose(c.run(xt, t64(w)).numpy(), ref_ev, atol=TOL)


@pytest.mark.parametrize("N", [1, 64, 300])
def test_batch_sizes_match_reference(N, rng):
    """The automatic fused / unfused choice depends on the batch size: check small and large batches."""
    c = random_circuit(3, rng, n_extra=12)
    words = random_words(3, rng, 4)
    c.observe(*words)
    x = rng.uniform(-2, 2, (N, c.n_inputs))
    w = rng.uniform(-2, 2, c.n_weights)
    _, ref_ev = ref_batch(c, x, w, words)
    np.testing.assert_allclose(c.run(t64(x), t64(w)).numpy(), ref_ev, atol=TOL)


def test_random_circuit_float32_close_to_reference(rng):
    c = random_circuit(4, rng)
    x, w = rng.uniform(-2, 2, (5, c.n_inputs)), rng.uniform(-2, 2, c.n_weights)
    ref_psi, ref_ev = ref_batch(c, x, w, ["Z0", "Z1", "Z2", "Z3"])
    psi = c.state(torch.tensor(x, dtype=torch.float32), torch.tensor(w, dtype=torch.float32))
    assert psi.dtype == torch.complex64
    np.testing.assert_allclose(psi.numpy(), ref_psi, atol=1e-5)


def test_plan_is_rebuilt_after_changes(rng):
    """Adding gates or changing observables after a run must not reuse a stale compiled plan."""
    c = _scrambled(3, rng)
    x, w = rng.uniform(-2, 2, (2, 2)), rng.uniform(-2, 2, 3)
    c.run(t64(x), t64(w))
    c.observe("X0 X1", "Y2")
    c.crx(2, 0, Weight(1)); c.ry(1, Input(0))
    c.run(t64(x), t64(w))
    c.isingyy(0, 2, Weight(2))
    c.observe("Z0 Y1", "X2", "Z1")
    _, ref_ev = ref_batch(c, x, w, ["Z0 Y1", "X2", "Z1"])
    np.testing.assert_allclose(c.run(t64(x), t64(w)).numpy(), ref_ev, atol=TOL)


def test_identity_observable_and_default_observables(rng):
    c = _scrambled(3, rng)
    x, w = rng.uniform(-2, 2, (2, 2)), rng.uniform(-2, 2, 3)
    y = c.run(t64(x), t64(w))                               # default: Z on every wire
    _, ref_ev = ref_batch(c, x, w, ["Z0", "Z1", "Z2"])
    np.testing.assert_allclose(y.numpy(), ref_ev, atol=TOL)
    c.observe("I0", "Z1", "I2 X0")
    y = c.run(t64(x), t64(w))
    np.testing.assert_allclose(y[:, 0].numpy(), 1.0, atol=TOL)
    _, ref_ev = ref_batch(c, x, w, ["Z1", "X0"])
    np.testing.assert_allclose(y[:, 1:].numpy(), ref_ev, atol=TOL)


def test_wire_zero_is_most_significant_bit():
    c = Circuit(3)
    c.x(0)
    psi = c.state().numpy()
    assert abs(psi[0b100]) == pytest.approx(1.0)
    c2 = Circuit(3)
    c2.x(2)
    assert abs(c2.state().numpy()[0b001]) == pytest.approx(1.0)
    c3 = Circuit(3)
    c3.x(0); c3.cnot(0, 2)
    assert abs(c3.state().numpy()[0b101]) == pytest.approx(1.0)


# ---- closed-form values and finite differences ------------------------------------------

def _fd(f, v: torch.Tensor, h=1e-6) -> torch.Tensor:
    """Central finite-difference Jacobian of f (vector -> vector) at v (1-D float64)."""
    cols = []
    for k in range(v.numel()):
        e = torch.zeros_like(v); e[k] = h
        cols.append((f(v + e) - f(v - e)) / (2 * h))
    return torch.stack(cols, -1)


def _jac(f, v):
    return torch.autograd.functional.jacobian(f, v)


@pytest.mark.parametrize("theta", [-2.7, -0.4, 0.0, 0.9, 3.0])
def test_ry_closed_form_and_gradients(theta):
    c = Circuit(1)
    c.ry(0, Input(0))
    c.observe("Z0", "X0", "Y0")
    f = lambda v: c.run(v)
    v = torch.tensor([theta], dtype=torch.float64)
    exact = torch.tensor([math.cos(theta), math.sin(theta), 0.0], dtype=torch.float64)
    exact_grad = torch.tensor([[-math.sin(theta)], [math.cos(theta)], [0.0]], dtype=torch.float64)
    torch.testing.assert_close(f(v), exact, atol=1e-12, rtol=0)
    torch.testing.assert_close(_jac(f, v), exact_grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(_fd(f, v), exact_grad, atol=1e-8, rtol=0)


@pytest.mark.parametrize("theta", [-1.1, 0.3, 2.2])
def test_rx_rz_phaseshift_closed_form(theta):
    v = torch.tensor([theta], dtype=torch.float64)
    s, co = math.sin(theta), math.cos(theta)
    c = Circuit(1); c.rx(0, Input(0)); c.observe("Z0", "Y0", "X0")
    torch.testing.assert_close(c.run(v), torch.tensor([co, -s, 0.0], dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(_jac(c.run, v)[:, 0], torch.tensor([-s, -co, 0.0], dtype=torch.float64),
                               atol=1e-12, rtol=0)
    for gate in ("rz", "phaseshift"):                       # H then a Z rotation: Bloch vector in the XY plane
        c = Circuit(1); c.h(0); c.add(gate, 0, Input(0)); c.observe("X0", "Y0", "Z0")
        torch.testing.assert_close(c.run(v), torch.tensor([co, s, 0.0], dtype=torch.float64), atol=1e-12, rtol=0)
        torch.testing.assert_close(_fd(c.run, v)[:, 0], torch.tensor([-s, co, 0.0], dtype=torch.float64),
                                   atol=1e-8, rtol=0)


def test_rot_closed_form():
    phi, theta, omega = 0.4, 1.2, -0.7
    c = Circuit(1); c.rot(0, Weight(0), Weight(1), Weight(2)); c.observe("X0", "Y0", "Z0")
    w = torch.tensor([phi, theta, omega], dtype=torch.float64)
    exact = [math.sin(theta) * math.cos(omega), math.sin(theta) * math.sin(omega), math.cos(theta)]
    torch.testing.assert_close(c.run(None, w), torch.tensor(exact, dtype=torch.float64), atol=1e-12, rtol=0)
    # d/dphi vanishes on |0> (RZ(phi)|0> is a phase); the rest from the closed form
    jac = torch.tensor([[0, math.cos(theta) * math.cos(omega), -math.sin(theta) * math.sin(omega)],
                        [0, math.cos(theta) * math.sin(omega), math.sin(theta) * math.cos(omega)],
                        [0, -math.sin(theta), 0]], dtype=torch.float64)
    torch.testing.assert_close(_jac(lambda v: c.run(None, v), w), jac, atol=1e-12, rtol=0)
    torch.testing.assert_close(_fd(lambda v: c.run(None, v), w), jac, atol=1e-8, rtol=0)


def test_bell_state_correlations():
    c = Circuit(2); c.h(0); c.cnot(0, 1)
    c.observe("Z0", "Z1", "Z0 Z1", "X0 X1", "Y0 Y1", "X0 Y1", "X0")
    torch.testing.assert_close(c.run(), torch.tensor([0, 0, 1, 1, -1, 0, 0], dtype=torch.float32),
                               atol=1e-6, rtol=0)
    psi = c.state().numpy()
    np.testing.assert_allclose(psi, np.array([1, 0, 0, 1]) / np.sqrt(2), atol=1e-6)


@pytest.mark.parametrize("theta", [-2.0, 0.5, 1.7])
def test_entangled_ry_cnot_closed_form(theta, fusion):
    c = Circuit(2); c.ry(0, Weight(0, 2.0)); c.cnot(0, 1)
    c.observe("Z1", "Z0 Z1", "X0 X1", "Y0 Y1")
    w = torch.tensor([theta / 2], dtype=torch.float64)          # Weight(0, 2.0): angle = theta
    s, co = math.sin(theta), math.cos(theta)
    exact = torch.tensor([co, 1.0, s, -s], dtype=torch.float64)
    torch.testing.assert_close(c.run(None, w), exact, atol=1e-12, rtol=0)
    grad = torch.tensor([[-2 * s], [0.0], [2 * co], [-2 * co]], dtype=torch.float64)
    torch.testing.assert_close(_jac(lambda v: c.run(None, v), w), grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(_fd(lambda v: c.run(None, v), w), grad, atol=1e-8, rtol=0)


def test_input_product_gradient_closed_form():
    c = Circuit(1); c.ry(0, InputProduct(0, 1, 0.5)); c.observe("Z0")
    x = torch.tensor([0.8, -1.9], dtype=torch.float64)
    a = 0.5 * x[0] * x[1]
    torch.testing.assert_close(c.run(x), torch.cos(a).reshape(1), atol=1e-12, rtol=0)
    grad = torch.stack([-0.5 * x[1] * torch.sin(a), -0.5 * x[0] * torch.sin(a)]).reshape(1, 2)
    torch.testing.assert_close(_jac(c.run, x), grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(_fd(c.run, x), grad, atol=1e-8, rtol=0)


# ---- gradcheck ----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradcheck_inputs_and_weights(n, fusion, rng):
    c = random_circuit(n, rng, n_extra=3, n_inputs=2, n_weights=4)
    c.observe(*random_words(n, rng, 3))
    x = t64(rng.uniform(-2, 2, (2, 2)), requires_grad=True)
    w = t64(rng.uniform(-2, 2, 4), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: c.run(a, b), (x, w), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradcheck(lambda a, b: c.state(a, b), (x, w), eps=1e-6, atol=1e-7)


def test_gradcheck_template(fusion, rng):
    c = build_circuit(4, 2, encoding="iqp", ansatz="strongly_entangling", observables=["Z0", "X1 Y3", "Y2"])
    x = t64(rng.uniform(-1, 1, (2, 4)), requires_grad=True)
    w = t64(rng.uniform(-2, 2, c.n_weights), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: c.run(a, b), (x, w), eps=1e-6, atol=1e-7)


# ---- dtypes, shapes and optional arguments ------------------------------------------------

def _small_circuit():
    c = Circuit(3, n_weights=3)
    c.ry(0, Input(0)); c.rx(1, Input(1)); c.cnot(0, 1); c.crz(1, 2, Weight(0)); c.rot(2, Weight(1), 0.3, Weight(2))
    c.observe("Z0", "X1 Y2")
    return c


@pytest.mark.parametrize("xdt,wdt,cdt,rdt", [
    (torch.float32, torch.float32, torch.complex64, torch.float32),
    (torch.float64, torch.float64, torch.complex128, torch.float64),
    (torch.float32, torch.float64, torch.complex128, torch.float64),
    (torch.float64, torch.float32, torch.complex128, torch.float64),
])
def test_dtypes(xdt, wdt, cdt, rdt):
    c = _small_circuit()
    x = torch.tensor([[0.1, 0.2]], dtype=xdt, requires_grad=True)
    w = torch.tensor([0.3, -0.4, 0.5], dtype=wdt, requires_grad=True)
    assert c.state(x, w).dtype == cdt
    y = c.run(x, w)
    assert y.dtype == rdt
    y.sum().backward()
    assert x.grad.dtype == xdt and w.grad.dtype == wdt


def test_integer_and_list_inputs_use_default_dtype():
    c = _small_circuit()
    y = c.run([[1, 0]], [0, 1, 2])
    assert y.dtype == torch.get_default_dtype() and y.shape == (1, 2)
    ref = c.run(torch.tensor([[1.0, 0.0]]), torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(y, ref)


@pytest.mark.parametrize("lead", [(), (5,), (2, 3, 4), (1,)])
def test_leading_dims_preserved(lead, rng):
    c = _small_circuit()
    x = rng.uniform(-2, 2, lead + (2,))
    w = rng.uniform(-2, 2, 3)
    y = c.run(t64(x), t64(w))
    psi = c.state(t64(x), t64(w))
    assert y.shape == lead + (2,)
    assert psi.shape == lead + (8,)
    flat_x = x.reshape(-1, 2)
    flat_y = y.reshape(-1, 2)
    for k in range(flat_x.shape[0]):                   # each sample equals running it alone
        torch.testing.assert_close(flat_y[k], c.run(t64(flat_x[k]), t64(w)), atol=TOL, rtol=0)
    np.testing.assert_allclose(psi.reshape(-1, 8).numpy(), np.stack([ref_state(c, xi, w) for xi in flat_x]),
                               atol=TOL)


def test_empty_batch():
    c = _small_circuit()
    y = c.run(torch.zeros(0, 2), torch.zeros(3))
    assert y.shape == (0, 2)
    y = c.run(torch.zeros(4, 0, 2), torch.zeros(3))
    assert y.shape == (4, 0, 2)


def test_weights_shape_is_flattened():
    c = _small_circuit()
    x = torch.tensor([0.3, -0.2], dtype=torch.float64)
    w = torch.tensor([0.5, 1.0, -1.5], dtype=torch.float64)
    torch.testing.assert_close(c.run(x, w.reshape(3, 1)), c.run(x, w))


def test_circuit_without_weights(rng):
    c = Circuit(2)
    c.ry(0, Input(0)); c.h(1); c.isingxx(0, 1, Input(1)); c.rz(1, 0.4)
    c.observe("Z0", "X1", "Y0 Y1")
    assert c.n_weights == 0
    x = rng.uniform(-2, 2, (3, 2))
    _, ref_ev = ref_batch(c, x, [], ["Z0", "X1", "Y0 Y1"])
    np.testing.assert_allclose(c.run(t64(x)).numpy(), ref_ev, atol=TOL)
    np.testing.assert_allclose(c.run(t64(x), None).numpy(), ref_ev, atol=TOL)
    np.testing.assert_allclose(c.run(t64(x), torch.empty(0, dtype=torch.float64)).numpy(), ref_ev, atol=TOL)
    np.testing.assert_allclose(c.run(t64(x), torch.empty(0)).numpy(), ref_ev, atol=TOL)


def test_batch_of_featureless_inputs():
    """A circuit with no Input gates (encoding='none') fed a batch x of shape (B, 0) -> (B, n_obs)."""
    c = Circuit(2); c.x(0); c.ry(1, Weight(0)); c.observe("Z0", "Z1")
    w = torch.tensor([0.3], dtype=torch.float64)
    y = c.run(torch.zeros(5, 0, dtype=torch.float64), w)
    torch.testing.assert_close(y, torch.tensor([-1.0, math.cos(0.3)], dtype=torch.float64).expand(5, 2))


def test_circuit_without_inputs_or_gates():
    c = Circuit(2)
    torch.testing.assert_close(c.run(), torch.tensor([1.0, 1.0]))
    psi = c.state()
    assert psi.shape == (4,)
    torch.testing.assert_close(psi, torch.tensor([1, 0, 0, 0], dtype=psi.dtype))
    c.rx(1, Weight(0))
    w = torch.tensor([0.7], dtype=torch.float64)
    torch.testing.assert_close(c.run(None, w), torch.tensor([1.0, math.cos(0.7)], dtype=torch.float64))


# ---- shots --------------------------------------------------------------------------------

def _shot_circuit():
    c = Circuit(2)
    c.ry(0, Input(0)); c.rx(1, Input(1)); c.cnot(0, 1)
    c.observe("Z0", "Z0 Z1", "X0", "Y1")
    return c


def test_shot_mean_converges_to_exact():
    c = _shot_circuit()
    reps, shots = 4000, 64
    x = torch.tensor([0.9, -2.1], dtype=torch.float64).expand(reps, 2)
    exact = c.run(x[0])
    est = c.run(x, shots=shots, generator=torch.Generator().manual_seed(1234))
    assert est.shape == (reps, 4)
    # every estimate is 2k/shots - 1 for an integer count k
    k = (est + 1) * shots / 2
    torch.testing.assert_close(k, torch.round(k), atol=1e-9, rtol=0)
    assert not torch.allclose(est, exact.expand_as(est))
    sigma = torch.sqrt((1 - exact ** 2) / (shots * reps))
    assert torch.all((est.mean(0) - exact).abs() <= 5 * sigma + 1e-12), (est.mean(0), exact, sigma)
    # the sample variance of single estimates matches (1 - y^2) / shots
    var = est.var(0)
    torch.testing.assert_close(var, (1 - exact ** 2) / shots, rtol=0.15, atol=1e-4)


def test_shots_on_eigenstates_are_exact():
    c = Circuit(2); c.x(0); c.rx(1, Input(0)); c.observe("Z0", "Z1", "Z0 Z1")
    est = c.run(torch.zeros(100, 1), shots=10, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(est, torch.tensor([-1.0, 1.0, -1.0]).expand(100, 3))


def test_shot_seeds():
    c = _shot_circuit()
    x = torch.rand(50, 2, dtype=torch.float64)
    a = c.run(x, shots=100, generator=torch.Generator().manual_seed(7))
    b = c.run(x, shots=100, generator=torch.Generator().manual_seed(7))
    d = c.run(x, shots=100, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert not torch.equal(a, d)


def test_shot_gradients_are_exact_gradients():
    c = _shot_circuit()
    x = torch.tensor([[0.4, 1.3], [-0.8, 0.2]], dtype=torch.float64, requires_grad=True)
    g_exact, = torch.autograd.grad(c.run(x).sum(), x)
    g_shots, = torch.autograd.grad(c.run(x, shots=10, generator=torch.Generator().manual_seed(3)).sum(), x)
    torch.testing.assert_close(g_shots, g_exact)
