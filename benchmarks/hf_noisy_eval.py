"""A fine-tuned quantum-adapter run evaluated again with its circuits on a noisy, shot-based backend.

    python benchmarks/run_study.py hf_adapters                          # the fine-tuned runs
    python benchmarks/hf_noisy_eval.py                                  # seed-0 quantum_adapter, aer:fake_manila
    python benchmarks/hf_noisy_eval.py --sentences 100 --shots 4096

The run's checkpoint is loaded twice: with the exact statevector simulator it was trained on, and with
`--backend` (default aer:fake_manila, Qiskit Aer with the noise model of IBM's 5-qubit Manila snapshot)
at `--shots`. Both classify the first `--sentences` test sentences. Printed: accuracy of each, how often
their predictions agree, the largest logit difference, wall time, the circuits executed (one per token
per adapter, padding included) and qhybrid's QPU-time estimate for them on that device
(qhybrid.backends.estimate_cost: stated job overhead, repetition delay and transpiled duration).
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from qhybrid.backends import estimate_cost
from qhybrid.config import load_yaml, run_config_from_dict
from qhybrid.hf import quantum_adapters
from qhybrid.runs import build_model, load_run_corpus

ROOT = Path(__file__).resolve().parent.parent


def batches(ids, labels, n, batch_size=10):
    for i in range(0, n, batch_size):
        seqs = ids[i: min(i + batch_size, n)]
        T = max(len(s) for s in seqs)
        x = torch.zeros(len(seqs), T, dtype=torch.long)
        mask = torch.zeros(len(seqs), T, dtype=torch.bool)
        for r, s in enumerate(seqs):
            x[r, : len(s)], mask[r, : len(s)] = s, True
        yield x, mask, labels[i: i + len(seqs)]


@torch.no_grad()
def classify(model, ids, labels, n):
    model.eval()
    counted = [0]

    def count(mod, args):
        counted[0] += args[0].shape[:-1].numel()

    hooks = [a.adapter.vqc.register_forward_pre_hook(count) for a in quantum_adapters(model.hf).values()]
    t0 = time.perf_counter()
    logits = torch.cat([model(x, mask)[0] for x, mask, _ in batches(ids, labels, n)])
    seconds = time.perf_counter() - t0
    for h in hooks:
        h.remove()
    return logits, seconds, counted[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default=str(ROOT / "runs" / "studies" / "hf_adapters" / "runs" / "quantum_adapter-s0"))
    ap.add_argument("--backend", default="aer:fake_manila")
    ap.add_argument("--shots", type=int, default=1024)
    ap.add_argument("--sentences", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "hf_noisy_eval.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    cfg_d = load_yaml(run / "config.yaml")
    cfg = run_config_from_dict(copy.deepcopy(cfg_d))
    corpus = load_run_corpus(cfg)
    ids, labels = corpus.encode_classification("test")
    ids = [t[: cfg.model.context] for t in ids]
    n = min(args.sentences, len(ids))
    state = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    results = {}
    for name, backend, shots in (("exact", "statevector", None), ("noisy", args.backend, args.shots)):
        d = copy.deepcopy(cfg_d)
        d["model"]["hf"].setdefault("adapters", {}).update(backend=backend, shots=shots)
        c = run_config_from_dict(d)
        torch.manual_seed(c.train.seed)
        model = build_model(c, corpus)
        model.load_state_dict(state)
        logits, seconds, circuits = classify(model, ids, labels, n)
        results[name] = {"backend": backend, "shots": shots, "logits": logits, "seconds": seconds,
                         "circuits": circuits, "accuracy": (logits.argmax(-1) == labels[:n]).float().mean().item()}
    ex, no = results["exact"], results["noisy"]
    circuit = next(iter(quantum_adapters(model.hf).values())).adapter.vqc.circuit
    cost = estimate_cost(circuit, args.backend, no["circuits"], args.shots)
    record = {"run": run.name, "sentences": n, "backend": args.backend, "shots": args.shots,
              "exact_accuracy": ex["accuracy"], "noisy_accuracy": no["accuracy"],
              "agreement": (ex["logits"].argmax(-1) == no["logits"].argmax(-1)).float().mean().item(),
              "max_logit_diff": (ex["logits"] - no["logits"]).abs().max().item(),
              "exact_seconds": ex["seconds"], "noisy_seconds": no["seconds"], "circuits": no["circuits"],
              "device": cost["device"], "transpiled_depth": cost["transpiled_depth"],
              "two_qubit_gates": cost["two_qubit_gates"], "qpu_seconds_estimate": cost["forward"]["qpu_seconds"],
              "qpu_model": cost["model"],
              "training_step_circuits_per_token_adapter": cost["training_step"]["circuits"] / no["circuits"]}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(record, indent=1))
    for k, v in record.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
