"""qhybrid: variational quantum circuits as layers inside small PyTorch language models."""
from .circuits import Circuit, Input, InputProduct, Weight
from . import templates
from .templates import build_circuit

__version__ = "0.1.0"
__all__ = ["Circuit", "Input", "InputProduct", "Weight", "templates", "build_circuit", "__version__"]
