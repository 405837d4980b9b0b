"""Seeded batches of a corpus split: LM windows (B, T) or padded classification sentences with masks."""
from __future__ import annotations

import torch


class Batches:
    """Seeded batch sampling for LM windows or padded classification sentences."""

    def __init__(self, corpus, split: str, context: int):
        self.task, self.context = corpus.task, context
        if self.task == "lm":
            self.stream = corpus.encode_lm(split)                            # (n_tokens,)
            if len(self.stream) < context + 2:
                raise ValueError(f"the {split} split has {len(self.stream)} tokens; it needs more than "
                                 f"context + 1 = {context + 1}. Use a smaller model.context")
        else:
            ids, self.labels = corpus.encode_classification(split)
            self.ids = [t[:context] for t in ids]

    def sample(self, batch_size: int, gen: torch.Generator):
        if self.task == "lm":
            start = torch.randint(0, len(self.stream) - self.context - 1, (batch_size,), generator=gen)
            win = torch.stack([self.stream[s: s + self.context + 1] for s in start.tolist()])
            return win[:, :-1], win[:, 1:]
        pick = torch.randint(0, len(self.ids), (batch_size,), generator=gen).tolist()
        return self._pad(pick)

    def _pad(self, pick):
        seqs = [self.ids[i] for i in pick]
        T = max(len(s) for s in seqs)
        x = torch.zeros(len(seqs), T, dtype=torch.long)
        mask = torch.zeros(len(seqs), T, dtype=torch.bool)
        for r, s in enumerate(seqs):
            x[r, : len(s)], mask[r, : len(s)] = s, True
        return x, mask, self.labels[pick]

    def fixed(self, batch_size: int, max_batches: int):
        """Deterministic evaluation batches: consecutive non-overlapping windows / all sentences."""
        if self.task == "lm":
            n = (len(self.stream) - 1) // self.context
            starts = list(range(0, n * self.context, self.context))[: batch_size * max_batches]
            for i in range(0, len(starts), batch_size):
                win = torch.stack([self.stream[s: s + self.context + 1] for s in starts[i: i + batch_size]])
                yield win[:, :-1], win[:, 1:]
        else:
            for i in range(0, len(self.ids), batch_size):
                yield self._pad(list(range(i, min(i + batch_size, len(self.ids)))))
