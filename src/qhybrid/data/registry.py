"""The data set registry: `list_datasets()` and `load_corpus(name_or_path, data_dir=None, seed=0, **options)`.

`name` is a registered name (see `list_datasets()`) or the path of a user file (see userfiles.py).
`seed` only affects generated (built-in) corpora; standard sets have fixed splits, and `data_dir`
only standard sets (see files.py for where their files come from). Unknown options raise a
`TypeError` listing the accepted ones; unknown names a `DataError` listing the valid names with the
nearest match.
"""
from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..validation import nearest
from .corpus import Corpus
from .files import DataError
from .standard import amazon, imdb, mc, ptb, rp, tinyshakespeare, yelp
from .toy import toy_english, toy_mc
from .userfiles import load_user_file


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: str         # "lm" | "classification"
    level: str        # "char" | "word"
    source: str       # "built-in" | "download"
    description: str
    loader: Callable[..., Corpus]

    def info(self) -> dict:
        return {"name": self.name, "task": self.task, "level": self.level, "source": self.source,
                "description": self.description}


REGISTRY: dict[str, DatasetSpec] = {s.name: s for s in [
    DatasetSpec("toy_english", "lm", "word", "built-in",
                "i.i.d. sentences of a small unambiguous PCFG (66 words); exact entropy rate known", toy_english),
    DatasetSpec("toy_mc", "classification", "word", "built-in",
                "MC-like food (1) vs IT (0) sentences from a small grammar, balanced", toy_mc),
    DatasetSpec("ptb", "lm", "word", "download",
                "Penn Treebank (Mikolov), 10k vocabulary incl. <eos>, 929k train tokens", ptb),
    DatasetSpec("tinyshakespeare", "lm", "char", "download",
                "tiny-shakespeare, 1.1M characters, split 90/5/5 by characters", tinyshakespeare),
    DatasetSpec("mc", "classification", "word", "download",
                "MC (Lorenz et al. 2021): food vs IT sentences, 70/30/30", mc),
    DatasetSpec("rp", "classification", "word", "download",
                "RP: subject vs object relative clauses, 64/10/30 (valid carved from train)", rp),
    DatasetSpec("yelp", "classification", "word", "download",
                "UCI sentiment labelled sentences, Yelp part, 1000 sentences, 80/10/10", yelp),
    DatasetSpec("amazon", "classification", "word", "download",
                "UCI sentiment labelled sentences, Amazon part, 80/10/10 (download unverified: no checksum)",
                amazon),
    DatasetSpec("imdb", "classification", "word", "download",
                "UCI sentiment labelled sentences, IMDb part, 80/10/10 (download unverified: no checksum)",
                imdb),
]}


def list_datasets() -> list[dict]:
    """One dict per registered data set: name, task, level, source, description."""
    return [s.info() for s in REGISTRY.values()]


def _looks_like_path(name: str) -> bool:
    return os.sep in name or "/" in name or Path(name).suffix != "" or Path(name).exists()


def _call(loader: Callable[..., Corpus], label: str, **kwargs) -> Corpus:
    params = inspect.signature(loader).parameters
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        accepted = [p for p in params if p not in ("data_dir", "seed")]
        raise TypeError(f"{label}: unknown option(s) {unknown}; accepted options: {accepted or 'none'}")
    return loader(**kwargs)


def load_corpus(name: str | os.PathLike, data_dir: str | os.PathLike | None = None, seed: int = 0,
                **options) -> Corpus:
    """A `Corpus` for a registered data set name or a user file path (see module docstrings)."""
    key = str(name)
    spec = REGISTRY.get(key) or REGISTRY.get(key.lower())
    if spec is not None:
        params = inspect.signature(spec.loader).parameters
        kwargs = dict(options)
        if "seed" in params:
            kwargs["seed"] = seed
        if "data_dir" in params:
            kwargs["data_dir"] = data_dir
        return _call(spec.loader, f"data set {spec.name!r}", **kwargs)
    if isinstance(name, os.PathLike) or _looks_like_path(key):
        return _call(load_user_file, f"user file {key!r}", path=key, **options)
    close = nearest(key.lower(), REGISTRY, cutoff=0.5)
    hint = f" Did you mean {close!r}?" if close else ""
    raise DataError(f"unknown data set {key!r}.{hint} Valid names: {', '.join(REGISTRY)} "
                    "(or the path of a text file, with task='lm'|'classification' and level='word'|'char')")
