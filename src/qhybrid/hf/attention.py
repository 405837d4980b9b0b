"""Swap the self-attention of chosen layers of a Hugging Face decoder for one of qhybrid's quantum kinds.

    model = replace_attention(model, "qsann", layers=[1], n_qubits=4)    # in place; returns the model
    model.generate(ids, max_new_tokens=8)                                 # works, with or without use_cache

Every decoder layer whose attention module carries a `layer_idx` (GPT-2, Llama, Mistral, Qwen2, SmolLM, ...)
can be swapped. The new attention is `qhybrid.layers.ATTENTIONS[kind](hidden_size, num_attention_heads,
causal=True, ...)`, freshly initialised and trainable (the rest of the model keeps its weights and
`requires_grad`). It sees the layer's input hidden states, the causal mask and the padding mask; it
gets no rotary position embedding (Llama's RoPE lives inside the replaced module), so in a swapped layer
position enters only through causality and the layers around it.

Generation with a KV cache: a qhybrid attention has no keys and values to cache, so a swapped layer stores
its *input hidden states* in the cache slot of its layer (a DynamicCache; it concatenates along the
sequence) and recomputes its attention over the whole prefix at every step, returning the new positions.
The result equals the uncached computation (attention is causal), and the cache's length bookkeeping,
beam reordering and cropping keep working; the cost of a swapped layer per generated token is that of
a full forward over the prefix. Static, quantised or offloaded caches are not supported.
"""
from __future__ import annotations

import torch
from torch import nn

from ..layers import ATTENTIONS
from ..validation import check_choice

QUANTUM_KINDS = tuple(k for k in ATTENTIONS if k != "classical")


def attention_modules(model: nn.Module) -> dict[int, str]:
    """{layer index: full module name} of each decoder layer's self-attention (modules named *Attention with a
    `layer_idx`; GPT-2's cross-attention is skipped)."""
    out = {}
    for name, m in model.named_modules():
        idx = getattr(m, "layer_idx", None)
        if (isinstance(idx, int) and type(m).__name__.endswith("Attention") and not name.endswith("crossattention")
                and not getattr(m, "is_cross_attention", False)) or isinstance(m, HFQuantumAttention):
            if idx in out:
                raise ValueError(f"two attention modules claim layer {idx}: {out[idx]} and {name}")
            out[idx] = name
    return dict(sorted(out.items()))


def key_padding_mask(attention_mask, length: int) -> torch.Tensor | None:
    """The (B, length) bool mask of keys that may be attended to, read from what a decoder layer receives:
    None, a 2-D padding mask (flash attention), or a 4-D (B, 1, Tq, Tk) bool (sdpa) or additive float (eager)
    mask. The last query row of a causal mask allows every key up to it, so it is the padding mask."""
    if attention_mask is None:
        return None
    m = attention_mask
    if m.dim() == 4:
        m = m[:, 0, -1, :]
    if m.dtype != torch.bool:
        m = m == 0 if attention_mask.dim() == 4 else m > 0     # additive 4-D masks: 0 allowed, -inf (or min) blocked
    m = m[:, -length:] if m.shape[1] >= length else m
    if m.shape[1] != length:
        raise ValueError(f"attention mask covers {m.shape[1]} keys, the layer sees {length} positions")
    return None if bool(m.all()) else m


class HFQuantumAttention(nn.Module):
    """A qhybrid attention kind in a Hugging Face decoder layer's attention slot.

    forward(hidden_states (B, T, C), attention_mask=None, past_key_values=None, **ignored) -> (out (B, T, C), None)
    """

    def __init__(self, inner: nn.Module, layer_idx: int, kind: str):
        super().__init__()
        self.inner, self.layer_idx, self.kind = inner, layer_idx, kind

    def forward(self, hidden_states: torch.Tensor, attention_mask=None, past_key_values=None, **kwargs):
        x = hidden_states
        T_new = x.shape[1]
        cache = getattr(past_key_values, "self_attention_cache", past_key_values)   # EncoderDecoderCache or Cache
        if cache is not None:                        # keep this layer's inputs; attend over the whole prefix
            x, _ = cache.update(x[:, None], x[:, None, :, :0], self.layer_idx)
            x = x[:, 0]
        dtype = next(self.inner.parameters()).dtype
        y = self.inner(x.to(dtype), key_padding_mask(attention_mask, x.shape[1]))
        return y[:, -T_new:].to(hidden_states.dtype), None

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, layer_idx={self.layer_idx}"


def replace_attention(model: nn.Module, kind: str, layers=None, dropout: float = 0.0, **options) -> nn.Module:
    """Replace the self-attention of `layers` (indices; None = every layer) by qhybrid's `kind` (vqc, qsann,
    kernel or quixer), in place. `options` go to the attention's constructor (n_qubits, n_layers, ansatz,
    encoding, backend, shots; quixer also qsvt_degree and context, whose default is the model's maximum
    number of positions). Returns the model."""
    check_choice("attention kind", kind, QUANTUM_KINDS)
    found = attention_modules(model)
    if not found:
        raise ValueError(f"found no decoder self-attention (a module named *Attention with a layer_idx) in this "
                         f"{type(model).__name__}")
    layers = list(found) if layers is None else [layers] if isinstance(layers, int) else list(layers)
    for i in layers:
        if i not in found:
            raise ValueError(f"layer {i} is not in this model; its layers are {list(found)}")
    config = getattr(model, "config", None)
    d_model = getattr(config, "hidden_size", None)
    n_heads = getattr(config, "num_attention_heads", None)
    if d_model is None or n_heads is None:
        raise ValueError("replace_attention reads hidden_size and num_attention_heads from model.config")
    if kind == "quixer" and "context" not in options:
        options["context"] = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 256)
    ref = next(model.parameters())
    for i in layers:
        name = found[i]
        inner = ATTENTIONS[kind](d_model, n_heads, dropout, True, **options).to(ref.device)
        parent, _, leaf = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, HFQuantumAttention(inner, i, kind))
    return model
