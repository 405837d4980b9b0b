"""Memory of statevector simulation: estimate before allocating, refuse with a clear error.

    check_memory(n, N, n_gates, dtype, device, grad)   raises ValueError when N states of n qubits
                                                      (and autograd's saved copies) cannot fit
    memory_bytes(n_qubits, n_circuits)                 bytes of one batch of states
"""
from __future__ import annotations

import time

import torch

_MEMINFO: list = [-1.0, None]      # (time read, bytes): /proc/meminfo is re-read at most every 0.5 s


def available_bytes(device: torch.device) -> int | None:
    """Free memory on `device` (CUDA: the driver's count; CPU: MemAvailable), None when unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    now = time.monotonic()
    if now - _MEMINFO[0] < 0.5:
        return _MEMINFO[1]
    have = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    have = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    _MEMINFO[:] = [now, have]
    return have


def check_memory(n: int, N: int, n_gates: int, dtype: torch.dtype, device, grad: bool, what: str = "circuit(s)",
                 need: int | None = None):
    """Raise a clear error before allocating states that cannot fit (need: bytes, else estimated)."""
    item = 16 if dtype in (torch.float64, torch.complex128) else 8
    if need is None:
        states = 3 + (n_gates if grad else 0)
        need = N * 2 ** n * item * states + (4 ** n * item * 2 if n <= 14 else 0)
    have = available_bytes(torch.device(device))
    if have is not None and need > have:
        raise ValueError(f"simulating {N} {what} of {n} qubits needs about {need / 2**30:.1f} GiB "
                         f"({'with' if grad else 'without'} gradients), but only {have / 2**30:.1f} GiB is "
                         f"available on {device}; use fewer qubits, a smaller batch, or torch.no_grad()")


def memory_bytes(n_qubits: int, n_circuits: int, dtype=torch.complex64) -> int:
    """Bytes of one batch of states, for docs and cost tables."""
    return n_circuits * 2 ** n_qubits * torch.tensor([], dtype=dtype).element_size()
