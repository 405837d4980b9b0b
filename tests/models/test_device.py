"""Tensors follow the model's device: every kind runs forward and backward on torch's `meta` device, where
any CPU tensor made inside a forward pass and mixed with the model's tensors is an error (on every
machine, no GPU needed). The CUDA tests (marked `cuda`) run the same on a GPU where one is present."""
import pytest
import torch

from qhybrid.models import ModelConfig, SequenceClassifier, TinyLM

KINDS = [("classical", "classical", "classical"), ("quantum", "classical", "classical"),
         ("ket", "classical", "classical"), ("classical", "vqc", "classical"),
         ("classical", "qsann", "classical"), ("classical", "kernel", "classical"),
         ("classical", "quixer", "classical"), ("classical", "classical", "vqc")]


def tiny(emb, att, ffn):
    return ModelConfig(vocab_size=12, context=8, d_model=16, n_heads=2, n_blocks=1, embedding=emb, attention=att,
                       ffn=ffn, quantum=dict(n_qubits=3, n_layers=1))


@pytest.mark.parametrize("emb,att,ffn", KINDS)
def test_every_kind_runs_on_the_meta_device(emb, att, ffn):
    with torch.device("meta"):
        lm, clf = TinyLM(tiny(emb, att, ffn)), SequenceClassifier(tiny(emb, att, ffn))
        idx = torch.zeros(2, 8, dtype=torch.long)
        mask = torch.ones(2, 8, dtype=torch.bool)
        labels = torch.zeros(2, dtype=torch.long)
    logits, loss = lm(idx, idx)
    loss.backward()
    assert logits.device.type == "meta" and logits.shape == (2, 8, 12)
    assert all(p.grad is None or p.grad.device.type == "meta" for p in lm.parameters())
    out, loss = clf(idx, mask, labels)
    assert out.device.type == "meta" and out.shape == (2, 2)
