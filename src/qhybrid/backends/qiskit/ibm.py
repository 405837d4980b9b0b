"""`ibm:<device>`: IBM Quantum through qiskit-ibm-runtime's EstimatorV2, in batch (default) or session mode.

    ibm:ibm_brisbane      a real QPU; the account comes from QISKIT_IBM_TOKEN (+ QISKIT_IBM_INSTANCE) or the
                          account saved with QiskitRuntimeService.save_account -- never from a config file
    ibm:fake_manila       qiskit-ibm-runtime LOCAL TESTING MODE: EstimatorV2(mode=FakeManilaV2()), the same
                          code path as a QPU, simulated by Aer with the snapshot's noise (no account needed)
    QHYBRID_IBM_LOCAL=1   forces local testing mode for any name (ibm:ibm_brisbane -> snapshot FakeBrisbane);
                          a real device name never falls back to local mode silently

Every forward pass of a circuit is ONE job (one PUB of N parameter sets), every backward ONE job of all
shifted sets (param_shift.py): a model with c circuits runs c jobs per forward and c per backward.
In local testing mode each job's simulator seed is drawn from torch's RNG (same torch seed, same shots);
`usage()` / `restore_usage()` carry the jobs and QPU seconds across a resume, so max_qpu_seconds holds
for the whole run, not per process. Before each job the QPU time is estimated (qpu_time.py) and checked
against max_qpu_seconds; transient failures are retried with exponential backoff (retries, backoff_s).
The token is never stored on the backend, logged, or put in an exception message (account.py: `redact`);
instances refuse to be pickled.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..._optional import require
from ..base import check_shots
from .account import open_service, redact
from .devices import compile_for, fake_backend
from .jobs import Budget, run_with_retry
from .param_shift import ShiftEstimatorBackend, pub_of
from .qpu_time import JOB_OVERHEAD_S, REP_DELAY_S, circuit_seconds

log = logging.getLogger("qhybrid.backends")
_TRUE = ("1", "true", "yes", "on")


def _device(service, name: str):
    problem = None
    try:
        return service.backend(name)
    except Exception as e:
        problem = redact(f"{type(e).__name__}: {e}")
    try:
        names = ", ".join(sorted(b.name for b in service.backends()))
    except Exception:
        names = "(could not list them)"
    raise ValueError(f"IBM device {name!r} is not available to this account ({problem}); available: {names}")


def _transient() -> tuple:
    from qiskit.providers import JobError
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError
    from qiskit_ibm_runtime.exceptions import IBMRuntimeError
    return ConnectionError, TimeoutError, JobError, IBMRuntimeError, RequestsApiError


# ------------------------------------------------------------------------------ backend
class IBMBackend(ShiftEstimatorBackend):
    """EstimatorV2 on an IBM device (or its snapshot in local testing mode); parameter-shift gradients."""

    uses_qpu = True

    def __init__(self, device: str | None = None, *, shots: int = 1024, max_qpu_seconds: float | None = None,
                 local: bool | None = None, mode: str = "batch", retries: int = 3, backoff_s: float = 2.0,
                 resilience_level: int = 0, optimization_level: int = 1, instance: str | None = None,
                 job_overhead_s: float = JOB_OVERHEAD_S, sleep=time.sleep):
        if not device:
            raise ValueError("the ibm backend needs a device: ibm:<device>, e.g. ibm:ibm_brisbane, or ibm:fake_manila "
                             "for local testing mode")
        require("qiskit_ibm_runtime")
        if mode not in ("batch", "session", "job"):
            raise ValueError(f"mode must be 'batch', 'session' or 'job', got {mode!r}")
        is_fake = device.lower().startswith("fake_")
        if is_fake and local is False:
            raise ValueError(f"{device} is a snapshot, not a QPU: it runs only in local testing mode")
        self.local = bool(local) if local is not None else (is_fake or
                                                            os.environ.get("QHYBRID_IBM_LOCAL", "").lower() in _TRUE)
        self.name = f"ibm:{device}"
        self.default_shots = check_shots(shots, None)
        self.mode, self.resilience_level, self.optimization_level = mode, resilience_level, optimization_level
        self.retries, self.backoff_s, self.job_overhead_s, self._sleep = retries, backoff_s, job_overhead_s, sleep
        self.budget = Budget(max_qpu_seconds)
        self.jobs = 0
        if self.local:
            self.device = fake_backend(device)
            log.warning("%s runs in qiskit-ibm-runtime LOCAL TESTING MODE on the snapshot %s (Aer with its noise "
                        "model); no QPU is used", self.name, self.device.name)
        else:
            self.device = _device(open_service(instance), device)
        self._estimator = self._mode_obj = None

    def __repr__(self):
        return (f"IBMBackend({self.name!r}, local={self.local}, mode={self.mode!r}, shots={self.default_shots}, "
                f"max_qpu_seconds={self.budget.max})")

    def __getstate__(self):
        raise TypeError("an IBMBackend holds a live IBM Quantum connection and cannot be pickled (that could write "
                        "credentials to disk); save model.state_dict() instead")

    def __deepcopy__(self, memo):
        return self                                       # copies of a model share the connection and budget

    def close(self) -> None:
        """Close the batch/session (jobs already submitted still run)."""
        if self._mode_obj is not None:
            try:
                self._mode_obj.close()
            finally:
                self._mode_obj = self._estimator = None

    def _get_estimator(self):
        if self._estimator is None:
            rt = require("qiskit_ibm_runtime")
            target = self.device
            if self.mode != "job":
                self._mode_obj = (rt.Batch if self.mode == "batch" else rt.Session)(backend=self.device)
                target = self._mode_obj
            est = rt.EstimatorV2(mode=target)
            if not self.local:                            # local testing mode ignores (and warns about) these
                est.options.resilience_level = self.resilience_level
            self._estimator = est
        return self._estimator

    def compile(self, circuit):
        """(Expanded, ISA circuit, observables, seconds per shot), transpiled for the device once."""
        exp, isa, obs = compile_for(circuit, self.device, self.optimization_level)
        rep = getattr(self.device, "default_rep_delay", None) or REP_DELAY_S
        return exp, isa, obs, rep + circuit_seconds(isa, self.device.target)

    def job_seconds(self, n_circuits: int, shots: int, per_shot: float) -> float:
        return self.job_overhead_s + n_circuits * shots * per_shot

    def usage(self) -> dict:
        """{"jobs": jobs run, "qpu_seconds": QPU seconds used (reported by the service; estimated in local mode)}."""
        return {"jobs": self.jobs, "qpu_seconds": self.budget.used}

    def restore_usage(self, state: dict) -> None:
        """Continue from a saved usage(): the budget counts the QPU seconds a resumed run already used."""
        super().restore_usage(state)
        self.budget.restore(state.get("qpu_seconds") or 0.0)

    def run_values(self, entry, values: np.ndarray, shots: int, seed: int | None = None) -> np.ndarray:
        """ONE runtime job: values (M, K) -> expectations (M, n_obs); budget check, retries, usage.

        In local testing mode `seed` seeds the simulator (reproducible shots); a QPU's shots are physical."""
        exp, isa, obs, per_shot = entry
        M = values.shape[0]
        estimate = self.job_seconds(M, shots, per_shot)
        what = f"a job of {M} circuits x {shots} shots on {self.name}"
        self.budget.check(estimate, what)
        pub = pub_of(isa, obs, exp, values)
        est = self._get_estimator()
        est.options.default_shots = shots
        if self.local and seed is not None:
            est.options.simulator.seed_simulator = seed
        result, job = run_with_retry(lambda: est.run([pub]), retries=self.retries, backoff_s=self.backoff_s,
                                     transient=_transient(), redact=redact, sleep=self._sleep, what=what)
        used = _usage(job) or estimate
        self.budget.add(used)
        log.info("%s: job %s done (%d circuits, %.1f s QPU%s; %.1f s used)", self.name, _job_id(job), M, used,
                 " estimated" if self.local else "", self.budget.used)
        return result[0].data.evs


def _usage(job) -> float | None:
    try:
        u = job.usage()
        return float(u) if u else None
    except Exception:
        return None


def _job_id(job) -> str:
    try:
        return str(job.job_id())
    except Exception:
        return "?"
