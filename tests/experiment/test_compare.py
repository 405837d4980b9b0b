"""qhybrid.compare: spec expansion (per-variant seeds, twins), twins' seeds, metric choice."""
import pytest
import yaml

from qhybrid.compare import add_matched_twins, expand
from qhybrid.report import aggregate

BASE = {"data": {"name": "toy_english"}, "model": {"context": 8, "d_model": 16, "n_heads": 2, "n_blocks": 1,
                                                    "quantum": {"n_qubits": 2, "n_layers": 1}}}


def test_variant_seeds_and_twin_flag():
    spec = {**BASE, "seeds": [0, 1, 2], "variants": {
        "classical": {}, "vqc": {"model": {"attention": "vqc"}},
        "vqc_noisy": {"model": {"attention": "vqc", "quantum": {"backend": "density"}}, "seeds": [5], "twin": False}}}
    _, runs = expand(spec)
    assert [(r["variant"], r["seed"]) for r in runs] == [
        ("classical", 0), ("classical", 1), ("classical", 2), ("vqc", 0), ("vqc", 1), ("vqc", 2), ("vqc_noisy", 5)]
    runs = add_matched_twins(runs)
    twins = [(r["variant"], r["seed"]) for r in runs if r["variant"].endswith("_twin")]
    assert twins == [("vqc_twin", 0), ("vqc_twin", 1), ("vqc_twin", 2)]     # none for vqc_noisy (twin: false)
    assert all(r["config"]["model"]["attention"] == "classical" for r in runs if r["variant"] == "vqc_twin")


@pytest.mark.parametrize("bad", [[], [0.5], "0"])
def test_bad_variant_seeds_are_named(bad):
    with pytest.raises(ValueError, match="variant 'v': seeds must be a non-empty list of integers"):
        expand({**BASE, "variants": {"v": {"seeds": bad}}})


def _row(variant, seed, summary):
    return {"variant": variant, "seed": seed, "config": {"model": {}}, "summary": {
        "task": "lm", "step_time_s": 0.01, "wall_s": 1.0, "steps": 2, "tokens_seen": 10,
        "params": {"total": 10, "non_embedding": 5, "quantum": 0}, **summary}, "history": []}


def test_char_level_reports_bits_per_char_with_mean_and_std():
    rows = [_row("a", 0, {"test_ppl": 4.0, "test_bits_per_char": 2.0}),
            _row("a", 1, {"test_ppl": 8.0, "test_bits_per_char": 3.0})]
    (t,) = aggregate({"baseline": "a"}, rows)
    assert t["metric"] == "test_bits_per_char" and t["mean"] == 2.5 and abs(t["std"] - 0.5 ** 0.5) < 1e-12
    (t,) = aggregate({"baseline": "a"}, [_row("a", 0, {"test_ppl": 4.0})])
    assert t["metric"] == "test_ppl" and t["std"] is None            # one seed: no spread (the report says n/a)


TINY_RUN = {"data": {"name": "toy_english", "options": {"n_train": 300, "n_valid": 40, "n_test": 40}},
            "model": {**BASE["model"], "attention": "vqc"},
            "train": {"steps": 4, "batch_size": 4, "eval_every": 2, "eval_batches": 1, "test_batches": 1,
                      "warmup": 1, "progress": False}}


def _spec(tmp_path, name="c"):
    import json
    return {**json.loads(json.dumps(TINY_RUN)), "name": name, "out_dir": str(tmp_path), "seeds": [0],
            "variants": {"vqc": {}}, "executor": "serial"}


def _files(d):
    return {p: p.stat().st_mtime_ns for p in sorted(d.rglob("*"))}


@pytest.fixture
def finished(tmp_path):
    from qhybrid.compare import compare

    compare(_spec(tmp_path))
    return tmp_path / "c"


@pytest.mark.parametrize("override, key", [("train.steps=6", r"train.steps 4 \(run\) -> 6 \(requested\)"),
                                           ("model.quantum.n_qubits=3", r"model.quantum.n_qubits 2 \(run\) -> 3")])
def test_changed_config_never_reuses_old_runs(finished, tmp_path, override, key):
    from qhybrid.compare import compare

    before = _files(finished)
    with pytest.raises(ValueError, match=rf"vqc-s0: {key}.*(new comparison name|name=).*delete"):
        compare(_spec(tmp_path), [override])
    assert _files(finished) == before                              # compare.yaml and every run untouched
    compare(_spec(tmp_path), ["train.progress=true"])              # a cosmetic key: still reused
    assert _files(finished)[finished / "runs" / "vqc-s0" / "summary.json"] == before[
        finished / "runs" / "vqc-s0" / "summary.json"]


