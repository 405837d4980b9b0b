"""`aer` and `aer:<fake device>`: Qiskit Aer through an EstimatorV2 primitive, shot-based by default.

    aer               ideal simulator; shots=None -> `default_shots` (1024); exact=True -> exact expectations
    aer:fake_manila   the device's noise model (gate errors, relaxation, readout) and coupling map; each
                      circuit is transpiled for the device once (cached) and parameters are bound per job

Each circuit's forward pass is ONE estimator job with ONE PUB (circuit, observables (1, n_obs), values
(N, 1, K)); its backward pass is one more job over all parameter-shifted sets (see param_shift.py). A model
with several circuits runs one job per circuit per pass. Shot noise is seeded per job from torch's RNG
(the generator passed to expval, else torch's global one): the same torch seed gives the same shots. The estimator is
qhybrid's AerEstimator (a faster EstimatorV2; aer_estimator.py). Options: shots (default 1024),
exact, noise_model (a qiskit_aer NoiseModel for the ideal simulator), seed (mixed into every job's seed),
optimization_level.
"""
from __future__ import annotations

from ..._optional import require
from ..base import check_shots
from .devices import compile_for, fake_backend
from .param_shift import ShiftEstimatorBackend, pub_of


class AerBackend(ShiftEstimatorBackend):
    """Qiskit Aer via EstimatorV2: (..., n_inputs) -> (..., n_obs), parameter-shift gradients."""

    def __init__(self, device: str | None = None, *, shots: int = 1024, exact: bool = False, noise_model=None,
                 seed: int | None = None, optimization_level: int = 1, method: str | None = None):
        require("qiskit_aer")
        from qiskit_aer import AerSimulator

        from .aer_estimator import AerEstimator, noise_model_readout

        self.name = "aer" + (f":{device}" if device else "")
        self.default_shots = check_shots(shots, None)
        self.exact = bool(exact)
        self.optimization_level = optimization_level
        self.seed = seed
        self.device = None
        noisy = noise_model is not None
        if device:
            from qiskit_aer.noise import NoiseModel

            self.device = fake_backend(device)
            noise_model = NoiseModel.from_backend(self.device)
            noisy = True
        opts = dict(runtime_parameter_bind_enable=True, method=method or ("density_matrix" if noisy else "automatic"))
        if seed is not None:
            opts["seed_simulator"] = seed
        if self.device is not None:
            sim = AerSimulator.from_backend(self.device, **opts)
        else:
            sim = AerSimulator(noise_model=noise_model, **opts)
        self.simulator = sim
        self.estimator = AerEstimator(sim, noise_model_readout(noise_model), seed)

    def __repr__(self):
        return f"AerBackend({self.name!r}, shots={self.default_shots}, exact={self.exact})"

    def compile(self, circuit):
        """(Expanded, ISA circuit, observables on its layout), transpiled once per circuit structure."""
        exp, isa, obs = compile_for(circuit, self.device, self.optimization_level)
        if self.device is None and self.simulator.options.noise_model is not None:
            from qiskit import transpile
            isa = transpile(exp.qc, self.simulator, optimization_level=0)
        return exp, isa, obs

    def shots_for(self, shots):
        return None if self.exact else check_shots(shots, self.default_shots)

    def run_values(self, entry, values, shots: int | None, seed: int | None = None):
        """ONE estimator job: values (M, K) in the order of exp.params -> expectations (M, n_obs).

        A sampled job's shot noise (and Aer's own sampling, e.g. noisy trajectories) comes from `seed`, mixed
        with the `seed` option when one was given."""
        exp, isa, obs = entry
        if seed is not None:
            self.estimator.reseed(seed if self.seed is None else [self.seed, seed])
        job = self.estimator.run([pub_of(isa, obs, exp, values)], precision=0.0 if shots is None else shots ** -0.5)
        return job.result()[0].data.evs
