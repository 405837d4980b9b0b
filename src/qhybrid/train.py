"""Training: one run = one directory, resumable bit-exactly.

    runs/<name>/config.yaml      resolved configuration
                metrics.jsonl    one line per evaluation
                summary.json     final metrics, parameter counts, costs (written at the end)
                tokenizer.json   the tokenizer, so generation and evaluation reload exactly
                checkpoint.pt    model, optimizer, RNG and loop state (atomic writes)
                loss.png         train/valid loss curves

AdamW, linear warm-up then cosine decay, global-norm clipping. Same seed -> same numbers.
Ctrl-C or SIGTERM finishes the current step, checkpoints and stops; `resume=True` continues
and ends with the same metrics as an uninterrupted run (wall-clock fields aside).

A run directory belongs to one resolved config (runs.fingerprint):
- without resume, a directory that holds a checkpoint, metrics or a summary is refused;
- resume compares the requested config with the saved config.yaml and refuses, naming the keys,
  when they differ; `allow_more_steps=True` lets train.steps (only) grow, stretching the schedule to
  the new total (the summary then lists `steps_extended_from`). Every check (config, checkpoint,
  tokenizer) passes before anything in the directory is written;
- one process at a time trains a run (runs.run_lock); another one gets a clear error;
- a non-finite loss stops the run at once (Diverged, a ValueError) and keeps the last good checkpoint.
"""
from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import torch
import yaml

from .atomic import atomic_text, atomic_write
from .config import RunConfig, to_dict
from .costs import RunMeter, add_costs
from .data import Batches, load_tokenizer
from .device import apply_threads, resolve_device
from .models import any_quantum, count_parameters
from .runs import (
    build_model,
    config_differences,
    describe_differences,
    dumps_json,
    fingerprint,
    load_run_corpus,
    model_config,
    read_checkpoint,
    read_run_config,
    run_lock,
    save_figure,
)


class Diverged(ValueError):
    """The loss became NaN or infinite: training stopped, the last good checkpoint is kept."""


def lr_at(step: int, cfg) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr * min_lr_ratio at cfg.steps."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class _Stop:
    """Turns Ctrl-C (SIGINT) and SIGTERM into a flag checked between steps, so the step in flight
    finishes and a consistent checkpoint is written. A second Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._old = {}

    def __enter__(self):
        for sig in self.SIGNALS:
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:                               # not the main thread: signals stay as they are
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _loss(model, batch):
    device = next(model.parameters()).device
    batch = tuple(b.to(device) for b in batch)                 # batches are sampled on the CPU
    if len(batch) == 2:
        x, y = batch
        return model(x, y)[1], None
    x, mask, y = batch
    logits, loss = model(x, mask, y)
    return loss, (logits.argmax(-1) == y).float()


@torch.no_grad()
def evaluate(model, batches: Batches, batch_size: int, max_batches: int, level: str) -> dict:
    model.eval()
    losses, weights, correct = [], [], []
    for batch in batches.fixed(batch_size, max_batches):
        loss, hits = _loss(model, batch)
        losses.append(loss.item() * batch[0].shape[0])
        weights.append(batch[0].shape[0])
        if hits is not None:
            correct.append(hits)
    model.train()
    loss = sum(losses) / sum(weights)
    if batches.task == "lm":
        out = {"loss": loss, "ppl": math.exp(loss) if loss < 700 else math.inf}
        if level == "char":
            out["bits_per_char"] = loss / math.log(2)
        return out
    return {"loss": loss, "accuracy": torch.cat(correct).mean().item()}


def step_width(cfg: RunConfig, corpus) -> int:
    """A step's widest per-token row: d_model, the vocabulary, heads x 2**n_qubits amplitudes, or a Quixer
    token unitary's 4**n_qubits entries (a pretrained Hugging Face model: wide)."""
    if cfg.model.hf is not None:
        return 1 << 30
    m, _ = model_config(cfg, corpus)
    width = max(m.d_model, m.vocab_size)
    if any_quantum(vars(m)):
        width = max(width, m.n_heads * 2 ** m.quantum.n_qubits)
    if m.attention == "quixer":
        width = max(width, 4 ** m.quantum.n_qubits)
    return width


