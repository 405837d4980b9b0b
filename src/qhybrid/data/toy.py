"""Built-in generated corpora (no download, deterministic per seed): `toy_english` and `toy_mc`.

toy_english (word-level LM). Sentences drawn i.i.d. from a small unambiguous probabilistic
context-free grammar (`TOY_ENGLISH`): S -> NP VP (Conj S), NP -> Det (Adj) N (PP), PP -> P NP,
VP -> VT NP | VI | VI PP | VI Adv, over 66 words in disjoint categories, with Zipf-like word weights.
Recursion (PP inside NP, Conj S) is sub-critical, so sentences are short (8.14 words on average,
9.14 tokens with <eos>). Each sentence is followed by ``<eos>`` in the token stream. Because the
categories are disjoint and every optional part starts with a word of its own category, each
sentence has exactly one derivation.

Why `entropy_rate` is the best achievable loss. The stream is s1 <eos> s2 <eos> ... with the s_i
i.i.d. By the chain rule the total log-loss of any model on n sentences is at least the entropy of
those n sentences, n H(S), because the true next-token distribution given the whole past (which
includes the <eos> boundaries, so the model knows where the current sentence began; earlier
sentences are independent of it) achieves exactly that. The stream has sum_i |s_i| tokens with
|s_i| counting <eos>, so the per-token cross-entropy of any model is at least n H(S) / sum |s_i|,
which tends to H(S) / E|S| = `Grammar.entropy_rate()` (nats per token, <eos> counted): the entropy
rate of this renewal process. H(S) is computed exactly from the grammar (see grammar.py), not by
sampling. A model whose context window does not reach back to the last <eos> can do slightly worse;
on a finite test set the measured loss fluctuates around the bound (by sampling noise only).
`Corpus.bound_perplexity` = exp(entropy_rate) is the matching lower bound on perplexity. Splits are
independent draws, so short sentences also occur in several splits, as they should.

toy_mc (binary classification, like MC of Lorenz et al. 2021): "[Adj] subject verb [Adj] object"
sentences about food (label 1, as in MC's files) or IT (label 0); subjects, their adjectives, the
verbs "prepares"/"makes" and the adjective "simple" are shared, the other verbs, adjectives and all
objects are class-specific, so the label is a function of the sentence (Bayes error 0). Each split
is balanced (labels alternate, then a seeded shuffle). `entropy_rate` is None.

Randomness: each split has its own `random.Random` seeded from (corpus, seed, split), so changing
n_train does not change the valid/test sets, and the output is the same on every Python version.
"""
from __future__ import annotations

import random

from .corpus import Corpus
from .grammar import Grammar


def _zipf(words: str) -> list[tuple[str, float]]:
    """Words with weights 1/rank (first word most frequent)."""
    return [(w, 1.0 / (k + 1)) for k, w in enumerate(words.split())]


TOY_ENGLISH = Grammar({
    "S": [("NP VP", 0.85), ("NP VP Conj S", 0.15)],
    "NP": [("Det N", 0.50), ("Det Adj N", 0.28), ("Det N PP", 0.14), ("Det Adj N PP", 0.08)],
    "PP": [("P NP", 1.0)],
    "VP": [("VT NP", 0.50), ("VI", 0.22), ("VI PP", 0.16), ("VI Adv", 0.12)],
    "Det": [("the", 6), ("a", 4), ("some", 1.5), ("every", 1), ("this", 1), ("that", 1), ("no", 0.5)],
    "Adj": _zipf("big small old young happy sad red green clever quiet lazy brave"),
    "N": _zipf("cat dog man woman child bird teacher farmer king queen horse fox book house garden river table tree"),
    "VT": _zipf("sees likes finds chases follows holds watches loves helps feeds"),
    "VI": _zipf("sleeps runs sings waits laughs falls swims"),
    "P": _zipf("near with under behind on beside"),
    "Adv": _zipf("quickly slowly often quietly"),
    "Conj": [("and", 2), ("but", 1)],
}, normalize=True)

