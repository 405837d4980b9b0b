"""Pretrained Hugging Face models as qhybrid runs: `qhybrid train`, `compare`, `generate` and resume.

    model:
      context: 64                              # LM window / longest sentence (<= the model's positions)
      hf:
        name: gpt2                             # hub name or local folder (from_pretrained), with its tokenizer
        method: quantum_adapter                # quantum_adapter | lora | head_only | full
        adapters: {target_modules: [c_attn], n_qubits: 4, n_layers: 2}   # QuantumAdapterConfig settings
        lora: {}                               # method lora: tolerance (default 0.1) and peft.LoraConfig options
        head: null                             # method head_only: module name (default score / lm_head)

The runs layer (qhybrid.runs) calls two functions here:

    hf_corpus(settings, corpus)      the corpus's raw text seen through the model's own tokenizer
                                     (AutoTokenizer.from_pretrained(name)): LM streams, or sentences
    build_hf_model(settings, corpus, context)   HFRunModel: AutoModelForCausalLM (LM corpora) or
                                     AutoModelForSequenceClassification (its head trained), with the
                                     method's trainable parameters

`method: lora` builds a PEFT LoRA on the adapters' target modules whose rank is chosen so that its
trainable count is within `lora.tolerance` of what `method: quantum_adapter` trains with the same
`adapters` settings; so a comparison's variants differ only in `method`. For classification the
head (`score` on GPT-2 and Llama) is trained by every method.

HFRunModel has the trainer's interface: model(idx, targets) -> (logits, loss) for LMs, model(idx, mask,
targets) for classifiers, step_metrics(), generate(); and its state_dict holds the trainable tensors
only (the frozen base is reloaded from `name`), so a checkpoint is the size of what trains.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .._optional import require
from ..models import sample_tokens
from ..validation import check_choice, dataclass_from_dict
from .adapters import QuantumAdapterConfig, add_quantum_adapters
from .baselines import HEAD_NAMES, full_finetune, head_only, lora_twin

METHODS = ("quantum_adapter", "lora", "head_only", "full")


@dataclasses.dataclass
class HFSettings:
    name: str = ""                               # hub name or local folder with the model and its tokenizer
    method: str = "quantum_adapter"              # quantum_adapter | lora | head_only | full
    adapters: dict = dataclasses.field(default_factory=dict)   # QuantumAdapterConfig settings (also sizes LoRA)
    lora: dict = dataclasses.field(default_factory=dict)       # tolerance + peft.LoraConfig options (method lora)
    head: str | None = None                      # head_only: the module to train (default: score / lm_head)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("model.hf.name must name a pretrained model: a hub name (gpt2, "
                             "HuggingFaceTB/SmolLM2-135M) or a local folder written by save_pretrained")
        check_choice("model.hf.method", self.method, METHODS)
        for key in ("adapters", "lora"):
            if not isinstance(getattr(self, key), dict):
                raise ValueError(f"model.hf.{key} must be a mapping of settings, got {getattr(self, key)!r}")
        try:
            self.adapter_config()
        except (TypeError, ValueError) as e:
            raise ValueError(f"model.hf.adapters: {e}") from None
        tol = self.lora.get("tolerance", 0.1)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
            raise ValueError(f"model.hf.lora.tolerance must be a fraction in (0, 1), got {tol!r}")

    def adapter_config(self, modules_to_save=()) -> QuantumAdapterConfig:
        extra = [m for m in modules_to_save if m not in self.adapters.get("modules_to_save", [])]
        data = {**self.adapters, "modules_to_save": [*self.adapters.get("modules_to_save", []), *extra]}
        return QuantumAdapterConfig.from_dict(data)


def hf_settings(value) -> HFSettings:
    """model.hf (a hub name / path, or a mapping) -> validated HFSettings; unknown keys are one clear error."""
    if isinstance(value, HFSettings):
        return value
    if isinstance(value, str):
        value = {"name": value}
    return dataclass_from_dict(HFSettings, dict(value), "model.hf")


def check_model_config(model_cfg) -> None:
    """Checks of a ModelConfig with `hf` set: the settings, and no qhybrid quantum parts that would not apply."""
    hf_settings(model_cfg.hf)
    parts = [f"model.{k} = {getattr(model_cfg, k)!r}" for k in ("embedding", "attention", "ffn")
             if getattr(model_cfg, k) != "classical"]
    if parts:
        raise ValueError(f"model.hf builds a pretrained model, so {', '.join(parts)} cannot apply; put quantum "
                         f"parts in model.hf.adapters (method: quantum_adapter)")


# ---- the corpus through the model's tokenizer ---------------------------------------------------
class HFTokenizer:
    """A Hugging Face tokenizer with the face qhybrid's runs use: vocab_size, encode, decode, save."""

    def __init__(self, tokenizer):
        self.hf = tokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    @property
    def pad_id(self) -> int:
        tok = self.hf
        for i in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id):
            if i is not None:
                return int(i)
        return 0

    def encode(self, text: str) -> list[int]:
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids) -> str:
        return self.hf.decode(list(ids))

    def matches_file(self, path) -> bool:
        """Whether `path` is what save() writes for this tokenizer now (resume checks it)."""
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            mine = Path(d) / "tokenizer.json"
            self.save(mine)
            return mine.exists() and mine.read_bytes() == Path(path).read_bytes()

    def save(self, path) -> None:
        """tokenizer.json (the `tokenizers` format) of a fast tokenizer; a slow one is saved next to it."""
        path = Path(path)
        backend = getattr(self.hf, "backend_tokenizer", None)
        if backend is not None:
            backend.save(str(path))
        else:
            self.hf.save_pretrained(path.with_name("hf_tokenizer"))


