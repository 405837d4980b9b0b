"""TinyLM / SequenceClassifier for every kind: learning, generation, twins and parameter counts."""
import pytest
import torch

from qhybrid.models import (
    ModelConfig,
    SequenceClassifier,
    TinyLM,
    classical_twin,
    count_parameters,
    parameter_matched_twin,
)
from qhybrid.validation import dataclass_from_dict

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
    assert counts["total"] == counts["quantum"] + counts["classical"]
    assert (counts["quantum"] > 0) == (cfg.is_quantum and emb != "ket")   # ket is quantum-inspired only
    twin = classical_twin(cfg)
    assert not twin.is_quantum and count_parameters(TinyLM(twin))["quantum"] == 0
    assert (twin.d_model, twin.n_blocks, twin.n_heads) == (cfg.d_model, cfg.n_blocks, cfg.n_heads)


def test_parameter_counts_match_the_architecture_by_hand():
    V, T, d, h = 12, 8, 16, 64                                    # tiny(): vocab, context, width, 4 * width
    ln, lin = 2 * d, lambda i, o: i * o + o
    block = ln + lin(d, 3 * d) + lin(d, d) + ln + lin(d, h) + lin(h, d)
    counts = count_parameters(TinyLM(tiny("classical", "classical", "classical")))
    assert counts == {"total": V * d + T * d + block + ln, "embedding": V * d + T * d,
                      "non_embedding": block + ln, "quantum": 0, "classical": V * d + T * d + block + ln}
    n, L = 3, 1                                                   # VQC attention: 4 dressed circuits (Q, K, V, O)
    per_circuit = L * n * 3 + lin(d, n) + lin(n, d)               # strongly entangling weights + dressing maps
    vqc = count_parameters(TinyLM(tiny("classical", "vqc", "classical")))
    assert vqc["quantum"] == 4 * L * n * 3
    assert vqc["total"] == V * d + T * d + 2 * ln + 4 * per_circuit + lin(d, h) + lin(h, d) + ln


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
        dataclass_from_dict(ModelConfig, {"n_head": 2}, "model")
    with pytest.raises(ValueError, match="quantum.n_qubit"):
        ModelConfig(quantum={"n_qubit": 2})
    with pytest.raises(ValueError, match="token ids"):
        TinyLM(tiny("classical", "classical", "classical"))(torch.tensor([[0, 99]]))


def test_lstm_lm_matches_a_hand_built_reference_and_is_causal():
    torch.manual_seed(0)
    cfg = tiny("classical", "classical", "classical", arch="lstm", n_blocks=2)
    model = TinyLM(cfg).eval()
    idx = torch.randint(0, 12, (3, 8))
    logits, _ = model(idx)
    # reference: embedding -> the same LSTM weights stepped one token at a time -> LN -> tied head
    h = [torch.zeros(3, 16) for _ in range(2)]; c = [torch.zeros(3, 16) for _ in range(2)]
    cells = [torch.nn.LSTMCell(16, 16) for _ in range(2)]
    for k, cell in enumerate(cells):
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, n).data = getattr(model.rnn, f"{n}_l{k}").data
    outs = []
    for t in range(8):
        x = model.tok_emb(idx[:, t])
        for k, cell in enumerate(cells):
            h[k], c[k] = cell(x, (h[k], c[k])); x = h[k]
        outs.append(model.ln_f(x) @ model.tok_emb.full_weight().t())
    assert torch.allclose(logits, torch.stack(outs, 1), atol=1e-5)
    idx2 = idx.clone(); idx2[:, 5:] = (idx2[:, 5:] + 1) % 12          # later tokens must not change earlier logits
    assert torch.allclose(model(idx2)[0][:, :5], logits[:, :5], atol=1e-6)
    counts = count_parameters(model)
    assert counts["embedding"] == 12 * 16 and counts["non_embedding"] == 2 * 4 * 16 * (16 + 16 + 2) + 2 * 16


def test_lstm_rejects_quantum_blocks_but_takes_a_quantum_embedding():
    with pytest.raises(ValueError, match="arch = 'lstm' has no attention"):
        tiny("classical", "vqc", "classical", arch="lstm")
    with pytest.raises(ValueError, match="valid: transformer, lstm"):
        tiny("classical", "classical", "classical", arch="rnn")
    cfg = tiny("quantum", "classical", "classical", arch="lstm", d_model=32, n_heads=4, vocab_size=65)
    twin = parameter_matched_twin(cfg)
    q, c = count_parameters(TinyLM(cfg))["total"], count_parameters(TinyLM(twin))["total"]
    assert twin.arch == "lstm" and not twin.is_quantum and abs(c - q) <= 0.10 * q
    clf = SequenceClassifier(tiny("classical", "classical", "classical", arch="lstm", n_classes=2))
    idx = torch.randint(0, 12, (2, 6)); mask = torch.tensor([[1] * 4 + [0] * 2, [1] * 6], dtype=torch.bool)
    out = clf(idx, mask)[0]
    idx2 = idx.clone(); idx2[0, 4:] = 7                                # padding after the sentence is ignored
    assert torch.allclose(clf(idx2, mask)[0][0], out[0], atol=1e-6)


def test_quantum_linear_refuses_integer_inputs():
    from qhybrid.layers.linear import QuantumLinear

    layer = QuantumLinear(3, 2, n_qubits=2, n_layers=1)
    with pytest.raises(TypeError, match="floating-point.*torch.int64.*x.float()"):
        layer(torch.tensor([[1, 2, 3]]))
    assert layer(torch.tensor([[1.0, 2.0, 3.0]])).shape == (1, 2)
