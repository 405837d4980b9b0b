"""Where comparison runs execute: in this process, in local worker processes, or on Ray.

An executor has one method, `map(fn, items) -> list` (results in input order; the first
failure is raised after the others finish). `fn` must be a picklable top-level function.
"""
from __future__ import annotations

import multiprocessing as mp
import os
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
    """Ray tasks, on an existing cluster or a local instance (`pip install 'qhybrid[ray]'`; make setup has it).

    address: "auto" (the cluster this machine belongs to), "ray://host:10001" (a remote head), or None:
    $RAY_ADDRESS if set, else a local instance with this machine's CPUs. Each item is one task declaring
    `cpus_per_run` CPUs and `gpus_per_run` GPUs; at most `workers` run at once. A task whose worker dies
    (killed, node lost) is retried up to `max_retries` times: comparison runs then resume from their last
    checkpoint. Task errors are re-raised as their own type. Run directories must be on storage every node
    sees (a shared file system), since each task writes its own run directory (docs/cluster.md).
    """

    def __init__(self, workers: int = 2, address: str | None = None, cpus_per_run: float = 1,
                 gpus_per_run: float = 0, max_retries: int = 2):
        self.ray = require("ray")
        if workers < 1 or cpus_per_run <= 0 or gpus_per_run < 0 or max_retries < 0:
            raise ValueError(f"RayExecutor needs workers >= 1, cpus_per_run > 0, gpus_per_run >= 0 and max_retries "
                             f">= 0; got {workers}, {cpus_per_run}, {gpus_per_run}, {max_retries}")
        self.workers, self.address = workers, address
        self.cpus_per_run, self.gpus_per_run, self.max_retries = cpus_per_run, gpus_per_run, max_retries

    def _connect(self):
        ray = self.ray
        if ray.is_initialized():
            return
        address = self.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)

    def map(self, fn, items):
        ray = self.ray
        self._connect()
        task = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=self.max_retries,
                          retry_exceptions=False)(fn)
        todo = list(enumerate(items))[::-1]
        running, results, errors = {}, [None] * len(todo), {}
        while todo or running:
            while todo and len(running) < self.workers:
                i, x = todo.pop()
                running[task.remote(x)] = i
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                i = running.pop(ref)
                try:
                    results[i] = ray.get(ref)
                except ray.exceptions.RayTaskError as e:        # the task raised: keep its own type
                    errors[i] = e.as_instanceof_cause()
        if errors:
            raise errors[min(errors)]
        return results


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "ray": RayExecutor}


def get_executor(name: str, workers: int = 1, **options):
    """An executor by name; options go to its constructor (e.g. address= for ray)."""
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
    return EXECUTORS[name](workers, **options)
