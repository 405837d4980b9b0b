"""Quantum layers: shapes, causality, gradients to every quantum weight, twins' contracts."""
import math

import pytest
import torch

from qhybrid.layers import (
    ATTENTIONS,
    MLP,
    ClassicalLinear,
    KetEmbedding,
    QuantumEmbedding,
    QuantumLinear,
    VQCFeedForward,
    is_quantum,
)

B, T, C, H = 2, 6, 16, 2
QOPTS = dict(n_qubits=3, n_layers=1)


def make_attention(kind, causal=True):
    torch.manual_seed(0)
    extra = dict(context=T) if kind == "quixer" else {}           # the Quixer mixer's own option
    return ATTENTIONS[kind](C, H, 0.0, causal, **QOPTS, **extra)


@pytest.mark.parametrize("kind", list(ATTENTIONS))
def test_attention_shape_and_causality(kind):
    att = make_attention(kind)
    x = torch.randn(B, T, C)
    y = att(x)
    assert y.shape == (B, T, C)
    for t in range(T - 1):
        x2 = x.clone()
        x2[:, t + 1:] += torch.randn(B, T - t - 1, C)          # change the future only
        y2 = att(x2)
        assert torch.allclose(y2[:, : t + 1], y[:, : t + 1], atol=1e-6), f"{kind}: position <= {t} saw the future"
        assert not torch.allclose(y2[:, t + 1:], y[:, t + 1:], atol=1e-6), f"{kind}: later positions ignored input"


@pytest.mark.parametrize("kind", list(ATTENTIONS))
def test_attention_non_causal_sees_all(kind):
    att = make_attention(kind, causal=False)
    x = torch.randn(B, T, C)
    x2 = x.clone()
    x2[:, -1] += 1.0
    assert not torch.allclose(att(x2)[:, 0], att(x)[:, 0], atol=1e-6)


@pytest.mark.parametrize("kind", list(ATTENTIONS))
def test_attention_key_mask_hides_padding(kind):
    att = make_attention(kind, causal=False)
    x = torch.randn(B, T, C)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[:, -2:] = False                                       # last two tokens are padding
    x2 = x.clone()
    x2[:, -2:] = torch.randn(B, 2, C)
    assert torch.allclose(att(x, mask)[:, :-2], att(x2, mask)[:, :-2], atol=1e-6)


@pytest.mark.parametrize("kind", [k for k in ATTENTIONS if k != "classical"])
def test_gradients_reach_every_quantum_weight(kind):
    att = make_attention(kind)
    att(torch.randn(B, T, C)).pow(2).sum().backward()
    quantum = [(n, p) for n, p in att.named_parameters() if is_quantum(p)]
    assert quantum, f"{kind} has no quantum parameters"
    for name, p in quantum:
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{kind}: no gradient reaches {name}"


@pytest.mark.parametrize("kind", list(ATTENTIONS))
def test_unknown_layer_options_are_refused(kind):
    """A typo in a layer option is an error (with the nearest valid name), never swallowed."""
    with pytest.raises((TypeError, ValueError), match="n_qbits"):
        ATTENTIONS[kind](C, H, 0.0, True, n_qbits=3)


def test_attention_weights_are_distributions():
    for kind in ATTENTIONS:
        att = make_attention(kind)
        att.store_attention = True
        att(torch.randn(B, T, C))
        a = att.attention                                      # (B, H, T, T); quixer: LCU weights (B, 1, T, T)
        assert torch.allclose(a.sum(-1), torch.ones(a.shape[:-1]), atol=1e-5)
        assert torch.all(a.triu(1) == 0), f"{kind} attends to the future"


