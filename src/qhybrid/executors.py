"""Where comparison runs execute: in this process, in local worker processes, or on Ray.

An executor has one method, `map(fn, items) -> list` (results in input order; the first
failure is raised after the others finish). `fn` must be a picklable top-level function.
"""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

from ._optional import require


class SerialExecutor:
    """Runs everything in this process, one after another (debugging, notebooks, tests)."""

    def __init__(self, workers: int = 1):
        self.workers = 1

    def map(self, fn, items):
        return [fn(x) for x in items]


class ProcessExecutor:
    """Local worker processes (spawned, so each has a clean torch and its own thread count)."""

    def __init__(self, workers: int = 2):
        self.workers = max(1, workers)

    def map(self, fn, items):
        items = list(items)
        if self.workers == 1 or len(items) <= 1:
            return SerialExecutor().map(fn, items)
        with ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(fn, x) for x in items]
            errors = [f.exception() for f in futures]
        for e in errors:
            if e is not None:
                raise e
        return [f.result() for f in futures]


class RayExecutor:
    """Ray tasks on the cluster named by RAY_ADDRESS (or a local Ray instance). Needs `pip install ray`.

    Each run is one task with `num_cpus = cpus_per_run`; the run directories must be on storage
    every node sees (a shared file system), since each task writes its own run directory.
    """

    def __init__(self, workers: int = 2, cpus_per_run: int = 1):
        self.ray = require("ray")
        self.workers, self.cpus_per_run = workers, cpus_per_run

    def map(self, fn, items):
        ray = self.ray
        if not ray.is_initialized():
            ray.init(ignore_reinit_error=True)
        task = ray.remote(num_cpus=self.cpus_per_run)(fn)
        return ray.get([task.remote(x) for x in items])


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "ray": RayExecutor}


def get_executor(name: str, workers: int = 1):
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    return EXECUTORS[name](workers)
