"""Small language models with swappable quantum parts, their classical twins and parameter counts.

    TinyLM(config)              decoder-only LM: token + learned position embeddings, pre-LN blocks
                                (attention, feed-forward), final LN, head tied to the embedding table;
                                arch="lstm" swaps the blocks for a stacked LSTM (the classical RNN baseline)
    SequenceClassifier(config)  the same blocks (causal or not), pooled, linear head
    classical_twin(config)      same architecture, every quantum part classical (a ModelConfig)
    parameter_matched_twin(config, model_cls)  classical config within +-10% of the quantum model's
                                trainable parameters (optionally excluding embeddings)
    count_parameters(model)     total / embedding / non_embedding / quantum / classical
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .backends import LazyBackend, backend_options, check_options, restore_usage, usage_of
from .layers import ATTENTIONS, EMBEDDINGS, FFNS, is_quantum
from .validation import check_choice, check_fields


@dataclass
class QuantumConfig:
    n_qubits: int = 4                    # qubits per circuit (attention/FFN/embedding circuits)
    n_layers: int = 2                    # ansatz layers per circuit
    ansatz: str = "strongly_entangling"  # see qhybrid.templates.ANSATZES
    encoding: str = "angle_y"            # see qhybrid.templates.ENCODINGS
    backend: str = "statevector"         # where circuits run: statevector | density[:...] | pennylane:<dev> |
                                         #   aer[:fake_<dev>] | ibm:<dev> (docs/backends.md; `qhybrid list backends`)
    shots: int | None = None             # None: exact (statevector, density, pennylane) or the backend's
                                         #   default (aer, ibm: 1024); k: k-shot estimates
    max_qpu_seconds: float | None = None  # ibm: refuse any job that would push the estimated QPU time past
                                          #   this many seconds (per process); None = no limit
    backend_options: dict = field(default_factory=dict)   # more options of the backend family, checked against
                                          #   its constructor (e.g. {mode: session} for ibm:, {seed: 1} for aer)
    qsvt_degree: int = 2                 # Quixer: degree of the mixing polynomial
    ket_order: int = 2                   # KetEmbedding: number of Kronecker factors
    ket_rank: int = 2                    # KetEmbedding: number of summed products

    def __post_init__(self):
        check_fields(self, "model.quantum")        # types first ("1e3" seconds is read as a number), then values
        m = self.max_qpu_seconds
        if m is not None and m < 0:
            raise ValueError(f"model.quantum.max_qpu_seconds must be a non-negative number of seconds or null "
                             f"(no limit), got {m!r}")
        for name in ("n_qubits", "qsvt_degree", "ket_order", "ket_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.quantum.{name} must be >= 1, got {getattr(self, name)}")
        if self.n_layers < 0:
            raise ValueError(f"model.quantum.n_layers must be >= 0 (ansatz layers), got {self.n_layers}")
        if self.shots is not None and self.shots < 1:
            raise ValueError(f"model.quantum.shots must be a positive integer or null (exact, or the backend's "
                             f"default), got {self.shots}")


@dataclass
class ModelConfig:
    vocab_size: int = 65                 # tokens
    context: int = 64                    # maximum sequence length (positions)
    d_model: int = 32                    # residual width
    n_heads: int = 4                     # attention heads (d_model % n_heads == 0)
    n_blocks: int = 2                    # transformer blocks (arch=lstm: stacked LSTM layers)
    arch: str = "transformer"            # transformer | lstm (one direction, so `causal` has no effect;
                                         #   no position embedding; attention/ffn unused)
    ffn_hidden: int | None = None        # MLP hidden width; None = 4 * d_model
    dropout: float = 0.0
    embedding: str = "classical"         # classical | quantum | ket
    attention: str = "classical"         # classical | vqc | qsann | kernel | quixer
    ffn: str = "classical"               # classical | vqc
    tie_weights: bool = True             # LM head shares the token embedding table
    causal: bool = True                  # SequenceClassifier: False lets every token see every token
    n_classes: int = 2                   # SequenceClassifier outputs
    pool: str = "mean"                   # SequenceClassifier pooling: mean | last
    quantum: QuantumConfig = field(default_factory=QuantumConfig)
    hf: dict | str | None = None         # a pretrained Hugging Face model instead: {name: gpt2 | <folder>,
                                         #   method: quantum_adapter | lora | head_only | full, adapters: {...}}
                                         #   (qhybrid.hf.runs); then only `context` of the fields above applies

    def __post_init__(self):
        if isinstance(self.hf, str):
            self.hf = {"name": self.hf}
        if self.hf is not None and not isinstance(self.hf, dict):
            raise ValueError(f"model.hf must be a model name or a mapping of settings, got {self.hf!r}")
        check_fields(self, "model")                 # types (model.quantum from a mapping), then values
        for name, options in (("embedding", EMBEDDINGS), ("attention", ATTENTIONS), ("ffn", FFNS),
                              ("pool", {"mean": 0, "last": 0}), ("arch", {"transformer": 0, "lstm": 0})):
            check_choice(f"model.{name}", getattr(self, name), options)
        if self.arch == "lstm" and (self.attention, self.ffn) != ("classical", "classical"):
            raise ValueError(f"model.arch = 'lstm' has no attention or feed-forward blocks, so model.attention = "
                             f"{self.attention!r} / model.ffn = {self.ffn!r} cannot apply; use arch: transformer, "
                             f"or keep attention and ffn classical (a quantum embedding works with either)")
        for name in ("vocab_size", "context", "d_model", "n_heads", "n_blocks", "n_classes"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"model.{name} must be a positive integer, got {v!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.n_heads ({self.n_heads})")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if self.ffn_hidden is not None and self.ffn_hidden < 1:
            raise ValueError(f"model.ffn_hidden must be a positive integer or null (4 * d_model), "
                             f"got {self.ffn_hidden}")

    @property
    def hidden(self) -> int:
        return self.ffn_hidden or 4 * self.d_model

    @property
    def is_quantum(self) -> bool:
        return any_quantum(vars(self))


def any_quantum(model: dict) -> bool:
    """Whether a model config (as a dict; missing parts are classical) has a quantum embedding, attention or FFN."""
    return any(model.get(k, "classical") != "classical" for k in ("embedding", "attention", "ffn"))


def _quantum_options(cfg: ModelConfig, backend=None) -> dict:
    q = cfg.quantum
    return dict(n_qubits=q.n_qubits, n_layers=q.n_layers, ansatz=q.ansatz, encoding=q.encoding,
                backend=q.backend if backend is None else backend, shots=q.shots)


def _model_backend(q: QuantumConfig):
    """The name "statevector" as is; any other backend ONE object shared by every circuit of the model (one
    connection, transpile cache and QPU budget), built at the first forward pass (drawing a model or counting
    its parameters never connects to a QPU). max_qpu_seconds goes to the families that take it (ibm:)."""
    options = dict(q.backend_options)
    if q.max_qpu_seconds is not None and "max_qpu_seconds" in backend_options(q.backend):
        options["max_qpu_seconds"] = q.max_qpu_seconds
    if q.backend == "statevector" and not options:
        return q.backend
    check_options(q.backend, options)
    return LazyBackend(q.backend, **options)


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + ffn(ln(x))."""

    def __init__(self, cfg: ModelConfig, causal: bool, backend=None):
        super().__init__()
        opts = _quantum_options(cfg, backend)
        self.ln1 = nn.LayerNorm(cfg.d_model)
        extra = dict(qsvt_degree=cfg.quantum.qsvt_degree, context=cfg.context) if cfg.attention == "quixer" else {}
        self.attn = ATTENTIONS[cfg.attention](cfg.d_model, cfg.n_heads, cfg.dropout, causal, **opts, **extra)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ffn = FFNS[cfg.ffn](cfg.d_model, cfg.hidden, cfg.dropout, **opts)

    def forward(self, x, key_mask=None):                      # (B, T, C) -> (B, T, C)
        x = x + self.attn(self.ln1(x), key_mask)
        return x + self.ffn(self.ln2(x))


