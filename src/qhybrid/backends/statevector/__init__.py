"""The default engine: an exact, batched, differentiable statevector simulator in pure torch.

    StatevectorBackend()            expval, plus the StateBackend capability (state, evolve, expectations)
    simulate(circuit, x, w, psi0)   final states (N, 2**n) from |0..0> or psi0
    expectations(circuit, psi)      observables of given states (N, n_obs)
    check_memory, memory_bytes      the memory estimate used before allocating
    batched_outer(a, b)             row-wise outer products with a matmul backward (Quixer's unitaries)
    set_fusion / fusion_mode        "auto" (cost model), "always" or "never" fuse input-independent runs

How it works: engine.py (schedule and run), compile.py (plans), program.py (gate banks), memory.py.
"""
from .engine import FUSION_MODES, StatevectorBackend, expectations, fusable_runs, fusion_mode, set_fusion, simulate
from .memory import check_memory, memory_bytes
from .program import batched_outer

__all__ = ["StatevectorBackend", "simulate", "expectations", "check_memory", "memory_bytes", "FUSION_MODES",
           "set_fusion", "fusion_mode", "fusable_runs", "batched_outer"]
