"""qhybrid against PennyLane's default.qubit: values, states and gradients (float64).

Random circuits go through `Circuit.to_pennylane()`; the templates are compared with
PennyLane's own templates built independently inside the QNode, so a wrong gate order or
weight layout in templates.py (or a matching bug in both simulator and exporter) shows up.
"""
import numpy as np
import pytest
import torch
from _refsim import random_circuit, random_words, t64

from qhybrid import Circuit, Input, Weight, build_circuit, templates

qml = pytest.importorskip("pennylane")

pytestmark = pytest.mark.pennylane

VAL_TOL = 1e-10
GRAD_TOL = 1e-8


def _observable(word: str):
    letters = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    return qml.prod(*[letters[tok[0]](int(tok[1:])) for tok in word.split()])


def _stack(out, batch: int) -> torch.Tensor:
    """A QNode's list of expectations -> (batch, n_obs); unbatched scalars are broadcast."""
    return torch.stack([torch.as_tensor(o).reshape(-1).expand(batch) for o in out], -1)


def _export_qnode(circuit: Circuit):
    dev = qml.device("default.qubit", wires=circuit.n_qubits)
    return qml.QNode(circuit.to_pennylane(), dev, interface="torch", diff_method="backprop")


def _export_state_qnode(circuit: Circuit):
    """The exported gates (without their measurements) followed by qml.state()."""
    qfunc = circuit.to_pennylane()

    def state(inputs, weights):
        with qml.queuing.AnnotatedQueue() as q:
            qfunc(inputs, weights)
        for op in qml.tape.QuantumScript.from_queue(q).operations:
            qml.apply(op)
        return qml.state()
    return qml.QNode(state, qml.device("default.qubit", wires=circuit.n_qubits), interface="torch")


def _compare(circuit: Circuit, pl_expvals, pl_state, x: np.ndarray, w: np.ndarray):
    """Values, states and vector-Jacobian products of qhybrid vs PennyLane callables of (x (B, n_in), w)."""
    lead = x.shape[:-1]
    xq, wq = t64(x, True), t64(w, True)
    xp, wp = t64(x.reshape(-1, x.shape[-1]), True), t64(w, True)
    ours = circuit.run(xq, wq)
    batch = xp.shape[0]
    theirs = _stack(pl_expvals(xp, wp), batch)
    assert ours.shape == lead + (circuit.n_obs,)
    np.testing.assert_allclose(ours.detach().reshape(batch, -1).numpy(), theirs.detach().numpy(), atol=VAL_TOL, rtol=0)
    if pl_state is not None:
        psi = pl_state(xp, wp)
        np.testing.assert_allclose(circuit.state(xq, wq).detach().reshape(batch, -1).numpy(),
                                   torch.as_tensor(psi).detach().reshape(batch, -1).numpy(), atol=VAL_TOL, rtol=0)
    cot = torch.as_tensor(np.random.default_rng(0).normal(size=ours.shape))
    (ours * cot).sum().backward()
    (theirs * cot.reshape(batch, -1)).sum().backward()
    if circuit.n_inputs:
        np.testing.assert_allclose(xq.grad.reshape(batch, -1).numpy(), xp.grad.numpy(), atol=GRAD_TOL, rtol=0)
    if circuit.n_weights:
        np.testing.assert_allclose(wq.grad.numpy(), wp.grad.numpy(), atol=GRAD_TOL, rtol=0)
        assert wq.grad.abs().max() > 0                 # the comparison is not vacuous


# ---- random circuits through to_pennylane -------------------------------------------------

@pytest.mark.parametrize("n", range(1, 9))
def test_random_circuits(n, rng):
    for _ in range(2):
        c = random_circuit(n, rng, n_extra=n + 2, n_inputs=3, n_weights=5)
        c.observe(*random_words(n, rng, 5), "I0")
        x = rng.uniform(-2, 2, (3, 2, c.n_inputs))
        w = rng.uniform(-2, 2, c.n_weights)
        _compare(c, _export_qnode(c), _export_state_qnode(c), x, w)


def test_rot_mixing_constants_and_tensors(rng):
    """Regression: Rot(float, Weight, Input) once made PennyLane raise TypeError (float phi, tensor omega),
    and a float constant must not lose precision on its way to a torch tensor."""
    c = Circuit(2)
    c.rot(0, 0.3123456789012345, Weight(0), Input(0)); c.rot(1, Input(1), -1.2345678901234567, 2.1)
    c.cnot(0, 1); c.rot(1, Weight(1), 0.7, Input(0))
    c.observe("X0", "Y1", "X0 Z1")
    _compare(c, _export_qnode(c), _export_state_qnode(c), rng.uniform(-2, 2, (3, 2)), rng.uniform(-2, 2, 2))