_MC_SHARED = {
    "S": [("SUBJ VP", 1.0)],
    "SUBJ": [("Nsubj", 0.55), ("Asubj Nsubj", 0.45)],
    "Nsubj": [("man", 1), ("woman", 1), ("person", 1), ("chef", 1), ("student", 1)],
    "Asubj": [("skillful", 1), ("young", 1)],
    "VP": [("V OBJ", 1.0)],
    "OBJ": [("N", 0.5), ("A N", 0.5)],
}
TOY_MC_FOOD = Grammar({**_MC_SHARED,
                       "V": [("prepares", 1), ("makes", 1), ("cooks", 1), ("bakes", 1)],
                       "A": [("tasty", 1), ("fresh", 1), ("simple", 1)],
                       "N": [("meal", 1), ("sauce", 1), ("dinner", 1), ("soup", 1), ("bread", 1)]}, normalize=True)
TOY_MC_IT = Grammar({**_MC_SHARED,
                     "V": [("prepares", 1), ("makes", 1), ("debugs", 1), ("runs", 1)],
                     "A": [("useful", 1), ("fast", 1), ("simple", 1)],
                     "N": [("program", 1), ("application", 1), ("software", 1), ("code", 1), ("website", 1)]},
                    normalize=True)
TOY_MC_CLASSES = ["IT", "food"]  # label 0 = IT, 1 = food (as in MC's files)

SPLITS = ("train", "valid", "test")


def _rng(corpus: str, seed: int, split: str) -> random.Random:
    return random.Random(f"qhybrid/{corpus}/{int(seed)}/{split}")  # str seeds hash with SHA-512: stable


def shuffle(rng: random.Random, items: list) -> list:
    """Fisher-Yates shuffle in place using only rng.random() (stable across Python versions)."""
    for i in range(len(items) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items


def _check_sizes(**sizes: int) -> None:
    for k, v in sizes.items():
        if int(v) != v or v < 1:
            raise ValueError(f"{k} must be a positive integer, got {v!r}")


def toy_english(seed: int = 0, n_train: int = 10_000, n_valid: int = 1_000, n_test: int = 1_000,
                max_vocab: int | None = None, min_freq: int = 1) -> Corpus:
    """i.i.d. sentences of `TOY_ENGLISH` (counts in sentences); exact `entropy_rate`, <eos> counted."""
    _check_sizes(n_train=n_train, n_valid=n_valid, n_test=n_test)
    splits = {}
    for split, n in zip(SPLITS, (n_train, n_valid, n_test)):
        rng = _rng("toy_english", seed, split)
        splits[split] = [" ".join(TOY_ENGLISH.sample(rng)) for _ in range(int(n))]
    return Corpus.from_splits(
        "toy_english", "lm", "word", splits, entropy_rate=TOY_ENGLISH.entropy_rate(eos=True),
        tokenizer_options={"max_vocab": max_vocab, "min_freq": min_freq},
        meta={"source": "built-in", "seed": seed, "grammar": "qhybrid.data.toy.TOY_ENGLISH",
              "entropy_per_sentence": TOY_ENGLISH.entropy_per_sentence(),
              "expected_words": TOY_ENGLISH.expected_length()})


def toy_mc(seed: int = 0, n_train: int = 200, n_valid: int = 50, n_test: int = 50) -> Corpus:
    """Balanced food (1) vs IT (0) sentences from `TOY_MC_FOOD` / `TOY_MC_IT` (counts in sentences)."""
    _check_sizes(n_train=n_train, n_valid=n_valid, n_test=n_test)
    grammars = (TOY_MC_IT, TOY_MC_FOOD)
    splits = {}
    for split, n in zip(SPLITS, (n_train, n_valid, n_test)):
        rng = _rng("toy_mc", seed, split)
        labels = shuffle(rng, [i % 2 for i in range(int(n))])
        splits[split] = [(" ".join(grammars[y].sample(rng)), y) for y in labels]
    return Corpus.from_splits("toy_mc", "classification", "word", splits, classes=list(TOY_MC_CLASSES),
                              meta={"source": "built-in", "seed": seed,
                                    "note": "label is a function of the sentence (class-specific objects)"})
