"""Causal LCU + QSVT token mixing checked against a brute-force dense construction (2-3 qubits)."""
import numpy as np
import pytest
import torch

from qhybrid.layers.quixer import QuixerAttention, circuit_unitaries, lcu_qsvt_states, token_circuit, token_unitaries


def dense_unitary(circuit, angles: np.ndarray) -> np.ndarray:
    """Textbook construction: kron of 2x2 matrices for RY/RZ, explicit CNOT, wire 0 most significant."""
    n = circuit.n_qubits
    I2 = np.eye(2)

    def on(gate, wire):
        mats = [gate if q == wire else I2 for q in range(n)]
        out = mats[0]
        for m in mats[1:]:
            out = np.kron(out, m)
        return out

    U = np.eye(2 ** n, dtype=complex)
    for op in circuit.ops:
        if op.name == "cnot":
            c, t = op.wires
            P0 = on(np.diag([1, 0]), c)
            P1 = on(np.diag([0, 1]), c)
            X = np.array([[0, 1], [1, 0]])
            g = P0 + P1 @ on(X, t)
        else:
            th = angles[op.params[0].index]
            if op.name == "ry":
                m = np.array([[np.cos(th / 2), -np.sin(th / 2)], [np.sin(th / 2), np.cos(th / 2)]])
            else:
                m = np.diag([np.exp(-1j * th / 2), np.exp(1j * th / 2)])
            g = on(m, op.wires[0])
        U = g @ U
    return U


@pytest.mark.parametrize("n", [2, 3])
def test_token_unitaries_match_dense_construction(n):
    c = token_circuit(n, 2)
    a = torch.randn(5, c.n_inputs, dtype=torch.float64)
    U = circuit_unitaries(c, a, torch.zeros(0, dtype=torch.float64))
    for i in range(5):
        np.testing.assert_allclose(U[i].numpy(), dense_unitary(c, a[i].numpy()), atol=1e-12)


@pytest.mark.parametrize("n,causal,K", [(2, True, 3), (3, True, 3), (2, False, 3), (2, True, 1), (2, True, 0)])
def test_causal_lcu_qsvt_matches_brute_force(n, causal, K):
    rng = np.random.default_rng(n)
    T = 4
    c = token_circuit(n, 1)
    angles = rng.normal(size=(1, T, c.n_inputs))
    Us = [dense_unitary(c, angles[0, s]) for s in range(T)]
    b = rng.normal(size=T) + 1j * rng.normal(size=T)
    coeffs = rng.normal(size=K + 1) + 1j * rng.normal(size=K + 1)
    U = circuit_unitaries(c, torch.tensor(angles[0]), torch.zeros(0, dtype=torch.float64))[None]
    psi, p = lcu_qsvt_states(U, torch.tensor(b), torch.tensor(coeffs), causal)
    e0 = np.zeros(2 ** n); e0[0] = 1
    for t in range(T):
        seen = range(t + 1) if causal else range(T)
        M = sum(b[s] * Us[s] for s in seen) / sum(abs(b[s]) for s in seen)
        out = sum(coeffs[k] * np.linalg.matrix_power(M, k) @ e0 for k in range(K + 1)) / np.abs(coeffs).sum()
        prob = np.vdot(out, out).real
        np.testing.assert_allclose(p[0, t].item(), prob, rtol=1e-10)
        np.testing.assert_allclose(psi[0, t].numpy(), out / np.sqrt(prob), atol=1e-10)
        assert 0 < prob <= 1 + 1e-12


def test_quixer_reports_success_probability():
    torch.manual_seed(0)
    q = QuixerAttention(8, 1, n_qubits=2, n_layers=1, context=5)
    y = q(torch.randn(3, 5, 8))
    assert y.shape == (3, 5, 8)
    assert 0 < q.success_probability <= 1
    with pytest.raises(ValueError, match="context"):
        q(torch.randn(1, 6, 8))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_direct_token_unitaries_match_the_simulated_circuit(n, layers):
    """token_unitaries (Kronecker products + CNOT-ring row order) == simulating token_circuit on every basis state."""
    c = token_circuit(n, layers)
    a = torch.randn(5, c.n_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(n * 10 + layers))
    ref = circuit_unitaries(c, a, torch.zeros(0, dtype=torch.float64))
    got = token_unitaries(a, n, layers)
    assert torch.allclose(got, ref, atol=1e-12)
    eye = torch.eye(2 ** n, dtype=got.dtype)
    assert torch.allclose(got @ got.conj().transpose(1, 2), eye.expand_as(got), atol=1e-12)


def test_direct_token_unitaries_gradcheck():
    a = torch.randn(2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: torch.view_as_real(token_unitaries(x, 3, 2)), (a,))


def test_memory_is_estimated_before_building_unitaries(monkeypatch):
    """14 qubits: one token unitary alone is 4 GiB; refuse with the estimate instead of allocating."""
    import qhybrid.backends.statevector.memory as memory
    monkeypatch.setattr(memory, "available_bytes", lambda device: 2 ** 30)
    layer = QuixerAttention(8, 1, n_qubits=14, n_layers=1, context=4)
    with pytest.raises(ValueError, match=r"quixer.*14 qubits needs about \d+.*GiB.*fewer qubits"):
        layer(torch.randn(1, 2, 8))
    small = QuixerAttention(8, 1, n_qubits=2, n_layers=1, context=4)
    assert small(torch.randn(1, 2, 8)).shape == (1, 2, 8)             # small layers still fit


def test_chunked_recomputed_mixing_equals_one_pass(monkeypatch):
    """Big batches run chunk by chunk under activation checkpointing: same outputs and gradients (1e-12),
    with a key mask, as the whole batch in one pass."""
    import qhybrid.layers.quixer as quixer
    torch.manual_seed(3)
    layer = QuixerAttention(12, 1, n_qubits=3, n_layers=2, context=6).double()
    x = torch.randn(5, 6, 12, dtype=torch.float64)
    km = torch.ones(5, 6, dtype=torch.bool)
    km[2, 4:] = False

    def run():
        xi = x.clone().requires_grad_()
        y = layer(xi, key_mask=km)
        grads = torch.autograd.grad(y.square().sum(), [xi, *layer.parameters()])
        return y.detach(), grads
    y1, g1 = run()
    monkeypatch.setattr(quixer, "CHUNK_ELEMENTS", 2 * 6 * 64)            # chunks of 2 batch rows
    assert quixer._chunk(5, 6, 3) == 2
    y2, g2 = run()
    assert torch.allclose(y1, y2, atol=1e-12)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-12)


def test_token_unitaries_scale_is_a_factor():
    a = torch.randn(4, 12, dtype=torch.float64)
    s = torch.randn(4, dtype=torch.complex128)
    assert torch.allclose(token_unitaries(a, 3, 2, scale=s), s[:, None, None] * token_unitaries(a, 3, 2), atol=1e-13)
