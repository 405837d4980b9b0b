"""TinyLM / SequenceClassifier for every kind: learning, generation, twins and parameter counts."""
import pytest
import torch

from qhybrid.models import (ModelConfig, SequenceClassifier, TinyLM, classical_twin, config_from_dict,
                            count_parameters, parameter_matched_twin)

KINDS = [("classical", "classical", "classical"), ("quantum", "classical", "classical"),
         ("ket", "classical", "classical"), ("classical", "vqc", "classical"),
         ("classical", "qsann", "classical"), ("classical", "kernel", "classical"),
         ("classical", "quixer", "classical"), ("classical", "classical", "vqc")]


def tiny(emb, att, ffn, **kw):
    base = dict(vocab_size=12, context=8, d_model=16, n_heads=2, n_blocks=1, embedding=emb, attention=att,
                ffn=ffn, quantum=dict(n_qubits=3, n_layers=1))
    base.update(kw)
    return ModelConfig(**base)


@pytest.mark.slow
@pytest.mark.parametrize("emb,att,ffn", KINDS)
def test_every_kind_overfits_a_tiny_batch(emb, att, ffn):
    torch.manual_seed(0)
    model = TinyLM(tiny(emb, att, ffn))
    idx = torch.randint(0, 12, (4, 9))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        _, loss = model(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], f"{emb}/{att}/{ffn}: loss {losses[0]:.3f} -> {losses[-1]:.3f}"


@pytest.mark.parametrize("emb,att,ffn", KINDS)
def test_generate_and_counts(emb, att, ffn):
    torch.manual_seed(0)
    cfg = tiny(emb, att, ffn)
    model = TinyLM(cfg)
    out = model.generate(torch.tensor([1, 2, 3]), 10, temperature=0.8, top_k=5)
    assert out.shape == (13,) and out[:3].tolist() == [1, 2, 3]
    assert int(out.min()) >= 0 and int(out.max()) < 12
    counts = count_parameters(model)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["total"] == counts["quantum"] + counts["classical"]
    assert (counts["quantum"] > 0) == (cfg.is_quantum and emb != "ket")   # ket is quantum-inspired only
    twin = classical_twin(cfg)
    assert not twin.is_quantum and count_parameters(TinyLM(twin))["quantum"] == 0
    assert (twin.d_model, twin.n_blocks, twin.n_heads) == (cfg.d_model, cfg.n_blocks, cfg.n_heads)


@pytest.mark.parametrize("emb,att,ffn", KINDS[1:])
@pytest.mark.parametrize("exclude", [False, True])
def test_parameter_matched_twin_within_ten_percent(emb, att, ffn, exclude):
    cfg = tiny(emb, att, ffn, d_model=32, n_heads=4, vocab_size=65)
    key = "non_embedding" if exclude else "total"
    twin = parameter_matched_twin(cfg, exclude_embeddings=exclude)
    q, c = count_parameters(TinyLM(cfg))[key], count_parameters(TinyLM(twin))[key]
    assert not twin.is_quantum
    assert abs(c - q) <= 0.10 * q, f"{key}: quantum {q} vs twin {c}"


def test_classifier_pools_and_masks():
    torch.manual_seed(0)
    for att in ("classical", "qsann"):
        cfg = tiny("classical", att, "classical", causal=False, n_classes=3)
        model = SequenceClassifier(cfg)
        idx = torch.randint(0, 12, (2, 6))
        mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
        logits, loss = model(idx, mask, torch.tensor([0, 2]))
        assert logits.shape == (2, 3) and loss.item() > 0
        idx2 = idx.clone(); idx2[0, 4:] = 7                     # change padding only
        assert torch.allclose(model(idx2, mask)[0][0], logits[0], atol=1e-5)


def test_config_errors_name_the_key_and_suggest():
    with pytest.raises(ValueError, match="did you mean 'quixer'"):
        ModelConfig(attention="quxer")
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match=r"unknown key model.n_head \(did you mean model.n_heads\?\)"):
        config_from_dict(ModelConfig, {"n_head": 2})
    with pytest.raises(ValueError, match="quantum.n_qubit"):
        ModelConfig(quantum={"n_qubit": 2})
    with pytest.raises(ValueError, match="token ids"):
        TinyLM(tiny("classical", "classical", "classical"))(torch.tensor([[0, 99]]))
