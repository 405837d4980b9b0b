"""Backend registry and the clear errors: unknown names, missing extras, too-small devices, bad options."""
import builtins

import pytest
import torch

import qhybrid
from qhybrid.backends import available_backends, backend_forms, get_backend


def test_registry_lists_every_family():
    assert available_backends() == ["aer", "density", "ibm", "pennylane", "statevector"]
    assert set(backend_forms()) == set(available_backends())
    assert get_backend("statevector").name == "statevector"


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown backend 'aerr'.*did you mean 'aer'.*ibm:<dev.*pennylane:<dev"):
        get_backend("aerr")
    with pytest.raises(ValueError, match="names no device"):
        get_backend("pennylane:")


def test_missing_extra_gives_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_aer(name, *args, **kwargs):
        if name.startswith("qiskit_aer"):
            raise ImportError("No module named 'qiskit_aer'")
        return real_import(name, *args, **kwargs)

    import sys
    for mod in [m for m in sys.modules if m.startswith("qiskit_aer") or m == "qhybrid.backends.aer"]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_aer)
    with pytest.raises(ImportError, match=r"pip install 'qhybrid\[qiskit\]'"):
        get_backend("aer")


def test_device_too_small():
    c = qhybrid.build_circuit(6, 1, "angle_y", "strongly_entangling")
    b = get_backend("aer:fake_manila")
    with pytest.raises(ValueError, match="needs 6 qubits but fake_manila has only 5"):
        b.expval(c, torch.rand(2, 6), torch.rand(c.n_weights))
    from qhybrid.backends import estimate_cost
    with pytest.raises(ValueError, match="needs 6 qubits"):
        estimate_cost(c, "ibm:fake_manila", 4)


def test_unknown_fake_device_suggests_one():
    with pytest.raises(ValueError, match="did you mean 'fake_manila'"):
        get_backend("aer:fake_manilla")


def test_density_limits_and_options():
    c = qhybrid.build_circuit(9, 1, "angle_y", "basic_entangler")
    with pytest.raises(ValueError, match="at most 8 qubits"):
        get_backend("density").expval(c, torch.rand(1, 9), torch.rand(c.n_weights))
    with pytest.raises(ValueError, match="cannot read density option"):
        get_backend("density:depol=0.1")
    with pytest.raises(ValueError, match="probabilities in"):
        get_backend("density", depol=(0.1, 1.5))


def test_ibm_needs_a_device_and_shots_must_be_positive():
    with pytest.raises(ValueError, match="needs a device"):
        get_backend("ibm")
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        get_backend("aer", shots=0)
    c = qhybrid.build_circuit(2, 1, "angle_y", "basic_entangler")
    with pytest.raises(ValueError, match="shots must be"):
        get_backend("aer").expval(c, torch.rand(1, 2), torch.rand(c.n_weights), shots=-3)
    with pytest.raises(ValueError, match=r"inputs must have shape \(\.\.\., 2\)"):
        get_backend("aer").expval(c, torch.rand(1, 3), torch.rand(c.n_weights))


def test_a_family_without_devices_refuses_a_device_name():
    from qhybrid.backends import LazyBackend
    with pytest.raises(ValueError, match="statevector takes nothing after ':'"):
        get_backend("statevector:x")
    with pytest.raises(ValueError, match="statevector takes nothing after ':'"):
        LazyBackend("statevector:x")
