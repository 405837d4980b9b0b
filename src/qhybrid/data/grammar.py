"""Probabilistic context-free grammars: sampling, exact entropy and length, enumeration, parse counts.

    g = Grammar({"S": [("NP VP", 1.0)], "NP": [("the N", 1.0)], "N": [("cat", .7), ("dog", .3)],
                 "VP": [("sleeps", 1.0)]})
    g.sample(rng)                  # ['the', 'cat', 'sleeps']   (rng: random.Random or numpy Generator)
    g.entropy_per_sentence()       # H(sentence) in nats (exact; see below)
    g.expected_length()            # E[number of words]
    g.entropy_rate()               # H(sentence) / (E[words] + 1): nats per token, <eos> counted
    g.enumerate_sentences(depth)   # {sentence tuple: probability} over derivations of depth <= depth
    g.count_parses(words)          # number of derivations of a word sequence (1 = unambiguous)

Rules map a nonterminal to a list of ``(rhs, probability)``; ``rhs`` is a tuple of symbols or a
whitespace-separated string. Symbols that have rules are nonterminals, all others are terminals
(words). Probabilities of each nonterminal must sum to 1 (or pass ``normalize=True`` to give weights).

Exact entropy. Let M be the mean matrix, ``M[A, B]`` = expected number of B's in the right-hand side
chosen for A. If the grammar is sub-critical (spectral radius of M < 1) every derivation is finite
with probability 1, and the expected number of times each nonterminal is expanded, starting from the
start symbol S, is ``c = e_S (I - M)^{-1}``. Each expansion of A chooses a rule independently, so
the entropy of the whole derivation is ``sum_A c_A H(rules of A)`` = ``sum_rules E[uses] (-log p)``
and E[words] = ``sum_A c_A E[terminals in A's right-hand side]``. When the grammar is unambiguous
(each sentence has exactly one derivation) the sentence determines the derivation and vice versa,
so H(sentence) = H(derivation). For an ambiguous grammar the formula gives the derivation entropy,
which exceeds the sentence entropy.
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import product

import numpy as np

_TOL = 1e-9


class Grammar:
    """A proper probabilistic context-free grammar with a start symbol (default "S")."""

    def __init__(self, rules: Mapping[str, Sequence[tuple[str | Sequence[str], float]]], start: str = "S",
                 normalize: bool = False):
        if start not in rules:
            raise ValueError(f"start symbol {start!r} has no rules")
        self.start = start
        self.rules: dict[str, list[tuple[tuple[str, ...], float]]] = {}
        for lhs, options in rules.items():
            opts = [(tuple(rhs.split()) if isinstance(rhs, str) else tuple(rhs), float(p)) for rhs, p in options]
            if not opts:
                raise ValueError(f"nonterminal {lhs!r} has no rules")
            for rhs, p in opts:
                if not rhs:
                    raise ValueError(f"empty right-hand side for {lhs!r} (epsilon rules are not supported)")
                if not p > 0 or not math.isfinite(p):
                    raise ValueError(f"rule {lhs} -> {' '.join(rhs)} has probability {p}; must be positive")
            total = sum(p for _, p in opts)
            if normalize:
                opts = [(rhs, p / total) for rhs, p in opts]
            elif abs(total - 1.0) > _TOL:
                raise ValueError(f"probabilities of {lhs!r} sum to {total}, not 1 (or pass normalize=True)")
            if len({rhs for rhs, _ in opts}) != len(opts):
                raise ValueError(f"duplicate right-hand side among the rules of {lhs!r}")
            self.rules[lhs] = opts
        self.nonterminals = list(self.rules)
        self._index = {a: i for i, a in enumerate(self.nonterminals)}
        self.terminals = sorted({s for opts in self.rules.values() for rhs, _ in opts for s in rhs
                                 if s not in self.rules})
        n = len(self.nonterminals)
        self.mean_matrix = np.zeros((n, n))
        for a, opts in self.rules.items():
            for rhs, p in opts:
                for s in rhs:
                    if s in self._index:
                        self.mean_matrix[self._index[a], self._index[s]] += p
        radius = max(abs(np.linalg.eigvals(self.mean_matrix))) if n else 0.0
        if radius >= 1 - 1e-12:
            raise ValueError(f"grammar is not sub-critical (spectral radius of the mean matrix {radius:.6g} >= 1): "
                             "derivations are infinite with positive probability or have infinite expected length")
        self.spectral_radius = float(radius)
        # Sampling tables: cumulative probabilities per nonterminal.
        self._cum = {a: [sum(p for _, p in opts[: i + 1]) for i in range(len(opts))] for a, opts in self.rules.items()}

    # --- exact quantities --------------------------------------------------------------------------
    def expected_expansions(self) -> dict[str, float]:
        """E[number of times each nonterminal is expanded in one derivation from the start symbol]."""
        n = len(self.nonterminals)
        e = np.zeros(n)
        e[self._index[self.start]] = 1.0
        c = np.linalg.solve(np.eye(n) - self.mean_matrix.T, e)  # c = e + M^T c
        return {a: float(c[i]) for i, a in enumerate(self.nonterminals)}

    def expected_rule_uses(self) -> dict[tuple[str, tuple[str, ...]], float]:
        c = self.expected_expansions()
        return {(a, rhs): c[a] * p for a, opts in self.rules.items() for rhs, p in opts}

    def entropy_per_sentence(self) -> float:
        """Entropy of a derivation in nats: sum over rules of E[uses] * (-log p(rule)).

        Equals the entropy of the sentence when the grammar is unambiguous.
        """
        return float(sum(u * -math.log(self._prob(a, rhs)) for (a, rhs), u in self.expected_rule_uses().items()))

    def expected_length(self) -> float:
        """Expected number of words (terminals) per sentence, not counting an end-of-sentence token."""
        uses = self.expected_rule_uses()
        return float(sum(u * sum(s not in self.rules for s in rhs) for (_, rhs), u in uses.items()))

    def entropy_rate(self, eos: bool = True) -> float:
        """Nats per token of a stream of i.i.d. sentences: H(sentence) / E[tokens per sentence].

        With ``eos=True`` each sentence is followed by one end-of-sentence token, counted as a token
        (it carries no extra information: the sentence already determines where it ends).
        """
        return self.entropy_per_sentence() / (self.expected_length() + (1.0 if eos else 0.0))

    def _prob(self, lhs: str, rhs: tuple[str, ...]) -> float:
        for r, p in self.rules[lhs]:
            if r == rhs:
                return p
        raise KeyError((lhs, rhs))

    # --- sampling ----------------------------------------------------------------------------------
    def sample(self, rng, with_logprob: bool = False, max_words: int = 100_000):
        """One sentence (list of words), left to right; with ``with_logprob`` also its log-probability.

        `rng` is anything with a ``.random()`` method returning a float in [0, 1): `random.Random`
        (reproducible across Python versions) or a numpy `Generator`.
        """
        draw = rng.random
        words: list[str] = []
        logp = 0.0
        stack = [self.start]
        rules, cum = self.rules, self._cum
        while stack:
            sym = stack.pop()
            opts = rules.get(sym)
            if opts is None:
                words.append(sym)
                if len(words) > max_words:
                    raise RuntimeError(f"sampled sentence exceeds {max_words} words")
                continue
            i = min(bisect.bisect_right(cum[sym], draw() * cum[sym][-1]), len(opts) - 1)
            rhs, p = opts[i]
            logp += math.log(p)
            stack.extend(reversed(rhs))
        return (words, logp) if with_logprob else words

    # --- enumeration and parsing (for tests and small grammars) --------------------------------------
    def is_recursive(self) -> bool:
        """Whether some nonterminal can derive itself (then the language is infinite)."""
        n = len(self.nonterminals)
        reach = (self.mean_matrix > 0).astype(np.int64)
        closure = reach.copy()
        for _ in range(n):
            closure = ((closure + closure @ reach) > 0).astype(np.int64)
        return bool(np.any(np.diag(closure)))

    def enumerate_derivations(self, max_depth: int | None = None) -> list[tuple[tuple[str, ...], float]]:
        """Every derivation of tree depth <= `max_depth` as (sentence, probability).

        Depth counts nonterminal levels (S -> a has depth 1). `max_depth=None` is allowed for a
        non-recursive grammar (then all derivations are listed).
        """
        if max_depth is None:
            if self.is_recursive():
                raise ValueError("recursive grammar: give max_depth")
            max_depth = len(self.nonterminals)

        @lru_cache(maxsize=None)
        def expand(sym: str, depth: int) -> tuple[tuple[tuple[str, ...], float], ...]:
            if sym not in self.rules:
                return (((sym,), 1.0),)
            if depth <= 0:
                return ()
            out = []
            for rhs, p in self.rules[sym]:
                parts = [expand(s, depth - 1) for s in rhs]
                for combo in product(*parts):
                    words = tuple(w for seq, _ in combo for w in seq)
                    out.append((words, p * math.prod(q for _, q in combo)))
            return tuple(out)

        return list(expand(self.start, max_depth))

    def enumerate_sentences(self, max_depth: int | None = None) -> dict[tuple[str, ...], float]:
        """{sentence: probability} summed over derivations of depth <= `max_depth`.

        For a recursive grammar the probabilities sum to 1 minus the mass of deeper derivations.
        """
        out: dict[tuple[str, ...], float] = {}
        for words, p in self.enumerate_derivations(max_depth):
            out[words] = out.get(words, 0.0) + p
        return out

    def count_parses(self, words: Sequence[str], symbol: str | None = None) -> int:
        """Number of derivations of exactly `words` from `symbol` (default: the start symbol)."""
        words = tuple(words)
        rules = self.rules
        active: set[tuple[str, int, int]] = set()

        @lru_cache(maxsize=None)
        def span(sym: str, i: int, j: int) -> int:
            if sym not in rules:
                return int(j == i + 1 and words[i] == sym)
            key = (sym, i, j)
            if key in active:
                raise ValueError(f"grammar has a unit-rule cycle through {sym!r}; cannot count parses")
            active.add(key)
            total = sum(seq(rhs, 0, i, j) for rhs, _ in rules[sym])
            active.discard(key)
            return total

        def seq(rhs: tuple[str, ...], k: int, i: int, j: int) -> int:
            if k == len(rhs) - 1:
                return span(rhs[k], i, j)
            rest = len(rhs) - k - 1  # every symbol covers at least one word
            return sum(span(rhs[k], i, m) * seq(rhs, k + 1, m, j) for m in range(i + 1, j - rest + 1))

        return span(symbol or self.start, 0, len(words)) if words else 0

    def __repr__(self) -> str:
        return (f"Grammar({len(self.nonterminals)} nonterminals, {len(self.terminals)} terminals, "
                f"{sum(len(o) for o in self.rules.values())} rules)")
