"""Run configuration: YAML files + `key=value` overrides -> validated dataclasses.

    name: my-run                       # run directory: <out_dir>/<name>
    data:  {name: toy_english}         # see `qhybrid list datasets`
    model: {attention: vqc, quantum: {n_qubits: 4}}
    train: {steps: 300, seed: 0}

Unknown keys and bad values are rejected with a message naming the key and the nearest
valid one. Comparison configs add `variants` and `seeds` (see compare.py).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .models import ModelConfig
from .validation import dataclass_from_dict, did_you_mean


@dataclass
class DataConfig:
    name: str = "toy_english"            # data set name (`qhybrid list datasets`) or a path to a text file
    data_dir: str | None = None          # local folder with the files (else $QHYBRID_DATA, else download)
    seed: int = 0                        # generator seed for built-in corpora
    options: dict = field(default_factory=dict)   # extra load_corpus options (task, level, sizes, ...)


@dataclass
class TrainConfig:
    steps: int = 300                     # optimizer steps
    batch_size: int = 32                 # sequences per step
    lr: float = 3e-3                     # peak learning rate (AdamW)
    weight_decay: float = 0.01
    warmup: int = 30                     # linear warm-up steps, then cosine decay
    min_lr_ratio: float = 0.1            # cosine floor, as a fraction of lr
    grad_clip: float = 1.0               # max global grad norm (0 = off)
    eval_every: int = 50                 # steps between evaluations on the valid split
    eval_batches: int = 8                # batches per evaluation (LM); classification uses the whole split
    test_batches: int = 64               # batches for the final test metric (LM); classification: whole split
    checkpoint_every: int = 50           # steps between checkpoints (and at every eval, interrupt and end)
    seed: int = 0                        # seeds model init, batches, dropout and shots
    threads: int | None = None           # torch CPU threads (None = torch default)
    progress: bool = True                # tqdm progress bar


@dataclass
class RunConfig:
    name: str = "run"
    out_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _typed(cls, data: dict, prefix: str):
    """Check value types against the dataclass defaults (int/float/bool/str), then build."""
    obj = dataclass_from_dict(cls, data, prefix)
    for f in dataclasses.fields(cls):
        v, default = getattr(obj, f.name), f.default
        if default is dataclasses.MISSING or default is None or v is None:
            continue
        ok = (isinstance(v, bool) if isinstance(default, bool) else
              isinstance(v, (int, float)) and not isinstance(v, bool) if isinstance(default, float) else
              isinstance(v, int) and not isinstance(v, bool) if isinstance(default, int) else
              isinstance(v, type(default)))
        if not ok:
            raise ValueError(f"{prefix}.{f.name} must be {type(default).__name__}, got {v!r}")
    return obj


def run_config_from_dict(data: dict) -> RunConfig:
    data = dict(data or {})
    top = {f.name for f in dataclasses.fields(RunConfig)}
    for key in data:
        if key not in top:
            raise ValueError(f"unknown key {key}{did_you_mean(key, top, quote=False)}; valid top-level keys: "
                             f"{', '.join(sorted(top))}")
    sections = {}
    for key, cls in _SECTIONS.items():
        value = data.pop(key, None) or {}
        if not isinstance(value, dict):
            raise ValueError(f"{key} must be a mapping of settings, got {value!r}")
        sections[key] = _typed(cls, value, key)
    train = sections["train"]
    for k in ("steps", "batch_size", "eval_every", "eval_batches", "test_batches", "checkpoint_every"):
        if getattr(train, k) < 1:
            raise ValueError(f"train.{k} must be >= 1, got {getattr(train, k)}")
    if train.lr <= 0:
        raise ValueError(f"train.lr must be > 0, got {train.lr}")
    if sections["model"].hf is not None:                 # a pretrained Hugging Face model: check its settings now
        from .hf.runs import check_model_config
        check_model_config(sections["model"])
    return RunConfig(**data, **sections)


def parse_value(text: str):
    """'3' -> 3, '0.1' -> 0.1, 'true' -> True, 'null' -> None, '[0, 1]' -> [0, 1], else the string."""
    return yaml.safe_load(text) if text.strip() else ""


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply `a.b.c=value` strings to a nested dict (in place) and return it."""
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like key=value, e.g. model.attention=vqc")
        key, value = item.split("=", 1)
        node = data
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = parse_value(value)
    return data


def load_yaml(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ValueError(f"config file {path} does not exist (configs live in configs/, e.g. configs/default.yaml)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"config file {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping of settings at the top level")
    return data


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)
