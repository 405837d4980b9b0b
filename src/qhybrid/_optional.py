"""Lazy imports of optional extras, with an install hint when missing.

    require("ray")        the module, or ImportError: "... pip install 'qhybrid[ray]' (or `make setup`, ...)"
    install_hint("ray")   that hint alone (the CLI adds it to any ImportError of a known module)

EXTRAS maps an importable top-level module to the pyproject extra that installs it
(tests/experiment/test_cli.py checks every entry against pyproject.toml).
"""
from __future__ import annotations

import importlib

EXTRAS = {
    "pennylane": "pennylane", "pennylane_lightning": "pennylane",
    "qiskit": "qiskit", "qiskit_aer": "qiskit", "qiskit_ibm_runtime": "qiskit", "pennylane_qiskit": "qiskit",
    "qiskit_machine_learning": "bench", "ray": "ray",
    "transformers": "hf", "peft": "hf", "safetensors": "hf", "tokenizers": "hf",
    "codecarbon": "energy", "ipywidgets": "notebooks", "jupyterlab": "notebooks", "ipykernel": "notebooks",
    "nbmake": "notebooks",
}


def install_hint(module: str) -> str:
    """"it comes with qhybrid's 'X' extra: pip install 'qhybrid[X]' (or `make setup`, ...)" for a module."""
    extra = EXTRAS.get(module.split(".")[0], "all")
    return (f"it comes with qhybrid's '{extra}' extra: pip install 'qhybrid[{extra}]' "
            f"(or `make setup`, which installs every extra)")


def require(module: str):
    """Import `module` or raise ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{module} is not installed; {install_hint(module)}", name=module) from e