def test_quantum_linear_dressing_and_counts():
    q = QuantumLinear(3, 3, n_qubits=3, n_layers=2)
    assert q.pre is None and q.post is None                    # widths equal the qubit count
    assert q.n_quantum_parameters == 2 * 3 * 3                 # strongly entangling: L * n * 3
    x = torch.rand(4, 5, 3)
    assert torch.allclose(q(x), q.vqc.circuit.run(x, q.vqc.weights))
    d = QuantumLinear(10, 7, n_qubits=4)
    assert d(torch.randn(2, 3, 10)).shape == (2, 3, 7)
    c = ClassicalLinear(10, 7, n_qubits=4, n_layers=3)
    assert c(torch.randn(2, 3, 10)).shape == (2, 3, 7) and c.n_quantum_parameters == 0
    with pytest.raises(ValueError, match="expects"):
        d(torch.randn(2, 9))


def test_quantum_linear_is_bounded_and_learns_xor_like_map():
    torch.manual_seed(1)
    q = QuantumLinear(2, 1, n_qubits=2, n_layers=3)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]) * 2 - 1
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]]) * 2 - 1
    opt = torch.optim.Adam(q.parameters(), lr=0.05)
    first = None
    for _ in range(200):
        loss = ((q(x) - y) ** 2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad(); loss.backward(); opt.step()
    assert loss.item() < 0.1 * first


def test_quantum_embedding_runs_each_token_circuit():
    emb = QuantumEmbedding(11, 12, n_qubits=4, n_layers=1)     # 3 * 4 == 12: no read-out map
    assert emb.readout is None
    ids = torch.tensor([[1, 5, 5], [0, 10, 3]])
    out = emb(ids)
    assert out.shape == (2, 3, 12)
    ref = emb.vqc.circuit.run(emb.angles[ids], emb.vqc.weights)
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(out[0, 1], out[0, 2])


def test_ket_embedding_is_a_sum_of_kronecker_products():
    emb = KetEmbedding(10_000, 256, order=2, rank=2)
    n_params = sum(p.numel() for p in emb.parameters())
    assert n_params * 100 < 10_000 * 256                       # orders of magnitude below nn.Embedding
    tok = 4321
    a, b = divmod(tok, emb.v)                                  # mixed-radix digits, most significant first
    expected = sum(torch.kron(emb.factors[0, r, a], emb.factors[1, r, b]) for r in range(2))[:256]
    assert torch.allclose(emb(torch.tensor([tok]))[0], expected, atol=1e-7)
    small = KetEmbedding(7, 5, order=3, rank=1)
    assert small.full_weight().shape == (7, 5)


def test_feedforward_twins_share_constructor_and_shape():
    x = torch.randn(2, 4, 16)
    for cls in (MLP, VQCFeedForward):
        ff = cls(16, 64, 0.0, n_qubits=3, n_layers=1)
        assert ff(x).shape == x.shape
    assert math.isclose(sum(p.numel() for p in MLP(16, 64).parameters()), 16 * 64 * 2 + 64 + 16)


@pytest.mark.parametrize("kind", ["classical", "vqc"])
def test_fused_attention_path_equals_explicit_softmax(kind):
    att = make_attention(kind, causal=True)
    x = torch.randn(B, T, C)
    fast = att(x)
    att.store_attention = True
    assert torch.allclose(att(x), fast, atol=1e-5)


def test_fused_qsann_equals_the_explicit_weights():
    """Without store_attention qsann runs as one fused softmax(2 q k - k^2) call; both paths give the same
    output (causal, with a key mask that empties a whole row)."""
    from qhybrid.layers.attention import QSANNAttention
    torch.manual_seed(0)
    layer = QSANNAttention(16, 2, n_qubits=3, n_layers=1).double()
    x = torch.randn(3, 7, 16, dtype=torch.float64)
    km = torch.ones(3, 7, dtype=torch.bool)
    km[1, 4:] = False
    km[2, :] = False
    for mask in (None, km):
        layer.store_attention = False
        fused = layer(x, mask)
        layer.store_attention = True
        explicit = layer(x, mask)
        assert torch.allclose(fused, explicit, atol=1e-12)
        assert torch.isfinite(fused).all()
