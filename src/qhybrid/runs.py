"""A run: one resolved configuration, its model and its directory.

    load_run_corpus(cfg)          the corpus a run config names (vocabulary, classes, splits)
    build_model(cfg, corpus)      THE model of a run: TinyLM for LM corpora, SequenceClassifier for
                                  classification, sized to the corpus (vocabulary, classes); used by
                                  train, compare (twins), planning, the CLI and generation
    sample_from_run(run_dir, ...) text from a trained LM run directory
    fingerprint(cfg)              THE identity of a run: a hash of everything in the resolved config
                                  that affects results; train, resume, compare and report all use it
    config_differences(a, b)      the keys (dotted) where two resolved configs differ, for error messages
    run_lock(run_dir)             one process trains a run at a time (a lock file beside the run)
    read_run_config / read_json / read_checkpoint   reads that name the file when it is damaged
    atomic_write / atomic_text    every file is written via a temp file + rename (from qhybrid.atomic)

Identity: the data, model and train sections of the resolved RunConfig, defaults filled in, numbers
compared by value (1 == 1.0). Not in it: the name and out_dir (where the run lives), the keys in
NOT_IDENTITY, which change how a run is watched or stored but never its numbers (train.progress,
train.threads, train.checkpoint_every: checkpoints are bit-exact, so where they fall changes nothing),
and model.quantum.* of a model with no quantum part (classical layers ignore those options), so a
qubit sweep reuses its classical baseline.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import torch
import yaml

from .atomic import atomic_text, atomic_write  # noqa: F401  (re-exported: runs.atomic_text)
from .config import RunConfig, run_config_from_dict, to_dict
from .models import ModelConfig, SequenceClassifier, TinyLM

NOT_IDENTITY = ("train.progress", "train.threads", "train.checkpoint_every", "train.energy")
_IDENTITY_SECTIONS = ("data", "model", "train")


def save_figure(fig, path: Path, dpi: int = 100) -> None:
    """A matplotlib Figure saved as PNG, atomically."""
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi))


# ---- identity ------------------------------------------------------------------------------------
def _canonical(v):
    """Values compared by meaning: 1 == 1.0, tuples are lists, mapping keys are strings."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def run_identity(cfg: RunConfig) -> dict:
    """{dotted key: value} of everything in the resolved config that affects a run's results."""
    d = to_dict(cfg)
    flat = _flatten({k: d[k] for k in _IDENTITY_SECTIONS})
    classical = not cfg.model.is_quantum
    return {k: v for k, v in flat.items()
            if k not in NOT_IDENTITY and not (classical and k.startswith("model.quantum."))}


def fingerprint(cfg: RunConfig) -> str:
    """A stable hash of run_identity(cfg): equal exactly when two runs would give the same numbers."""
    ident = {k: _canonical(v) for k, v in run_identity(cfg).items()}
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(b"qhybrid-run-1\n" + text.encode()).hexdigest()[:16]


def config_differences(saved: RunConfig, requested: RunConfig) -> list[tuple[str, object, object]]:
    """[(dotted key, saved value, requested value)] where the identities differ, sorted by key."""
    a, b = run_identity(saved), run_identity(requested)
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
            if _canonical(a.get(k)) != _canonical(b.get(k))]


def _show(v) -> str:
    return "unset" if v is None else v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) \
        else str(v)


def describe_differences(diffs, saved: str = "run", requested: str = "requested", limit: int = 8) -> str:
    """'train.steps 300 (run) -> 200 (requested), ...' (at most `limit` keys, then a count)."""
    parts = [f"{k} {_show(a)} ({saved}) -> {_show(b)} ({requested})" for k, a, b in diffs[:limit]]
    if len(diffs) > limit:
        parts.append(f"and {len(diffs) - limit} more")
    return ", ".join(parts)


# ---- reading the files of a run --------------------------------------------------------------------
def read_run_config(run_dir) -> RunConfig | None:
    """The resolved config saved in run_dir/config.yaml, or None when the run has none yet."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is damaged (not valid YAML: {str(e).splitlines()[0]}); "
                         f"delete the run directory {path.parent} to train it again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is damaged (not a run config); delete the run directory {path.parent} "
                         f"to train it again")
    try:
        return run_config_from_dict(data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def read_json(path):
    """A JSON file; a damaged one is a ValueError that names the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is damaged (not valid JSON: {e}); delete it, or the run directory, "
                         f"to redo that part") from None


