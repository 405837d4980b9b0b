"""PCFG entropy, length, enumeration, sampling and parsing (qhybrid.data.grammar) and the toy grammars."""
import math
import random

import numpy as np
import pytest

from qhybrid.data.grammar import Grammar
from qhybrid.data.toy import TOY_ENGLISH, TOY_MC_FOOD, TOY_MC_IT

# Finite, unambiguous: (2 + 3 * 2) * 3 = 24 sentences of 3 to 6 words.
FINITE = Grammar({
    "S": [("NP VP", 1.0)],
    "NP": [("the N", 0.6), ("a Adj N", 0.4)],
    "Adj": [("big", 0.5), ("red", 0.3), ("old", 0.2)],
    "N": [("cat", 0.7), ("dog", 0.3)],
    "VP": [("runs", 0.5), ("sees it", 0.25), ("likes it very", 0.25)],
})

# Recursive (NP -> N of NP), unambiguous, sub-critical.
RECURSIVE = Grammar({
    "S": [("NP VP", 1.0)],
    "NP": [("N", 0.9), ("N of NP", 0.1)],
    "N": [("cat", 0.6), ("dog", 0.4)],
    "VP": [("runs", 0.7), ("sleeps", 0.3)],
})


def brute_force(sentences: dict) -> tuple[float, float, float]:
    """(entropy in nats, expected words, entropy per token with <eos> counted) from an enumeration."""
    h = -math.fsum(p * math.log(p) for p in sentences.values())
    length = math.fsum(p * len(s) for s, p in sentences.items())
    tokens = math.fsum(p * (len(s) + 1) for s, p in sentences.items())
    return h, length, h / tokens


def test_finite_grammar_matches_enumeration_exactly():
    sentences = FINITE.enumerate_sentences()
    assert len(sentences) == 24 and len(FINITE.enumerate_derivations()) == 24  # unambiguous
    assert math.isclose(sum(sentences.values()), 1.0, abs_tol=1e-15)
    h, length, rate = brute_force(sentences)
    assert abs(FINITE.entropy_per_sentence() - h) < 1e-12
    assert abs(FINITE.expected_length() - length) < 1e-12
    assert abs(FINITE.entropy_rate() - rate) < 1e-12
    assert abs(FINITE.entropy_rate(eos=False) - h / length) < 1e-12
    assert not FINITE.is_recursive()


def test_recursive_grammar_matches_truncated_enumeration():
    assert RECURSIVE.is_recursive()
    depth = 3
    while 1 - math.fsum(RECURSIVE.enumerate_sentences(depth).values()) >= 1e-12:
        depth += 1
        assert depth < 25
    sentences = RECURSIVE.enumerate_sentences(depth)
    assert 1 - math.fsum(sentences.values()) < 1e-12
    assert len(sentences) == len(RECURSIVE.enumerate_derivations(depth))  # unambiguous
    h, length, rate = brute_force(sentences)
    assert abs(RECURSIVE.entropy_per_sentence() - h) < 1e-9
    assert abs(RECURSIVE.expected_length() - length) < 1e-9
    assert abs(RECURSIVE.entropy_rate() - rate) < 1e-9
    # closed form: NP has k recursions w.p. .9 * .1^k -> E[words] = 1 + E[2k+1] = 2 + 2 * .1/.9
    assert abs(RECURSIVE.expected_length() - (2 + 2 * 0.1 / 0.9)) < 1e-12


def test_ambiguous_grammar_formula_gives_derivation_entropy():
    g = Grammar({"S": [("A b", 0.5), ("a B", 0.5)], "A": [("a", 1.0)], "B": [("b", 1.0)]})
    assert g.count_parses(["a", "b"]) == 2
    assert g.enumerate_sentences() == {("a", "b"): 1.0}
    assert math.isclose(g.entropy_per_sentence(), math.log(2))  # derivation entropy; sentence entropy is 0


def test_sampling_frequencies_match_probabilities():
    probs = FINITE.enumerate_sentences()
    rng = random.Random(123)
    n = 20_000
    counts = {s: 0 for s in probs}
    for _ in range(n):
        counts[tuple(FINITE.sample(rng))] += 1
    chi2 = sum((counts[s] - n * p) ** 2 / (n * p) for s, p in probs.items())
    df = len(probs) - 1
    assert chi2 < df + 6 * math.sqrt(2 * df), chi2  # ~ 6 sigma; fixed seed, so deterministic anyway


def test_sample_logprob_and_numpy_rng():
    for rng in (random.Random(5), np.random.default_rng(5)):
        words, logp = FINITE.sample(rng, with_logprob=True)
        assert math.isclose(math.exp(logp), FINITE.enumerate_sentences()[tuple(words)])
    a = [RECURSIVE.sample(random.Random(9)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_invalid_grammars_rejected():
    with pytest.raises(ValueError, match="sum to"):
        Grammar({"S": [("a", 0.5), ("b", 0.4)]})
    with pytest.raises(ValueError, match="sub-critical"):
        Grammar({"S": [("S S", 0.6), ("a", 0.4)]})
    with pytest.raises(ValueError, match="start symbol"):
        Grammar({"X": [("a", 1.0)]})
    with pytest.raises(ValueError, match="max_depth"):
        RECURSIVE.enumerate_sentences()
    g = Grammar({"S": [("a", 3), ("b", 1)]}, normalize=True)
    assert g.enumerate_sentences() == {("a",): 0.75, ("b",): 0.25}


def test_toy_english_grammar_properties():
    g = TOY_ENGLISH
    assert 40 <= len(g.terminals) <= 80
    assert 6 <= g.expected_length() <= 10
    assert g.spectral_radius < 1
    # disjoint word categories: no word is produced by two different preterminals
    owners = {}
    for lhs, opts in g.rules.items():
        for rhs, _ in opts:
            if len(rhs) == 1 and rhs[0] in g.terminals:
                assert owners.setdefault(rhs[0], lhs) == lhs
    rng = random.Random(0)
    samples = [g.sample(rng, with_logprob=True) for _ in range(4000)]
    for words, _ in samples[:150]:
        assert g.count_parses(words) == 1, words  # unambiguous
    # Monte-Carlo checks of the exact values: mean -log p(sentence) and mean length
    nll = np.array([-lp for _, lp in samples])
    lengths = np.array([len(w) for w, _ in samples])
    se = nll.std() / math.sqrt(len(nll))
    assert abs(nll.mean() - g.entropy_per_sentence()) < 5 * se
    assert abs(lengths.mean() - g.expected_length()) < 5 * lengths.std() / math.sqrt(len(lengths))
    assert math.isclose(g.entropy_rate(), g.entropy_per_sentence() / (g.expected_length() + 1))


def test_toy_mc_grammars_are_label_determined():
    food = {w for w in TOY_MC_FOOD.enumerate_sentences()}
    it = {w for w in TOY_MC_IT.enumerate_sentences()}
    assert food and it and not food & it