def test_report_shows_only_runs_matching_compare_yaml(finished):
    import yaml

    from qhybrid.report import write_report

    assert "| vqc |" in write_report(finished)["report"]
    meta = yaml.safe_load((finished / "compare.yaml").read_text())
    meta["runs"][0]["config"]["model"]["quantum"]["n_qubits"] = 3      # compare.yaml says 3, the run has 2
    (finished / "compare.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    out = write_report(finished)
    assert out["rows"] == [] and "| vqc |" not in out["report"]
    assert "vqc-s0 (model.quantum.n_qubits 2 (run) -> 3" in out["report"]


def test_report_names_corrupt_files(finished):
    from qhybrid.report import write_report

    summary = finished / "runs" / "vqc-s0" / "summary.json"
    summary.write_text('{"test_loss": ')
    with pytest.raises(ValueError, match=r"vqc-s0/summary.json"):
        write_report(finished)
    (finished / "compare.yaml").write_text("runs: [")
    with pytest.raises(ValueError, match=r"c/compare.yaml"):
        write_report(finished)


def test_a_sweep_expands_trains_and_reports_grouped_by_its_keys(tmp_path):
    from qhybrid.compare import compare
    spec = {"name": "sw", "out_dir": str(tmp_path), "data": {"name": "toy_english"}, "seeds": [0, 1],
            "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1,
                      "quantum": {"n_qubits": 2, "n_layers": 1}},
            "train": {"steps": 2, "batch_size": 2, "eval_every": 2, "eval_batches": 1, "test_batches": 1,
                      "progress": False, "threads": 1},
            "variants": {"classical": {}, "vqc": {"model": {"ffn": "vqc"}}},
            "sweep": {"keys": {"train.lr": [0.001, 0.01]}, "variants": ["vqc"]}, "timing": {"repeats": 2}}
    result = compare(spec, executor="serial")
    rows = {r["variant"]: r for r in result["rows"]}
    assert set(rows) == {"classical", "vqc[lr=0.001]", "vqc[lr=0.01]"}
    assert rows["vqc[lr=0.01]"]["sweep.train.lr"] == 0.01 and rows["classical"]["sweep.train.lr"] is None
    assert all(r["seeds"] == 2 and r["step_timing"] == "side by side" for r in rows.values())
    assert all(r["step_ms_q25"] <= r["step_ms"] <= r["step_ms_q75"] for r in rows.values())
    assert rows["classical"]["step_ratio"] == 1.0 and rows["vqc[lr=0.01]"]["cpu_s"] > 0
    saved = yaml.safe_load((tmp_path / "sw" / "runs" / "vqc[lr=0.01]-s1" / "config.yaml").read_text())
    assert saved["train"]["lr"] == 0.01 and saved["model"]["ffn"] == "vqc"
    assert (tmp_path / "sw" / "sweep_train_lr.png").exists() and "| lr |" in result["report"].replace("train.", "")
    assert "measured side by side after the runs" in result["report"]


def test_cost_bars_accept_a_quartile_equal_to_the_median(tmp_path):
    """Side-by-side quartiles can equal the median (few repeats); float rounding of the ratios must not turn the
    error bar's length negative (matplotlib refuses that). The medians below are such a case (found by search)."""
    from qhybrid.report import plot_comparison
    base = {"params_total": 10, "mean": 2.0, "std": 0.0, "metric": "test_ppl", "n_qubits": "",
            "embedding": "classical", "attention": "classical", "ffn": "classical"}
    m0, m1 = 76.6136872786848, 26.251833548202747                        # median ms of baseline and variant
    s0, s1 = m0 / 1e3, m1 / 1e3                                           # as report.comparison_table makes them
    table = [{**base, "variant": v, "step_ms": s * 1e3, "step_ratio": s / s0, "step_ms_q25": m,
              "step_ms_q75": m + 1} for v, s, m in (("a", s0, m0), ("b", s1, m1))]
    figures = plot_comparison(tmp_path, {"baseline": "a", "sweep": None}, [{"variant": "a", "history": []}], table)
    assert "cost.png" in figures and (tmp_path / "cost.png").stat().st_size > 1000
