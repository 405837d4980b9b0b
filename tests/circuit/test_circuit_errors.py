"""User-facing errors of the Circuit IR and the backend, plus resources() and draw()."""
import numpy as np
import pytest
import torch

from qhybrid import Circuit, Input, InputProduct, Weight, build_circuit, templates
from qhybrid.backends import get_backend
from qhybrid.backends.statevector import memory


@pytest.fixture
def circ():
    c = Circuit(3)
    c.ry(0, Input(0)); c.rx(1, Input(1)); c.cnot(0, 1); c.crx(1, 2, Weight(0)); c.rot(2, Weight(1), 0.2, Weight(3))
    return c                                          # 2 inputs, 4 weights


# ---- building -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, -1, 31, 2.0, "3"])
def test_bad_qubit_count(n):
    with pytest.raises(ValueError, match=r"n_qubits must be an integer from 1 to 30"):
        Circuit(n)


def test_unknown_gate_name():
    c = Circuit(2)
    with pytest.raises(ValueError, match=r"unknown gate 'foo'.*valid gates: rx, ry"):
        c.add("foo", 0)
    with pytest.raises(ValueError, match=r"unknown gate 'rxx' \(did you mean 'rx'\?\)"):
        c.add("rxx", 0, 0.1)
    assert c.ops == []


@pytest.mark.parametrize("call,pattern", [
    (lambda c: c.rx(3, 0.1), r"rx: wire 3 is out of range; this circuit has wires 0\.\.2"),
    (lambda c: c.cnot(0, 5), r"cnot: wire 5 is out of range"),
    (lambda c: c.h(-1), r"h: wire -1 is out of range"),
    (lambda c: c.ry(1.0, 0.3), r"ry: wire 1\.0 is out of range"),
    (lambda c: c.cnot(1, 1), r"cnot: wires must differ, got \(1, 1\)"),
    (lambda c: c.add("cnot", 0), r"cnot acts on 2 wire\(s\), got wires \(0,\)"),
    (lambda c: c.rx(0), r"rx takes 1 angle\(s\), got 0"),
    (lambda c: c.rot(0, 0.1, 0.2), r"rot takes 3 angle\(s\), got 2"),
    (lambda c: c.h(0, 0.5), r"h takes 0 angle\(s\), got 1"),
    (lambda c: c.crx(0), r"crx needs 2 wire\(s\) then 1 angle\(s\)"),
    (lambda c: c.rx(0, "abc"), r"rx: angle 'abc' must be a number, Input\(i\) or Weight\(j\)"),
    (lambda c: c.rx(0, Input(-1)), r"rx: index \(-1,\) of .* must be a non-negative integer"),
    (lambda c: c.rx(0, Weight(1.5)), r"rx: index \(1\.5,\) of .* must be a non-negative integer"),
    (lambda c: c.rx(0, InputProduct(0, -2)), r"must be a non-negative integer"),
])
def test_bad_gate_calls(call, pattern):
    c = Circuit(3)
    with pytest.raises(ValueError, match=pattern):
        call(c)
    assert c.ops == []                                # nothing half-added


@pytest.mark.parametrize("attr,hint", [("cnto", "cnot"), ("rxx", "rx"), ("observ", "observe"), ("rnu", "run")])
def test_unknown_attribute_suggests(attr, hint):
    c = Circuit(2)
    with pytest.raises(AttributeError, match=rf"Circuit has no method '{attr}' \(did you mean '{hint}'\?\)"):
        getattr(c, attr)
    assert not hasattr(c, attr)


def test_unknown_attribute_without_close_match():
    with pytest.raises(AttributeError, match=r"Circuit has no method 'qqqqqqq'; gates: rx"):
        Circuit(2).qqqqqqq


@pytest.mark.parametrize("word,pattern", [
    ("Q0", r"cannot read Pauli word 'Q0'"),
    ("Z", r"cannot read Pauli word 'Z'"),
    ("", r"cannot read Pauli word ''"),
    ("Z0 junk", r"cannot read Pauli word 'Z0 junk'"),
    ("Z3", r"Pauli word 'Z3' names wire 3, but the circuit has wires 0\.\.2"),
    ("X0 Z0", r"Pauli word 'X0 Z0' names wire 0 twice"),
])
def test_bad_pauli_word(word, pattern):
    with pytest.raises(ValueError, match=pattern):
        Circuit(3).observe("Z1", word)


