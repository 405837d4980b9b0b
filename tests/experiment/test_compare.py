"""qhybrid.compare: spec expansion (per-variant seeds, twins), twins' seeds, metric choice."""
import pytest

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
    assert t["metric"] == "test_ppl" and t["std"] == 0.0
