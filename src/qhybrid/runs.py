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
    corpus = load_corpus(d.name, data_dir=d.data_dir, seed=d.seed, **d.options)
    if cfg.model.hf is not None:                         # the raw text through the pretrained model's tokenizer
        from .hf.runs import hf_corpus
        return hf_corpus(cfg.model.hf, corpus)
    return corpus


def model_config(cfg: RunConfig, corpus) -> tuple[ModelConfig, type]:
    """The run's model config sized to the corpus, and the model class for its task."""
    m = dataclasses.replace(cfg.model, vocab_size=corpus.tokenizer.vocab_size)
    if corpus.task == "classification":
        return dataclasses.replace(m, n_classes=len(corpus.classes)), SequenceClassifier
    return m, TinyLM


def build_model(cfg: RunConfig, corpus) -> torch.nn.Module:
    """TinyLM for LM corpora, SequenceClassifier for classification, sized to the corpus vocabulary; with
    model.hf set, the pretrained Hugging Face model and its fine-tuning method (qhybrid.hf.runs)."""
    if cfg.model.hf is not None:
        from .hf.runs import build_hf_model
        return build_hf_model(cfg.model.hf, corpus, cfg.model.context)
    m, cls = model_config(cfg, corpus)
    return cls(m)


def sample_from_run(run_dir, prompt: str, tokens: int, temperature: float = 1.0, top_k: int | None = None,
                    seed: int = 0) -> str:
    """Text sampled from a trained LM run directory (its config, tokenizer and last checkpoint)."""
    from .config import load_yaml, run_config_from_dict
    from .data import load_tokenizer

    d = Path(run_dir)
    for f in ("config.yaml", "tokenizer.json", "checkpoint.pt"):
        if not (d / f).exists():
            raise ValueError(f"{d / f} is missing; generate needs a trained run directory (qhybrid train CONFIG)")
    cfg = run_config_from_dict(load_yaml(d / "config.yaml"))
    if cfg.model.hf is not None:
        from .hf.runs import sample_hf_run
        return sample_hf_run(d, cfg, prompt, tokens, temperature, top_k, seed)
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
    gen = torch.Generator().manual_seed(seed)
    out = model.eval().generate(torch.tensor(ids), tokens, temperature=temperature, top_k=top_k, generator=gen)
    return tok.decode(out.tolist())
