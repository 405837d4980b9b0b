"""Quantum adapters for pretrained Hugging Face models, placed like LoRA: in parallel with a frozen projection.

    config = QuantumAdapterConfig(target_modules=["c_attn", "c_proj"], n_qubits=4, n_layers=2)
    model = add_quantum_adapters(model, config)      # in place; base frozen; logits unchanged at init
    print_trainable_parameters(model)                # trainable params: 2,048 (quantum 96, classical 1,952) || ...
    save_quantum_adapters(model, "out/adapter")      # qhybrid_adapter_config.json + qhybrid_adapter_model.safetensors
    model = load_quantum_adapters(base_model, "out/adapter")
    remove_quantum_adapters(model)                   # the original projections back

Each targeted projection (GPT-2's `Conv1D` c_attn / c_proj / c_fc, whose weight is (in, out); or an
`nn.Linear` such as Llama's q_proj ... down_proj) becomes

    y = base(x) + scale * up(VQC(pi/2 * tanh(down(dropout(x)))))

where down / VQC / up is one `qhybrid.layers.QuantumLinear` (a dressed circuit; every leading dim, so
all B*T tokens, go to the backend in one call). `up` starts at zero, like LoRA's B, so the adapted
model computes exactly what the base model computes until the first optimizer step. Unlike LoRA the
adapter cannot be merged into the base weight (the circuit is not linear in x).

Target names match like PEFT's `target_modules`: a list matches module names by suffix ("c_attn"
matches "transformer.h.0.attn.c_attn"); a string is a regular expression over the full name.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import torch
from torch import nn

from .._optional import require
from ..circuit import build_circuit, pauli_observables
from ..layers import QuantumLinear
from ..models import count_parameters
from ..validation import did_you_mean

CONFIG_NAME = "qhybrid_adapter_config.json"
WEIGHTS_NAME = "qhybrid_adapter_model.safetensors"
FORMAT_VERSION = 1


@dataclasses.dataclass
class QuantumAdapterConfig:
    # Which projections get an adapter: a list of names matched by suffix (PEFT's rule), or one regular
    # expression matched against the full module name. GPT-2: c_attn, c_proj, c_fc; Llama family:
    # q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.
    target_modules: list[str] | str = dataclasses.field(default_factory=lambda: ["c_attn"])
    # The circuit of each adapter (see qhybrid.circuit.templates): qubits, ansatz layers, encoding, ansatz,
    # and the Pauli observables read out ("z": Z on every wire; "zz", "xyz", ... as pauli_observables).
    n_qubits: int = 4
    n_layers: int = 2
    ansatz: str = "strongly_entangling"
    encoding: str = "angle_y"
    observables: str = "z"
    # Where circuits run: a backend name of qhybrid.backends ("statevector", "density", "pennylane:...").
    # shots=None means exact expectations; an integer samples that many shots per expectation.
    backend: str = "statevector"
    shots: int | None = None
    # The adapter's output is multiplied by `scale` (LoRA's alpha / r) before it is added to the base output.
    scale: float = 1.0
    # Dropout on the adapter's input (LoRA's lora_dropout).
    dropout: float = 0.0
    # Biases in the adapter's down and up maps. Off by default: an up-bias alone would learn a constant
    # shift of the projection with no circuit involved.
    bias: bool = False
    # Other modules (suffix match, like PEFT's modules_to_save) left trainable and saved with the adapters,
    # e.g. ["score"] for a freshly initialised classification head.
    modules_to_save: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if isinstance(self.target_modules, (tuple, set)):
            self.target_modules = sorted(self.target_modules) if isinstance(self.target_modules, set) \
                else list(self.target_modules)
        if isinstance(self.target_modules, str):
            try:
                re.compile(self.target_modules)
            except re.error as e:
                raise ValueError(f"target_modules {self.target_modules!r} is not a valid regular expression: {e}")
        elif not self.target_modules or not all(isinstance(t, str) and t for t in self.target_modules):
            raise ValueError(f"target_modules must be a non-empty list of module names (or one regular "
                             f"expression), got {self.target_modules!r}")
        self.modules_to_save = list(self.modules_to_save)
        for name in ("n_qubits", "n_layers"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.backend, str):
            raise ValueError(f"backend must be a backend name (a string, so the config can be saved), got "
                             f"{self.backend!r}")
        if self.shots is not None and (not isinstance(self.shots, int) or self.shots < 1):
            raise ValueError(f"shots must be None (exact) or a positive integer, got {self.shots!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not math.isfinite(self.scale):
            raise ValueError(f"scale must be a finite number, got {self.scale!r}")
        circuit = self.circuit()                              # checks ansatz, encoding and observables by name
        if circuit.n_obs < 1:
            raise ValueError(f"observables={self.observables!r} gives a circuit with no observable")

    def circuit(self):
        """The adapter circuit (the same for every target)."""
        return build_circuit(self.n_qubits, self.n_layers, self.encoding, self.ansatz,
                             pauli_observables(self.n_qubits, self.observables))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QuantumAdapterConfig:
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                raise ValueError(f"unknown adapter setting {key!r}{did_you_mean(key, names)}; "
                                 f"valid: {', '.join(names)}")
        return cls(**data)

    def adapter_parameter_count(self, in_features: int, out_features: int) -> int:
        """Trainable parameters of one adapter on an (in_features -> out_features) projection."""
        c = self.circuit()
        n = c.n_weights
        if in_features != self.n_qubits:
            n += in_features * self.n_qubits + (self.n_qubits if self.bias else 0)
        n += c.n_obs * out_features + (out_features if self.bias else 0)
        return n


# ---- the wrapped projection -------------------------------------------------------------------
def _conv1d_class():
    return require("transformers.pytorch_utils").Conv1D


def projection_shape(module: nn.Module) -> tuple[int, int] | None:
    """(in_features, out_features) of an nn.Linear or a transformers Conv1D (weight (in, out)); else None."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    if isinstance(module, _conv1d_class()):
        return module.nx, module.nf
    return None