def test_observe_needs_words_and_accepts_variants():
    c = Circuit(3)
    with pytest.raises(ValueError, match=r"observe\(\) needs at least one Pauli word"):
        c.observe()
    c.observe("z0", "X1 @ Y2", "I0 Z2", "I1")
    assert c.observables == [((0, "Z"),), ((1, "X"), (2, "Y")), ((2, "Z"),), ()]
    assert c.observable_labels == ["Z0", "X1 Y2", "Z2", "I"]


def test_template_errors():
    with pytest.raises(ValueError, match=r"angle encoding rotation must be 'X', 'Y' or 'Z', got 'W'"):
        templates.angle_encoding(Circuit(2), "W")
    with pytest.raises(ValueError, match=r"entangle must be 'ladder' or 'ring', got 'star'"):
        templates.hardware_efficient(Circuit(2), 1, "star")
    with pytest.raises(ValueError,
                       match=r"unknown ansatz 'strongly_entangled' \(did you mean 'strongly_entangling'\?\)"):
        build_circuit(2, 1, ansatz="strongly_entangled")
    with pytest.raises(ValueError, match=r"unknown encoding 'angle_w'"):
        build_circuit(2, 1, encoding="angle_w")
    with pytest.raises(ValueError, match=r"n_layers must be a non-negative integer, got -1"):
        build_circuit(2, -1)
    with pytest.raises(ValueError, match=r"unknown ansatz 'nope'"):
        templates.ansatz_weight_count("nope", 2, 1)


# ---- running ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (3,), (4, 1), (2, 2, 4)])
def test_wrong_feature_count(circ, shape):
    with pytest.raises(ValueError, match=r"inputs must have shape \(\.\.\., 2\) -- the circuit reads 2 feature\(s\)"
                                         + rf" -- but got shape \({shape[0]},"):
        circ.run(torch.zeros(shape), torch.zeros(4))


def test_scalar_and_missing_inputs(circ):
    with pytest.raises(ValueError, match=r"but got shape \(\)"):
        circ.run(torch.tensor(0.5), torch.zeros(4))
    with pytest.raises(ValueError,
                       match=r"this circuit reads 2 input feature\(s\); pass inputs of shape \(\.\.\., 2\)"):
        circ.run(None, torch.zeros(4))


@pytest.mark.parametrize("n_w", [3, 5, 0])
def test_weights_of_wrong_size(circ, n_w):
    with pytest.raises(ValueError, match=r"weights must hold 4 value\(s\) \(the circuit uses "
                                         rf"Weight\(0\)\.\.Weight\(3\)\), got shape \({n_w},\)"):
        circ.run(torch.zeros(2), torch.zeros(n_w))


def test_missing_weights(circ):
    with pytest.raises(ValueError, match=r"this circuit has 4 trainable weight\(s\); pass weights of shape \(4,\)"):
        circ.run(torch.zeros(2))
    with pytest.raises(ValueError, match=r"trainable weight"):
        circ.state(torch.zeros(2))


def test_reserved_inputs_and_weights_count():
    c = Circuit(2, n_inputs=4, n_weights=6)
    c.ry(0, Input(1)); c.rx(1, Weight(2))
    assert (c.n_inputs, c.n_weights) == (4, 6)
    with pytest.raises(ValueError, match=r"weights must hold 6 value"):
        c.run(torch.zeros(4), torch.zeros(3))
    assert c.run(torch.zeros(4), torch.zeros(6)).shape == (2,)


def test_too_many_qubits_for_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1000)
    c = Circuit(8)
    c.ry(0, Input(0))
    with pytest.raises(ValueError, match=r"simulating 16 circuit\(s\) of 8 qubits needs about .* GiB "
                                         r"\(with gradients\), but only 0\.0 GiB is available on cpu; use fewer"):
        c.run(torch.zeros(16, 1))
    with torch.no_grad(), pytest.raises(ValueError, match=r"\(without gradients\)"):
        c.state(torch.zeros(16, 1))
    monkeypatch.setattr(memory, "available_bytes", lambda device: None)   # unknown memory: no check
    assert c.run(torch.zeros(16, 1)).shape == (16, 8)


def test_too_many_qubits_with_real_memory():
    """30 qubits x 4096 samples is terabytes: refused up front, nothing allocated."""
    c = Circuit(30)
    c.ry(0, Input(0))
    with pytest.raises(ValueError, match=r"simulating 4096 circuit\(s\) of 30 qubits needs about"):
        c.run(torch.zeros(4096, 1))


