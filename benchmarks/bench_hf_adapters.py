"""Training step and memory of quantum adapters against the parameter-matched LoRA, on a pretrained GPT-2.

    python benchmarks/run_study.py hf_adapters                 # makes the base (runs/studies/hf_adapters/base)
    python benchmarks/bench_hf_adapters.py                     # 4 qubits, 21 interleaved steps, 1 thread
    python benchmarks/bench_hf_adapters.py --qubits 4 6 --threads 2
    python benchmarks/bench_hf_adapters.py --base gpt2         # any from_pretrained name (with network)

Settings: the study's base model and adapters (c_attn, 2 ansatz layers), Yelp sentiment batches of
16 sentences (GPT2ForSequenceClassification, the head trained by every method) and LM batches of
16 x 64 tokens of tiny-shakespeare (GPT2LMHeadModel). One step = forward + cross-entropy + backward +
AdamW, through the same HFRunModel that `qhybrid train` uses. Every method is timed interleaved with
the others (same batches, same machine load), median over repeats after two warm-up rounds. Memory:
bytes autograd saves for backward in one step (exact, via saved_tensors_hooks, as bench_models.py),
and the adapter's own share: the same count with the base frozen and no adapter (head_only) is the floor
that every method pays. 'adapter ms' is the time of the quantum adapters' forward + backward alone on
the batch's tokens (the circuits, their down and up maps), which bounds what the adapter path can gain.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from bench_models import saved_bytes  # benchmarks/ (this script's folder) is on sys.path

from qhybrid.data import Batches, load_corpus
from qhybrid.hf.runs import build_hf_model, hf_corpus

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("quantum_adapter", "lora", "head_only", "full")


def step_fn(model, batch):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step():
        loss = model(*batch)[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def adapter_fn(model, batch):
    """Forward + backward of the adapters alone, on inputs shaped like the ones they see in the model."""
    from qhybrid.hf import quantum_adapters

    adapters = list(quantum_adapters(model).values())
    B, T = batch[0].shape
    xs = [torch.randn(B, T, a.in_features) for a in adapters]
    gs = [torch.randn(B, T, a.out_features) for a in adapters]    # dense output grads, as in the model

    def run():
        ys = [a.adapter(x) for a, x in zip(adapters, xs)]
        torch.autograd.backward(ys, gs)
    return run


def bench(task: str, base: str, adapters: dict, repeats: int, batch_size: int, context: int) -> list[dict]:
    data = {"classification": "yelp", "lm": "tinyshakespeare"}[task]
    corpus = hf_corpus({"name": base}, load_corpus(data))
    batch = Batches(corpus, "train", context).sample(batch_size, torch.Generator().manual_seed(0))
    models = {}
    for m in METHODS:
        torch.manual_seed(0)
        models[m] = build_hf_model({"name": base, "method": m, "adapters": adapters}, corpus, context).train()
    for mod in models.values():                           # dropout off: the same work every step
        for sub in mod.modules():
            if isinstance(sub, torch.nn.Dropout):
                sub.p = 0.0
    steps = {m: step_fn(mod, batch) for m, mod in models.items()}
    steps["adapter_alone"] = adapter_fn(models["quantum_adapter"], batch)
    times = {k: [] for k in steps}
    for i in range(repeats + 2):
        for k, f in steps.items():                       # interleaved: load drift hits every method
            t0 = time.perf_counter()
            f()
            if i >= 2:
                times[k].append(time.perf_counter() - t0)
    med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    mem = {m: saved_bytes(mod, *batch) / 2**20 for m, mod in models.items()}
    rows = []
    for m, mod in models.items():
        params = [p for p in mod.parameters() if p.requires_grad]
        rows.append({"task": task, "method": m, "n_qubits": adapters["n_qubits"], "tokens": batch[0].numel(),
                     "trainable": sum(p.numel() for p in params), "step_ms": med[m],
                     "ratio_to_lora": med[m] / med["lora"], "saved_mb": mem[m],
                     "saved_ratio_to_lora": mem[m] / mem["lora"],
                     "adapter_ms": med["adapter_alone"] if m == "quantum_adapter" else None})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=str(ROOT / "runs" / "studies" / "hf_adapters" / "base"),
                    help="from_pretrained name or folder (default: the hf_adapters study's pretrained base)")
    ap.add_argument("--qubits", type=int, nargs="+", default=[4])
    ap.add_argument("--tasks", nargs="+", default=["classification", "lm"], choices=["classification", "lm"])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_hf_adapters.json"))
    args = ap.parse_args(argv)
    if not Path(args.base).exists() and "/" in args.base and Path(args.base).is_absolute():
        raise SystemExit(f"no base model at {args.base}; make it with: python benchmarks/run_study.py hf_adapters")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} timed steps per method, "
          f"base {Path(args.base).name}\n")
    print("| task | method | qubits | tokens | trainable | step ms | / LoRA | saved MB | / LoRA | adapters alone ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in args.qubits:
        for task in args.tasks:
            adapters = {"target_modules": ["c_attn"], "n_qubits": n, "n_layers": 2}
            for r in bench(task, args.base, adapters, args.repeats, args.batch_size, args.context):
                rows.append(r)
                alone = f"{r['adapter_ms']:.1f}" if r["adapter_ms"] is not None else ""
                print(f"| {task} | {r['method']} | {n} | {r['tokens']:,} | {r['trainable']:,} | {r['step_ms']:.1f} | "
                      f"{r['ratio_to_lora']:.2f} | {r['saved_mb']:.1f} | {r['saved_ratio_to_lora']:.2f} | {alone} |",
                      flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"torch": torch.__version__, "threads": args.threads,
                                           "repeats": args.repeats, "rows": rows}, indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