def read_jsonl(path) -> list:
    """One JSON record per line (metrics.jsonl); a damaged line names the file and the line."""
    path = Path(path)
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is damaged (line {i} is not valid JSON: {e})") from None
    return out


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def dumps_json(obj, **kwargs) -> str:
    """json.dumps that never writes NaN or Infinity (not JSON): non-finite numbers become null."""
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def read_checkpoint(path) -> dict:
    """A run's checkpoint.pt; an empty, truncated or foreign file is a ValueError that names it."""
    path = Path(path)
    hint = f"delete {path} (or the run directory) to train from the start"
    if not path.exists():
        raise ValueError(f"{path} is missing; the run has no checkpoint to continue from")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty (a write was cut short); {hint}")
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")   # load_state_dict moves it to the model
    except Exception as e:                                   # torch raises many kinds for a damaged file
        raise ValueError(f"{path} is corrupt and cannot be read ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else 'unreadable'}); {hint}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path} is corrupt: it is not a qhybrid checkpoint; {hint}")
    return state


# ---- one process per run -----------------------------------------------------------------------------
class RunBusy(ValueError):
    """Another live process holds the run's lock (it is training that run now)."""


_HELD: dict[tuple[int, str], int] = {}          # (pid, lock path) -> nesting depth, in this process


def lock_path(run_dir) -> Path:
    """The lock file of a run: beside its directory, so taking it never touches the run itself."""
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.lock"


def _owner(path: Path) -> tuple[dict | None, str | None]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    try:
        owner = json.loads(text)
        return (owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None), text
    except json.JSONDecodeError:
        return None, text


def _alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True                                   # another machine (a shared file system): assume so
    pid = owner["pid"]
    if pid == os.getpid():
        return False                                  # our pid but not our lock: left by a dead process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _take_over(path: Path, stale_text: str) -> None:
    """Remove a dead owner's lock; a guard file makes sure two processes never remove a fresh one."""
    guard = path.with_name(path.name + ".takeover")
    try:
        fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if _age(guard) > 30:                          # its owner died mid take-over
            guard.unlink(missing_ok=True)
        time.sleep(0.05)
        return
    os.close(fd)
    try:
        if _owner(path)[1] == stale_text:
            path.unlink(missing_ok=True)
    finally:
        guard.unlink(missing_ok=True)


def _acquire(path: Path, run_dir: Path, wait: bool, poll: float) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner, text = _owner(path)
            if text is None:                          # released in between
                continue
            if owner is None and _age(path) < 10:     # being written by its owner right now
                time.sleep(0.05)
                continue
            if owner is not None and _alive(owner):
                if not wait:
                    raise RunBusy(f"run {run_dir} is being trained by process {owner['pid']} on {owner['host']} "
                                  f"(lock file {path}); wait for it to finish, or delete the lock file if that "
                                  f"process is gone") from None
                time.sleep(poll)
                continue
            _take_over(path, text)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(me)
        return me


@contextmanager
def run_lock(run_dir, wait: bool = False, poll: float = 0.5):
    """Hold the run's lock for the block: an exclusive lock file (O_CREAT|O_EXCL) holding the pid and
    host, removed on exit. A lock whose process is dead (same host) is taken over. A live owner raises
    RunBusy, or with wait=True is waited for. The same process may nest the lock (compare -> train)."""
    path = lock_path(run_dir)
    key = (os.getpid(), str(path.absolute()))
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    mine = _acquire(path, Path(run_dir), wait, poll)
    _HELD[key] = 1
    try:
        yield
    finally:
        _HELD.pop(key, None)
        if _owner(path)[1] == mine:
            path.unlink(missing_ok=True)


class CorpusShape(NamedTuple):
    """What building a model needs of a corpus: its tokenizer (vocab_size), task and classes."""
    tokenizer: object
    task: str = "lm"
    classes: tuple = ()


