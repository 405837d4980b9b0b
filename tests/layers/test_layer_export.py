"""Export of a layer's circuits (current weights bound) to Qiskit and OpenQASM 3, checked with Qiskit's
own statevector."""
import pytest
import torch

pytestmark = pytest.mark.qiskit


def test_layer_exports_to_qiskit_and_qasm3():
    from qiskit.quantum_info import Statevector

    from qhybrid.layers import QuantumLinear, layer_to_qasm3, layer_to_qiskit
    layer = QuantumLinear(3, 3, n_qubits=3, n_layers=1)
    qasm = layer.vqc.to_qasm3()
    assert qasm.startswith("OPENQASM 3.0") and "input float[64] _x_0_" in qasm and "_w_" not in qasm
    assert set(layer_to_qasm3(layer)) == {"vqc"} and "_w_" in layer_to_qasm3(layer, bind_weights=False)["vqc"]
    qc = layer_to_qiskit(layer)["vqc"]
    x = torch.rand(3, dtype=torch.float64)
    sv = Statevector(qc.assign_parameters(dict(zip(qc.metadata["inputs"], x.tolist()))))
    ref = layer.vqc.circuit.state(x, layer.vqc.weights.detach().double())
    assert torch.allclose(torch.as_tensor(sv.data), ref, atol=1e-6)
