"""`Corpus`: the splits of a data set, its tokenizer (fitted on train only) and tensor encodings.

    corpus.splits["train"]            LM: list of texts (sentences / lines); classification: (text, label)
    corpus.encode_lm("valid")         1-D LongTensor: the whole split as one stream of ids
    corpus.encode_classification("test") -> (list of 1-D LongTensors, LongTensor of labels)
    corpus.entropy_rate               exact nats/token of the source (generated corpora), else None
    corpus.bound_perplexity           exp(entropy_rate), else None
    corpus.summary()                  sizes per split (sentences, tokens), vocabulary size, ...

Streams. Word level: each sentence's ids followed by the ``<eos>`` id (Mikolov/Zaremba's PTB
convention: one <eos> per line), so ``len(encode_lm(s)) = words + sentences``. Character level:
the texts are concatenated as they are (they keep their own newlines). Tokenizers: word-level LMs
use specials ``<unk>`` (id 0), ``<eos>`` (id 1); char-level LMs ``<unk>`` (id 0) only; classification
``<pad>`` (id 0, for batching) and ``<unk>`` (id 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from .tokenizers import EOS, PAD, UNK, CharTokenizer, WordTokenizer

SPLITS = ("train", "valid", "test")


def default_tokenizer(task: str, level: str, **options) -> CharTokenizer | WordTokenizer:
    """An unfitted tokenizer with the specials used by `task` and `level` (see module docstring)."""
    if task == "lm":
        specials = (UNK, EOS) if level == "word" else (UNK,)
    else:
        specials = (PAD, UNK)
    if level == "char":
        return CharTokenizer(specials=specials)
    return WordTokenizer(specials=specials, lower=options.get("lower", False),
                         split_punct=options.get("split_punct", False))


@dataclass
class Corpus:
    name: str
    task: str                                # "lm" | "classification"
    level: str                               # "char" | "word"
    splits: dict[str, list]                  # "train" / "valid" / "test"
    tokenizer: CharTokenizer | WordTokenizer  # fitted on splits["train"] only
    classes: list[str] | None = None         # class names, index = label (classification)
    entropy_rate: float | None = None        # nats per token of the source, <eos> counted (generated sets)
    meta: dict[str, Any] = field(default_factory=dict)  # provenance: source, files, split rule, notes
    _lm_cache: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.task not in ("lm", "classification"):
            raise ValueError(f"task must be 'lm' or 'classification', got {self.task!r}")
        if self.level not in ("char", "word"):
            raise ValueError(f"level must be 'char' or 'word', got {self.level!r}")
        missing = [s for s in SPLITS if s not in self.splits]
        if missing:
            raise ValueError(f"corpus {self.name!r} lacks splits {missing}")

    @classmethod
    def from_splits(cls, name: str, task: str, level: str, splits: dict[str, list], *,
                    classes: list[str] | None = None, entropy_rate: float | None = None,
                    tokenizer_options: dict | None = None, meta: dict | None = None) -> Corpus:
        """Build a corpus, fitting the default tokenizer for (task, level) on the train split.

        `tokenizer_options`: lower, split_punct (word level, set at construction), max_vocab, min_freq
        (word level, used when fitting).
        """
        opts = {k: v for k, v in (tokenizer_options or {}).items() if v is not None}
        tok = default_tokenizer(task, level, **opts)
        texts = splits["train"] if task == "lm" else [t for t, _ in splits["train"]]
        if isinstance(tok, WordTokenizer):
            tok.fit(texts, max_vocab=opts.get("max_vocab"), min_freq=opts.get("min_freq", 1))
        else:
            tok.fit(texts)
        return cls(name=name, task=task, level=level, splits=splits, tokenizer=tok, classes=classes,
                   entropy_rate=entropy_rate, meta=dict(meta or {}))

    # --- encodings ---------------------------------------------------------------------------------
    def _split(self, split: str) -> list:
        if split not in self.splits:
            raise KeyError(f"unknown split {split!r}; corpus {self.name!r} has {list(self.splits)}")
        return self.splits[split]

    def encode_lm(self, split: str) -> torch.Tensor:
        """The whole split as one 1-D LongTensor of ids (word level: <eos> after every sentence)."""
        if self.task != "lm":
            raise ValueError(f"corpus {self.name!r} is a classification corpus; use encode_classification")
        if split not in self._lm_cache:
            texts = self._split(split)
            enc = self.tokenizer.encode
            if self.level == "word":
                eos = self.tokenizer.eos_id
                ids: list[int] = []
                for t in texts:
                    ids.extend(enc(t))
                    ids.append(eos)
            else:
                ids = enc("".join(texts))
            self._lm_cache[split] = torch.tensor(ids, dtype=torch.long)
        return self._lm_cache[split].clone()

    def encode_classification(self, split: str) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(one LongTensor of ids per sentence, LongTensor of labels). Pad id is `tokenizer.pad_id` (0)."""
        if self.task != "classification":
            raise ValueError(f"corpus {self.name!r} is a language-model (lm) corpus; use encode_lm")
        items = self._split(split)
        ids = [torch.tensor(self.tokenizer.encode(t), dtype=torch.long) for t, _ in items]
        labels = torch.tensor([y for _, y in items], dtype=torch.long)
        return ids, labels

    # --- facts -------------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def n_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None

    @property
    def bound_perplexity(self) -> float | None:
        """exp(entropy_rate): the lowest perplexity any model can reach on this source (or None)."""
        return math.exp(self.entropy_rate) if self.entropy_rate is not None else None

    def summary(self) -> dict[str, Any]:
        """Name, task, level, vocabulary size and per split: sentences (texts) and tokens.

        LM tokens are those of `encode_lm` (word level: <eos> included; "words" excludes it).
        Classification tokens are summed over sentences, and label counts are given per split.
        """
        out: dict[str, Any] = {"name": self.name, "task": self.task, "level": self.level,
                               "vocab_size": self.vocab_size, "splits": {}}
        for split in SPLITS:
            items = self.splits[split]
            info: dict[str, Any] = {"sentences": len(items)}
            if self.task == "lm":
                info["tokens"] = int(self.encode_lm(split).numel())
                if self.level == "word":
                    info["words"] = info["tokens"] - len(items)
            else:
                ids, labels = self.encode_classification(split)
                info["tokens"] = sum(int(x.numel()) for x in ids)
                info["label_counts"] = torch.bincount(labels, minlength=len(self.classes or [])).tolist()
            out["splits"][split] = info
        if self.classes is not None:
            out["classes"] = list(self.classes)
        if self.entropy_rate is not None:
            out["entropy_rate"] = self.entropy_rate
            out["bound_perplexity"] = self.bound_perplexity
        return out
