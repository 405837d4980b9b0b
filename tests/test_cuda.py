"""The torch engines on CUDA (marked `cuda`; skipped with the reason where torch sees no GPU): agreement
with the CPU in complex64 and complex128, every layer kind, a training step, and the trainer's device."""
import pytest
import torch

import qhybrid
from qhybrid.backends import get_backend
from qhybrid.models import ModelConfig, TinyLM

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() "
                                                                       "is False on this machine")]
KINDS = [("classical", "classical", "classical"), ("quantum", "classical", "classical"),
         ("ket", "classical", "classical"), ("classical", "vqc", "classical"),
         ("classical", "qsann", "classical"), ("classical", "kernel", "classical"),
         ("classical", "quixer", "classical"), ("classical", "classical", "vqc")]


@pytest.mark.parametrize("backend", ["statevector", "density"])
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_engines_on_cuda_agree_with_the_cpu(backend, dtype, tol):
    c = qhybrid.build_circuit(5, 2, "iqp", "strongly_entangling", ["Z0", "X1 Y2", "Z3 Z4"])
    gen = torch.Generator().manual_seed(0)
    x, w = torch.rand(64, 5, generator=gen, dtype=dtype), torch.rand(c.n_weights, generator=gen, dtype=dtype)
    b = get_backend(backend)
    xg, wg = x.cuda().requires_grad_(True), w.cuda().requires_grad_(True)
    y = b.expval(c, xg, wg)
    y.sum().backward()
    assert y.device.type == "cuda" and xg.grad.device.type == "cuda"
    xc, wc = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    ref = b.expval(c, xc, wc)
    ref.sum().backward()
    torch.testing.assert_close(y.cpu(), ref, atol=tol, rtol=0)
    torch.testing.assert_close(wg.grad.cpu(), wc.grad, atol=10 * tol, rtol=0)


@pytest.mark.parametrize("emb,att,ffn", KINDS)
def test_every_kind_trains_a_step_on_cuda(emb, att, ffn):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=12, context=8, d_model=16, n_heads=2, n_blocks=1, embedding=emb, attention=att,
                      ffn=ffn, quantum=dict(n_qubits=3, n_layers=1))
    model = TinyLM(cfg).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    idx = torch.randint(0, 12, (4, 9), device="cuda")
    losses = []
    for _ in range(5):
        _, loss = model(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    out = model.generate(idx[0, :3], 4)
    assert out.device.type == "cuda" and out.shape == (7,)
