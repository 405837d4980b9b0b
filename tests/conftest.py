import os

# The numpy reference simulators multiply small matrices; OpenBLAS worker threads busy-waiting
# next to torch's own threads make them 10x slower on a 2-core machine. Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's node id (stable, different for every test)."""
    seed = sum(map(ord, request.node.nodeid)) * 7919 % 2**32
    return np.random.default_rng(seed)


@pytest.fixture(params=["auto", "fused", "gate_by_gate"])
def fusion(request, monkeypatch):
    """Run the test with the simulator's own fusion choice, always fused, and never fused."""
    from qhybrid.backends.statevector import fusion_mode
    mode = {"auto": "auto", "fused": "always", "gate_by_gate": "never"}[request.param]
    with fusion_mode(mode):
        yield request.param
