"""Pretrained Hugging Face models through qhybrid's experiment machinery, offline: a tiny GPT-2 (and its BPE
tokenizer) pretrained for a few steps and saved to a folder, then `qhybrid train / compare / generate` and
resume on `model.hf` runs (quantum adapters, matched LoRA, head only, full fine-tuning)."""
import csv
import json

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

import torch  # noqa: E402
import yaml  # noqa: E402

from qhybrid.cli import main  # noqa: E402
from qhybrid.config import run_config_from_dict  # noqa: E402
from qhybrid.train import Trainer  # noqa: E402

LM_DATA = {"name": "toy_english", "options": {"n_train": 300, "n_valid": 40, "n_test": 40}}
CLS_DATA = {"name": "toy_mc"}
ADAPTERS = {"target_modules": ["c_attn"], "n_qubits": 4, "n_layers": 2}
TRAIN = {"steps": 4, "batch_size": 4, "eval_every": 2, "eval_batches": 1, "test_batches": 1, "warmup": 1,
         "checkpoint_every": 1, "progress": False, "threads": 1, "lr": 0.01}
METHODS = ("quantum_adapter", "lora", "head_only", "full")


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    """A folder with a 2-layer GPT-2 (d=32) and a byte-level BPE tokenizer, pretrained for a few steps on
    toy_english: what `from_pretrained(name)` reads for a hub name."""
    from qhybrid.data import load_corpus
    from qhybrid.hf.pretrain import pretrain_gpt2

    corpus = load_corpus("toy_english", n_train=300, n_valid=40, n_test=40)
    text = {s: "".join(t + "\n" for t in corpus.splits[s]) for s in ("train", "valid")}
    path = tmp_path_factory.mktemp("tiny_gpt2")
    info = pretrain_gpt2(text["train"], text["valid"], path, vocab_size=300, n_embd=32, n_layer=2, n_head=2,
                         context=32, steps=6, batch_size=4, threads=1, log=None)
    assert info["params"] > 0 and (path / "pretrain.json").exists()
    return str(path)


def run_cfg(tmp_path, base, name, method="quantum_adapter", data=LM_DATA, **train):
    return {"name": name, "out_dir": str(tmp_path / "runs"), "data": data,
            "model": {"context": 16, "hf": {"name": base, "method": method, "adapters": ADAPTERS}},
            "train": {**TRAIN, **train}}


def strip_wall(records):
    drop = {"step_time_s", "tokens_per_s", "wall_s"}
    return [{k: v for k, v in r.items() if k not in drop} for r in records]


def test_compare_runs_the_four_methods_and_reports_trainable_counts(tiny_gpt2, tmp_path, capsys):
    spec = {"name": "hfcmp", "out_dir": str(tmp_path / "out"), "data": LM_DATA, "seeds": [0], "workers": 1,
            "executor": "serial", "baseline": "lora",
            "model": {"context": 16, "hf": {"name": tiny_gpt2, "adapters": ADAPTERS}},
            "train": TRAIN, "variants": {m: {"model": {"hf": {"method": m}}} for m in METHODS}}
    path = tmp_path / "cmp.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["compare", str(path)]) == 0
    report = (tmp_path / "out" / "hfcmp" / "report.md").read_text()
    rows = {r["variant"]: r for r in csv.DictReader((tmp_path / "out" / "hfcmp" / "results.csv").open())}
    assert set(rows) == set(METHODS)
    counts = {m: int(rows[m]["params_total"]) for m in METHODS}
    for m in METHODS:
        assert f"| {m} |" in report and f"{counts[m]:,}" in report
    qa, lora = counts["quantum_adapter"], counts["lora"]
    assert abs(lora - qa) <= 0.10 * qa
    assert int(rows["quantum_adapter"]["params_quantum"]) == 2 * 24     # 2 layers x strongly entangling 2x4x3
    assert int(rows["lora"]["params_quantum"]) == 0
    assert counts["full"] > counts["head_only"] > qa              # the head is GPT-2's tied token embedding
    summary = json.loads((tmp_path / "out" / "hfcmp" / "runs" / "quantum_adapter-s0" / "summary.json").read_text())
    assert summary["test_ppl"] > 1 and summary["steps"] == TRAIN["steps"]


def test_interrupted_run_resumes_to_the_same_metrics(tiny_gpt2, tmp_path):
    full = Trainer(run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, "full"))).fit()
    partial = Trainer(run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, "cut"))).fit(stop_after=3)
    assert partial == {"interrupted": True, "step": 3}
    resumed = Trainer(run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, "cut"))).fit(resume=True)
    assert resumed["test_loss"] == full["test_loss"]
    hist = {n: [json.loads(x) for x in (tmp_path / "runs" / n / "metrics.jsonl").read_text().splitlines()]
            for n in ("full", "cut")}
    assert strip_wall(hist["cut"]) == strip_wall(hist["full"])


def test_checkpoint_holds_only_what_trains(tiny_gpt2, tmp_path):
    trainer = Trainer(run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, "ck", steps=1)))
    trainer.fit()
    state = torch.load(tmp_path / "runs" / "ck" / "checkpoint.pt", weights_only=False)["model"]
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert set(state) == trainable and all(".adapter." in k for k in state)


def test_train_and_generate_from_the_cli(tiny_gpt2, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_cfg(tmp_path, tiny_gpt2, "cli")))
    assert main(["train", str(path)]) == 0
    assert "test_ppl" in capsys.readouterr().out
    assert main(["generate", str(tmp_path / "runs" / "cli"), "--prompt", "the", "--tokens", "6", "--top-k", "5"]) == 0
    assert capsys.readouterr().out.strip().startswith("the")


@pytest.mark.parametrize("method", METHODS)
def test_sequence_classification_trains_the_head(tiny_gpt2, tmp_path, method):
    cfg = run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, f"cls-{method}", method, data=CLS_DATA, steps=2))
    trainer = Trainer(cfg)
    names = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert any(n.endswith("score.weight") or "score." in n for n in names)
    summary = trainer.fit()
    assert 0 <= summary["test_accuracy"] <= 1 and summary["task"] == "classification"


def test_lora_and_adapter_counts_match_for_classification(tiny_gpt2, tmp_path):
    counts = {}
    for m in ("quantum_adapter", "lora"):
        trainer = Trainer(run_config_from_dict(run_cfg(tmp_path, tiny_gpt2, m, m, data=CLS_DATA)))
        counts[m] = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert abs(counts["lora"] - counts["quantum_adapter"]) <= 0.10 * counts["quantum_adapter"]


@pytest.mark.parametrize("hf, message", [
    ({"name": "x", "metod": "lora"}, "model.hf.method"),
    ({"name": "x", "method": "lorra"}, "did you mean 'lora'"),
    ({"name": "x", "adapters": {"n_qubit": 4}}, "did you mean 'n_qubits'"),
    ({"method": "lora"}, "model.hf.name"),
])
def test_bad_settings_are_one_clear_error(hf, message):
    with pytest.raises(ValueError, match=message):
        run_config_from_dict({"model": {"hf": hf}})


def test_quantum_parts_outside_the_adapters_are_refused():
    with pytest.raises(ValueError, match="model.hf.adapters"):
        run_config_from_dict({"model": {"hf": "gpt2", "attention": "vqc"}})


def test_a_bare_name_is_the_quantum_adapter_method():
    cfg = run_config_from_dict({"model": {"hf": "gpt2"}})
    assert cfg.model.hf == {"name": "gpt2"}
