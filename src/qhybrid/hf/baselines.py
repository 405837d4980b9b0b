"""The classical references a quantum adapter is compared with, on the same pretrained model.

    twin = lora_twin(fresh_base, adapted_model)     # PEFT LoRA on the same targets, trainable count within 10%
    head_only(model)                                # train only the LM head / classification head
    full_finetune(model)                            # train everything

The LoRA rank is chosen so that r * sum(in + out) over the targets (plus any modules_to_save) is the
nearest to the quantum adapters' trainable count; when even the nearest rank is outside the tolerance
(a target set too small for rank 1, say) the error names that rank and its count.
"""
from __future__ import annotations

from torch import nn

from .._optional import require
from .adapters import QuantumAdapterConfig, _find_saved, find_targets, projection_shape, trainable_parameters

HEAD_NAMES = ("score", "classifier", "lm_head")


def _target_and_count(model: nn.Module, adapted_or_config) -> tuple[QuantumAdapterConfig, int]:
    if isinstance(adapted_or_config, QuantumAdapterConfig):
        config = adapted_or_config
        targets = find_targets(model, config.target_modules)
        shapes = [projection_shape(model.get_submodule(n)) for n in targets]
        saved = sum(p.numel() for n in _find_saved(model, config.modules_to_save)
                    for p in model.get_submodule(n).parameters())
        return config, sum(config.adapter_parameter_count(i, o) for i, o in shapes) + saved
    config = getattr(adapted_or_config, "qhybrid_adapter_config", None)
    if config is None:
        raise TypeError("lora_twin takes a model with quantum adapters or a QuantumAdapterConfig, got a "
                        f"{type(adapted_or_config).__name__} without adapters")
    return config, trainable_parameters(adapted_or_config)["trainable"]


def matched_lora_rank(model: nn.Module, adapted_or_config, tolerance: float = 0.10) -> tuple[int, int, int]:
    """(rank, LoRA trainable count, quantum-adapter trainable count) for a base model and adapters."""
    config, target = _target_and_count(model, adapted_or_config)
    targets = find_targets(model, config.target_modules)
    per_rank = sum(sum(projection_shape(model.get_submodule(n))) for n in targets)   # r * (in + out) per target
    saved = sum(p.numel() for n in _find_saved(model, config.modules_to_save)
                for p in model.get_submodule(n).parameters())
    best = max(1, round((target - saved) / per_rank))
    best = min((r for r in (best - 1, best, best + 1) if r >= 1), key=lambda r: abs(r * per_rank + saved - target))
    count = best * per_rank + saved
    if abs(count - target) > tolerance * target:
        raise ValueError(f"no LoRA rank matches the quantum adapters' {target:,} trainable parameters within "
                         f"{tolerance:.0%}: the closest, rank {best}, has {count:,} "
                         f"({(count - target) / target:+.1%}); "
                         f"one rank adds {per_rank:,} on these targets. Change the adapters (n_qubits, targets) or "
                         f"the tolerance")
    return best, count, target


def lora_twin(model: nn.Module, adapted_or_config, tolerance: float = 0.10, **lora_options):
    """A PEFT LoRA of `model` (a fresh base model) on the quantum adapters' target modules, with the rank whose
    trainable count is within `tolerance` of the adapters'. `lora_options` go to peft.LoraConfig (lora_alpha
    defaults to the rank, i.e. LoRA scale 1, matching the adapters' default scale; lora_dropout to the
    adapters' dropout). Returns the PeftModel; its chosen rank is `.peft_config['default'].r`."""
    peft = require("peft")
    config, _ = _target_and_count(model, adapted_or_config)
    rank, _, _ = matched_lora_rank(model, adapted_or_config, tolerance)
    targets = find_targets(model, config.target_modules)
    conv1d = require("transformers.pytorch_utils").Conv1D
    options = {"r": rank, "lora_alpha": rank * config.scale, "lora_dropout": config.dropout, "bias": "none",
               "target_modules": targets, "modules_to_save": config.modules_to_save or None,
               "fan_in_fan_out": any(isinstance(model.get_submodule(n), conv1d) for n in targets)}
    options.update(lora_options)
    return peft.get_peft_model(model, peft.LoraConfig(**options))


def head_only(model: nn.Module, head: str | None = None) -> nn.Module:
    """Freeze everything but the head: `head` (a module name) or the first of score / classifier / lm_head,
    else the model's output embeddings. With tied embeddings (GPT-2) the LM head IS the token embedding
    matrix, so that matrix trains too."""
    modules = dict(model.named_modules())
    if head is not None:
        if head not in modules:
            raise ValueError(f"no module {head!r} in this {type(model).__name__}")
        module = modules[head]
    else:
        module = next((modules[n] for n in HEAD_NAMES if n in modules), None)
        if module is None and hasattr(model, "get_output_embeddings"):
            module = model.get_output_embeddings()
        if module is None:
            raise ValueError(f"found no head ({', '.join(HEAD_NAMES)}) in this {type(model).__name__}; name it: "
                             f"head_only(model, head='...')")
    for p in model.parameters():
        p.requires_grad_(False)
    for p in module.parameters():
        p.requires_grad_(True)
    return model


def full_finetune(model: nn.Module) -> nn.Module:
    """Every parameter trainable (the full fine-tuning reference)."""
    for p in model.parameters():
        p.requires_grad_(True)
    return model