class _Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig, causal: bool):
        super().__init__()
        self.config = cfg
        backend = _model_backend(cfg.quantum) if cfg.is_quantum else None     # one instance for all circuits
        emb_opts = (dict(order=cfg.quantum.ket_order, rank=cfg.quantum.ket_rank) if cfg.embedding == "ket"
                    else _quantum_options(cfg, backend) if cfg.embedding == "quantum" else {})
        self.tok_emb = EMBEDDINGS[cfg.embedding](cfg.vocab_size, cfg.d_model, **emb_opts)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.arch == "lstm":                                     # order comes from the recurrence
            self.pos_emb = None
            self.rnn = nn.LSTM(cfg.d_model, cfg.d_model, cfg.n_blocks, batch_first=True,
                               dropout=cfg.dropout if cfg.n_blocks > 1 else 0.0)
            self.blocks = nn.ModuleList()
        else:
            self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
            self.blocks = nn.ModuleList([Block(cfg, causal, backend) for _ in range(cfg.n_blocks)])
        self.ln_f = nn.LayerNorm(cfg.d_model)

    def _init_classical(self):
        """GPT-2 init for classical Linear/Embedding weights; quantum parameters keep their own."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)) and not is_quantum(m.weight):
                nn.init.normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)

    def step_metrics(self) -> dict:
        """Per-step metrics its layers declare (their step_metrics()), averaged over layers by name;
        e.g. Quixer's postselection probability. The trainer records them without knowing any layer."""
        sums: dict[str, list] = {}
        for m in self.modules():
            if m is not self and callable(getattr(m, "step_metrics", None)):
                for k, v in m.step_metrics().items():
                    sums.setdefault(k, []).append(v)
        return {k: sum(v) / len(v) for k, v in sums.items()}

    def _backends(self) -> list:
        """The distinct backend objects the model's circuits run on (one shared LazyBackend by construction)."""
        out = {}
        for m in self.modules():
            b = getattr(m, "backend", None)
            if b is not None and not isinstance(b, str) and hasattr(b, "expval"):
                out.setdefault(id(b), b)
        return list(out.values())

    def backend_usage(self) -> dict:
        """What the model's backend has used: {"backend", "jobs", "qpu_seconds"} for job-based backends (aer, ibm;
        qpu_seconds None without a QPU), {} when nothing submits jobs. Save it in checkpoints and summaries."""
        found = [(b, u) for b in self._backends() if (u := usage_of(b))]
        if not found:
            return {}
        if len(found) > 1:
            raise ValueError(f"the model's circuits run on {len(found)} job-based backends; usage is kept for one")
        b, u = found[0]
        return {"backend": getattr(b, "name", type(b).__name__), **u}

    def restore_backend_usage(self, state: dict) -> None:
        """Continue from a saved backend_usage() (call on resume, before the first step): the QPU budget
        (max_qpu_seconds) then counts what the run already used. Nothing to do for {} or exact simulators."""
        if not state:
            return
        usage = {k: v for k, v in state.items() if k != "backend"}
        for b in self._backends():
            if usage_of(b):
                name = getattr(b, "name", None)
                if state.get("backend") not in (None, name):
                    raise ValueError(f"saved usage is of backend {state['backend']!r}, the model runs on {name!r}")
                restore_usage(b, usage)

    def features(self, idx, key_mask=None):                   # (B, T) ids -> (B, T, C)
        B, T = idx.shape
        if T > self.config.context:
            raise ValueError(f"sequence length {T} exceeds model.context = {self.config.context}")
        if not idx.is_meta and (idx.min() < 0 or idx.max() >= self.config.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.config.vocab_size}), got range "
                             f"[{int(idx.min())}, {int(idx.max())}]")
        x = self.tok_emb(idx)
        if self.pos_emb is None:                                   # LSTM: causal by construction; padding is
            return self.ln_f(self.rnn(self.drop(x))[0])            # at the end, so it never reaches real tokens
        x = self.drop(x + self.pos_emb(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x, key_mask)
        return self.ln_f(x)


class TinyLM(_Backbone):
    """A decoder-only language model whose embedding, attention and FFN can each be quantum."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, causal=True)
        self.lm_head = None if config.tie_weights else nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._init_classical()

    def forward(self, idx, targets=None):
        """idx (B, T) -> logits (B, T, V) and the mean cross-entropy when targets (B, T) are given."""
        x = self.features(idx)
        logits = x @ self.tok_emb.full_weight().t() if self.lm_head is None else self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss

    @torch.no_grad()
    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None):
        """Sample max_new_tokens after prompt_ids (B, T) or (T,); returns the extended ids."""
        return sample_tokens(lambda idx: self(idx)[0], prompt_ids, max_new_tokens, self.config.context,
                             temperature, top_k, generator, device=self.ln_f.weight.device)


def sample_tokens(logits_of, prompt_ids, max_new_tokens: int, context: int, temperature: float = 1.0,
                  top_k: int | None = None, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Autoregressive sampling for any LM: logits_of(idx (B, T)) -> logits (B, T, V); the window is the last
    `context` tokens; prompt_ids (B, T) or (T,) -> the extended ids, on `device` (the model's)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    idx = torch.as_tensor(prompt_ids, dtype=torch.long, device=device)
    squeeze = idx.dim() == 1
    idx = idx[None] if squeeze else idx
    for _ in range(max_new_tokens):
        logits = logits_of(idx[:, -context:])[:, -1, :].float() / temperature
        if top_k is not None:
            kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
    return idx[0] if squeeze else idx


class SequenceClassifier(_Backbone):
    """The same blocks for sentence classification: pooled features -> Linear(d, n_classes)."""

    def __init__(self, config: ModelConfig):
        super().__init__(config, causal=config.causal)
        self.head = nn.Linear(config.d_model, config.n_classes)
        self._init_classical()

    def forward(self, idx, mask=None, targets=None):
        """idx (B, T), mask (B, T) True at real tokens -> logits (B, n_classes), loss."""
        x = self.features(idx, mask)                                   # (B, T, C)
        m = torch.ones(idx.shape, dtype=x.dtype, device=x.device) if mask is None else mask.to(x.dtype)
        if self.config.pool == "mean":
            pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp_min(1)
        else:
            last = (m.sum(1).long() - 1).clamp_min(0)
            pooled = x[torch.arange(x.shape[0]), last]
        logits = self.head(pooled)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def count_parameters(model: nn.Module) -> dict:
    """Trainable parameters: total, embedding (token + position), non_embedding, quantum, classical."""
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p.numel() for p in params)
    emb = sum(p.numel() for m in (getattr(model, "tok_emb", None), getattr(model, "pos_emb", None)) if m is not None
              for p in m.parameters() if p.requires_grad)
    quantum = sum(p.numel() for p in params if is_quantum(p))
    return {"total": total, "embedding": emb, "non_embedding": total - emb, "quantum": quantum,
            "classical": total - quantum}


def classical_twin(config: ModelConfig) -> ModelConfig:
    """The same architecture with every quantum part classical (build it with TinyLM/SequenceClassifier)."""
    return dataclasses.replace(config, embedding="classical", attention="classical", ffn="classical")


def parameter_matched_twin(config: ModelConfig, model_cls=TinyLM, exclude_embeddings: bool = False,
                           tolerance: float = 0.10) -> ModelConfig:
    """A classical config whose trainable parameter count is within `tolerance` of the quantum model's.

    d_model runs over multiples of n_heads; for each, the MLP hidden width that hits the target
    exactly is solved for (parameters are linear in it); the d_model whose hidden/d_model ratio is
    closest to the usual 4 wins. With exclude_embeddings the non-embedding counts are matched.
    """
    key = "non_embedding" if exclude_embeddings else "total"
    base = classical_twin(config)

    def count(cfg):
        with torch.device("meta"):                             # shapes only: no memory, no init cost
            return count_parameters(model_cls(cfg))[key]

    target = count(config)
    best = None
    for d in range(config.n_heads, 4 * config.d_model + 1, config.n_heads):
        p1, p2 = (count(dataclasses.replace(base, d_model=d, ffn_hidden=h)) for h in (1, 2))
        h = max(1, round(1 + (target - p1) / (p2 - p1))) if p2 != p1 else 4 * d    # lstm: no MLP
        err = abs(count(dataclasses.replace(base, d_model=d, ffn_hidden=h)) - target) / target
        score = (err > tolerance, abs(math.log(h / (4 * d))))
        if best is None or score < best[0]:
            best = (score, d, h, err)
    _, d, h, err = best
    if err > tolerance:
        raise ValueError(f"no classical twin within {tolerance:.0%} of {target} {key} parameters "
                         f"(closest: d_model={d}, ffn_hidden={h}, off by {err:.1%})")
    return dataclasses.replace(base, d_model=d, ffn_hidden=h)
