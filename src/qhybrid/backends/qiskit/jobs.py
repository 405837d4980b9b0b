"""Hardware job plumbing: a QPU-seconds budget and retries with exponential backoff.

    budget = Budget(max_qpu_seconds=600)
    budget.check(estimate_s, "the forward pass")        # raises BudgetExceededError before submitting
    result, job = run_with_retry(submit, retries=3, backoff_s=2.0, transient=(...), redact=...)
    budget.add(seconds)
    budget.restore(saved_seconds)                       # a resumed run continues from what it used
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger("qhybrid.backends")


class BudgetExceededError(ValueError):
    """A hardware job would push the QPU time past max_qpu_seconds."""


class QPUJobError(RuntimeError):
    """A hardware job kept failing after every retry."""


class Budget:
    """QPU seconds spent by one backend instance against an optional limit (`restore` carries it across a resume)."""

    def __init__(self, max_qpu_seconds: float | None = None):
        if max_qpu_seconds is not None and (isinstance(max_qpu_seconds, bool) or max_qpu_seconds < 0):
            raise ValueError(f"max_qpu_seconds must be a non-negative number or None (no limit), "
                             f"got {max_qpu_seconds!r}")
        self.max = max_qpu_seconds
        self.used = 0.0

    def check(self, estimate_s: float, what: str) -> None:
        if self.max is None or self.used + estimate_s <= self.max:
            return
        raise BudgetExceededError(
            f"refusing to submit {what}: it needs about {estimate_s:.1f} s of QPU time and {self.used:.1f} s of the "
            f"max_qpu_seconds = {self.max:g} budget are already used. Estimate a run first with "
            f"`qhybrid circuit --backend ibm:<device> CONFIG`; then raise model.quantum.max_qpu_seconds, or use fewer "
            f"shots, tokens or qubits (null = no limit)")

    def add(self, seconds: float) -> None:
        self.used += float(seconds)

    def restore(self, used: float) -> None:
        """Seconds already used (a resumed run's saved usage), so the limit holds across processes."""
        if isinstance(used, bool) or not isinstance(used, (int, float)) or not used >= 0:
            raise ValueError(f"usage 'qpu_seconds' must be a non-negative number, got {used!r}")
        self.used = float(used)


def run_with_retry(submit, *, retries: int = 3, backoff_s: float = 2.0, transient: tuple = (ConnectionError,
                   TimeoutError), redact=lambda s: s, sleep=time.sleep, what: str = "job"):
    """submit() -> job; returns (job.result(), job). Transient failures are retried after backoff_s * 2**k s.

    Anything not in `transient` is raised at once; after `retries` retries a QPUJobError carries the last
    (redacted) message. The error is raised outside the except block, so no original exception text
    (which might quote credentials) rides along as __context__.
    """
    if retries < 0 or backoff_s < 0:
        raise ValueError(f"retries and backoff_s must be >= 0, got {retries}, {backoff_s}")
    last = ""
    for attempt in range(retries + 1):
        try:
            job = submit()
            return job.result(), job
        except transient as e:
            last = redact(f"{type(e).__name__}: {e}")
        delay = backoff_s * 2 ** attempt
        if attempt < retries:
            log.warning("%s attempt %d/%d failed (%s); retrying in %.1f s", what, attempt + 1, retries + 1, last, delay)
            sleep(delay)
    raise QPUJobError(f"{what} failed {retries + 1} time(s); last error: {last}. The trainer's last checkpoint is "
                      f"intact: fix the cause (or wait) and resume with `qhybrid train CONFIG --resume`")
