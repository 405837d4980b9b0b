"""qhybrid attention kinds swapped into chosen layers of tiny GPT-2 and Llama models: causality, padding,
and generation with and without the KV cache."""
import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402
from conftest import FAMILIES, VOCAB  # noqa: E402

from qhybrid.hf import HFQuantumAttention, attention_modules, replace_attention  # noqa: E402
from qhybrid.hf.attention import key_padding_mask  # noqa: E402

KINDS = ("vqc", "qsann", "kernel", "quixer")
SMALL = dict(n_qubits=3, n_layers=1)


def swapped(load_base, family, kind, layers=(1,)):
    torch.manual_seed(0)
    return replace_attention(load_base(family), kind, layers=layers, **SMALL)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("kind", KINDS)
def test_swapped_layers_stay_causal(load_base, family, kind):
    model = swapped(load_base, family, kind)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, VOCAB, (2, 10), generator=g)
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % VOCAB                                  # perturb the later tokens only
    with torch.no_grad():
        a, b = model(x).logits, model(y).logits
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:])
    assert isinstance(model.get_submodule(attention_modules(model)[1]), HFQuantumAttention)
    assert not isinstance(model.get_submodule(attention_modules(model)[0]), HFQuantumAttention)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("kind", ["qsann", "quixer"])
def test_generate_runs_and_the_cache_path_equals_the_full_recompute(load_base, family, kind):
    model = swapped(load_base, family, kind, layers=None)
    x = torch.randint(0, VOCAB, (2, 4), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        cached = model.generate(x, max_new_tokens=5, do_sample=False, use_cache=True, pad_token_id=0)
        full = model.generate(x, max_new_tokens=5, do_sample=False, use_cache=False, pad_token_id=0)
    assert cached.shape == (2, 9)
    assert torch.equal(cached, full)


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_left_padding_is_masked(saved_bases, implementation):
    """Llama's layers are shift-invariant (RoPE is relative), so a left-padded row must give the logits of the
    unpadded row when the swapped layer ignores the pad keys."""
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(saved_bases["llama"],
                                                              attn_implementation=implementation).eval()
    torch.manual_seed(0)
    replace_attention(model, "qsann", layers=[0, 1], **SMALL)
    x = torch.randint(1, VOCAB, (1, 6), generator=torch.Generator().manual_seed(2))
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), x], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 6, dtype=torch.long)], 1)
    with torch.no_grad():
        ref = model(x).logits[:, -1]
        out = model(padded, attention_mask=mask).logits[:, -1]
        unmasked = model(padded).logits[:, -1]
    assert torch.allclose(out, ref, atol=1e-4)
    assert not torch.allclose(unmasked, ref, atol=1e-4)


def test_key_padding_mask_reads_every_mask_form():
    pad = torch.tensor([[False, True, True], [True, True, True]])
    causal = torch.ones(3, 3, dtype=torch.bool).tril()
    four_d = causal[None, None] & pad[:, None, None, :]
    additive = torch.zeros(2, 1, 3, 3).masked_fill(~four_d, torch.finfo(torch.float32).min)
    for m in (pad.long(), four_d, additive):
        assert torch.equal(key_padding_mask(m, 3), pad)
    assert key_padding_mask(None, 3) is None
    assert key_padding_mask(torch.ones(2, 3, dtype=torch.long), 3) is None


def test_replaced_attention_trains_and_bad_arguments_are_named(load_base):
    model = swapped(load_base, "gpt2", "vqc")
    x = torch.randint(0, VOCAB, (2, 8), generator=torch.Generator().manual_seed(3))
    model(x, labels=x).loss.backward()
    inner = model.get_submodule(attention_modules(model)[1]).inner
    assert all(p.grad is not None for p in inner.parameters())
    with pytest.raises(ValueError, match="did you mean 'qsann'"):
        replace_attention(load_base("gpt2"), "qsan")
    with pytest.raises(ValueError, match=r"layer 5 is not in this model; its layers are \[0, 1\]"):
        replace_attention(load_base("llama"), "vqc", layers=[5])
