"""Quantum layers and their classical twins (one constructor and one shape contract per pair).

    kind         classical twin            quantum
    linear       ClassicalLinear           QuantumLinear
    embedding    ClassicalEmbedding        QuantumEmbedding, KetEmbedding (quantum-inspired)
    attention    CausalSelfAttention       VQCAttention, QSANNAttention, KernelAttention, QuixerAttention
    ffn          MLP                       VQCFeedForward
"""
from ._quantum import CircuitRunner, is_quantum, quantum_parameter
from .attention import CausalSelfAttention, KernelAttention, QSANNAttention, VQCAttention
from .embeddings import EMBEDDINGS, ClassicalEmbedding, KetEmbedding, QuantumEmbedding
from .feedforward import MLP, VQCFeedForward
from .quantum_linear import ClassicalLinear, QuantumLinear
from .quixer import QuixerAttention

ATTENTIONS = {"classical": CausalSelfAttention, "vqc": VQCAttention, "qsann": QSANNAttention,
              "kernel": KernelAttention, "quixer": QuixerAttention}
FFNS = {"classical": MLP, "vqc": VQCFeedForward}

__all__ = ["CircuitRunner", "is_quantum", "quantum_parameter", "QuantumLinear", "ClassicalLinear",
           "ClassicalEmbedding", "QuantumEmbedding", "KetEmbedding", "CausalSelfAttention", "VQCAttention",
           "QSANNAttention", "KernelAttention", "QuixerAttention", "MLP", "VQCFeedForward",
           "ATTENTIONS", "EMBEDDINGS", "FFNS"]
