"""Where a run computes: `train.device` = auto | cpu | cuda | cuda:N (auto = the first CUDA GPU when torch sees
one, else the CPU). The model, its batches and every torch engine follow this device.

`train.threads` = auto | N | null: how many CPU threads torch uses (`auto_threads`)."""
from __future__ import annotations

import re

import torch

DEVICE_FORMS = "auto, cpu, cuda, cuda:N"


def check_device_form(spec) -> None:
    """Refuse a `train.device` value that is none of auto, cpu, cuda, cuda:N (whatever this machine has)."""
    if not isinstance(spec, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", spec):
        raise ValueError(f"train.device = {spec!r} is not valid; valid: {DEVICE_FORMS}")


def resolve_device(spec: str = "auto") -> torch.device:
    """The torch.device a `train.device` value names, or a clear error (a CUDA device where none is present)."""
    check_device_form(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"train.device = {spec!r}, but torch sees no CUDA device on this machine (torch "
                             f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); use train.device=cpu "
                             f"or auto, or install a CUDA build of torch (make setup TORCH_INDEX=...)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"train.device = {spec!r}, but this machine has {torch.cuda.device_count()} CUDA "
                             f"device(s): cuda:0..cuda:{torch.cuda.device_count() - 1}")
    return dev


SMALL_STEP = 2 ** 18     # a step's widest activation (elements) below which one CPU thread is chosen
DEFAULT_THREADS = torch.get_num_threads()     # torch's own choice, read once: what `null` and wide steps restore


def auto_threads(batch_size: int, context: int, width: int) -> int | None:
    """`train.threads: auto`: 1 for small steps, else None (torch's default, every core).

    `width` is a step's widest per-token row (d_model, the vocabulary, heads x 2**n_qubits amplitudes, or a
    Quixer token unitary's 4**n_qubits entries). Below SMALL_STEP elements (batch x context x width) the ops
    are too small for a second thread to pay much on a quiet machine, and with another process on a core
    every op would wait for the thread that lost its core: one thread keeps the step steady
    (docs/performance.md, "A busy machine")."""
    return 1 if batch_size * context * width < SMALL_STEP else None


def apply_threads(setting, batch_size: int, context: int, width: int) -> int:
    """Set torch's CPU threads for a run (`train.threads`: auto | N | None) and return the number: auto as
    auto_threads, None = torch's default (restored, whatever an earlier run in this process chose)."""
    n = auto_threads(batch_size, context, width) if setting == "auto" else setting
    n = n or DEFAULT_THREADS
    torch.set_num_threads(n)
    return n