def load_hf_tokenizer(name: str) -> HFTokenizer:
    transformers = require("transformers")
    return HFTokenizer(transformers.AutoTokenizer.from_pretrained(name))


class HFCorpus:
    """A qhybrid Corpus's splits tokenized by a pretrained model's tokenizer (the interface Batches and the
    trainer read: name, task, level, classes, encode_lm, encode_classification, tokenizer)."""

    level = "subword"
    entropy_rate = None
    bound_perplexity = None

    def __init__(self, corpus, tokenizer: HFTokenizer):
        self.base, self.tokenizer = corpus, tokenizer
        self.name, self.task, self.splits = corpus.name, corpus.task, corpus.splits
        self.classes = corpus.classes
        self._cache: dict[str, torch.Tensor] = {}

    def text(self, split: str) -> str:
        """The split as one text: character-level corpora as they are, sentence corpora one per line."""
        texts = self.splits[split]
        return "".join(texts) if self.base.level == "char" else "".join(t + "\n" for t in texts)

    def encode_lm(self, split: str) -> torch.Tensor:
        if self.task != "lm":
            raise ValueError(f"corpus {self.name!r} is a classification corpus; use encode_classification")
        if split not in self._cache:
            self._cache[split] = torch.tensor(self.tokenizer.encode(self.text(split)), dtype=torch.long)
        return self._cache[split].clone()

    def encode_classification(self, split: str):
        if self.task != "classification":
            raise ValueError(f"corpus {self.name!r} is a language-model (lm) corpus; use encode_lm")
        items = self.splits[split]
        ids = [torch.tensor(self.tokenizer.encode(t) or [self.tokenizer.pad_id], dtype=torch.long) for t, _ in items]
        return ids, torch.tensor([y for _, y in items], dtype=torch.long)


def hf_corpus(settings, corpus) -> HFCorpus:
    """`corpus` (a qhybrid Corpus) seen through the tokenizer of the pretrained model `settings.name`."""
    return HFCorpus(corpus, load_hf_tokenizer(hf_settings(settings).name))


