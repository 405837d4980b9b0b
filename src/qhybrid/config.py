"""Run configuration: YAML files + `key=value` overrides -> validated dataclasses.

    name: my-run                       # run directory: <out_dir>/<name>
    data:  {name: toy_english}         # see `qhybrid list datasets`
    model: {attention: vqc, quantum: {n_qubits: 4}}
    train: {steps: 300, seed: 0}

Every key is checked here, once: unknown keys are rejected with the nearest valid one, every value
against its dataclass field's type (validation.py: model.quantum.* included; a number written as a
string, such as lr: 1e-3, is read as a float), then against its range; data.options against the
data set loader's parameters. Run names are one folder name inside out_dir. Comparison configs add
`variants`, `seeds`, `workers`, ... (see compare.py; `check_comparison` checks those settings).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .costs import ENERGY_MODES
from .data.registry import check_corpus_options
from .device import check_device_form
from .models import ModelConfig
from .validation import check_choice, check_fields, dataclass_from_dict, did_you_mean


@dataclass
class DataConfig:
    name: str = "toy_english"            # data set name (`qhybrid list datasets`) or a path to a text file
    data_dir: str | None = None          # local folder with the files (else $QHYBRID_DATA, else download)
    seed: int = 0                        # generator seed for built-in corpora
    options: dict = field(default_factory=dict)   # extra load_corpus options (task, level, sizes, ...)

    def __post_init__(self):
        check_fields(self, "data")
        check_corpus_options(self.name, self.options, "data.options")


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
    threads: int | str | None = "auto"   # torch CPU threads: auto (1 for small steps, see device.auto_threads),
                                         #   a number, or null (torch's default: every core)
    progress: bool = True                # tqdm progress bar
    device: str = "auto"                 # auto | cpu | cuda | cuda:N (auto: the first GPU when torch sees one)
    energy: str = "estimate"             # energy / CO2 in summary.json: estimate (stated assumptions) |
                                         #   codecarbon (measured, offline; the energy extra) | off

    def __post_init__(self):
        check_fields(self, "train")
        for k in ("steps", "batch_size", "eval_every", "eval_batches", "test_batches", "checkpoint_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"train.{k} must be >= 1, got {getattr(self, k)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        for k in ("warmup", "weight_decay", "grad_clip"):
            if getattr(self, k) < 0:
                raise ValueError(f"train.{k} must be >= 0, got {getattr(self, k)}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"train.min_lr_ratio must be in [0, 1] (a fraction of lr), got {self.min_lr_ratio}")
        if self.threads is not None and self.threads != "auto" and (
                isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"train.threads must be auto, a positive number of CPU threads or null (torch's "
                             f"default), got {self.threads!r}")
        check_device_form(self.device)               # the form only: a config naming cuda can be read anywhere
        check_choice("train.energy", self.energy, ENERGY_MODES)


@dataclass
class RunConfig:
    name: str = "run"
    out_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        check_fields(self)
        check_run_name(self.name)

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
EXECUTOR_NAMES = ("serial", "process", "ray")         # executors.py's EXECUTORS


def check_run_name(name, what: str = "name") -> None:
    """A run (or comparison) name is one folder name inside out_dir: not empty, '.', '..', absolute, no '/' or '\\'."""
    if not isinstance(name, str) or name.strip() in ("", ".", "..") or any(c in name for c in "/\\\0") or \
            Path(name).is_absolute():
        raise ValueError(f"{what} = {name!r} is not a valid run name: it must be one folder name inside out_dir "
                         f"(letters, digits, '-', '_', '.'; not empty, '.' or '..', no '/' or '\\'), e.g. "
                         f"{what}: my-run")


def check_comparison(spec: dict) -> None:
    """The settings of a comparison spec that are not run config keys: name, out_dir, workers, executor,
    matched_twins, baseline (compare.py's `expand` checks variants and seeds)."""
    if "name" in spec:
        check_run_name(spec["name"])
    if "out_dir" in spec and not isinstance(spec["out_dir"], str):
        raise ValueError(f"out_dir must be a folder path (a string), got {spec['out_dir']!r}")
    w = spec.get("workers", 1)
    if isinstance(w, bool) or not isinstance(w, int) or w < 1:
        raise ValueError(f"workers must be a positive integer (parallel worker processes), got {w!r}; "
                         f"e.g. workers: 2")
    if "executor" in spec:
        check_choice("executor", spec["executor"], EXECUTOR_NAMES)
    if not isinstance(spec.get("matched_twins", False), bool):
        raise ValueError(f"matched_twins must be true or false, got {spec['matched_twins']!r}")
    if "baseline" in spec and not isinstance(spec["baseline"], str):
        raise ValueError(f"baseline must be the name of a variant, got {spec['baseline']!r}")


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
        sections[key] = dataclass_from_dict(cls, value, key)
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
        if not all(p.strip() for p in parts):
            raise ValueError(f"override {item!r} has an empty key part; write dotted keys such as "
                             f"model.quantum.n_qubits=4")
        try:
            parsed = parse_value(value)
        except yaml.YAMLError as e:
            raise ValueError(f"override {item!r} has a value that is not valid YAML ({_yaml_problem(e)}); "
                             f"close lists and quote text, e.g. {key}=[1, 2]") from None
        for p in parts[:-1]:
            if node.get(p) is None:                          # `model:` left empty in the YAML is an empty section
                node[p] = {}
            node = node[p]
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = parsed
    return data


def _yaml_problem(e: yaml.YAMLError) -> str:
    """A YAML error as one short phrase: the problem and where (line, column)."""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    mark = getattr(e, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def load_yaml(path) -> dict:
    """The mapping a YAML config file holds; refuses a missing path, a folder, binary data, an empty file."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"config file {path} does not exist (configs live in configs/, e.g. configs/default.yaml)")
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.yaml"))
        raise ValueError(f"config file {path} is a directory, not a YAML file; pass a file"
                         + (f" such as {path / found[0]} (YAML files there: {', '.join(found)})" if found else
                            ", e.g. configs/default.yaml"))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise ValueError(f"config file {path} is not a text file (it holds binary data); a config is a YAML text "
                         f"file of settings, e.g. configs/default.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"config file {path} is not valid YAML: {_yaml_problem(e)}") from None
    if data is None:
        raise ValueError(f"config file {path} is empty (no settings); a config is a YAML mapping of settings such "
                         f"as `data: {{name: toy_english}}`, `model: {{attention: vqc}}`, `train: {{steps: 300}}` "
                         f"(see configs/default.yaml; every key not given keeps its default)")
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping of settings at the top level")
    return data


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)
