"""Data sets (qhybrid.data): registry, generated corpora, standard sets, downloads/checksums, tokenizers, user files.

Standard sets are read from $QHYBRID_DATA (the Makefile points it at ../shared/data), else from
../shared/data next to the project; tests needing a file that is absent are skipped. The network is
disabled in every test (urllib is monkeypatched); downloads are simulated.
"""
import io
import math
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import torch
from _shared import need  # noqa: E402

from qhybrid.data import (
    DATA_ENV,
    CharTokenizer,
    Corpus,
    DataError,
    WordTokenizer,
    list_datasets,
    load_corpus,
    load_tokenizer,
)
from qhybrid.data import files as data_files
from qhybrid.data.standard import FILES, RP_VALID_INDICES
from qhybrid.data.toy import TOY_ENGLISH


def _offline(url, *args, **kwargs):
    raise urllib.error.URLError("network disabled in tests")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No network, an empty private cache, no $QHYBRID_DATA (tests pass data_dir explicitly)."""
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    monkeypatch.setenv("QHYBRID_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(DATA_ENV, raising=False)
    return tmp_path / "cache"


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def serve(monkeypatch, content_by_url: dict) -> list:
    """Make urlopen answer from `content_by_url`; returns the list of requested URLs."""
    calls = []

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        if url not in content_by_url:
            raise urllib.error.URLError(f"unknown url {url}")
        return FakeResponse(content_by_url[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return calls


@pytest.fixture(scope="module")
def ptb():
    root = need(*(f.relpath for f in FILES["ptb"].values()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib.request, "urlopen", _offline)
        return load_corpus("ptb", data_dir=root)


# --- registry ------------------------------------------------------------------------------------------

def test_list_datasets():
    info = {d["name"]: d for d in list_datasets()}
    assert set(info) == {"toy_english", "toy_mc", "ptb", "tinyshakespeare", "mc", "rp", "yelp", "amazon", "imdb"}
    for d in info.values():
        assert set(d) == {"name", "task", "level", "source", "description"}
        assert d["task"] in ("lm", "classification") and d["level"] in ("char", "word")
        assert d["source"] in ("built-in", "download")
    assert info["toy_english"]["source"] == "built-in" and info["tinyshakespeare"]["level"] == "char"
    assert "unverified" in info["amazon"]["description"]


def test_unknown_names_and_options():
    with pytest.raises(DataError, match="Did you mean 'tinyshakespeare'.*Valid names: toy_english"):
        load_corpus("tiny_shakespear")
    with pytest.raises(DataError, match="Did you mean 'ptb'"):
        load_corpus("ptbb")
    with pytest.raises(TypeError, match="unknown option.*'n_sentences'.*n_train"):
        load_corpus("toy_english", n_sentences=5)
    with pytest.raises(DataError, match="no such data file"):
        load_corpus("does/not/exist.txt")


# --- generated corpora ---------------------------------------------------------------------------------

def test_toy_english_deterministic_and_exact_bound():
    kw = dict(n_train=300, n_valid=40, n_test=40)
    a, b, c = load_corpus("toy_english", seed=1, **kw), load_corpus("toy_english", seed=1, **kw), \
        load_corpus("toy_english", seed=2, **kw)
    assert a.splits == b.splits and a.splits != c.splits
    assert torch.equal(a.encode_lm("train"), b.encode_lm("train"))
    assert load_corpus("toy_english", seed=1, n_train=50, n_valid=40, n_test=40).splits["test"] == a.splits["test"]
    assert a.task == "lm" and a.level == "word" and a.classes is None
    assert a.entropy_rate == TOY_ENGLISH.entropy_rate() and 1.5 < a.entropy_rate < 3.5
    assert math.isclose(a.bound_perplexity, math.exp(a.entropy_rate))
    ids = a.encode_lm("valid")
    eos = a.tokenizer.eos_id
    assert ids.dtype == torch.long and ids.dim() == 1
    assert int((ids == eos).sum()) == 40 and int(ids[-1]) == eos
    assert a.tokenizer.decode(ids).split(" <eos>")[0] == a.splits["valid"][0]
    s = a.summary()
    assert s["splits"]["valid"]["tokens"] == len(ids) == s["splits"]["valid"]["words"] + 40
    assert s["vocab_size"] == a.tokenizer.vocab_size <= 68 and s["bound_perplexity"] == a.bound_perplexity
    with pytest.raises(ValueError, match=r"is a language-model \(lm\) corpus; use encode_lm"):
        a.encode_classification("train")


def test_toy_english_defaults_are_small():
    c = load_corpus("toy_english")
    s = c.summary()["splits"]
    assert [s[k]["sentences"] for k in ("train", "valid", "test")] == [10_000, 1_000, 1_000]
    assert 60_000 < s["train"]["tokens"] < 100_000
    assert all(int(i) != c.tokenizer.unk_id for i in c.encode_lm("test")[:2000])


def test_toy_mc_balanced_and_deterministic():
    a, b = load_corpus("toy_mc", seed=3), load_corpus("toy_mc", seed=3)
    assert a.splits == b.splits and a.splits != load_corpus("toy_mc", seed=4).splits
    assert a.task == "classification" and a.classes == ["IT", "food"] and a.entropy_rate is None
    assert a.bound_perplexity is None
    for split, n in (("train", 200), ("valid", 50), ("test", 50)):
        ids, labels = a.encode_classification(split)
        assert len(ids) == n and labels.tolist().count(1) == n // 2
        assert all(x.dtype == torch.long and x.numel() >= 3 and int(x.min()) > 0 for x in ids)  # 0 = <pad>
    assert a.tokenizer.pad_id == 0
    food = {w for t, y in a.splits["train"] if y == 1 for w in t.split()}
    it = {w for t, y in a.splits["train"] if y == 0 for w in t.split()}
    assert "meal" in food - it and "program" in it - food and "prepares" in food & it
    with pytest.raises(ValueError, match="is a classification corpus; use encode_classification"):
        a.encode_lm("train")


# --- standard sets -----------------------------------------------------------------------------------

def test_ptb(ptb):
    s = ptb.summary()["splits"]
    assert [s[k]["sentences"] for k in ("train", "valid", "test")] == [42_068, 3_370, 3_761]
    assert s["train"]["words"] == 887_521 and s["train"]["tokens"] == 887_521 + 42_068
    assert s["valid"]["words"] == 70_390 and s["test"]["words"] == 78_669
    # 10,000 = 9,999 word types of ptb.train.txt (its own <unk> included) + <eos>
    assert ptb.tokenizer.vocab_size == 10_000
    assert ptb.tokenizer.specials == ("<unk>", "<eos>") and ptb.tokenizer.eos_id == 1
    # Mikolov's PTB has no out-of-vocabulary words: the only <unk> ids are the files' literal <unk>
    valid = ptb.encode_lm("valid")
    literal = sum(line.split().count("<unk>") for line in ptb.splits["valid"])
    assert int((valid == ptb.tokenizer.unk_id).sum()) == literal
    assert ptb.entropy_rate is None and ptb.bound_perplexity is None
    assert ptb.meta["files"]["train"]["verified"]


def test_tinyshakespeare():
    root = need("tinyshakespeare/input.txt")
    c = load_corpus("tinyshakespeare", data_dir=root)
    s = c.summary()["splits"]
    assert [s[k]["tokens"] for k in ("train", "valid", "test")] == [1_003_854, 55_770, 55_770]
    assert sum(s[k]["tokens"] for k in s) == 1_115_394
    assert c.level == "char" and c.tokenizer.vocab_size == 66 and c.tokenizer.specials == ("<unk>",)
    text = (root / "tinyshakespeare/input.txt").read_text()
    assert "".join(c.splits["train"] + c.splits["valid"] + c.splits["test"]) == text
    assert c.tokenizer.decode(c.encode_lm("valid")) == text[1_003_854:1_059_624]


def test_mc():
    root = need(*(f.relpath for f in FILES["mc"].values()))
    c = load_corpus("mc", data_dir=root)
    assert [len(c.splits[k]) for k in ("train", "valid", "test")] == [70, 30, 30]
    assert c.splits["train"][0] == ("skillful man prepares sauce", 1) and c.classes == ["IT", "food"]
    assert c.tokenizer.vocab_size == 17 + 2  # 17 words + <pad> + <unk>
    tagged = load_corpus("mc", data_dir=root, keep_tags=True)
    assert tagged.splits["train"][0] == ("skillful_ADJ man_N prepares_TV sauce_N", 1)


def test_rp():
    root = need(*(f.relpath for f in FILES["rp"].values()))
    c = load_corpus("rp", data_dir=root)
    assert len(c.splits["train"]) + len(c.splits["valid"]) == 74 and len(c.splits["valid"]) == 10
    assert len(c.splits["test"]) == 31  # the file has 31 lines (30 newlines, no final one)
    assert c.splits["valid"][0] == ("organization that soldier serve", 1)  # train line index 3
    assert {y for _, y in c.splits["valid"]} == {0, 1} and RP_VALID_INDICES[-1] == 66


def test_yelp():
    root = need("uci_sentiment/yelp_labelled.txt")
    c = load_corpus("yelp", data_dir=root)
    assert [len(c.splits[k]) for k in ("train", "valid", "test")] == [800, 100, 100]
    everything = c.splits["train"] + c.splits["valid"] + c.splits["test"]
    assert sorted(y for _, y in everything).count(1) == 500
    assert ("Wow... Loved this place.", 1) in everything
    assert load_corpus("yelp", data_dir=root).splits == c.splits
    assert c.tokenizer.split("Wow... Loved this place.") == ["wow", ".", ".", ".", "loved", "this", "place", "."]
    assert c.tokenizer.pad_id == 0


# --- files: checksums, cache, downloads --------------------------------------------------------------

def _copy_mc(root: Path, dest: Path) -> Path:
    for f in FILES["mc"].values():
        (dest / f.relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / f.relpath, dest / f.relpath)
    return dest


def test_local_checksum_mismatch_refused(tmp_path):
    root = _copy_mc(need(*(f.relpath for f in FILES["mc"].values())), tmp_path / "data")
    bad = root / "mc/mc_dev_data.txt"
    bad.write_bytes(bad.read_bytes().replace(b"sauce", b"sauve"))
    actual = data_files.sha256_file(bad)
    with pytest.raises(DataError) as e:
        load_corpus("mc", data_dir=root)
    msg = str(e.value)
    assert str(bad) in msg and FILES["mc"]["valid"].sha256 in msg and actual in msg and "refusing" in msg
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        load_corpus("mc", data_dir=root)


def test_offline_error_names_url_and_env(tmp_path):
    with pytest.raises(DataError) as e:
        load_corpus("amazon", data_dir=tmp_path / "nothing")
    msg = str(e.value)
    assert FILES["amazon"]["all"].url in msg and DATA_ENV in msg and "amazon_cells_labelled.txt" in msg


def test_download_verified_cached_and_repaired(monkeypatch, isolated):
    root = need(*(f.relpath for f in FILES["mc"].values()))
    calls = serve(monkeypatch, {f.url: (root / f.relpath).read_bytes() for f in FILES["mc"].values()})
    c = load_corpus("mc")  # no data_dir, no $QHYBRID_DATA: download into the (private) cache
    assert len(calls) == 3 and len(c.splits["train"]) == 70
    assert sorted(p.name for p in (isolated / "mc").iterdir()) == ["mc_dev_data.txt", "mc_test_data.txt",
                                                                   "mc_train_data.txt"]
    load_corpus("mc")
    assert len(calls) == 3  # served from the cache
    cached = isolated / "mc/mc_test_data.txt"
    cached.write_bytes(b"0 corrupted_N\n")
    again = load_corpus("mc")
    assert len(calls) == 4 and again.splits == c.splits  # the bad cached file was replaced
    # a local folder given via $QHYBRID_DATA wins over the cache
    monkeypatch.setenv(DATA_ENV, str(root))
    assert load_corpus("mc").meta["files"]["train"]["path"] == str(root / "mc/mc_train_data.txt")


def test_bad_download_never_used(monkeypatch, isolated):
    root = need(*(f.relpath for f in FILES["mc"].values()))
    content = {f.url: (root / f.relpath).read_bytes() for f in FILES["mc"].values()}
    content[FILES["mc"]["test"].url] = b"1 truncated_N"
    serve(monkeypatch, content)
    with pytest.raises(DataError, match="failed verification.*expected sha256 " + FILES["mc"]["test"].sha256):
        load_corpus("mc")
    assert not (isolated / "mc/mc_test_data.txt").exists()
    assert not [p for p in (isolated / "mc").iterdir() if p.name.endswith(".part")]


def test_zip_download_and_unverified_member(monkeypatch, isolated):
    root = need("uci_sentiment/yelp_labelled.txt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("__MACOSX/sentiment labelled sentences/._yelp_labelled.txt", b"junk")
        yelp_bytes = (root / "uci_sentiment/yelp_labelled.txt").read_bytes()
        zf.writestr("sentiment labelled sentences/yelp_labelled.txt", yelp_bytes)
        zf.writestr("sentiment labelled sentences/amazon_cells_labelled.txt",
                    "".join(f"sentence number {i} is {'good' if i % 2 else 'bad'}\t{i % 2}\r\n" for i in range(50)))
    calls = serve(monkeypatch, {FILES["yelp"]["all"].url: buf.getvalue()})
    yelp = load_corpus("yelp")
    assert sum(len(v) for v in yelp.splits.values()) == 1000 and yelp.meta["files"]["all"]["verified"]
    amazon = load_corpus("amazon")
    assert [len(amazon.splits[k]) for k in ("train", "valid", "test")] == [40, 5, 5]
    assert amazon.meta["files"]["all"]["verified"] is False and len(calls) == 2


def test_local_hash_computed_once_per_file(tmp_path, monkeypatch):
    f = tmp_path / "x.txt"
    f.write_bytes(b"hello")
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    h1, h2 = data_files.sha256_file(f), data_files.sha256_file(f)
    assert h1 == h2 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" and len(opened) == 1
    f.write_bytes(b"hello!")  # new size -> hashed again
    assert data_files.sha256_file(f) != h1 and len(opened) == 2


# --- tokenizers ----------------------------------------------------------------------------------------

def test_word_tokenizer_round_trip(tmp_path):
    texts = ["the cat sat", "the dog sat", "a cat ran"]
    tok = WordTokenizer.fit(texts, specials=("<pad>", "<unk>"))
    assert tok.itos[:4] == ["<pad>", "<unk>", "cat", "sat"] and tok.vocab_size == 8 and tok.pad_id == 0
    assert tok.encode("the zebra sat") == [tok.stoi["the"], tok.unk_id, tok.stoi["sat"]]
    assert tok.decode(tok.encode("a dog ran")) == "a dog ran"
    tok.save(tmp_path / "w.json")
    back = load_tokenizer(tmp_path / "w.json")
    assert isinstance(back, WordTokenizer) and back == tok and back.itos == tok.itos
    for t in texts + ["unseen words here"]:
        assert back.encode(t) == tok.encode(t)
    small = WordTokenizer.fit(texts, max_vocab=4)
    assert small.vocab_size == 4 and small.itos == ["<unk>", "cat", "sat", "the"]
    assert WordTokenizer.fit(texts, min_freq=2).itos == ["<unk>", "cat", "sat", "the"]
    punct = WordTokenizer(lower=True, split_punct=True).fit(["Hello, World!", "don't stop"])
    assert punct.split("Hello, World!") == ["hello", ",", "world", "!"] and "don't" in punct.stoi
    assert load_tokenizer(_save(punct, tmp_path / "p.json")).split("A, b") == ["a", ",", "b"]


def _save(tok, path):
    tok.save(path)
    return path


def test_char_tokenizer_round_trip(tmp_path):
    tok = CharTokenizer.fit(["hello\n", "world ✓"])
    assert tok.itos[0] == "<unk>" and tok.vocab_size == 1 + len(set("hello\nworld ✓"))
    ids = tok.encode("hold ✓\n")
    assert tok.decode(ids) == "hold ✓\n"
    assert tok.encode("hz") == [tok.stoi["h"], tok.unk_id]
    back = load_tokenizer(_save(tok, tmp_path / "c.json"))
    assert isinstance(back, CharTokenizer) and back.encode("hold ✓\n") == ids and back.stoi == tok.stoi


# --- user files ----------------------------------------------------------------------------------------

def test_user_lm_files(tmp_path):
    lines = [f"line {i} of the story" for i in range(100)]
    p = tmp_path / "story.txt"
    p.write_text("\n".join(lines) + "\n\n")
    c = load_corpus(str(p), task="lm", level="word")
    assert [len(c.splits[k]) for k in ("train", "valid", "test")] == [90, 5, 5]
    assert c.splits["test"][-1] == "line 99 of the story" and c.tokenizer.eos_id is not None
    assert isinstance(c, Corpus) and c.summary()["splits"]["valid"]["tokens"] == 5 * 6
    ch = load_corpus(p, task="lm", level="char")
    n = len(p.read_text())
    assert ch.summary()["splits"]["test"]["tokens"] == n * 5 // 100
    assert "".join(sum((ch.splits[k] for k in ("train", "valid", "test")), [])) == p.read_text()


def test_user_classification_files(tmp_path):
    tab = tmp_path / "tab.tsv"
    tab.write_text("".join(f"sentence {i} text\t{'pos' if i % 3 else 'neg'}\n" for i in range(40)))
    c = load_corpus(tab, task="classification")
    assert c.classes == ["neg", "pos"] and c.meta["format"] == "text<TAB>label"
    assert [len(c.splits[k]) for k in ("train", "valid", "test")] == [32, 4, 4]
    assert ("sentence 1 text", 1) in sum(c.splits.values(), [])
    first = tmp_path / "first.txt"
    first.write_text("".join(f"{10 if i % 2 else 2}  word_{i} other\n" for i in range(20)))
    d = load_corpus(str(first), task="classification")
    assert d.classes == ["2", "10"] and d.meta["format"] == "label text"  # numeric sort
    assert ("word_1 other", 1) in sum(d.splits.values(), [])
    lt = tmp_path / "lt.tsv"
    lt.write_text("".join(f"{i % 2}\tsome text number {i}\n" for i in range(20)))
    e = load_corpus(lt, task="classification", level="char")
    assert e.meta["format"] == "label<TAB>text" and e.classes == ["0", "1"] and e.tokenizer.pad_id == 0
    ids, labels = e.encode_classification("train")
    assert len(ids) == 16 and labels.shape == (16,)


def test_user_files_refuse_binary_data(tmp_path):
    import random

    blob = tmp_path / "blob.txt"
    blob.write_bytes(random.Random(0).randbytes(5000))
    for task in ("lm", "classification"):
        with pytest.raises(DataError, match="binary.*not text"):
            load_corpus(blob, task=task)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("".join(f"caf\u00e9 num\u00e9ro {i}\n" for i in range(20)).encode("latin-1"))
    assert load_corpus(latin).splits["train"][0] == "caf\u00e9 num\u00e9ro 0"


def test_classification_files_need_labels(tmp_path):
    plain = tmp_path / "story.txt"
    words = ["the", "a", "one", "my", "her"]
    plain.write_text("".join(f"{words[i % 5]} cat sat on mat number {i}\n" for i in range(30)))
    with pytest.raises(DataError, match=r"line 1 has no label.*sentence<TAB>label"):
        load_corpus(plain, task="classification")
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text("a good film\tpos\na bad film\tneg\nno label here\n")
    with pytest.raises(DataError, match=r"line 3 has no tab"):
        load_corpus(mixed, task="classification")


def test_unknown_options_are_data_errors_too():
    with pytest.raises(DataError, match="unknown option"):
        load_corpus("toy_english", n_sentences=5)
    with pytest.raises(DataError, match=r"n_train must be int \(an integer"):
        load_corpus("toy_english", n_train="many")