# ---- the model ----------------------------------------------------------------------------------
class HFRunModel(nn.Module):
    """A Hugging Face model with the trainer's interface (see the module docstring)."""

    def __init__(self, model: nn.Module, task: str, context: int, pad_id: int, method: str):
        super().__init__()
        self.hf, self.task, self.context, self.pad_id, self.method = model, task, context, pad_id, method

    # count_parameters reads these to split embedding / non-embedding counts
    @property
    def tok_emb(self):
        return self.hf.get_input_embeddings()

    @property
    def pos_emb(self):
        return next((m for n, m in self.hf.named_modules() if n.endswith("wpe")), None)

    def forward(self, idx, *rest):
        if self.task == "lm":
            targets = rest[0] if rest else None
            logits = self.hf(input_ids=idx).logits
            loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())
            return logits, loss
        mask, targets = (rest + (None, None))[:2]
        mask = torch.ones_like(idx, dtype=torch.bool) if mask is None else mask
        logits = self.hf(input_ids=idx.masked_fill(~mask, self.pad_id), attention_mask=mask.long()).logits
        loss = None if targets is None else F.cross_entropy(logits.float(), targets)
        return logits, loss

    def step_metrics(self) -> dict:
        return {}

    # only what trains is checkpointed: the frozen base comes back from from_pretrained
    def _trainable_keys(self) -> set[str]:
        return {n for n, p in self.named_parameters() if p.requires_grad}

    def state_dict(self, *args, **kwargs):
        if args or kwargs.get("destination") is not None:    # called as a submodule: the plain behaviour
            return super().state_dict(*args, **kwargs)
        full = super().state_dict(**kwargs)
        keep = self._trainable_keys()
        prefix = kwargs.get("prefix", "")
        return type(full)((k, v) for k, v in full.items() if k[len(prefix):] in keep)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        missing = sorted(self._trainable_keys() - set(state_dict))
        if strict and missing:
            raise RuntimeError(f"the checkpoint lacks trainable tensors {missing[:5]} (a different method or model?)")
        result = super().load_state_dict(state_dict, strict=False, assign=assign)
        if strict and result.unexpected_keys:
            raise RuntimeError(f"unexpected tensors in the checkpoint: {result.unexpected_keys[:5]}")
        return result

    @torch.no_grad()
    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None):
        """Sample like TinyLM.generate: max_new_tokens after prompt_ids (B, T) or (T,), window = context."""
        if self.task != "lm":
            raise ValueError("generate works on language-model runs; this run is a classifier")
        return sample_tokens(lambda idx: self(idx)[0], prompt_ids, max_new_tokens, self.context, temperature, top_k,
                             generator, device=next(self.parameters()).device)


def _head_name(model: nn.Module) -> str | None:
    names = {n.rpartition(".")[2] for n, _ in model.named_modules()}
    return next((h for h in HEAD_NAMES if h in names), None)


def load_pretrained(name: str, task: str, n_classes: int | None = None, pad_id: int | None = None) -> nn.Module:
    """AutoModelForCausalLM (task lm) or AutoModelForSequenceClassification with a fresh n_classes head."""
    transformers = require("transformers")
    if task == "lm":
        return transformers.AutoModelForCausalLM.from_pretrained(name)
    return transformers.AutoModelForSequenceClassification.from_pretrained(name, num_labels=n_classes,
                                                                           pad_token_id=pad_id)


def build_hf_model(settings, corpus, context: int) -> HFRunModel:
    """The run's model: the pretrained model `settings.name` for the corpus's task, with `settings.method`'s
    trainable parameters. Seed torch's global RNG first: adapters and a fresh classification head draw from it."""
    s = hf_settings(settings)
    task = corpus.task
    tok = corpus.tokenizer
    pad_id = tok.pad_id if isinstance(tok, HFTokenizer) else 0
    n_classes = len(corpus.classes) if task == "classification" else None
    model = load_pretrained(s.name, task, n_classes, pad_id)
    n_pos = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    if n_pos is not None and context > n_pos:
        raise ValueError(f"model.context = {context} is longer than {s.name}'s {n_pos} positions")
    head = _head_name(model) if task == "classification" else None
    saved = [head] if head else []
    if s.method == "quantum_adapter":
        model = add_quantum_adapters(model, s.adapter_config(saved))
    elif s.method == "lora":
        opts = dict(s.lora)
        tolerance = opts.pop("tolerance", 0.1)
        model = lora_twin(model, s.adapter_config(saved), tolerance=tolerance, **opts)   # rank matched to the adapters
    elif s.method == "head_only":
        model = head_only(model, s.head)
    else:
        model = full_finetune(model)
    return HFRunModel(model, task, context, pad_id, s.method)


def sample_hf_run(run_dir, cfg, prompt: str, tokens: int, temperature: float, top_k: int | None, seed: int) -> str:
    """Text from a trained HF LM run directory (its config and checkpoint; the tokenizer of model.hf.name)."""
    s = hf_settings(cfg.model.hf)
    tok = load_hf_tokenizer(s.name)

    class _Shape:                                       # what build_hf_model reads of a corpus
        task, classes, tokenizer = "lm", None, tok

    torch.manual_seed(cfg.train.seed)
    model = build_hf_model(s, _Shape, cfg.model.context)
    state = torch.load(Path(run_dir) / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("the prompt is empty after tokenisation; give at least one known token")
    gen = torch.Generator().manual_seed(seed)
    out = model.eval().generate(torch.tensor(ids), tokens, temperature=temperature, top_k=top_k, generator=gen)
    return tok.decode(out.tolist())

