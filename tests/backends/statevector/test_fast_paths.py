"""The engine's two shortcuts, against the independent numpy simulator (_refsim.py) and the general path:

* re-uploading circuits (inputs read again after other gates): input rotation layers as diagonal phases
  in a fixed basis (backends/statevector/reupload.py);
* one-qubit observables on every wire: <X_q>, <Y_q> from each wire's reduced density matrix.
"""
import numpy as np
import pytest
import torch
from _refsim import ref_batch, t64

import qhybrid.backends.statevector.engine as engine
import qhybrid.backends.statevector.reupload as reupload
from qhybrid import Circuit, Input, InputProduct, Weight, build_circuit
from qhybrid.backends import StatevectorBackend
from qhybrid.circuit import pauli_observables

TOL = 1e-10


def _mixed_circuit() -> Circuit:
    """Every input gate kind the phase path takes (rx, ry, rz, phaseshift, isingzz with an input product),
    layers that share wires only through Z-diagonal gates, weights and constants in between."""
    c = Circuit(3, n_inputs=4, n_weights=3)
    c.h(0); c.phaseshift(1, Input(0)); c.rz(1, Input(1, 0.5)); c.isingzz(0, 1, InputProduct(2, 3, 0.7))
    c.rx(2, Input(3)); c.cnot(0, 2); c.ry(0, Weight(0)); c.ry(2, Input(0)); c.rx(2, Input(1, -1.3))
    c.rz(1, Weight(1)); c.cnot(1, 2); c.rot(0, Weight(2), 0.3, -0.2); c.ry(1, Input(2))
    return c.observe("Z0", "X1", "Y2 Z0")


def _random_run(c: Circuit, seed: int):
    """Random inputs (6 samples) and weights, the reference states and expectations, and torch leaves."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (6, c.n_inputs))
    w = rng.uniform(-np.pi, np.pi, c.n_weights)
    states, ev = ref_batch(c, x, w, c.observable_labels)
    return x, w, states, ev, t64(x, True), t64(w, True)


CIRCUITS = [(n, name, make) for n in (2, 3, 5) for name, make in
            [("reuploading", lambda n: build_circuit(n, 3, "angle_y", "reuploading")),
             ("reuploading_x", lambda n: build_circuit(n, 2, "angle_x", "reuploading")),
             ("iqp", lambda n: build_circuit(n, 2, "iqp", "reuploading"))]] + [(3, "mixed", lambda n: _mixed_circuit())]


@pytest.mark.parametrize("n,name,make", CIRCUITS, ids=[f"{name}-{n}" for n, name, _ in CIRCUITS])
def test_reupload_states_and_gradients_match_the_reference(n, name, make):
    c = make(n)
    assert c.n_qubits == n
    plan = reupload.reupload_plan(c)
    assert reupload.worth_it(plan)                                        # the phase path really runs
    x, w, states, ev, xt, wt = _random_run(c, n)
    be = StatevectorBackend()
    psi = be.state(c, xt, wt)
    np.testing.assert_allclose(psi.detach().numpy(), states, atol=TOL)
    y = be.expval(c, xt, wt)
    np.testing.assert_allclose(y.detach().numpy(), ev, atol=TOL)
    gx, gw = torch.autograd.grad(y.sin().sum(), (xt, wt))
    with pytest.MonkeyPatch.context() as mp:                              # the general gate-by-gate path
        mp.setattr(reupload, "MAX_QUBITS", 0)
        assert not reupload.worth_it(plan)
        xr, wr = t64(x, True), t64(w, True)
        rx, rw = torch.autograd.grad(be.expval(c, xr, wr).sin().sum(), (xr, wr))
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), atol=1e-9)
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), atol=1e-9)


def test_reupload_evolves_given_states_and_passes_gradcheck():
    c = build_circuit(3, 2, "angle_y", "reuploading")
    plan = reupload.reupload_plan(c)
    x = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(c.n_weights, dtype=torch.float64, requires_grad=True)
    psi0 = torch.randn(4, 8, dtype=torch.complex128)
    psi0 = psi0 / psi0.norm(dim=1, keepdim=True)
    got = StatevectorBackend().evolve(c, x, w, psi0)                      # the engine's hook, phase path
    assert torch.allclose(got, reupload.reupload_states(plan, x, w, psi0, engine.simulate), atol=1e-14)
    with engine.fusion_mode("never"):                                     # forced modes: gate by gate
        ref = StatevectorBackend().evolve(c, x, w, psi0)
    assert torch.allclose(got, ref, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda x, w: torch.view_as_real(reupload.reupload_states(plan, x, w, None, engine.simulate)), (x, w))


def test_reupload_plan_declines_what_it_cannot_diagonalise():
    rot_input = Circuit(2, n_inputs=1).rot(0, Input(0), 0.1, 0.2)
    rot_input.cnot(0, 1)
    assert reupload.reupload_plan(rot_input) is None                      # Rot(x): not one Pauli rotation
    crx = Circuit(2, n_inputs=1).ry(0, Input(0))
    crx.crx(0, 1, Input(0))
    assert reupload.reupload_plan(crx) is None                            # controlled rotation of an input
    prefix_only = build_circuit(3, 2, "angle_y", "strongly_entangling")  # inputs only at the start
    assert not reupload.worth_it(reupload.reupload_plan(prefix_only))
    assert not reupload.worth_it(reupload.reupload_plan(build_circuit(8, 2, "angle_y", "reuploading")))


@pytest.mark.parametrize("n", [2, 4, 5])
def test_local_paulis_on_every_wire_match_the_reference(n):
    """pauli_observables(n, 'xyz') (the QSANN value and Quixer read-out set) in the permuted layouts the
    engine leaves, values and gradients, against the numpy reference and the per-word path."""
    c = build_circuit(n, 2, "angle_y", "strongly_entangling", pauli_observables(n, "xyz"))
    assert 2 * n >= engine.LOCAL_MIN_XY                                   # the local path runs
    x, w, _, ev, xt, wt = _random_run(c, 10 + n)
    be = StatevectorBackend()
    y = be.expval(c, xt, wt)
    np.testing.assert_allclose(y.detach().numpy(), ev, atol=TOL)
    g = torch.autograd.grad(y.cos().sum(), (xt, wt))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "LOCAL_MIN_XY", 10 ** 9)                     # one gather per word
        xr, wr = t64(x, True), t64(w, True)
        r = torch.autograd.grad(be.expval(c, xr, wr).cos().sum(), (xr, wr))
    for a, b in zip(g, r):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-9)
    psi = torch.randn(3, 2 ** n, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: be.expectations(c, p), (psi,))