class Trainer:
    """Runs one configuration to completion (or interruption) in cfg.run_dir."""

    def __init__(self, cfg: RunConfig, corpus=None):
        self.cfg = cfg
        self.dir = cfg.run_dir
        self.corpus = corpus or load_run_corpus(cfg)
        torch.manual_seed(cfg.train.seed)
        self.device = resolve_device(cfg.train.device)
        self.model = build_model(cfg, self.corpus).to(self.device)
        apply_threads(cfg.train.threads, cfg.train.batch_size, cfg.model.context, step_width(cfg, self.corpus))
        t = cfg.train
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
        self.gen = torch.Generator().manual_seed(t.seed)
        ctx = cfg.model.context
        self.train_batches = Batches(self.corpus, "train", ctx)
        self.valid_batches = Batches(self.corpus, "valid", ctx)
        self.step = 0
        self.elapsed = 0.0                      # wall seconds spent training, over all sessions
        self.acc = {"loss": 0.0, "n": 0, "time": 0.0, "tokens": 0}
        self.history: list[dict] = []
        self.extended: list[int] = []           # train.steps before each allow_more_steps resume
        self.saved_step: int | None = None      # step of the checkpoint on disk
        self.costs: dict | None = None          # what the training sessions so far cost (costs.RunMeter)

    # ---- checkpoints ---------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.dir / "checkpoint.pt"

    def save_checkpoint(self):
        state = {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                 "gen": self.gen.get_state(), "torch_rng": torch.get_rng_state(), "cuda_rng": self._cuda_rng(),
                 "elapsed": self.elapsed,
                 "acc": self.acc, "history": self.history, "fingerprint": fingerprint(self.cfg),
                 "extended": self.extended, "costs": self.costs, "backend_usage": self._backend_usage()}
        atomic_write(self.checkpoint_path, lambda p: torch.save(state, p))
        self.saved_step = self.step

    def load_checkpoint(self) -> bool:
        if not self.checkpoint_path.exists():
            return False
        self._apply_state(read_checkpoint(self.checkpoint_path))
        return True

    def _apply_state(self, state: dict) -> None:
        """Checkpoint state into the model, optimizer, RNGs and counters (memory only)."""
        path = self.checkpoint_path
        try:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["opt"])
            self.step, self.elapsed = state["step"], state["elapsed"]
            self.acc, self.history = state["acc"], state["history"]
            self.gen.set_state(state["gen"])
            torch.set_rng_state(state["torch_rng"])
            if state.get("cuda_rng") is not None and self.device.type == "cuda":    # dropout / shots on the GPU
                torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"{path} does not fit this run's model ({first}); it was written for another "
                             f"configuration: resume with the run's own config, or delete the run directory "
                             f"{self.dir} to train it again") from None
        self.extended = list(state.get("extended", []))
        self.costs = state.get("costs")
        restore = getattr(self.model, "restore_backend_usage", None)
        if restore is not None:                 # QPU seconds and jobs so far: the budget survives a resume
            restore(state.get("backend_usage", {}))
        self.saved_step = self.step

    # ---- the run directory ---------------------------------------------------------------
    def _check_dir(self, resume: bool, allow_more_steps: bool) -> int | None:
        """Every check on the run directory, reading only. Loads the checkpoint into memory when resuming.
        Returns the saved train.steps when this resume extends it (allow_more_steps), else None."""
        d = self.dir
        held = [f for f in ("checkpoint.pt", "metrics.jsonl", "summary.json") if (d / f).exists()]
        if not resume:
            if held:
                raise ValueError(f"run directory {d} already holds a run ({', '.join(held)}); pass --resume to "
                                 f"continue it or choose another name (--set name=...)")
            return None
        extends = None
        saved = read_run_config(d)
        if saved is not None:
            diffs = config_differences(saved, self.cfg)
            others = [x for x in diffs if x[0] != "train.steps"]
            more = [x for x in diffs if x[0] == "train.steps"]
            fix = (f"resume with the run's own config ({d / 'config.yaml'}), or train a new run under another "
                   f"name (--set name=...)")
            if others or (more and more[0][2] < more[0][1]):
                raise ValueError(f"run {d} was trained with another configuration: {describe_differences(diffs)}; "
                                 f"{fix}")
            if more and not allow_more_steps:
                raise ValueError(f"run {d} was trained with another configuration: {describe_differences(diffs)}; "
                                 f"to continue it to more steps, resume with allow_more_steps=True (the learning-"
                                 f"rate schedule is stretched to the new total), or {fix}")
            extends = more[0][1] if more else None
        if self.checkpoint_path.exists():
            state = read_checkpoint(self.checkpoint_path)
            if saved is None and state.get("fingerprint") not in (None, fingerprint(self.cfg)) and not allow_more_steps:
                raise ValueError(f"{self.checkpoint_path} was written for another configuration (fingerprint "
                                 f"{state['fingerprint']}, requested {fingerprint(self.cfg)}) and {d / 'config.yaml'} "
                                 f"is missing; resume with the run's own config, or delete the run directory {d}")
            self._apply_state(state)
            if self.step > self.cfg.train.steps:
                raise ValueError(f"{self.checkpoint_path} is at step {self.step}, past train.steps = "
                                 f"{self.cfg.train.steps}; resume with the run's own config")
        tok = d / "tokenizer.json"
        matches = getattr(self.corpus.tokenizer, "matches_file", None)    # tokenizers of other formats (HF)
        if tok.exists() and matches is not None:
            if not matches(tok):
                raise ValueError(f"{tok} differs from the tokenizer of this run's model now: the model or data "
                                 f"changed since the run started; train a new run under another name")
        elif tok.exists():
            try:
                saved_tok = load_tokenizer(tok)
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{tok} is damaged ({e}); delete the run directory {d} to train it again") from None
            if saved_tok != self.corpus.tokenizer:
                raise ValueError(f"{tok} differs from the tokenizer of data set {self.cfg.data.name!r} now: the "
                                 f"data changed since the run started; train a new run under another name")
        return extends

    def _prepare_dir(self, resume: bool, allow_more_steps: bool = False):
        extends = self._check_dir(resume, allow_more_steps)         # nothing is written before this passes
        self.dir.mkdir(parents=True, exist_ok=True)
        if extends is not None:
            self.extended.append(extends)
            (self.dir / "summary.json").unlink(missing_ok=True)     # the result of the shorter config
        if not resume or extends is not None or not (self.dir / "config.yaml").exists():
            atomic_text(self.dir / "config.yaml", yaml.safe_dump(to_dict(self.cfg), sort_keys=False))
        if not resume or not (self.dir / "tokenizer.json").exists():
            self.corpus.tokenizer.save(self.dir / "tokenizer.json")
        if extends is not None and self.saved_step is not None:
            self.save_checkpoint()                                 # the extension is recorded with the state

    def _write_metrics(self):
        atomic_text(self.dir / "metrics.jsonl", "".join(dumps_json(r) + "\n" for r in self.history))

    def _diverged(self, what: str, value: float, step: int) -> Diverged:
        kept = (f"the last good checkpoint {self.checkpoint_path} (step {self.saved_step}) is kept"
                if self.saved_step is not None else "no checkpoint had been written yet")
        return Diverged(f"run {self.cfg.name} diverged: {what} is {value} at step {step} (train.lr = "
                        f"{self.cfg.train.lr:g}); stopped without saving, {kept}. Lower train.lr (or lengthen "
                        f"train.warmup) and train a new run under another name (--set name=...), or delete {self.dir}")

    def _eval_record(self) -> dict:
        t = self.cfg.train
        val = evaluate(self.model, self.valid_batches, t.batch_size, t.eval_batches, self.corpus.level)
        a = self.acc
        rec = {"step": self.step, "lr": lr_at(self.step - 1, t),
               "train_loss": a["loss"] / max(1, a["n"]), **{f"val_{k}": v for k, v in val.items()},
               "step_time_s": a["time"] / max(1, a["n"]), "tokens_per_s": a["tokens"] / max(1e-9, a["time"]),
               "wall_s": self.elapsed}
        for k, v in a.get("metrics", {}).items():          # layers' declared per-step metrics, mean over steps
            rec[k] = v / max(1, a["n"])
        self.acc = {"loss": 0.0, "n": 0, "time": 0.0, "tokens": 0}
        return rec

    def train_step(self) -> tuple[float, int]:
        """One optimizer step at the current schedule position -> (loss, tokens in the batch)."""
        t = self.cfg.train
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, t)
        batch = self.train_batches.sample(t.batch_size, self.gen)
        loss, _ = _loss(self.model, batch)
        if not torch.isfinite(loss):                  # before the update: the weights stay as they were
            raise self._diverged("the training loss", loss.item(), self.step + 1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if t.grad_clip:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
            if not torch.isfinite(norm):
                raise self._diverged("the gradient norm", norm.item(), self.step + 1)
        self.opt.step()
        return loss.item(), batch[0].numel()

    def fit(self, resume: bool = False, stop_after: int | None = None, allow_more_steps: bool = False,
            on_eval=None) -> dict:
        """Train to cfg.train.steps; `stop_after` simulates an interruption after that many steps.

        resume: continue the run in cfg.run_dir; its saved config must be the requested one (runs.fingerprint).
        allow_more_steps: on resume, train.steps may be larger than the saved one (and nothing else may differ).
        on_eval: called with every evaluation record after it is saved (e.g. to report to Ray Tune).
        Raises ValueError (a clear message) for a refused directory, RunBusy when another process trains this
        run, and Diverged at the first non-finite loss."""
        self._on_eval = on_eval
        with run_lock(self.dir):
            return self._fit(resume, stop_after, allow_more_steps)

    def _cuda_rng(self):
        return torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None

    def _backend_usage(self) -> dict:
        usage = getattr(self.model, "backend_usage", None)
        return usage() if usage is not None else {}

    def _fit(self, resume: bool, stop_after: int | None, allow_more_steps: bool) -> dict:
        t = self.cfg.train
        self._prepare_dir(resume, allow_more_steps)
        meter = RunMeter(self.device, t.energy)
        meter.start()
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=t.steps, initial=self.step, desc=self.cfg.name, disable=not t.progress, leave=False)
            self.model.train()
            interrupted = False
            with _Stop() as stop:
                try:
                    while self.step < t.steps:
                        t0 = time.perf_counter()
                        loss, n_tokens = self.train_step()
                        self.step += 1
                        dt = time.perf_counter() - t0
                        self.elapsed += dt
                        self.acc["loss"] += loss; self.acc["n"] += 1; self.acc["time"] += dt
                        self.acc["tokens"] += n_tokens
                        for k, v in self.model.step_metrics().items():     # e.g. Quixer's success probability
                            sums = self.acc.setdefault("metrics", {})
                            sums[k] = sums.get(k, 0.0) + v
                        bar.update(1)
                        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
                        if self.step % t.eval_every == 0 or self.step == t.steps:
                            rec = self._eval_record()
                            if not math.isfinite(rec["val_loss"]):
                                raise self._diverged("the validation loss", rec["val_loss"], self.step)
                            self.history.append(rec)
                            self._write_metrics()
                            self.save_checkpoint()
                            if self._on_eval is not None:
                                self._on_eval(rec)
                        elif self.step % t.checkpoint_every == 0:
                            self.save_checkpoint()
                        if stop.requested or (stop_after is not None and self.step >= stop_after):
                            interrupted = True
                            break
                except (KeyboardInterrupt, Diverged):      # mid-step: keep the last consistent checkpoint
                    bar.close()
                    raise
                bar.close()
        finally:                                       # every session's cost, whatever ended it
            self.costs = add_costs(self.costs, meter.stop())
        if interrupted:
            self.save_checkpoint()
            return {"interrupted": True, "step": self.step}
        return self.finish()

    def finish(self) -> dict:
        t = self.cfg.train
        test = evaluate(self.model, Batches(self.corpus, "test", self.cfg.model.context), t.batch_size,
                        t.test_batches, self.corpus.level)
        if not math.isfinite(test["loss"]):
            raise self._diverged("the test loss", test["loss"], self.step)
        counts = count_parameters(self.model)
        times = [r["step_time_s"] for r in self.history]
        summary = {"name": self.cfg.name, "task": self.corpus.task, "dataset": self.corpus.name,
                   "steps": self.step, "seed": t.seed, **{f"test_{k}": v for k, v in test.items()},
                   "final": self.history[-1] if self.history else {}, "params": counts,
                   "step_time_s": sorted(times)[len(times) // 2] if times else None, "wall_s": self.elapsed,
                   "tokens_seen": self.step * t.batch_size * self.cfg.model.context,
                   "entropy_rate_nats": self.corpus.entropy_rate, "bound_ppl": self.corpus.bound_perplexity,
                   "fingerprint": fingerprint(self.cfg), "cost": self.costs, "backend_usage": self._backend_usage()}
        if self.extended:
            summary["steps_extended_from"] = self.extended
        atomic_text(self.dir / "summary.json", dumps_json(summary, indent=1))
        self.save_checkpoint()
        plot_run(self.dir, self.history)
        return summary


def plot_run(run_dir: Path, history: list[dict]) -> None:
    """loss.png of a run; draws on a bare Figure so an interactive session's backend is untouched."""
    if not history:
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    steps = [r["step"] for r in history]
    ax.plot(steps, [r["train_loss"] for r in history], label="train")
    ax.plot(steps, [r["val_loss"] for r in history], label="valid")
    ax.set_xlabel("step"); ax.set_ylabel("loss (nats)"); ax.legend(); ax.set_title(run_dir.name)
    fig.tight_layout()
    save_figure(fig, run_dir / "loss.png")


def train(cfg: RunConfig, resume: bool = False, corpus=None) -> dict:
    """Train one configuration; returns the summary (or {'interrupted': True} when stopped early)."""
    return Trainer(cfg, corpus).fit(resume=resume)