class QuantumAdapter(nn.Module):
    """A frozen projection plus a quantum adapter in parallel: base(x) + scale * QuantumLinear(dropout(x))."""

    def __init__(self, base: nn.Module, config: QuantumAdapterConfig):
        super().__init__()
        shape = projection_shape(base)
        if shape is None:
            raise TypeError(f"a quantum adapter wraps an nn.Linear or a transformers Conv1D, got {type(base).__name__}")
        self.in_features, self.out_features = shape
        self.base = base
        self.scale = config.scale
        self.dropout = nn.Dropout(config.dropout) if config.dropout else nn.Identity()
        self.adapter = QuantumLinear(self.in_features, self.out_features, config.n_qubits, config.n_layers,
                                     config.ansatz, config.encoding, config.observables, config.backend,
                                     config.shots, bias=config.bias)
        if self.adapter.post is None:
            raise ValueError(f"a projection with {self.out_features} outputs equals the circuit's number of "
                             f"observables, so the adapter has no up-projection to start at zero; change "
                             f"n_qubits or observables")
        nn.init.zeros_(self.adapter.post.weight)               # like LoRA's B: the adapter starts as exactly 0
        if self.adapter.post.bias is not None:
            nn.init.zeros_(self.adapter.post.bias)
        ref = next(base.parameters())
        self.adapter.to(device=ref.device)
        for p in base.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        dtype = self.adapter.post.weight.dtype
        delta = self.adapter(self.dropout(x).to(dtype))       # (..., out): all leading dims in one backend call
        return y + (self.scale * delta).to(y.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}"


# ---- finding the targets ------------------------------------------------------------------------
def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def projection_names(model: nn.Module) -> list[str]:
    """Full names of every nn.Linear / Conv1D of a model (the modules an adapter can target)."""
    return [n for n, m in model.named_modules() if n and projection_shape(m) is not None]


