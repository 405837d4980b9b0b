"""Lazy imports of optional extras, with an install hint when missing."""
from __future__ import annotations

import importlib

EXTRAS = {
    "pennylane": "pennylane", "pennylane_lightning": "pennylane",
    "qiskit": "qiskit", "qiskit_aer": "qiskit", "qiskit_ibm_runtime": "qiskit",
    "qiskit_machine_learning": "bench", "ray": "ray",
    "transformers": "hf", "peft": "hf", "safetensors": "hf", "tokenizers": "hf",
    "codecarbon": "energy", "ipywidgets": "notebooks",
}


def require(module: str):
    """Import `module` or raise ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS.get(module.split(".")[0], "all")
        raise ImportError(f"{module} is not installed; it comes with qhybrid's '{extra}' extra: "
                          f"pip install 'qhybrid[{extra}]' (or `make setup`, which installs every extra)") from e
