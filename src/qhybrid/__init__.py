"""qhybrid: variational quantum circuits as layers inside small PyTorch language models."""
from . import templates
from .circuits import Circuit, Input, InputProduct, Weight
from .templates import build_circuit

__version__ = "0.1.0"
__all__ = ["Circuit", "Input", "InputProduct", "Weight", "templates", "build_circuit", "__version__"]