def _suffixes(names: list[str]) -> list[str]:
    """The distinct last components ("c_attn", "q_proj", ...), in order of appearance."""
    return list(dict.fromkeys(n.rpartition(".")[2] for n in names))


def find_targets(model: nn.Module, target_modules: list[str] | str) -> list[str]:
    """Full names of the modules `target_modules` selects; a name that selects nothing is an error that lists
    the model's projection names."""
    if any(isinstance(m, QuantumAdapter) for m in model.modules()):
        raise ValueError("this model already has quantum adapters; add them to a fresh base model")
    modules = dict(model.named_modules())
    if isinstance(target_modules, str):
        hits = [n for n in modules if n and re.fullmatch(target_modules, n)]
        if not hits:
            raise ValueError(f"target_modules {target_modules!r} (a regular expression over full names) matches no "
                             f"module; the model's projections are: {', '.join(_suffixes(projection_names(model)))} "
                             f"(full names like {projection_names(model)[0]!r})")
    else:
        hits = []
        for t in target_modules:
            found = [n for n in modules if n and _matches(n, t)]
            if not found:
                names = _suffixes(projection_names(model))
                raise ValueError(f"target module {t!r} is not in this {type(model).__name__}"
                                 f"{did_you_mean(t, names)}; its projections are: {', '.join(names)}")
            hits += found
        hits = [n for n in modules if n in set(hits)]          # model order, no duplicates
    for n in hits:
        if projection_shape(modules[n]) is None:
            names = ", ".join(_suffixes(projection_names(model)))
            raise ValueError(f"target module {n!r} is a {type(modules[n]).__name__}; quantum adapters wrap nn.Linear "
                             f"and Conv1D projections only (the model's: {names})")
    return hits


def _find_saved(model: nn.Module, names: list[str]) -> list[str]:
    modules = [n for n, _ in model.named_modules() if n]
    out = []
    for t in names:
        found = [n for n in modules if _matches(n, t)]
        if not found:
            leaves = list(dict.fromkeys(n.rpartition(".")[2] for n in modules))
            raise ValueError(f"modules_to_save {t!r} is not in this {type(model).__name__}{did_you_mean(t, leaves)}")
        out += found
    return list(dict.fromkeys(out))


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, module)


# ---- the public functions -----------------------------------------------------------------------
def add_quantum_adapters(model: nn.Module, config: QuantumAdapterConfig) -> nn.Module:
    """Wrap every targeted projection of `model` (in place) with a QuantumAdapter; freeze everything else.

    Returns the model. Adapter weights are drawn from torch's global RNG (seed it for reproducible
    adapters). The config is kept as `model.qhybrid_adapter_config`; the wrapped names as
    `model.qhybrid_adapter_targets`.
    """
    if not isinstance(config, QuantumAdapterConfig):
        raise TypeError(f"config must be a QuantumAdapterConfig, got {type(config).__name__}")
    targets = find_targets(model, config.target_modules)
    saved = _find_saved(model, config.modules_to_save)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in targets:
        _set_module(model, name, QuantumAdapter(model.get_submodule(name), config))
    for name in saved:
        for p in model.get_submodule(name).parameters():
            p.requires_grad_(True)
    model.qhybrid_adapter_config = config
    model.qhybrid_adapter_targets = targets
    return model


def remove_quantum_adapters(model: nn.Module) -> nn.Module:
    """Put the original projections back (in place) and drop the adapters; parameters stay frozen. An adapted
    model's own `save_pretrained` would write the wrapped names (`...c_attn.base.weight`): save the adapters
    with save_quantum_adapters, or remove them first to save the plain base."""
    for name, m in quantum_adapters(model).items():
        _set_module(model, name, m.base)
    for attr in ("qhybrid_adapter_config", "qhybrid_adapter_targets"):
        if hasattr(model, attr):
            delattr(model, attr)
    return model


def quantum_adapters(model: nn.Module) -> dict[str, QuantumAdapter]:
    """{full name: QuantumAdapter} of a model."""
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantumAdapter)}


