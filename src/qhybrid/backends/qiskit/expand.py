"""The circuit exported for estimator backends: one Qiskit parameter per angle occurrence.

Every non-constant angle occurrence k gets its own parameter t[k] (Rot becomes RZ RY RZ, three
occurrences; a controlled rotation, decomposed, two half-angle occurrences). Its value theta_k is
computed in torch from inputs and weights by an AngleTable, so torch's chain rule maps d(out)/d(theta)
to d/d(inputs) and d/d(weights) (param_shift.py supplies d(out)/d(theta)).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..._optional import require
from ...circuit import AngleTable, build_qiskit, qiskit_observables
from ...circuit.export import CONTROLLED_ROTATIONS

TWO_TERM = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
_C1, _C2 = (math.sqrt(2) + 1) / (4 * math.sqrt(2)), (math.sqrt(2) - 1) / (4 * math.sqrt(2))
FOUR_TERM = ((_C1, math.pi / 2), (-_C1, -math.pi / 2), (-_C2, 3 * math.pi / 2), (_C2, -3 * math.pi / 2))


class Expanded:
    """A circuit exported with one parameter per angle occurrence, and how to compute the occurrences.

    qc: QuantumCircuit on parameters t[0..K-1] (ParameterVector "t"); observables: SparsePauliOps.
    table: the occurrences as an AngleTable (x_cols / w_cols: columns that read inputs / weights);
    rules[k]: ((coef, shift), ...) of occurrence k.
    """

    def __init__(self, circuit, decompose_controlled: bool = True):
        require("qiskit")
        from qiskit.circuit import ParameterVector

        self.n_obs = circuit.n_obs
        self.decompose_controlled = decompose_controlled
        occ = []                                 # per occurrence: (IR angle, factor, gate name)
        for op in circuit.ops:
            halves = decompose_controlled and op.name in CONTROLLED_ROTATIONS
            for p in op.params:
                if not isinstance(p, float):
                    occ += [(p, 0.5, op.name), (p, -0.5, op.name)] if halves else [(p, 1.0, op.name)]
        K = self.K = len(occ)
        t = ParameterVector("t", K)
        k = iter(range(K))

        def angle(p, factor):                    # constants stay numbers, each other occurrence its t[k]
            return p * factor if isinstance(p, float) else t[next(k)]

        self.qc, self.params = build_qiskit(circuit, angle, decompose_controlled), t
        self.observables = qiskit_observables(circuit)
        self.rules = [FOUR_TERM if g in CONTROLLED_ROTATIONS and not decompose_controlled else TWO_TERM
                      for _, _, g in occ]
        self.table = AngleTable([a for a, _, _ in occ], [f for _, f, _ in occ])
        self.x_cols, self.w_cols = self.table.x_cols, self.table.w_cols

    def angles(self, x: torch.Tensor, w: torch.Tensor):
        """x (N, n_inputs), w (P,) -> theta_x (N, Kx), theta_w (Kw,), differentiable."""
        return self.table.split(x, w)

    def values(self, tx: torch.Tensor, tw: torch.Tensor) -> np.ndarray:
        """Parameter values (N, K) float64 in the order of the parameter vector t."""
        out = np.empty((tx.shape[0], self.K))
        out[:, self.x_cols] = tx.detach().cpu().double().numpy()
        out[:, self.w_cols] = tw.detach().cpu().double().numpy()[None, :]
        return out
