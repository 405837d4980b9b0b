"""Training-step times of several variants measured side by side, so their ratios mean something.

    times = step_times({"classical": cfg_a, "vqc": cfg_b}, repeats=15)
    times["vqc"] -> {"median_ms": ..., "q25_ms": ..., "q75_ms": ..., "repeats": 15}

One model per variant (built from its run config, writing nothing), one torch thread, `repeats`
interleaved rounds after a warm-up round, in this process: a busy machine slows every variant alike.
The times a run records while it trains depend on what shared the machine then (two workers on two
cores, say), so comparison reports quote these instead, with their spread (quartiles).
"""
from __future__ import annotations

import copy
import statistics
import time

import torch

from .config import run_config_from_dict
from .train import Trainer

JOB_FAMILIES = ("aer", "ibm")


def submits_jobs(cfg) -> bool:
    """Whether a run config's quantum parts run on an estimator backend that submits jobs."""
    return cfg.model.is_quantum and cfg.model.quantum.backend.partition(":")[0] in JOB_FAMILIES


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def step_times(configs: dict[str, dict], repeats: int = 15) -> dict[str, dict]:
    """{variant: run config dict} -> {variant: median and quartiles of one training step in ms}. Variants on
    backends that submit jobs (aer, ibm) are left out: timing them would spend shots (and QPU time) again."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainers, corpora = {}, {}
        for v, cfg_d in configs.items():
            cfg_d = copy.deepcopy(cfg_d)
            cfg_d.setdefault("train", {})["threads"] = 1          # the Trainer sets torch's threads from its config
            cfg = run_config_from_dict(cfg_d)
            if submits_jobs(cfg):
                continue                                      # a timing step would submit real jobs: not timed
            key = repr(sorted((cfg_d.get("data") or {}).items()))
            trainers[v] = Trainer(cfg, corpus=corpora.get(key))      # builds model + optimizer, writes nothing
            corpora[key] = trainers[v].corpus
        times: dict[str, list[float]] = {v: [] for v in trainers}
        for i in range(repeats + 1):
            for v, tr in trainers.items():
                t0 = time.perf_counter()
                tr.train_step()
                if i:
                    times[v].append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    out = {}
    for v, ts in times.items():
        q25, med, q75 = _quartiles([1e3 * t for t in ts])
        out[v] = {"median_ms": med, "q25_ms": q25, "q75_ms": q75, "repeats": repeats}
    return out