def trainable_parameters(model: nn.Module) -> dict:
    """Trainable counts split quantum / classical, and the model's total (every parameter counted once)."""
    c = count_parameters(model)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": c["total"], "quantum": c["quantum"], "classical": c["classical"], "all": total,
            "trainable_percent": 100.0 * c["total"] / max(total, 1)}


def print_trainable_parameters(model: nn.Module) -> dict:
    """Print (and return) the trainable parameter summary, in the style of PEFT's print_trainable_parameters."""
    t = trainable_parameters(model)
    print(f"trainable params: {t['trainable']:,} (quantum {t['quantum']:,}, classical {t['classical']:,}) || "
          f"all params: {t['all']:,} || trainable%: {t['trainable_percent']:.4f}")
    return t


def _adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    config = getattr(model, "qhybrid_adapter_config", None)
    if config is None or not quantum_adapters(model):
        raise ValueError("this model has no quantum adapters (add them with add_quantum_adapters)")
    state = {}
    for name, m in quantum_adapters(model).items():
        state.update({f"{name}.adapter.{k}": v for k, v in m.adapter.state_dict().items()})
    for name in _find_saved(model, config.modules_to_save):
        state.update({f"{name}.{k}": v for k, v in model.get_submodule(name).state_dict().items()})
    return state


def save_quantum_adapters(model: nn.Module, directory) -> Path:
    """Write the adapters alone: `qhybrid_adapter_config.json` (settings, wrapped module names, base model)
    and `qhybrid_adapter_model.safetensors` (adapter and modules_to_save tensors). Returns the directory."""
    safetensors_torch = require("safetensors.torch")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in _adapter_state(model).items()}
    meta = {"format_version": FORMAT_VERSION, "config": model.qhybrid_adapter_config.to_dict(),
            "targets": list(model.qhybrid_adapter_targets),
            "base_model": getattr(getattr(model, "config", None), "_name_or_path", None) or None,
            "base_model_class": type(model).__name__}
    safetensors_torch.save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    (directory / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
    return directory


def load_adapter_config(directory) -> QuantumAdapterConfig:
    """The QuantumAdapterConfig saved in an adapter directory."""
    path = Path(directory) / CONFIG_NAME
    if not path.exists():
        raise FileNotFoundError(f"no {CONFIG_NAME} in {directory} (save adapters with save_quantum_adapters)")
    meta = json.loads(path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} has adapter format {meta.get('format_version')!r}; "
                         f"this qhybrid reads {FORMAT_VERSION}")
    return QuantumAdapterConfig.from_dict(meta["config"])


def load_quantum_adapters(base_model: nn.Module, directory) -> nn.Module:
    """Add the saved adapters to a base model (the same base they were trained on) and load their tensors.

    The restored model computes bit-for-bit what the saved one did. A missing or unexpected tensor, or a
    wrapped module set that differs from the saved one, is an error.
    """
    safetensors_torch = require("safetensors.torch")
    directory = Path(directory)
    config = load_adapter_config(directory)
    saved_targets = json.loads((directory / CONFIG_NAME).read_text())["targets"]
    model = add_quantum_adapters(base_model, config)
    if list(model.qhybrid_adapter_targets) != list(saved_targets):
        raise ValueError(f"the adapters in {directory} wrap {len(saved_targets)} modules ({saved_targets[:3]}...), "
                         f"this base model gives {len(model.qhybrid_adapter_targets)}: is it the same architecture?")
    tensors = safetensors_torch.load_file(str(directory / WEIGHTS_NAME))
    expected = set(_adapter_state(model))
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise ValueError(f"{directory / WEIGHTS_NAME} does not fit this model: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    params = dict(model.named_parameters(remove_duplicate=False))
    buffers = dict(model.named_buffers(remove_duplicate=False))
    with torch.no_grad():
        for k, v in tensors.items():
            target = params[k] if k in params else buffers[k]
            if target.shape != v.shape:
                raise ValueError(f"{k}: saved shape {tuple(v.shape)}, model shape {tuple(target.shape)}")
            target.copy_(v.to(target.dtype))
    return model
