"""Character and word tokenizers: fit on training text, encode/decode, save/load as JSON.

    tok = WordTokenizer.fit(train_texts, max_vocab=None, min_freq=1, specials=("<unk>", "<eos>"))
    tok = CharTokenizer.fit(train_texts)             # specials default to ("<unk>",)
    ids = tok.encode("the cat sleeps"); tok.decode(ids); tok.vocab_size
    tok.save("tok.json"); load_tokenizer("tok.json")  # exact round trip: same ids after reload

Ids: the special tokens first, in the order given (so with ``specials=("<pad>", "<unk>")`` the pad id
is 0, as classification batching expects), then the fitted tokens by decreasing training frequency
(ties alphabetical) for words, in code-point order for characters. Anything not in the vocabulary
encodes to ``<unk>`` (characters too). ``fit`` is a class method returning a new tokenizer; called on
an instance it refits that instance in place (keeping its settings) and returns it.

Word splitting: on whitespace; with ``lower=True`` text is lower-cased first, and with
``split_punct=True`` punctuation marks become tokens of their own (``"place."`` -> ``place .``).
Special tokens written literally in the text (PTB's ``<unk>``) map to their special ids.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..atomic import atomic_text

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
_PUNCT_RE = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_FORMAT_VERSION = 1


class _fit_method:
    """Descriptor: `Cls.fit(...)` builds and fits a new tokenizer; `obj.fit(...)` refits `obj`."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj, cls):
        def fit(texts, *args, **kwargs):
            settings = {k: kwargs.pop(k) for k in list(kwargs) if k in cls._SETTINGS}
            if obj is None:
                target = cls(**settings)
            else:
                target = obj
                for k, v in settings.items():
                    setattr(target, k, tuple(v) if k == "specials" else v)
            return self.func(target, texts, *args, **kwargs)
        fit.__doc__ = self.func.__doc__
        return fit


class _Tokenizer:
    kind = ""
    _SETTINGS: tuple[str, ...] = ("specials",)

    def __init__(self, specials: Sequence[str] = (UNK,)):
        self.specials = tuple(specials)
        if UNK not in self.specials:
            raise ValueError(f"specials must include {UNK!r}, got {self.specials}")
        if len(set(self.specials)) != len(self.specials):
            raise ValueError(f"duplicate special tokens: {self.specials}")
        self._set_vocab(list(self.specials))

    # vocabulary ------------------------------------------------------------------------------------
    def _set_vocab(self, itos: list[str]) -> None:
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary has duplicate tokens")

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def _special_id(self, tok: str) -> int | None:
        return self.stoi[tok] if tok in self.specials else None

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def pad_id(self) -> int | None:
        return self._special_id(PAD)

    @property
    def eos_id(self) -> int | None:
        return self._special_id(EOS)

    def token_to_id(self, token: str) -> int:
        return self.stoi.get(token, self.stoi[UNK])

    def id_to_token(self, i: int) -> str:
        return self.itos[i]

    # encoding --------------------------------------------------------------------------------------
    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        get, unk = self.stoi.get, self.stoi[UNK]
        return [get(t, unk) for t in self.split(text)]

    def _join(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids` (pad ids dropped; other specials written as their names, e.g. <eos>)."""
        pad = self.pad_id
        return self._join([self.itos[int(i)] for i in ids if int(i) != pad])

    # persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": "qhybrid-tokenizer", "version": _FORMAT_VERSION, "type": self.kind,
                "settings": {k: getattr(self, k) for k in self._SETTINGS}, "itos": self.itos}

    def save(self, path: str | os.PathLike) -> None:
        atomic_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1))

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._SETTINGS)
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, {settings})"


class CharTokenizer(_Tokenizer):
    """One id per character; unseen characters encode to <unk>."""
    kind = "char"

    def split(self, text: str) -> list[str]:
        return list(text)

    def _join(self, tokens: list[str]) -> str:
        return "".join(tokens)

    @_fit_method
    def fit(self, texts: Iterable[str]) -> CharTokenizer:
        """Vocabulary = specials + every character of `texts`, in code-point order."""
        chars: set[str] = set()
        for t in texts:
            chars.update(t)
        self._set_vocab(list(self.specials) + sorted(chars))
        return self


class WordTokenizer(_Tokenizer):
    """One id per whitespace-separated word (optionally lower-cased, punctuation split off)."""
    kind = "word"
    _SETTINGS = ("specials", "lower", "split_punct")

    def __init__(self, specials: Sequence[str] = (UNK,), lower: bool = False, split_punct: bool = False):
        self.lower = bool(lower)
        self.split_punct = bool(split_punct)
        super().__init__(specials)

    def split(self, text: str) -> list[str]:
        if self.lower:
            text = text.lower()
        if not self.split_punct:
            return text.split()
        out: list[str] = []
        for w in text.split():
            out.extend([w] if w in self.specials else _PUNCT_RE.findall(w))
        return out

    def _join(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    @_fit_method
    def fit(self, texts: Iterable[str], max_vocab: int | None = None, min_freq: int = 1) -> WordTokenizer:
        """Vocabulary = specials + words seen at least `min_freq` times, most frequent first.

        `max_vocab` caps the total vocabulary size, specials included (the rarest words are dropped
        and then encode to <unk>).
        """
        counts = Counter()
        for t in texts:
            counts.update(self.split(t))
        for s in self.specials:
            counts.pop(s, None)
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_vocab is not None:
            if max_vocab < len(self.specials):
                raise ValueError(f"max_vocab={max_vocab} is smaller than the {len(self.specials)} special tokens")
            words = words[: max_vocab - len(self.specials)]
        self._set_vocab(list(self.specials) + words)
        return self


_TYPES = {"char": CharTokenizer, "word": WordTokenizer}


def tokenizer_from_dict(d: dict) -> CharTokenizer | WordTokenizer:
    if d.get("format") != "qhybrid-tokenizer" or d.get("type") not in _TYPES:
        raise ValueError("not a qhybrid tokenizer file (expected format 'qhybrid-tokenizer', type char|word)")
    if d.get("version", 0) > _FORMAT_VERSION:
        raise ValueError(f"tokenizer file version {d['version']} is newer than this qhybrid ({_FORMAT_VERSION})")
    tok = _TYPES[d["type"]](**d["settings"])
    itos = list(d["itos"])
    if tuple(itos[: len(tok.specials)]) != tok.specials:
        raise ValueError("tokenizer file is inconsistent: the vocabulary must start with the special tokens")
    tok._set_vocab(itos)
    return tok


def load_tokenizer(path: str | os.PathLike) -> CharTokenizer | WordTokenizer:
    """A tokenizer saved with `.save(path)` (same ids as before saving)."""
    return tokenizer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
