"""Hugging Face integration: quantum adapters on pretrained transformers, their classical controls, and
quantum attention swapped into chosen layers (the optional `hf` extra: transformers and peft).

    from transformers import AutoModelForCausalLM
    from qhybrid.hf import QuantumAdapterConfig, add_quantum_adapters, lora_twin, print_trainable_parameters

    model = AutoModelForCausalLM.from_pretrained("gpt2")
    model = add_quantum_adapters(model, QuantumAdapterConfig(target_modules=["c_attn"], n_qubits=4))
    twin = lora_twin(AutoModelForCausalLM.from_pretrained("gpt2"), model)   # LoRA, trainable count within 10%

    adapters.py   QuantumAdapterConfig, add_quantum_adapters, print_trainable_parameters, save / load
    baselines.py  lora_twin (matched rank), head_only, full_finetune
    attention.py  replace_attention: qhybrid's vqc / qsann / kernel / quixer attention in chosen layers
    runs.py       `model.hf` runs for qhybrid train / compare / generate: the corpus through the model's
                  tokenizer, the model with its method's trainable parameters (used by qhybrid.runs)
    pretrain.py   a small base made locally: a BPE tokenizer and a GPT-2 pretrained on a text, saved
                  with save_pretrained (offline tests and studies)

transformers and peft are imported when a function needs them (`qhybrid._optional.require`), so this
package imports without them; `import qhybrid` never imports it. This wing may use the circuit wing,
the backends' face, layers and models; nothing below imports it.
"""
from .adapters import (
    QuantumAdapter,
    QuantumAdapterConfig,
    add_quantum_adapters,
    find_targets,
    load_adapter_config,
    load_quantum_adapters,
    print_trainable_parameters,
    projection_names,
    quantum_adapters,
    remove_quantum_adapters,
    save_quantum_adapters,
    trainable_parameters,
)
from .attention import HFQuantumAttention, attention_modules, replace_attention
from .baselines import full_finetune, head_only, lora_twin, matched_lora_rank

__all__ = ["QuantumAdapterConfig", "QuantumAdapter", "add_quantum_adapters", "remove_quantum_adapters",
           "find_targets", "projection_names", "quantum_adapters", "trainable_parameters",
           "print_trainable_parameters", "save_quantum_adapters", "load_quantum_adapters", "load_adapter_config",
           "lora_twin", "matched_lora_rank", "head_only", "full_finetune", "replace_attention", "attention_modules",
           "HFQuantumAttention"]
