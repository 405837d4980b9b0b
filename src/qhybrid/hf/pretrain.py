"""A small pretrained base model made locally: a byte-level BPE tokenizer and a GPT-2 trained on raw text,
saved with save_pretrained so that from_pretrained(folder) loads it the way a hub name loads.

    tok = train_tokenizer(texts, vocab_size=1024)          # PreTrainedTokenizerFast, <|endoftext|> = eos = pad
    info = pretrain_gpt2(train_text, valid_text, "base/", n_embd=128, n_layer=4, steps=1500)
    AutoModelForCausalLM.from_pretrained("base/"); AutoTokenizer.from_pretrained("base/")

For offline tests, studies and benchmarks; with network a hub model (gpt2, SmolLM2) takes its place.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .._optional import require

EOS = "<|endoftext|>"


def train_tokenizer(texts, vocab_size: int = 1024):
    """A byte-level BPE tokenizer (GPT-2's scheme) fitted on `texts`, as a transformers PreTrainedTokenizerFast."""
    tokenizers = require("tokenizers")
    transformers = require("transformers")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                             initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS,
                                                pad_token=EOS, unk_token=None)


def gpt2_config(vocab_size: int, n_embd: int = 128, n_layer: int = 4, n_head: int = 4, n_positions: int = 128,
                **options):
    transformers = require("transformers")
    return transformers.GPT2Config(vocab_size=vocab_size, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                                   n_positions=n_positions, bos_token_id=0, eos_token_id=0, pad_token_id=0,
                                   **options)


def _windows(ids: torch.Tensor, context: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    start = torch.randint(0, len(ids) - context - 1, (batch,), generator=gen)
    return torch.stack([ids[s: s + context + 1] for s in start.tolist()])


@torch.no_grad()
def _eval_loss(model, ids: torch.Tensor, context: int, max_windows: int = 64) -> float:
    model.eval()
    n = min(max_windows, (len(ids) - 1) // context)
    win = torch.stack([ids[i * context: i * context + context + 1] for i in range(n)])
    loss = 0.0
    for chunk in win.split(16):
        logits = model(input_ids=chunk[:, :-1]).logits
        loss += F.cross_entropy(logits.flatten(0, 1), chunk[:, 1:].flatten(), reduction="sum").item()
    model.train()
    return loss / (n * context)


def pretrain_gpt2(train_text: str, valid_text: str, out_dir, vocab_size: int = 1024, n_embd: int = 128,
                  n_layer: int = 4, n_head: int = 4, context: int = 128, steps: int = 1500, batch_size: int = 16,
                  lr: float = 3e-3, seed: int = 0, threads: int | None = None, log=print) -> dict:
    """Fit a BPE tokenizer on train_text, pretrain a GPT-2 on it (AdamW, warm-up + cosine), save model and
    tokenizer to out_dir with save_pretrained, and write pretrain.json (sizes, tokens seen, losses, time).
    Returns that record. A folder that already holds pretrain.json is reused as it is."""
    transformers = require("transformers")
    out = Path(out_dir)
    if (out / "pretrain.json").exists():
        return json.loads((out / "pretrain.json").read_text())
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    tok = train_tokenizer(train_text.splitlines(keepends=True), vocab_size)
    ids = torch.tensor(tok(train_text)["input_ids"], dtype=torch.long)
    vids = torch.tensor(tok(valid_text)["input_ids"], dtype=torch.long)
    model = transformers.GPT2LMHeadModel(gpt2_config(len(tok), n_embd, n_layer, n_head, context))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    warmup = max(1, steps // 20)
    model.train()
    for step in range(steps):
        frac = (step + 1) / warmup if step < warmup else \
            0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
        for g in opt.param_groups:
            g["lr"] = lr * frac
        win = _windows(ids, context, batch_size, gen)
        loss = F.cross_entropy(model(input_ids=win[:, :-1]).logits.flatten(0, 1), win[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if log and (step + 1) % max(1, steps // 10) == 0:
            log(f"pretrain step {step + 1}/{steps}: train loss {loss.item():.3f}")
    record = {"params": sum(p.numel() for p in model.parameters()),
              "params_non_embedding": sum(p.numel() for n, p in model.named_parameters() if "wte" not in n
                                          and "wpe" not in n),
              "vocab_size": len(tok), "n_embd": n_embd, "n_layer": n_layer, "n_head": n_head, "context": context,
              "steps": steps, "batch_size": batch_size, "tokens_seen": steps * batch_size * context,
              "train_tokens": len(ids), "valid_loss": _eval_loss(model, vids, context),
              "seconds": time.perf_counter() - t0, "seed": seed}
    record["valid_ppl"] = math.exp(record["valid_loss"])
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "pretrain.json").write_text(json.dumps(record, indent=1) + "\n")
    return record
