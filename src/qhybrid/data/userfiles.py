"""Corpora from the user's own text files: ``load_corpus("my.txt", task=..., level=...)``.

task="lm" (default), plain text:
    level="word" (default): every non-blank line is a sentence (<eos> after each in the stream);
        contiguous split by lines: the last 5% test, the 5% before it valid, the rest train.
    level="char": the text as it is; the same 90/5/5 split by characters.
    Each of valid and test gets at least one line / character (so at least 3 are needed).
task="classification", one example per non-blank line, format auto-detected:
    "text<TAB>label" (or "label<TAB>text": when lines have tabs, the side with fewer distinct
    values is the label; then every line needs a tab) or, without tabs, "label text" where the
    label (first whitespace-separated field) is an integer such as 0 / 1: a line whose first word
    is not an integer has no label, and the file is refused (plain text is task="lm").
    Labels are mapped to 0..k-1 in sorted order (numerically if all are integers); `classes` holds
    their names. Split like the UCI sets: RandomState(1234) permutation, 80/10/10.
Options (the same as the built-in UCI loaders take; defaults here keep the text as written):
    lower=False        lower-case the text (word level: in the tokenizer; char level: before splitting)
    split_punct=False  word level: split punctuation off words ("film!" -> "film", "!")
    max_vocab=None     word level: keep the most frequent train words (the rest become <unk>)
    min_freq=1         word level: drop train words seen fewer times
A word-level-only option set at level="char", an unknown task or level, or a bad size is refused with a
DataError (`check_user_options`, which config checking runs too, before anything is loaded).
A file holding binary data (NUL or control bytes) is refused, whatever the task.
"""
from __future__ import annotations

import os
from pathlib import Path

from .corpus import Corpus
from .files import DataError, read_user_text
from .standard import UCI_SPLIT_SEED, fixed_split


def _contiguous_split(items, what: str, path: Path) -> dict:
    n = len(items)
    if n < 3:
        raise DataError(f"{path}: needs at least 3 {what} to make train/valid/test splits, found {n}")
    k = max(1, n * 5 // 100)
    return {"train": items[: n - 2 * k], "valid": items[n - 2 * k: n - k], "test": items[n - k:]}


def _label_key(label: str):
    try:
        return (0, int(label), "")
    except ValueError:
        return (1, 0, label)


def parse_classification(text: str, path: Path | str = "") -> tuple[list[tuple[str, str]], str]:
    """[(text, label name)] and the detected format ("text<TAB>label" | "label<TAB>text" | "label text")."""
    lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise DataError(f"{path}: no examples")
    tabbed = ["\t" in ln for ln in lines]
    if any(tabbed) and not all(tabbed):
        k = tabbed.index(False) + 1
        raise DataError(f"{path}: line {k} has no tab, but other lines are 'sentence<TAB>label'; give every "
                        f"example as 'sentence<TAB>label': {lines[k - 1]!r}")
    if all(tabbed):
        tail = [tuple(s.strip() for s in ln.rsplit("\t", 1)) for ln in lines]   # (text, label)
        head = [tuple(s.strip() for s in ln.split("\t", 1))[::-1] for ln in lines]  # (text, label)
        if len({y for _, y in head}) < len({y for _, y in tail}):
            pairs, fmt = head, "label<TAB>text"
        else:
            pairs, fmt = tail, "text<TAB>label"
    else:
        pairs, fmt = [], "label text"
        for k, ln in enumerate(lines, 1):
            parts = ln.split(None, 1)
            if len(parts) < 2:
                raise DataError(f"{path}: line {k} is not 'label text' (nor 'text<TAB>label'): {ln!r}")
            if _label_key(parts[0])[0]:
                raise DataError(f"{path}: line {k} has no label ({ln!r}): a classification file holds one example "
                                f"per line as 'sentence<TAB>label' (or, without tabs, 'INTEGER sentence' such as "
                                f"'1 a good film'); for plain text use task=lm")
            pairs.append((parts[1].strip(), parts[0]))
    bad = [k for k, (t, y) in enumerate(pairs, 1) if not t or not y]
    if bad:
        raise DataError(f"{path}: line {bad[0]} has an empty text or label (format {fmt})")
    return pairs, fmt


TASKS = ("lm", "classification")
LEVELS = ("word", "char")
_WORD_ONLY = {"split_punct": False, "max_vocab": None, "min_freq": 1}   # option: its (no-op) default


def check_user_options(task: str = "lm", level: str = "word", lower: bool = False, split_punct: bool = False,
                       max_vocab: int | None = None, min_freq: int = 1) -> None:
    """Raise DataError for option values no user file takes (types are checked by the registry)."""
    if task not in TASKS:
        raise DataError(f"task must be 'lm' or 'classification', got {task!r}")
    if level not in LEVELS:
        raise DataError(f"level must be 'word' or 'char', got {level!r}")
    given = {"split_punct": split_punct, "max_vocab": max_vocab, "min_freq": min_freq}
    word_only = [k for k, default in _WORD_ONLY.items() if given[k] != default]
    if level == "char" and word_only:
        raise DataError(f"option(s) {word_only} apply to level='word' only (the character tokenizer keeps every "
                        f"character); at level='char' only lower is taken")
    if max_vocab is not None and max_vocab < 3:
        raise DataError(f"max_vocab must be at least 3 (the special tokens and a word), got {max_vocab}")
    if min_freq < 1:
        raise DataError(f"min_freq must be at least 1, got {min_freq}")


def load_user_file(path: str | os.PathLike, task: str = "lm", level: str = "word", lower: bool = False,
                   split_punct: bool = False, max_vocab: int | None = None, min_freq: int = 1) -> Corpus:
    check_user_options(task, level, lower, split_punct, max_vocab, min_freq)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such data file: {path}")
    text = read_user_text(path)
    fold = lower and level == "char"     # the word tokenizer lower-cases by itself; the char one keeps case
    opts = {"lower": lower, "split_punct": split_punct, "max_vocab": max_vocab, "min_freq": min_freq}
    meta = {"source": "user file", "files": {"all": {"path": str(path)}}, "options": dict(opts)}
    if task == "lm":
        if level == "word":
            splits = _contiguous_split([ln.rstrip("\r") for ln in text.split("\n") if ln.strip()], "lines", path)
            meta["split"] = "by lines, contiguous: 90% train, 5% valid, 5% test"
        else:
            parts = _contiguous_split(text.lower() if fold else text, "characters", path)
            splits = {k: v.splitlines(keepends=True) for k, v in parts.items()}
            meta["split"] = "by characters, contiguous: 90% train, 5% valid, 5% test"
        return Corpus.from_splits(str(path), "lm", level, splits, tokenizer_options=opts, meta=meta)
    if task == "classification":
        pairs, fmt = parse_classification(text, path)
        classes = sorted({y for _, y in pairs}, key=_label_key)
        if len(classes) < 2:
            raise DataError(f"{path}: found a single label {classes}; classification needs at least two")
        index = {c: i for i, c in enumerate(classes)}
        items = [(t.lower() if fold else t, index[y]) for t, y in pairs]     # labels keep their case
        meta.update(format=fmt, split=f"RandomState({UCI_SPLIT_SEED}).permutation; 80/10/10")
        return Corpus.from_splits(str(path), "classification", level, fixed_split(items), classes=classes,
                                  tokenizer_options=opts, meta=meta)
    raise DataError(f"task must be 'lm' or 'classification', got {task!r}")
