"""AerEstimator: qiskit-aer's EstimatorV2 primitive with a vectorised PUB loop, true shot noise and readout.

Same interface (BaseEstimatorV2: `run([(circuit, observables, parameter_values)], precision=p)` ->
PrimitiveJob -> PubResult with data.evs / data.stds), three differences from the stock class:
  * speed: the stock `_run_pub` looks every parameter set up with `list.index` (O(M^2): 10 s for
    8192 sets at 4 qubits); here all sets go to ONE Aer run (runtime parameter binding) and the
    results are gathered with array indexing;
  * shots: precision p > 0 means shots = round(1/p^2) per Pauli term, and each term's estimate is
    2 * Binomial(shots, (1 + <P>) / 2) / shots - 1 (what measuring it `shots` times gives; the stock
    class adds Gaussian noise of std p instead); p = 0 gives exact expectations;
  * readout: the readout errors of the simulator's noise model (which exact expectation values never
    see, as they skip measurement) are applied analytically per term (backends/noise.py readout_terms).
Expectations are exact for the simulator's state: with a noise model use method="density_matrix".
Terms are saved on the circuit's active qubits only, so Aer can drop idle qubits of a large device.
"""
from __future__ import annotations

import numpy as np

from ..._optional import require
from ..noise import readout_terms

require("qiskit_aer")
from qiskit.primitives.containers import DataBin, PubResult  # noqa: E402
from qiskit.quantum_info import Pauli  # noqa: E402
from qiskit_aer.primitives import EstimatorV2  # noqa: E402


def noise_model_readout(noise_model) -> dict[int, tuple[float, float]]:
    """{qubit: (P(read 1|0), P(read 0|1))} from a NoiseModel's (local or default) readout errors."""
    if noise_model is None:
        return {}
    out = {}
    default = getattr(noise_model, "_default_readout_error", None)
    local = getattr(noise_model, "_local_readout_errors", {}) or {}
    qubits = {q for key in local for q in key} | set(range(getattr(noise_model, "num_qubits", 0) or 0))
    for q in qubits:
        err = local.get((q,), default)
        if err is not None:
            p = np.asarray(err.probabilities)            # rows: prepared 0/1, columns: read 0/1
            out[q] = (float(p[0, 1]), float(p[1, 0]))
    if default is not None:
        p = np.asarray(default.probabilities)
        out[-1] = (float(p[0, 1]), float(p[1, 0]))       # -1: any other qubit
    return out


class AerEstimator(EstimatorV2):
    """EstimatorV2 on a given AerSimulator; `readout` {qubit: (p01, p10)}; `seed` for the shot noise."""

    def __init__(self, simulator, readout: dict | None = None, seed: int | None = None):
        super().__init__()
        self._backend = simulator
        self.readout = dict(readout or {})
        self._rng = np.random.default_rng(seed)

    def reseed(self, seed) -> None:
        """Seed the shot noise and the simulator's own sampling of the next runs (an int or a list of ints)."""
        noise, sim = np.random.SeedSequence(seed).spawn(2)
        self._rng = np.random.default_rng(noise)
        self.options.run_options = {**self.options.run_options,
                                    "seed_simulator": int(sim.generate_state(1)[0] % (2 ** 31 - 1))}

    def _flips(self, q):
        return self.readout.get(q, self.readout.get(-1, (0.0, 0.0)))

    def _run_pub(self, pub) -> PubResult:
        circuit = pub.circuit.copy()
        circuit.global_phase = 0.0     # irrelevant to expectations; a parameterised one breaks Aer's runtime binding
        obs, pv, precision = pub.observables, pub.parameter_values, pub.precision
        params = circuit.parameters
        flat = pv.as_array(params).reshape(-1, len(params)) if len(params) else np.zeros((max(pv.size, 1), 0))
        M = flat.shape[0]
        # each observable element: {label: coeff}; each label: readout-mixed sum of sub-word expectations
        elements = [dict(o) for o in obs.ravel()]
        saved: dict[str, str] = {}                         # sub-word label -> save label
        # Save every term on ALL active qubits (identity on the others): Aer 0.17 drops idle qubits and then
        # mis-maps saves that name only a subset of the remaining ones (all read the same value).
        active = sorted({circuit.find_bit(q).index for inst in circuit.data for q in inst.qubits}
                        | {q for el in elements for lab in el for q in range(len(lab)) if lab[len(lab) - 1 - q] != "I"})

        def save(label: str) -> str | None:
            if set(label) <= {"I"}:
                return None
            if label not in saved:
                saved[label] = key = f"e{len(saved)}"
                n = len(label)                                               # Qiskit labels: qubit 0 rightmost
                word = "".join(label[n - 1 - q] for q in reversed(active))
                circuit.save_expectation_value(Pauli(word), qubits=active, label=key)
            return saved[label]

        plans = []                                          # per element: [(coeff, [(sub-label, mix)])]
        for el in elements:
            terms = []
            for label, coeff in el.items():
                n = len(label)
                support = [q for q in range(n) if label[n - 1 - q] != "I"]
                mixes = []
                for sub, coef in readout_terms([self._flips(q) for q in support]):
                    keep = {support[i] for i in sub}
                    sub_label = "".join(c if (n - 1 - i) in keep else "I" for i, c in enumerate(label))
                    mixes.append((save(sub_label), coef))
                terms.append((complex(coeff).real, mixes))
            plans.append(terms)
        run_opts = dict(self.options.run_options)
        binds = [{p: flat[:, i] for i, p in enumerate(params)}] if len(params) else None
        if saved:
            result = self._backend.run(circuit, parameter_binds=binds, **run_opts).result()
            if not result.success or len(result.results) != (M if binds else 1):
                raise RuntimeError(f"Aer simulation failed: {getattr(result, 'status', '')}")
            rows = [result.results[i].data for i in range(M)] if binds else [result.results[0].data] * M
            exact = {key: np.array([getattr(r, key) for r in rows], dtype=float) for key in saved.values()}
        else:
            result, exact = None, {}
        shots = int(round(1.0 / precision ** 2)) if precision > 0 else 0
        values = np.zeros((M, len(elements)))
        for j, terms in enumerate(plans):
            for coeff, mixes in terms:
                e = sum(coef * (exact[key] if key else 1.0) for key, coef in mixes)
                if shots:
                    p1 = np.clip((1.0 + np.real(e)) / 2, 0.0, 1.0)
                    e = 2.0 * self._rng.binomial(shots, p1) / shots - 1.0
                values[:, j] += coeff * np.real(e)
        # broadcast parameter sets against observables (PUB shape rules)
        shape = np.broadcast_shapes(pv.shape, obs.shape)
        pi = np.broadcast_to(np.arange(max(pv.size, 1)).reshape(pv.shape or ()), shape)
        oi = np.broadcast_to(np.arange(obs.size).reshape(obs.shape), shape)
        evs = values[pi, oi]
        stds = np.full(shape, 1.0 / np.sqrt(shots) if shots else 0.0)
        meta = {"target_precision": precision, "shots": shots, "circuit_metadata": pub.circuit.metadata,
                "simulator_metadata": result.metadata if result is not None else {}}
        return PubResult(DataBin(evs=evs, stds=stds, shape=evs.shape), metadata=meta)
