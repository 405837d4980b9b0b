"""Noise maths shared by the density simulator and Aer: numbers read from a device, channels, readout.

    device_noise(backend)          -> average 1q/2q gate errors and durations, T1, readout errors of a
                                      device's Target (duck-typed: no Qiskit import here)
    depolarizing_from_error(r, n)  -> the depolarizing parameter of an n-qubit gate with infidelity r
    damping_from_t1(t, T1)         -> amplitude-damping probability of a gate of duration t
    readout_terms(flips)           -> how independent readout flips mix a Pauli word with its sub-words
"""
from __future__ import annotations

import math
from itertools import combinations


def _mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else None


def device_noise(backend) -> dict:
    """Averages over the device's qubits/pairs from its Target: gate errors, durations (s), T1 (s), readout.

    Keys: error_1q, error_2q, time_1q, time_2q, t1, readout (P(read 1|0), P(read 0|1) averaged; the target
    reports one symmetric `measure` error, used for both), time_measure, two_qubit_gate.
    """
    target = backend.target
    names = set(target.operation_names)
    one = next((g for g in ("sx", "x") if g in names), None)
    two = next((g for g in ("ecr", "cz", "cx") if g in names), None)

    def props(gate):
        if gate is None:
            return []
        return [p for p in target[gate].values() if p is not None]

    p1, p2, pm = props(one), props(two), props("measure") if "measure" in names else []
    t1s = [getattr(q, "t1", None) for q in (target.qubit_properties or [])]
    ro = _mean(p.error for p in pm) or 0.0
    return {
        "error_1q": _mean(p.error for p in p1) or 0.0, "time_1q": _mean(p.duration for p in p1),
        "error_2q": _mean(p.error for p in p2) or 0.0, "time_2q": _mean(p.duration for p in p2),
        "t1": _mean(t1s), "readout": (ro, ro), "time_measure": _mean(p.duration for p in pm),
        "two_qubit_gate": two,
    }


def depolarizing_from_error(error: float, n_qubits: int) -> float:
    """Average gate infidelity r -> depolarizing parameter lambda (E = (1-l) rho + l I/d): l = r d / (d - 1)."""
    d = 2 ** n_qubits
    return min(1.0, error * d / (d - 1))


def damping_from_t1(duration: float | None, t1: float | None) -> float:
    """Amplitude-damping probability of one gate: gamma = 1 - exp(-duration / T1)."""
    if not duration or not t1:
        return 0.0
    return 1.0 - math.exp(-duration / t1)


def readout_terms(flips: list[tuple[float, float]]) -> list[tuple[tuple[int, ...], float]]:
    """Readout on a Pauli word's k measured qubits, flips[q] = (P(read 1|0), P(read 0|1)).

    Measured <prod m_q> = sum over subsets T of the word's qubits of coef_T * <P_T> (P_T: the sub-word on
    T; the empty T stands for the identity), since E[m_q | z_q] = a_q + c_q z_q with a_q = p10 - p01 and
    c_q = 1 - p01 - p10 for independent flips. Returns [(T as positions into the word, coef_T)].
    """
    k = len(flips)
    a = [p10 - p01 for p01, p10 in flips]
    c = [1.0 - p01 - p10 for p01, p10 in flips]
    out = []
    for size in range(k, -1, -1):
        for sub in combinations(range(k), size):
            coef = math.prod(c[q] if q in sub else a[q] for q in range(k))
            if coef != 0.0:
                out.append((sub, coef))
    return out