def test_single_sample_without_batch(rng):
    c = random_circuit(3, rng)
    c.observe("X0 Y1", "Z2")
    x, w = rng.uniform(-2, 2, c.n_inputs), rng.uniform(-2, 2, c.n_weights)
    ours = c.run(t64(x), t64(w))
    theirs = torch.stack(list(_export_qnode(c)(t64(x), t64(w))))
    assert ours.shape == (2,)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=VAL_TOL)


# ---- templates against PennyLane's templates ----------------------------------------------

def _template_qnodes(n, words, build):
    """QNodes running `build(inputs, weights)` (PennyLane ops) then expectations / the state."""
    dev = qml.device("default.qubit", wires=n)

    def expvals(inputs, weights):
        build(inputs, weights)
        return [qml.expval(_observable(wd)) for wd in words]

    def state(inputs, weights):
        build(inputs, weights)
        return qml.state()
    return (qml.QNode(expvals, dev, interface="torch", diff_method="backprop"),
            qml.QNode(state, dev, interface="torch"))


@pytest.mark.parametrize("rotation", ["X", "Y", "Z"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_angle_encoding(n, rotation, rng):
    c = Circuit(n)
    templates.angle_encoding(c, rotation, scale=0.8)
    if rotation == "Z":                       # Z rotations of |0> only change phases: make them visible
        c2 = Circuit(n)
        for q in range(n):
            c2.h(q)
        c2.ops += c.ops
        c = c2
    words = random_words(n, rng, 4)
    c.observe(*words)

    def build(inputs, weights):
        if rotation == "Z":
            for q in range(n):
                qml.Hadamard(q)
        qml.AngleEmbedding(0.8 * inputs, wires=range(n), rotation=rotation)
    _compare(c, *_template_qnodes(n, words, build), rng.uniform(-3, 3, (2, 2, n)), np.zeros(0))


@pytest.mark.parametrize("n_repeats", [1, 2])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_iqp_encoding(n, n_repeats, rng):
    c = Circuit(n)
    templates.iqp_encoding(c, n_repeats=n_repeats)
    words = random_words(n, rng, 5)
    c.observe(*words)

    def build(inputs, weights):
        qml.IQPEmbedding(inputs, wires=range(n), n_repeats=n_repeats)
    _compare(c, *_template_qnodes(n, words, build), rng.uniform(-2, 2, (4, n)), np.zeros(0))


@pytest.mark.parametrize("rotation", ["X", "Y", "Z"])
@pytest.mark.parametrize("n,L", [(1, 2), (2, 2), (3, 1), (5, 3)])
def test_basic_entangler(n, L, rotation, rng):
    c = Circuit(n)
    templates.angle_encoding(c, "Y")
    templates.basic_entangler(c, L, rotation=rotation)
    assert c.n_weights == L * n
    words = random_words(n, rng, 4)
    c.observe(*words)
    gate = {"X": qml.RX, "Y": qml.RY, "Z": qml.RZ}[rotation]

    def build(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="Y")
        qml.BasicEntanglerLayers(weights.reshape(L, n), wires=range(n), rotation=gate)
    _compare(c, *_template_qnodes(n, words, build), rng.uniform(-2, 2, (3, n)), rng.uniform(-2, 2, L * n))


@pytest.mark.parametrize("n,L,ranges", [(1, 2, None), (2, 3, None), (3, 3, None), (4, 4, None), (5, 2, (2, 4)),
                                        (6, 2, None)])
def test_strongly_entangling(n, L, ranges, rng):
    c = Circuit(n)
    templates.angle_encoding(c, "X")
    templates.strongly_entangling(c, L, ranges=ranges)
    assert c.n_weights == L * n * 3
    words = random_words(n, rng, 4)
    c.observe(*words)

    def build(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="X")
        qml.StronglyEntanglingLayers(weights.reshape(L, n, 3), wires=range(n), ranges=ranges)
    _compare(c, *_template_qnodes(n, words, build), rng.uniform(-2, 2, (3, n)), rng.uniform(-2, 2, L * n * 3))


@pytest.mark.parametrize("ansatz", ["reuploading", "hardware_efficient", "hardware_efficient_ring"])
@pytest.mark.parametrize("encoding", ["angle_x", "iqp"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_built_circuits_via_export(n, encoding, ansatz, rng):
    c = build_circuit(n, 2, encoding=encoding, ansatz=ansatz, observables=random_words(n, rng, 4))
    _compare(c, _export_qnode(c), _export_state_qnode(c), rng.uniform(-2, 2, (2, 3, n)),
             rng.uniform(-2, 2, c.n_weights))
