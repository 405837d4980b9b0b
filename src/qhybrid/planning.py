"""The cost of a configured run on a backend, before running it: circuits, shots, QPU seconds.

    plan_run(run_cfg, "ibm:ibm_brisbane", shots=None, corpus=None) -> {circuits: [...], step/forward/total QPU s}

The model is the run's own (runs.build_model, sized to its corpus); one dry forward pass on the exact
simulator counts the parameter sets every circuit receives; each circuit is then estimated on the
named backend (backends.estimate_cost).
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .backends import circuit_key, estimate_cost
from .config import RunConfig
from .layers import circuits_of
from .runs import build_model, load_run_corpus


def plan_run(run_cfg: RunConfig, backend_name: str, shots: int | None = None, corpus=None) -> dict:
    """Cost of a configured run on `backend_name`, circuit by circuit.

    Circuits per forward pass come from one dry forward pass of the model (statevector, batch_size x
    context random tokens) that counts the parameter sets each CircuitRunner receives. Totals: train.steps
    training steps + evaluation forwards (eval_batches every eval_every steps) + test_batches forwards.
    """
    from .backends.qiskit.qpu_time import resolve_device

    m, t = run_cfg.model, run_cfg.train
    dry = dataclasses.replace(run_cfg, model=dataclasses.replace(
        m, quantum=dataclasses.replace(m.quantum, backend="statevector", shots=None, backend_options={})))
    corpus = corpus or load_run_corpus(run_cfg)
    model = build_model(dry, corpus).eval()
    counts: dict[str, list] = {}                          # name -> [runner, calls, parameter sets]

    def count(mod, args, name):
        entry = counts.setdefault(name, [mod, 0, 0])
        entry[1] += 1
        entry[2] += args[0].shape[:-1].numel()

    for name, mod in circuits_of(model).items():
        mod.register_forward_pre_hook(lambda mod, args, name=name: count(mod, args, name))
    vocab = corpus.tokenizer.vocab_size
    with torch.no_grad():
        model(torch.randint(vocab, (t.batch_size, m.context)))
    shots = shots if shots is not None else (m.quantum.shots or 1024)
    device, note = resolve_device(backend_name)
    rows, cache = [], {}
    for name, (mod, calls, n) in counts.items():
        per_call = n // calls
        key = (circuit_key(mod.circuit), per_call)
        if key not in cache:
            cache[key] = estimate_cost(mod.circuit, backend_name, per_call, shots, device=device, note=note)
        rows.append({"name": name, "calls": calls, **cache[key]})
    qpu = device is not None
    fwd = sum(r["calls"] * (r["forward"]["qpu_seconds"] or 0) for r in rows) if qpu else None
    step = sum(r["calls"] * (r["training_step"]["qpu_seconds"] or 0) for r in rows) if qpu else None
    n_evals = math.ceil(t.steps / t.eval_every)
    forwards = n_evals * t.eval_batches + t.test_batches
    total = step * t.steps + fwd * forwards if qpu else None
    return {"backend": backend_name, "device": getattr(device, "name", None), "note": note, "shots": shots,
            "circuits": rows, "forward_qpu_seconds": fwd, "step_qpu_seconds": step,
            "jobs_per_step": 2 * sum(r["calls"] for r in rows), "steps": t.steps, "eval_forwards": forwards,
            "total_qpu_seconds": total, "max_qpu_seconds": m.quantum.max_qpu_seconds}
