"""qhybrid against Qiskit: exported circuits, their statevectors, observables and OpenQASM 3.

Qiskit's rx/ry/rz/p/crx/cry/crz/rxx/ryy/rzz/cx/cz/swap/h/x/y/z/s/t have exactly PennyLane's
matrices (and Rot is exported as rz-ry-rz, an exact product), so statevectors are compared
with their global phase: no phase freedom is allowed anywhere in this file.
"""
import re

import numpy as np
import pytest
from _refsim import ALL_GATES, ONE_QUBIT, gate_operator, n_params, random_circuit, random_words, t64

from qhybrid import Circuit, Input, InputProduct, Weight, build_circuit

qiskit = pytest.importorskip("qiskit")
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector  # noqa: E402

pytestmark = pytest.mark.qiskit

TOL = 1e-10


def _bind(circuit: Circuit, x, w):
    qc = circuit.to_qiskit()
    values = {qc.metadata["inputs"]: list(x), qc.metadata["weights"]: list(w)}
    # strict=False: reserved inputs/weights that no gate reads are not in the QuantumCircuit
    bound = qc.assign_parameters(values, strict=False)
    assert not bound.parameters
    return bound


@pytest.mark.parametrize("name", ALL_GATES)
def test_each_gate_operator(name, rng):
    """The exported gate's full unitary (Qiskit's Operator) equals the textbook matrix, wire 0 = MSB."""
    n = 3
    for wires in ([(0,), (2,)] if name in ONE_QUBIT else [(0, 1), (1, 0), (2, 0), (0, 2)]):
        c = Circuit(n, n_inputs=2, n_weights=3)
        kinds = [Input(0, 1.5), Weight(2, -0.5), InputProduct(0, 1, 0.7)][:n_params(name)]
        c.add(name, wires, *kinds)
        x, w = rng.uniform(-3, 3, 2), rng.uniform(-3, 3, 3)
        angles = [1.5 * x[0], -0.5 * w[2], 0.7 * x[0] * x[1]][:n_params(name)]
        got = Operator(_bind(c, x, w)).data
        np.testing.assert_allclose(got, gate_operator(name, wires, angles, n), atol=TOL, err_msg=f"{name} {wires}")


@pytest.mark.parametrize("n", range(1, 7))
def test_random_circuits_statevector_and_expvals(n, rng):
    for _ in range(2):
        c = random_circuit(n, rng, n_extra=n + 2, n_inputs=3, n_weights=5)
        words = random_words(n, rng, 5) + ["I0"]
        c.observe(*words)
        x = rng.uniform(-2, 2, (3, c.n_inputs))
        w = rng.uniform(-2, 2, c.n_weights)
        states = c.state(t64(x), t64(w)).numpy()
        ys = c.run(t64(x), t64(w)).numpy()
        ops = c.qiskit_observables()
        assert len(ops) == len(words) and all(isinstance(o, SparsePauliOp) for o in ops)
        for k in range(x.shape[0]):
            sv = Statevector(_bind(c, x[k], w))
            np.testing.assert_allclose(states[k], sv.data, atol=TOL)          # global phase included
            np.testing.assert_allclose(ys[k], [sv.expectation_value(o).real for o in ops], atol=TOL)


def test_aer_statevector(rng):
    """A second, compiled Qiskit simulator (Aer) on a circuit with every gate."""
    aer = pytest.importorskip("qiskit_aer")
    c = random_circuit(5, rng, n_extra=10)
    x, w = rng.uniform(-2, 2, c.n_inputs), rng.uniform(-2, 2, c.n_weights)
    qc = _bind(c, x, w)
    qc.save_statevector()
    sim = aer.AerSimulator(method="statevector", precision="double")
    # optimization_level=0: higher levels elide SWAPs into a final qubit permutation of the state
    data = np.asarray(sim.run(qiskit.transpile(qc, sim, optimization_level=0)).result().get_statevector())
    np.testing.assert_allclose(c.state(t64(x), t64(w)).numpy(), data, atol=1e-9)


@pytest.mark.parametrize("ansatz", ["strongly_entangling", "basic_entangler", "hardware_efficient",
                                    "hardware_efficient_ring", "reuploading"])
@pytest.mark.parametrize("encoding", ["angle_x", "angle_y", "angle_z", "iqp"])
def test_templates(encoding, ansatz, rng):
    c = build_circuit(3, 2, encoding=encoding, ansatz=ansatz, observables=["Z0", "X1 Y2", "Y0 Z1 X2"])
    x, w = rng.uniform(-2, 2, c.n_inputs), rng.uniform(-2, 2, c.n_weights)
    sv = Statevector(_bind(c, x, w))
    np.testing.assert_allclose(c.state(t64(x), t64(w)).numpy(), sv.data, atol=TOL)
    np.testing.assert_allclose(c.run(t64(x), t64(w)).numpy(),
                               [sv.expectation_value(o).real for o in c.qiskit_observables()], atol=TOL)


def test_observable_labels_and_parameters():
    c = Circuit(4, n_inputs=3, n_weights=2)
    c.ry(0, Input(2)); c.rx(3, Weight(1))
    c.observe("X0 Y2", "Z3", "I1")
    assert [o.paulis[0].to_label() for o in c.qiskit_observables()] == ["XIYI", "IIIZ", "IIII"]
    assert [o.coeffs[0] for o in c.qiskit_observables()] == [1, 1, 1]
    qc = c.to_qiskit()
    assert len(qc.metadata["inputs"]) == 3 and len(qc.metadata["weights"]) == 2
    assert qc.num_qubits == 4 and qc.num_clbits == 0
    assert {p.name for p in qc.parameters} == {"x[2]", "w[1]"}


def test_qasm3_contains_the_gates(rng):
    c = random_circuit(4, rng, n_extra=0)          # every gate once
    text = c.to_qasm3()
    assert text.startswith("OPENQASM 3")
    body = [ln for ln in text.splitlines() if re.match(r"^[a-z]\w*(\(.*\))? q\[\d+\](, q\[\d+\])*;$", ln)]
    names = [re.match(r"^([a-z]\w*)", ln).group(1) for ln in body]
    expected = {"rx", "ry", "rz", "p", "h", "x", "y", "z", "s", "t", "cx", "cz", "swap", "crx", "cry", "crz",
                "rxx", "ryy", "rzz"}
    assert set(names) == expected
    assert len(body) == len(c.ops) + 2 * c.resources()["gate_counts"]["rot"]   # rot -> rz, ry, rz
    used = {f"_x_{p.index}_" for op in c.ops for p in op.params if isinstance(p, Input)}
    used |= {f"_w_{p.index}_" for op in c.ops for p in op.params if isinstance(p, Weight)}
    for name in used:
        assert f"input float[64] {name};" in text
    assert "qubit[4] q;" in text