def load_run_corpus(cfg: RunConfig):
    from .data import load_corpus

    d = cfg.data
    corpus = load_corpus(d.name, data_dir=d.data_dir, seed=d.seed, **d.options)
    if cfg.model.hf is not None:                         # the raw text through the pretrained model's tokenizer
        from .hf.runs import hf_corpus
        return hf_corpus(cfg.model.hf, corpus)
    return corpus


def model_config(cfg: RunConfig, corpus) -> tuple[ModelConfig, type]:
    """The run's model config sized to the corpus, and the model class for its task."""
    m = dataclasses.replace(cfg.model, vocab_size=corpus.tokenizer.vocab_size)
    if corpus.task == "classification":
        return dataclasses.replace(m, n_classes=len(corpus.classes)), SequenceClassifier
    return m, TinyLM


def build_model(cfg: RunConfig, corpus) -> torch.nn.Module:
    """TinyLM for LM corpora, SequenceClassifier for classification, sized to the corpus vocabulary; with
    model.hf set, the pretrained Hugging Face model and its fine-tuning method (qhybrid.hf.runs)."""
    if cfg.model.hf is not None:
        from .hf.runs import build_hf_model
        return build_hf_model(cfg.model.hf, corpus, cfg.model.context)
    m, cls = model_config(cfg, corpus)
    return cls(m)


MAX_NEW_TOKENS = 100_000   # each new token is one forward pass: more would run for many minutes without output


def sample_from_run(run_dir, prompt: str, tokens: int, temperature: float = 1.0, top_k: int | None = None,
                    seed: int = 0) -> str:
    """Text sampled from a trained LM run directory (its config, tokenizer and last checkpoint).

    tokens: 1 to MAX_NEW_TOKENS; temperature > 0; top_k None (every token) or >= 1. A prompt must hold at
    least one token of the run's vocabulary (unknown tokens encode to <unk>)."""
    from .config import load_yaml, run_config_from_dict
    from .data import load_tokenizer

    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 1 <= tokens <= MAX_NEW_TOKENS:
        raise ValueError(f"--tokens must be between 1 and {MAX_NEW_TOKENS:,} (new tokens to sample; each is one "
                         f"forward pass, so more would run for many minutes), got {tokens!r}")
    if not temperature > 0:
        raise ValueError(f"--temperature must be > 0 (1 = the model's distribution, lower = greedier), "
                         f"got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"--top-k must be >= 1 (sample from the k most likely tokens), or left out to sample from "
                         f"every token; got {top_k!r}")
    d = Path(run_dir)
    for f in ("config.yaml", "tokenizer.json", "checkpoint.pt"):
        if not (d / f).exists():
            raise ValueError(f"{d / f} is missing; generate needs a trained run directory (qhybrid train CONFIG)")
    cfg = run_config_from_dict(load_yaml(d / "config.yaml"))
    if cfg.model.hf is not None:
        from .hf.runs import sample_hf_run
        return sample_hf_run(d, cfg, prompt, tokens, temperature, top_k, seed)
    tok = load_tokenizer(d / "tokenizer.json")
    model = build_model(cfg, CorpusShape(tok))
    state = read_checkpoint(d / "checkpoint.pt")              # read on the CPU, whatever device trained it
    try:
        model.load_state_dict(state["model"])
        wanted = cfg.train.device                             # the run's device where this machine has it
        model.to("cuda" if wanted != "cpu" and torch.cuda.is_available() else "cpu")
    except RuntimeError:
        raise ValueError(f"{d} holds a classifier, not a language model; generate works on LM runs") from None
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("the prompt is empty after tokenisation; give at least one known token")
    if all(i == tok.unk_id for i in ids):
        known = [t for t in tok.itos if t not in tok.specials][:8]
        raise ValueError(f"none of the prompt's tokens ({prompt!r}) is in the run's vocabulary (each would be "
                         f"<unk>); start from tokens of its training data, e.g. {', '.join(map(repr, known))}")
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)     # the sampling generator lives with the model
    out = model.eval().generate(torch.tensor(ids), tokens, temperature=temperature, top_k=top_k, generator=gen)
    return tok.decode(out.tolist())
