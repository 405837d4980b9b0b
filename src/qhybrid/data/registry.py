"""The data set registry: `list_datasets()` and `load_corpus(name_or_path, data_dir=None, seed=0, **options)`.

`name` is a registered name (see `list_datasets()`) or the path of a user file (see userfiles.py).
`seed` only affects generated (built-in) corpora; standard sets have fixed splits, and `data_dir`
only standard sets (see files.py for where their files come from). Unknown options, and options of
the wrong type, raise an `OptionError` (a `DataError` and a `TypeError`) listing the accepted ones;
unknown names a `DataError` listing the valid names with the nearest match. `check_corpus_options`
runs the same checks without loading anything (config.py calls it for `data.options`).
"""
from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..validation import check_value, field_types, nearest
from .corpus import Corpus
from .files import DataError
from .standard import amazon, imdb, mc, ptb, rp, tinyshakespeare, yelp
from .toy import toy_english, toy_mc
from .userfiles import check_user_options, load_user_file


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


class OptionError(DataError, TypeError):
    """An option a data set loader does not take, or of the wrong type."""


_OWN_KEYS = ("data_dir", "seed", "path")     # given by their own arguments (data.data_dir, data.seed, data.name)


def _check_options(loader: Callable[..., Corpus], label: str, options: dict, prefix: str = "") -> dict:
    params = inspect.signature(loader).parameters
    accepted = [p for p in params if p not in _OWN_KEYS]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        own = [k for k in unknown if k in _OWN_KEYS]
        note = f" ({', '.join(own)}: set by data.{own[0].replace('path', 'name')}, not an option)" if own else ""
        head, tail = (f"{prefix}: ", f" for {label}") if prefix else (f"{label}: ", "")
        raise OptionError(f"{head}unknown option(s) {unknown}{tail}{note}; accepted options: {accepted or 'none'}")
    hints, out = field_types(loader), dict(options)
    for k, v in options.items():
        if k in hints:
            default = params[k].default
            try:
                out[k] = check_value(f"{prefix}.{k}" if prefix else k, v, hints[k],
                                     default if default is not inspect.Parameter.empty else dataclasses.MISSING)
            except ValueError as e:
                raise OptionError(f"{label}: {e}") from None
    if loader is load_user_file:              # values a user file cannot take (task, level, word-only options)
        try:
            check_user_options(**out)
        except DataError as e:
            raise DataError(f"{f'{prefix}: ' if prefix else ''}{label}: {e}") from None
    return out


def _loader(name) -> tuple[Callable[..., Corpus], str] | None:
    key = str(name)
    spec = REGISTRY.get(key) or REGISTRY.get(key.lower())
    if spec is not None:
        return spec.loader, f"data set {spec.name!r}"
    if isinstance(name, os.PathLike) or _looks_like_path(key):
        return load_user_file, f"user file {key!r}"
    return None


def check_corpus_options(name, options: dict, prefix: str = "") -> None:
    """Raise OptionError unless every option is a parameter of `name`'s loader, of its annotated type
    (nothing is loaded; an unknown data set name is left to `load_corpus`)."""
    found = _loader(name)
    if found is not None:
        _check_options(*found, dict(options or {}), prefix)


def _call(loader: Callable[..., Corpus], label: str, own: dict, options: dict) -> Corpus:
    return loader(**own, **_check_options(loader, label, options))


def load_corpus(name: str | os.PathLike, data_dir: str | os.PathLike | None = None, seed: int = 0,
                **options) -> Corpus:
    """A `Corpus` for a registered data set name or a user file path (see module docstrings)."""
    key = str(name)
    spec = REGISTRY.get(key) or REGISTRY.get(key.lower())
    if spec is not None:
        params = inspect.signature(spec.loader).parameters
        own = {k: v for k, v in (("seed", seed), ("data_dir", data_dir)) if k in params}
        return _call(spec.loader, f"data set {spec.name!r}", own, options)
    if isinstance(name, os.PathLike) or _looks_like_path(key):
        return _call(load_user_file, f"user file {key!r}", {"path": key}, options)
    close = nearest(key.lower(), REGISTRY, cutoff=0.5)
    hint = f" Did you mean {close!r}?" if close else ""
    raise DataError(f"unknown data set {key!r}.{hint} Valid names: {', '.join(REGISTRY)} "
                    "(or the path of a text file, with task='lm'|'classification' and level='word'|'char')")
