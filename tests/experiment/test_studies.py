"""benchmarks/run_study.py: every study's quick mode runs end to end, writes its docs block, resumes.

The quick mode trains 2 steps per run (batch 4, one seed), so this checks the pipeline (spec,
variants, matched twins, report, figures, samples, docs block), not the numbers.
"""
import csv
import sys
from pathlib import Path

import pytest
import yaml
from _shared import need

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run_study  # noqa: E402

DATA_FILES = {"mc": ["mc/mc_train_data.txt"], "rp": ["rp/rp_train_data.txt"],
              "yelp": ["uci_sentiment/yelp_labelled.txt"],
              "ptb": ["ptb/ptb.train.txt"], "ptb_long": ["ptb/ptb.train.txt"],
              "ptb_q6": ["ptb/ptb.train.txt"],
              "shakespeare": ["tinyshakespeare/input.txt"], "grammar": [],
              "hf_adapters": ["uci_sentiment/yelp_labelled.txt", "tinyshakespeare/input.txt"],
              "hf_adapters_ptb": ["ptb/ptb.train.txt", "tinyshakespeare/input.txt"]}


def test_every_study_file_is_listed_and_valid():
    from qhybrid.compare import expand
    assert set(run_study.available()) == set(DATA_FILES)
    for name in run_study.available():
        meta, spec = run_study.load_study(name)
        settings, runs = expand(spec)                              # bad keys/values fail here
        assert meta["title"] and settings["baseline"] in {r["variant"] for r in runs}
        assert len(spec["seeds"]) >= {"mc": 5, "rp": 5, "yelp": 5, "ptb_long": 1}.get(name, 3)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DATA_FILES))
def test_quick_mode_runs_and_writes_its_docs_block(name, tmp_path, monkeypatch):
    if DATA_FILES[name]:
        monkeypatch.setenv("QHYBRID_DATA", str(need(*DATA_FILES[name])))
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n\nhand-written text stays\n")
    out = run_study.run_study(name, quick=True, out_root=tmp_path / "runs", docs=docs)
    _, spec = run_study.load_study(name)
    quantum = [v for v, o in spec["variants"].items() if "model" in o and
               any(k in o["model"] for k in ("attention", "embedding", "ffn")) and o.get("twin", True)]
    expected = set(spec["variants"]) | {f"{v}_twin" for v in quantum}
    text = docs.read_text()
    assert "hand-written text stays" in text and text.count(f"<!-- BEGIN study:{name} -->") == 1
    rows = list(csv.DictReader((Path(out["files"]) / "results.csv").open()))
    assert {r["variant"] for r in rows} == expected
    for r in rows:                                                  # every row made it into the table
        assert f"| {r['variant']} |" in text and int(r["steps"]) == run_study.QUICK_TRAIN["steps"]
    for f in ("loss_curves.png", "metric_vs_params.png", "cost.png"):
        assert (Path(out["files"]) / f).stat().st_size > 1000
    meta, _ = run_study.load_study(name)
    if meta.get("prompt"):
        assert (Path(out["files"]) / "samples.txt").read_text().count("--- ") == len(expected)
    # second call: every run is reused (summaries untouched), the block is replaced, not duplicated
    summaries = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs" / name / "runs").glob("*/summary.json")}
    assert len(summaries) == len(expected) * len(spec["seeds"][:1])
    run_study.run_study(name, quick=True, out_root=tmp_path / "runs", docs=docs)
    assert {p: p.stat().st_mtime_ns for p in summaries} == summaries
    assert docs.read_text().count(f"<!-- BEGIN study:{name} -->") == 1
    summary = docs.read_text().split("<!-- BEGIN study:summary -->")[1].split("<!-- END study:summary -->")[0]
    assert all(f"| {name} | {v} |" in summary for v in quantum)      # every quantum variant vs its twin
    assert (tmp_path / "results" / "summary.png").stat().st_size > 1000


def test_quick_spec_shrinks_budget_but_keeps_variants():
    _, spec = run_study.load_study("mc")
    q = run_study.quick_spec(spec)
    assert q["variants"].keys() == spec["variants"].keys() and q["seeds"] == [0]
    assert q["train"]["steps"] == 2 and all(o.get("seeds", [0]) == [0] for o in q["variants"].values())
    assert yaml.safe_load(yaml.safe_dump(q)) == q


def test_study_files_are_plain_comparison_specs(tmp_path):
    """`qhybrid compare benchmarks/studies/<name>.yaml` accepts the same file (the study block is metadata)."""
    from qhybrid.compare import expand
    spec = yaml.safe_load((run_study.STUDIES_DIR / "grammar.yaml").read_text())
    assert "study" in spec
    settings, runs = expand(spec)
    assert settings["name"] == "grammar" and len(runs) == 9 * 3


def test_unknown_study_names_the_valid_ones():
    with pytest.raises(SystemExit, match="unknown study 'mcc'; studies: grammar, hf_adapters, hf_adapters_ptb, mc, "
                                         "ptb, ptb_long, ptb_q6, rp"):
        run_study.load_study("mcc")
