"""Where a run computes: `train.device` = auto | cpu | cuda | cuda:N (auto = the first CUDA GPU when torch sees
one, else the CPU). The model, its batches and every torch engine follow this device."""
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
