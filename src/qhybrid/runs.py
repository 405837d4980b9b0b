"""A run: one resolved configuration, its model and its directory.

    load_run_corpus(cfg)          the corpus a run config names (vocabulary, classes, splits)
    build_model(cfg, corpus)      THE model of a run: TinyLM for LM corpora, SequenceClassifier for
                                  classification, sized to the corpus (vocabulary, classes); used by
                                  train, compare (twins), planning, the CLI and generation
    sample_from_run(run_dir, ...) text from a trained LM run directory
    atomic_write / atomic_text    every file of a run is written via a temp file + rename
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import NamedTuple

import torch

from .config import RunConfig
from .models import ModelConfig, SequenceClassifier, TinyLM


def atomic_write(path: Path, write) -> None:
    """Write via a temp file in the same folder, then rename: readers never see a partial file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def save_figure(fig, path: Path, dpi: int = 100) -> None:
    """A matplotlib Figure saved as PNG, atomically."""
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi))


class CorpusShape(NamedTuple):
    """What building a model needs of a corpus: its tokenizer (vocab_size), task and classes."""
    tokenizer: object
    task: str = "lm"
    classes: tuple = ()


def load_run_corpus(cfg: RunConfig):
    from .data import load_corpus

    d = cfg.data
    return load_corpus(d.name, data_dir=d.data_dir, seed=d.seed, **d.options)


def model_config(cfg: RunConfig, corpus) -> tuple[ModelConfig, type]:
    """The run's model config sized to the corpus, and the model class for its task."""
    m = dataclasses.replace(cfg.model, vocab_size=corpus.tokenizer.vocab_size)
    if corpus.task == "classification":
        return dataclasses.replace(m, n_classes=len(corpus.classes)), SequenceClassifier
    return m, TinyLM


def build_model(cfg: RunConfig, corpus) -> torch.nn.Module:
    """TinyLM for LM corpora, SequenceClassifier for classification, sized to the corpus vocabulary."""
    m, cls = model_config(cfg, corpus)
    return cls(m)


MAX_NEW_TOKENS = 100_000   # each new token is one forward pass: more would run for many minutes without output


def sample_from_run(run_dir, prompt: str, tokens: int, temperature: float = 1.0, top_k: int | None = None,
                    seed: int = 0) -> str:
    """Text sampled from a trained LM run directory (its config, tokenizer and last checkpoint).

    tokens: 1 to MAX_NEW_TOKENS; temperature > 0; top_k None (every token) or >= 1. A prompt must hold at
    least one token of the run's vocabulary (unknown tokens encode to <unk>)."""
    from .config import load_yaml, run_config_from_dict
    from .data import load_tokenizer

    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= MAX_NEW_TOKENS:
        raise ValueError(f"--tokens must be between 1 and {MAX_NEW_TOKENS:,} (new tokens to sample; each is one "
                         f"forward pass, so more would run for many minutes), got {tokens!r}")
    if not temperature > 0:
        raise ValueError(f"--temperature must be > 0 (1 = the model's distribution, lower = greedier), "
                         f"got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"--top-k must be >= 1 (sample from the k most likely tokens), or left out to sample from "
                         f"every token; got {top_k!r}")
    d = Path(run_dir)
    for f in ("config.yaml", "tokenizer.json", "checkpoint.pt"):
        if not (d / f).exists():
            raise ValueError(f"{d / f} is missing; generate needs a trained run directory (qhybrid train CONFIG)")
    cfg = run_config_from_dict(load_yaml(d / "config.yaml"))
    tok = load_tokenizer(d / "tokenizer.json")
    model = build_model(cfg, CorpusShape(tok))
    state = torch.load(d / "checkpoint.pt", weights_only=False)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError:
        raise ValueError(f"{d} holds a classifier, not a language model; generate works on LM runs") from None
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("the prompt is empty after tokenisation; give at least one known token")
    if all(i == tok.unk_id for i in ids):
        known = [t for t in tok.itos if t not in tok.specials][:8]
        raise ValueError(f"none of the prompt's tokens ({prompt!r}) is in the run's vocabulary (each would be "
                         f"<unk>); start from tokens of its training data, e.g. {', '.join(map(repr, known))}")
    gen = torch.Generator().manual_seed(seed)
    out = model.eval().generate(torch.tensor(ids), tokens, temperature=temperature, top_k=top_k, generator=gen)
    return tok.decode(out.tolist())
