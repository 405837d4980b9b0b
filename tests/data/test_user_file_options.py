"""User files take the built-in loaders' text options (lower, split_punct, max_vocab, min_freq), validated
like every other data option: at load time and when a config is checked, before anything is loaded."""
from __future__ import annotations

import pytest

from qhybrid.config import run_config_from_dict
from qhybrid.data import DataError, load_corpus
from qhybrid.data.registry import OptionError, check_corpus_options

LM_LINES = ["The Cat sat, on THE mat!", "A dog ran.", "The cat ran!", "Dogs, cats and mats."] * 10
TSV_LINES = [f"A Good Film, number {i}!\tpos" if i % 2 else f"A Bad film. Number {i}\tNEG" for i in range(20)]


@pytest.fixture()
def files(tmp_path):
    lm, tsv = tmp_path / "story.txt", tmp_path / "reviews.tsv"
    lm.write_text("\n".join(LM_LINES) + "\n")
    tsv.write_text("\n".join(TSV_LINES) + "\n")
    return lm, tsv


def test_defaults_keep_the_text_as_written(files):
    lm, tsv = files
    c = load_corpus(lm)
    assert "The" in c.tokenizer.stoi and "sat," in c.tokenizer.stoi and "," not in c.tokenizer.stoi
    d = load_corpus(tsv, task="classification")
    assert "Good" in d.tokenizer.stoi and d.classes == ["NEG", "pos"]


def test_lower_and_split_punct_for_text_and_tsv(files):
    lm, tsv = files
    c = load_corpus(lm, lower=True, split_punct=True)
    vocab = set(c.tokenizer.stoi)
    assert {"the", "cat", "sat", ",", "!", "."} <= vocab and not {"The", "THE", "sat,"} & vocab
    assert c.tokenizer.split("The CAT, ran!") == ["the", "cat", ",", "ran", "!"]
    assert c.meta["options"]["lower"] is True and c.meta["options"]["split_punct"] is True
    d = load_corpus(tsv, task="classification", lower=True, split_punct=True)
    assert {"a", "good", "film", ",", "!", "."} <= set(d.tokenizer.stoi) and "Good" not in d.tokenizer.stoi
    assert d.classes == ["NEG", "pos"]                       # labels are never lower-cased
    only_lower = load_corpus(tsv, task="classification", lower=True)
    assert "film," in only_lower.tokenizer.stoi and "," not in only_lower.tokenizer.stoi


def test_char_level_lower(files):
    lm, tsv = files
    c = load_corpus(lm, level="char", lower=True)
    assert "T" not in c.tokenizer.stoi and "t" in c.tokenizer.stoi
    assert "".join(sum((c.splits[k] for k in ("train", "valid", "test")), [])) == lm.read_text().lower()
    d = load_corpus(tsv, task="classification", level="char", lower=True)
    assert "G" not in d.tokenizer.stoi and d.classes == ["NEG", "pos"]


def test_max_vocab_and_min_freq(files):
    lm, _ = files
    c = load_corpus(lm, lower=True, split_punct=True, max_vocab=6)
    assert c.vocab_size == 6 and c.tokenizer.itos[:2] == ["<unk>", "<eos>"]
    d = load_corpus(lm, lower=True, split_punct=True, min_freq=20)
    assert all(w in {"<unk>", "<eos>", "the", "cat", ",", "!", "."} for w in d.tokenizer.itos)


@pytest.mark.parametrize("options, match", [
    ({"lowercase": True}, r"unknown option\(s\) \['lowercase'\].*accepted options: \['task', 'level', 'lower'"),
    ({"lower": "yes"}, r"lower must be bool"),
    ({"split_punct": 1}, r"split_punct must be bool"),
    ({"task": "lmm"}, r"task must be 'lm' or 'classification', got 'lmm'"),
    ({"level": "words"}, r"level must be 'word' or 'char'"),
    ({"level": "char", "split_punct": True}, r"\['split_punct'\] apply to level='word' only"),
    ({"level": "char", "max_vocab": 50}, r"\['max_vocab'\] apply to level='word' only"),
    ({"max_vocab": 2}, r"max_vocab must be at least 3"),
    ({"min_freq": 0}, r"min_freq must be at least 1"),
])
def test_bad_options_one_clear_error(files, options, match):
    lm, _ = files
    with pytest.raises(DataError, match=match):
        load_corpus(lm, **options)
    with pytest.raises(DataError, match=match):              # the same check without loading the file
        check_corpus_options(str(lm), options, "data.options")
    with pytest.raises(ValueError, match=match):             # and when a run config is built
        run_config_from_dict({"data": {"name": str(lm), "options": options}})


def test_type_errors_are_option_errors(files):
    lm, _ = files
    with pytest.raises(OptionError):
        load_corpus(lm, lower="yes")
    with pytest.raises(OptionError):
        load_corpus(lm, lowercase=True)


def test_config_route_passes_the_options(files):
    _, tsv = files
    cfg = run_config_from_dict({"data": {"name": str(tsv), "options": {"task": "classification", "lower": True,
                                                                       "split_punct": True}}})
    corpus = load_corpus(cfg.data.name, **cfg.data.options)
    assert corpus.task == "classification" and "good" in corpus.tokenizer.stoi
