"""Training-step cost of every quantum TinyLM variant relative to its classical twin.

    .venv/bin/python benchmarks/bench_models.py            # full: n_qubits 4 and 6
    .venv/bin/python benchmarks/bench_models.py --quick    # n_qubits 4, fewer repeats

Setting (issue "layers"): vocab 65, context 64, batch 32, d_model 32, 4 heads, 2 blocks.
One step = forward + cross-entropy + backward + AdamW update. Each variant and its classical
twin (same architecture, every quantum part classical) are timed interleaved in the same run,
median over repeats after warm-up; the ratio is what to quote (this machine is noisy).
Memory: bytes autograd saves for backward in one step (exact, via saved_tensors_hooks).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from qhybrid.models import ModelConfig, TinyLM, classical_twin, count_parameters

VARIANTS = [("embedding", "quantum"), ("embedding", "ket"), ("attention", "vqc"), ("attention", "qsann"),
            ("attention", "kernel"), ("attention", "quixer"), ("ffn", "vqc")]


def saved_bytes(model, *inputs) -> int:
    """Bytes autograd saves for backward in one step of model(*inputs) -> (logits, loss) (exact, via hooks)."""
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(*inputs)[1]
    loss.backward()
    model.zero_grad(set_to_none=True)
    return total


def bench_config(part: str, kind: str, n_qubits: int) -> ModelConfig:
    """The benchmark model: vocab 65, context 64, d_model 32, 4 heads, 2 blocks, `part` of kind `kind`."""
    return ModelConfig(vocab_size=65, context=64, d_model=32, n_heads=4, n_blocks=2,
                       quantum=dict(n_qubits=n_qubits, n_layers=2), **{part: kind})


def bench_batch() -> torch.Tensor:
    """Batch 32 of context 64 (+1 for the targets), seed 0."""
    return torch.randint(0, 65, (32, 65), generator=torch.Generator().manual_seed(0))


def step_fn(model, idx):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        _, loss = model(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n_qubits 4 only, 5 repeats")
    ap.add_argument("--repeats", type=int, default=None, help="timed steps per model (default 15, quick 5)")
    ap.add_argument("--json", default="benchmarks/results/bench_models.json", help="where to write results")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda, but torch sees no CUDA device on this machine")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(2)
    repeats = args.repeats or (5 if args.quick else 15)
    qubits = [4] if args.quick else [4, 6]
    idx = bench_batch().to(device)
    rows = []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {repeats} timed steps per model, "
          f"device {device}\n")
    print("| part | kind | qubits | params (quantum) | twin params | step ms | twin ms | ratio | saved MB | twin MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in qubits:
        for part, kind in VARIANTS:
            if kind == "ket" and n != qubits[0]:
                continue                                       # no qubits involved
            cfg = bench_config(part, kind, n)
            torch.manual_seed(0)
            models = {"q": TinyLM(cfg).to(device), "c": TinyLM(classical_twin(cfg)).to(device)}
            steps = {k: step_fn(m, idx) for k, m in models.items()}
            times = {"q": [], "c": []}
            for k in steps:                                    # warm-up
                steps[k]()
            for _ in range(repeats):                           # interleaved, so drift hits both
                for k in steps:
                    t0 = time.perf_counter()
                    steps[k]()
                    sync()
                    times[k].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            mem = {k: saved_bytes(m, idx[:, :-1], idx[:, 1:]) / 2**20 for k, m in models.items()}
            pq, pc = count_parameters(models["q"]), count_parameters(models["c"])
            row = dict(part=part, kind=kind, n_qubits=n, params=pq["total"], quantum_params=pq["quantum"],
                       twin_params=pc["total"], step_ms=med["q"], twin_ms=med["c"], ratio=med["q"] / med["c"],
                       saved_mb=mem["q"], twin_saved_mb=mem["c"])
            rows.append(row)
            print(f"| {part} | {kind} | {n if kind != 'ket' else '-'} | {pq['total']} ({pq['quantum']}) | "
                  f"{pc['total']} | {med['q']:.1f} | {med['c']:.1f} | {row['ratio']:.2f} | "
                  f"{mem['q']:.0f} | {mem['c']:.0f} |", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"torch": torch.__version__, "repeats": repeats, "device": str(device),
                                           "rows": rows}, indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
