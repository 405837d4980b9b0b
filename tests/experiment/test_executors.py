"""Executors: the same map() contract in-process, in spawned workers, and (if installed) on Ray."""
import importlib.util
import os

import pytest

from qhybrid.executors import EXECUTORS, ProcessExecutor, RayExecutor, SerialExecutor, get_executor


def square_and_pid(x):
    return x * x, os.getpid()


def fail_on_three(x):
    if x == 3:
        raise ValueError("three is bad")
    return x


def test_serial_and_process_agree_and_keep_order():
    items = list(range(6))
    serial = [r for r, _ in SerialExecutor().map(square_and_pid, items)]
    results = ProcessExecutor(2).map(square_and_pid, items)
    assert [r for r, _ in results] == serial == [x * x for x in items]
    assert all(pid != os.getpid() for _, pid in results), "process executor ran in the parent"


def test_process_executor_raises_worker_errors():
    with pytest.raises(ValueError, match="three is bad"):
        ProcessExecutor(2).map(fail_on_three, range(5))


def test_registry_and_unknown_name():
    assert set(EXECUTORS) == {"serial", "process", "ray"}
    assert isinstance(get_executor("process", 3), ProcessExecutor)
    with pytest.raises(ValueError, match="valid: serial, process, ray"):
        get_executor("dask")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed: the hint is not shown")
def test_ray_without_ray_gives_install_hint():
    with pytest.raises(ImportError, match=r"pip install 'qhybrid\[ray\]'"):
        RayExecutor(2)
