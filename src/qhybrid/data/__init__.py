"""Data sets for qhybrid: generated corpora with known entropy, standard LM / classification sets, user files.

    from qhybrid.data import load_corpus, list_datasets
    corpus = load_corpus("toy_english", seed=0)       # or "ptb", "tinyshakespeare", "mc", "rp", "yelp", ...
    corpus = load_corpus("my.txt", task="lm", level="char")
    train_ids = corpus.encode_lm("train"); corpus.bound_perplexity

Modules: registry (names, `load_corpus`), corpus (`Corpus`), tokenizers, grammar (PCFGs with exact
entropy), toy (generated corpora), standard (PTB, tiny-shakespeare, MC, RP, UCI sentiment), files
(local folder ``$QHYBRID_DATA`` / cache ``~/.cache/qhybrid`` / verified downloads), userfiles.
"""
from .batches import Batches
from .corpus import Corpus
from .files import CACHE_ENV, DATA_ENV, DataError
from .grammar import Grammar
from .registry import REGISTRY, list_datasets, load_corpus
from .tokenizers import CharTokenizer, WordTokenizer, load_tokenizer

__all__ = ["load_corpus", "list_datasets", "Batches", "Corpus", "CharTokenizer", "WordTokenizer", "load_tokenizer",
           "DATA_ENV", "CACHE_ENV", "DataError", "Grammar", "REGISTRY"]
