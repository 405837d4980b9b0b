"""The cost of a configured run on a backend, before running it: circuits, shots, QPU seconds.

    plan_run(run_cfg, "ibm:ibm_brisbane", shots=None, corpus=None) -> {circuits: [...], step/forward/total QPU s,
                                                                       not_on_hardware: [...], complete}

The model is the run's own (runs.build_model, sized to its corpus); dry forward passes on the exact
simulator, on the inputs the run would see (LM: batch_size x context windows; classification: sampled
training batches, padded to their longest sentence as the trainer pads them), count the parameter sets
every circuit receives; each circuit is then estimated on the named backend (backends.estimate_cost).

Every quantum part is covered or named:
  * circuits run through a CircuitRunner: estimated as they run (one job per circuit per pass, and one
    backward job per circuit per training step);
  * kernel attention: qhybrid computes its fidelities from statevectors; on hardware each allowed
    (query, key) pair of every head is one compute-uncompute overlap circuit, estimated as such;
  * layers that cannot run as circuits on hardware (Quixer: exact token unitaries, LCU and QSVT)
    are listed in `not_on_hardware` with the reason, and `complete` is False: the totals then cover
    only the listed circuits.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .backends import check_shots, circuit_key, estimate_cost
from .config import RunConfig
from .data import Batches
from .layers import KernelAttention, circuits_of
from .runs import build_model, load_run_corpus

_DRY_BATCHES = 4                                          # classification: sampled batches averaged over


def _dry_inputs(run_cfg: RunConfig, corpus) -> tuple[list[tuple], str]:
    """The forward inputs of the dry passes and a line saying what they are."""
    m, t = run_cfg.model, run_cfg.train
    if corpus.task == "classification":
        batches = Batches(corpus, "train", m.context)
        gen = torch.Generator().manual_seed(t.seed)
        out = [batches.sample(t.batch_size, gen)[:2] for _ in range(_DRY_BATCHES)]
        lengths = [x.shape[1] for x, _ in out]
        return out, (f"{t.batch_size} training sentences per batch, padded to their longest: "
                     f"{min(lengths)}-{max(lengths)} tokens over {len(out)} sampled batches "
                     f"(context {m.context}); counts are their mean")
    vocab = corpus.tokenizer.vocab_size
    return [(torch.randint(vocab, (t.batch_size, m.context)),)], f"{t.batch_size} x {m.context} token windows"


def plan_run(run_cfg: RunConfig, backend_name: str, shots: int | None = None, corpus=None) -> dict:
    """Cost of a configured run on `backend_name`, circuit by circuit.

    Circuits per forward pass come from dry forward passes of the model (statevector) that count the
    parameter sets each CircuitRunner receives (and the (query, key) pairs of kernel attention).
    Totals: train.steps training steps + evaluation forwards (eval_batches every eval_every steps) +
    test_batches forwards.
    """
    from .backends.qiskit.qpu_time import resolve_device

    m, t = run_cfg.model, run_cfg.train
    shots = check_shots(shots, m.quantum.shots or 1024)
    dry = dataclasses.replace(run_cfg, model=dataclasses.replace(
        m, quantum=dataclasses.replace(m.quantum, backend="statevector", shots=None, backend_options={})))
    corpus = corpus or load_run_corpus(run_cfg)
    model = build_model(dry, corpus).eval()
    counts: dict[str, list] = {}                          # name -> [runner, calls, parameter sets]
    pairs: dict[str, list] = {}                           # kernel attention name -> [layer, pairs]

    def count(mod, args, name):
        entry = counts.setdefault(name, [mod, 0, 0])
        entry[1] += 1
        entry[2] += args[0].shape[:-1].numel()

    def count_pairs(mod, args, name):
        x, key_mask = args[0], (args[1] if len(args) > 1 else None)
        pairs.setdefault(name, [mod, 0])[1] += mod.overlap_pairs(x.shape[0], x.shape[1], key_mask)

    for name, mod in circuits_of(model).items():
        mod.register_forward_pre_hook(lambda mod, args, name=name: count(mod, args, name))
    not_on_hardware = []
    for name, mod in model.named_modules():
        if isinstance(mod, KernelAttention):
            mod.register_forward_pre_hook(lambda mod, args, name=name: count_pairs(mod, args, name))
        why = getattr(mod, "not_on_hardware", None)
        if isinstance(why, str):
            not_on_hardware.append({"name": name, "layer": type(mod).__name__, "why": why})
    inputs, dry_note = _dry_inputs(run_cfg, corpus)
    with torch.no_grad():
        for args in inputs:
            model(*args)
    passes = len(inputs)
    device, note = resolve_device(backend_name)
    rows, cache = [], {}

    def estimate(circuit, per_call):
        key = (circuit_key(circuit), per_call)
        if key not in cache:
            cache[key] = estimate_cost(circuit, backend_name, per_call, shots, device=device, note=note)
        return cache[key]

    for name, (mod, calls, n) in counts.items():
        per_call = math.ceil(n / calls)
        rows.append({"name": name, "calls": calls // passes, "kind": "circuit", **estimate(mod.circuit, per_call)})
    for name, (mod, n) in pairs.items():
        per_pass = math.ceil(n / passes)
        rows.append({"name": f"{name} (overlap test)", "calls": 1, "kind": "kernel_overlap",
                     "why": "fidelities |<phi(q)|phi(k)>|^2: one compute-uncompute circuit per allowed (query, key) "
                            "pair of every head (qhybrid itself runs this layer on statevectors only)",
                     **estimate(mod.overlap_circuit(), per_pass)})
    qpu = device is not None
    fwd = sum(r["calls"] * (r["forward"]["qpu_seconds"] or 0) for r in rows) if qpu else None
    step = sum(r["calls"] * (r["training_step"]["qpu_seconds"] or 0) for r in rows) if qpu else None
    n_evals = math.ceil(t.steps / t.eval_every)
    forwards = n_evals * t.eval_batches + t.test_batches
    total = step * t.steps + fwd * forwards if qpu else None
    jobs_fwd = sum(r["calls"] for r in rows)                # one job per circuit per pass, forward and backward
    return {"backend": backend_name, "device": getattr(device, "name", None), "note": note, "shots": shots,
            "dry_batch": dry_note, "circuits": rows, "not_on_hardware": not_on_hardware,
            "complete": not not_on_hardware, "forward_qpu_seconds": fwd, "step_qpu_seconds": step,
            "jobs_per_forward": jobs_fwd, "jobs_per_step": 2 * jobs_fwd, "steps": t.steps,
            "eval_forwards": forwards, "total_qpu_seconds": total, "max_qpu_seconds": m.quantum.max_qpu_seconds}
