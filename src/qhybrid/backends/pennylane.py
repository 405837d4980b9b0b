"""`pennylane:<device>`: run the circuit as a PennyLane QNode (torch interface, diff_method="best").

    pennylane:default.qubit      backprop through PennyLane's simulator
    pennylane:lightning.qubit    C++ simulator, adjoint gradients
    PennyLaneBackend("default.qubit", diff_method="parameter-shift", device_kwargs={...})

All leading dims of the inputs are flattened into ONE broadcast dimension (PennyLane broadcasts a
single batch dim); devices without native broadcasting get it expanded by PennyLane itself. PennyLane's
parameter-shift transform cannot differentiate a broadcast tape (NotImplementedError), so whenever the
gradient method is not backprop or adjoint (diff_method="parameter-shift", or shots, which "best" turns
into parameter shift) the broadcast is expanded first (qml.transforms.broadcast_expand): N tapes in one
execution, each shifted by PennyLane. shots=k (or the constructor's shots) makes the device sample; the
device's sampling seed is drawn from torch's RNG for every call (the generator passed to expval, else
torch's global one) where the device keeps a numpy generator (default.qubit, lightning.*), so the same
torch seed gives the same shots. QNodes are built once per (circuit, shots). Float64 inputs/weights give
complex128 simulation on devices that follow the input precision.
"""
from __future__ import annotations

import numpy as np
import torch

from .._optional import require
from ..circuit import to_pennylane
from .base import check_shots, circuit_key, prepare


class PennyLaneBackend:
    """A PennyLane device as a qhybrid backend: (..., n_inputs) -> (..., n_obs)."""

    def __init__(self, device: str = "default.qubit", *, diff_method: str = "best", shots: int | None = None,
                 device_kwargs: dict | None = None):
        self.qml = require("pennylane")
        if device.startswith("lightning"):
            require("pennylane_lightning")
        self.device_name, self.diff_method = device, diff_method
        self.default_shots = check_shots(shots, None)
        self.device_kwargs = dict(device_kwargs or {})
        self.name = f"pennylane:{device}"
        self.exact = shots is None
        self._qnodes: dict = {}
        try:                                             # fail early on unknown devices
            self.qml.device(device, wires=1, **self.device_kwargs)
        except Exception as e:
            msg = f"{type(e).__name__}: {e}"
        else:
            return
        raise ValueError(f"PennyLane cannot load device {device!r} ({msg}); try pennylane:default.qubit or "
                         f"pennylane:lightning.qubit")

    def __repr__(self):
        return f"PennyLaneBackend({self.name!r}, diff_method={self.diff_method!r}, shots={self.default_shots})"

    def qnode(self, circuit, shots: int | None = None):
        """The QNode for a circuit (cached): qnode(inputs=(B, n_inputs), weights=(P,)) -> tuple of (B,)."""
        return self._entry(circuit, shots)[0]

    def _entry(self, circuit, shots):
        key = (circuit_key(circuit), shots)
        if key not in self._qnodes:
            qml = self.qml
            dev = qml.device(self.device_name, wires=circuit.n_qubits, **self.device_kwargs)
            qnode = qml.QNode(to_pennylane(circuit), dev, interface="torch", diff_method=self.diff_method)
            if shots is not None:
                qnode = qml.set_shots(qnode, shots=shots)
            if self._shifts(qnode, circuit):             # parameter shift cannot differentiate a broadcast tape
                qnode = qml.transforms.broadcast_expand(qnode)
            self._qnodes[key] = qnode, dev
        return self._qnodes[key]

    def _shifts(self, qnode, circuit) -> bool:
        """Whether gradients go through a tape transform (parameter shift, finite differences, ...)."""
        method = self.diff_method
        if method == "best":
            try:
                x = torch.zeros(2, circuit.n_inputs, dtype=torch.float64)
                w = torch.zeros(circuit.n_weights, dtype=torch.float64)
                method = self.qml.workflow.get_best_diff_method(qnode)(inputs=x, weights=w)
            except Exception:
                return True                               # unknown: expanding is always correct
        return method not in ("backprop", "adjoint", "device")

    def expval(self, circuit, inputs=None, weights=None, shots=None, generator=None) -> torch.Tensor:
        x, w, lead = prepare(circuit, inputs, weights)             # x (N, n_inputs), w (P,)
        shots = check_shots(shots, self.default_shots)
        N = x.shape[0]
        # PennyLane's torch interface turns Python-float results into tensors of torch's DEFAULT dtype
        # (lightning returns floats): float32 would cut float64 runs to ~1e-8, so follow the inputs' dtype.
        default = torch.get_default_dtype()
        torch.set_default_dtype(x.dtype)
        qnode, dev = self._entry(circuit, shots)
        if shots is not None and isinstance(getattr(dev, "_rng", None), np.random.Generator):
            device = generator.device if generator is not None else "cpu"
            dev._rng = np.random.default_rng(int(torch.randint(2 ** 31 - 1, (1,), generator=generator, device=device)))
        try:
            out = qnode(inputs=x, weights=w)
        finally:
            torch.set_default_dtype(default)
        cols = [torch.as_tensor(o).to(x.dtype) for o in (out if isinstance(out, (list, tuple)) else [out])]
        cols = [c.expand(N) if c.dim() == 0 else c.reshape(N) for c in cols]   # input-free circuits give scalars
        return torch.stack(cols, -1).reshape(lead + (circuit.n_obs,))