@pytest.mark.parametrize("shots", [0, -5, 2.5, "100", 1e3])
def test_bad_shots(circ, shots):
    with pytest.raises(ValueError, match=r"shots must be a positive integer or None \(exact\), got"):
        circ.run(torch.zeros(2), torch.zeros(4), shots=shots)


def test_bool_shots_rejected(circ):
    with pytest.raises(ValueError, match=r"shots must be a positive integer"):
        circ.run(torch.zeros(2), torch.zeros(4), shots=True)


def test_unknown_backend(circ):
    with pytest.raises(ValueError, match=r"unknown backend 'statevectr' \(did you mean 'statevector'\?\)"):
        circ.run(torch.zeros(2), torch.zeros(4), backend="statevectr")
    with pytest.raises(ValueError, match=r"backend must be a name or an object with \.expval\(\)"):
        get_backend(3)


# ---- resources and drawing ----------------------------------------------------------------

def _drawn_circuit():
    c = Circuit(3)
    c.ry(0, Input(0)); c.rx(1, Input(1, 0.5)); c.cnot(0, 1); c.crx(1, 2, Weight(0))
    c.rot(2, Weight(1), Weight(2), Weight(3)); c.isingzz(0, 2, 0.25); c.swap(1, 2); c.cz(2, 0); c.h(1)
    c.observe("Z0", "X1 X2")
    return c


def test_resources():
    r = _drawn_circuit().resources()
    # depth by hand: ry,rx | cnot(0,1) | crx(1,2) | rot(2) | isingzz(0,2) | swap(1,2) | cz(2,0), h(1)
    assert r == {
        "n_qubits": 3, "depth": 7, "gates": 9, "one_qubit_gates": 4, "two_qubit_gates": 5,
        "n_inputs": 2, "n_weights": 4, "n_observables": 2,
        "gate_counts": {"ry": 1, "rx": 1, "cnot": 1, "crx": 1, "rot": 1, "isingzz": 1, "swap": 1, "cz": 1, "h": 1},
    }
    empty = Circuit(2).resources()
    assert empty["depth"] == 0 and empty["gates"] == 0 and empty["n_observables"] == 2


@pytest.mark.parametrize("n,L,ansatz,per", [(3, 2, "strongly_entangling", 3), (4, 3, "basic_entangler", 1),
                                            (3, 2, "hardware_efficient", 2), (5, 1, "hardware_efficient_ring", 2),
                                            (2, 3, "reuploading", 3)])
def test_template_resources(n, L, ansatz, per):
    c = build_circuit(n, L, ansatz=ansatz)
    r = c.resources()
    assert r["n_weights"] == n * L * per == templates.ansatz_weight_count(ansatz, n, L)
    assert r["n_inputs"] == n
    assert r["gates"] == r["one_qubit_gates"] + r["two_qubit_gates"] == sum(r["gate_counts"].values())


def test_draw():
    text = _drawn_circuit().draw()
    rows = text.split("\n")
    assert len(rows) == 3
    for q, row in enumerate(rows):
        assert row.startswith(f"{q}: ")
    for label in ["RY(x0)", "RX(0.5*x1)", "Rot(w1,w2,w3)", "IsingZZ(0.25)", "Hadamard", "RX(w0)"]:
        assert label in text
    assert "RY(x0)" in rows[0] and "RX(0.5*x1)" in rows[1] and "Rot(w1,w2,w3)" in rows[2]
    assert "Hadamard" in rows[1]
    # gate order along a wire
    assert rows[0].index("RY(x0)") < rows[0].index("●") < rows[0].index("IsingZZ")
    # the CNOT's control and target sit in the same column on wires 0 and 1
    assert rows[0].index("╭●") == rows[1].index("╰X")
    # the SWAP marks wires 1 and 2 in one column
    assert rows[1].index("×") == rows[2].index("×")
    assert "⟨Z0⟩" in rows[0] and "⟨X1 X2⟩" in rows[1] and "⟨X1 X2⟩" in rows[2]


def test_draw_float_angles_and_spanning_gate():
    c = Circuit(3)
    c.rz(1, np.pi); c.cry(0, 2, Weight(0, 2.0))
    text = c.draw()
    rows = text.split("\n")
    assert "RZ(3.14)" in rows[1]
    assert "●" in rows[0] and "RY(2*w0)" in rows[2]
    assert rows[1][rows[0].index("╭●")] == "│"           # a gate spanning wire 1 crosses it
