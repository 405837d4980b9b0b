"""qhybrid: variational quantum circuits as layers inside small PyTorch language models.

The package face: the circuit IR (`Circuit`, `Input`, `InputProduct`, `Weight`, templates) and the
functions that run circuits (`run`, `state`). Importing qhybrid registers the default engine with
the IR, so `Circuit.run` works. Wings (imports point down only): circuit <- backends <- layers <-
models <- experiment (config, runs, train, planning, compare, report, cli); data stands apart.
"""
from . import backends as _backends  # noqa: F401  (registers the engine behind Circuit.run / .state)
from .backends import run, state
from .circuit import Circuit, Input, InputProduct, Weight, build_circuit, templates

__version__ = "0.1.0"
__all__ = ["Circuit", "Input", "InputProduct", "Weight", "templates", "build_circuit", "run", "state",
           "__version__"]
