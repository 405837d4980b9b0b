"""Quantum layers and their classical twins (one constructor and one shape contract per pair).

    kind         classical twin            quantum
    linear       ClassicalLinear           QuantumLinear
    embedding    ClassicalEmbedding        QuantumEmbedding, KetEmbedding (quantum-inspired)
    attention    CausalSelfAttention       VQCAttention, QSANNAttention, KernelAttention, QuixerAttention
    ffn          MLP                       VQCFeedForward

Every circuit runs through a CircuitRunner (runner.py). Layers import the circuit wing and the
backends' public face only: a layer never knows which backend runs it.
"""
from .attention import CausalSelfAttention, KernelAttention, QSANNAttention, VQCAttention
from .embeddings import EMBEDDINGS, ClassicalEmbedding, KetEmbedding, QuantumEmbedding
from .feedforward import MLP, VQCFeedForward
from .linear import ClassicalLinear, QuantumLinear
from .quixer import QuixerAttention
from .runner import (
    QUANTUM_OPTIONS,
    CircuitRunner,
    circuits_of,
    is_quantum,
    layer_circuits,
    layer_to_qasm3,
    layer_to_qiskit,
    quantum_parameter,
)

ATTENTIONS = {"classical": CausalSelfAttention, "vqc": VQCAttention, "qsann": QSANNAttention,
              "kernel": KernelAttention, "quixer": QuixerAttention}
FFNS = {"classical": MLP, "vqc": VQCFeedForward}

__all__ = ["CircuitRunner", "QUANTUM_OPTIONS", "circuits_of", "is_quantum", "layer_circuits", "layer_to_qasm3",
           "layer_to_qiskit", "quantum_parameter", "QuantumLinear", "ClassicalLinear", "ClassicalEmbedding",
           "QuantumEmbedding", "KetEmbedding", "CausalSelfAttention", "VQCAttention", "QSANNAttention",
           "KernelAttention", "QuixerAttention", "MLP", "VQCFeedForward", "ATTENTIONS", "EMBEDDINGS", "FFNS"]
