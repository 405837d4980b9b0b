"""The Ray executor on a real local Ray instance (started once per test session): the map contract,
the same numbers as the other executors for a comparison, and a killed worker retried and resumed."""
import json
import os
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from qhybrid.compare import compare, run_one  # noqa: E402
from qhybrid.config import run_config_from_dict  # noqa: E402
from qhybrid.executors import RayExecutor  # noqa: E402
from qhybrid.train import Trainer  # noqa: E402

pytestmark = pytest.mark.slow

TINY = {"data": {"name": "toy_english"},
        "model": {"context": 8, "d_model": 8, "n_heads": 2, "n_blocks": 1, "quantum": {"n_qubits": 2, "n_layers": 1}},
        "train": {"steps": 6, "batch_size": 4, "eval_every": 3, "eval_batches": 1, "test_batches": 2,
                  "checkpoint_every": 1, "progress": False, "threads": 1}}


@pytest.fixture(scope="module")
def local_ray():
    """One local instance with this machine's CPUs; test functions travel by value (tests/ is not a package)."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise ValueError("three is bad")
    return x


def test_map_keeps_order_limits_concurrency_and_reraises_task_errors(local_ray):
    assert RayExecutor(workers=1).map(square, range(5)) == [0, 1, 4, 9, 16]
    with pytest.raises(ValueError, match="three is bad"):
        RayExecutor(workers=2).map(fail_on_three, range(5))


def test_a_swept_comparison_on_ray_gives_the_process_executors_numbers(local_ray, tmp_path):
    spec = {**TINY, "name": "cmp", "seeds": [0, 1], "variants": {"classical": {}, "vqc": {"model": {"ffn": "vqc"}}},
            "sweep": {"keys": {"train.lr": [0.001, 0.01]}, "variants": ["vqc"]}, "timing": False}
    serial = compare({**spec, "out_dir": str(tmp_path / "process"), "workers": 2}, executor="process")
    on_ray = compare({**spec, "out_dir": str(tmp_path / "ray"), "workers": 2}, executor="ray")
    key = lambda rows: [(r["variant"], r["mean"], r["std"], r["params_total"]) for r in rows]
    assert key(on_ray["rows"]) == key(serial["rows"]) and len(serial["rows"]) == 3      # classical + 2 swept


def train_then_die_once(args):
    """First attempt: train 2 of the steps (checkpointed), then the worker process dies. Retry: resume."""
    cfg_dict, marker = args
    if not Path(marker).exists():
        Path(marker).write_text("died once")
        Trainer(run_config_from_dict(dict(cfg_dict))).fit(stop_after=2)
        os._exit(1)                                   # the worker is killed: Ray retries the task
    import torch
    ckpt = Path(cfg_dict["out_dir"]) / cfg_dict["name"] / "checkpoint.pt"
    return torch.load(ckpt, weights_only=False)["step"], run_one(cfg_dict)


def test_a_killed_worker_is_retried_and_the_run_resumes_from_its_checkpoint(local_ray, tmp_path):
    cfg = {**TINY, "name": "r", "out_dir": str(tmp_path / "killed")}
    ((start, resumed),) = RayExecutor(workers=1, max_retries=1).map(train_then_die_once, [(cfg, str(tmp_path / "m"))])
    assert (tmp_path / "m").exists() and start == 2                # the retry found the dead attempt's checkpoint
    reference = run_one({**cfg, "out_dir": str(tmp_path / "clean")})
    assert resumed["steps"] == 6 and resumed["test_loss"] == reference["test_loss"]
    history = [json.loads(x) for x in (tmp_path / "killed" / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [3, 6]


def test_ray_tune_asha_stops_weak_trials_of_qhybrid_runs_early(local_ray, tmp_path):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from qhybrid.tune import tune_runs
    base = {**TINY, "name": "search", "out_dir": str(tmp_path / "runs"),
            "train": {**TINY["train"], "steps": 8, "eval_every": 2}}               # 4 evaluations per full trial
    # one trial at a time, good learning rates first: ASHA then judges each later trial against the earlier ones
    grid = tune_runs(base, {"train.lr": tune.grid_search([3e-2, 1e-2, 1e-6])},
                     scheduler=ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2),
                     storage_path=str(tmp_path / "tune"), max_concurrent_trials=1)
    evals = {r.config["point"]["train__lr"]: len(r.metrics_dataframe) for r in grid}
    assert evals[3e-2] == 4 and evals[1e-6] < 4                   # the near-frozen learning rate was stopped early
    assert grid.get_best_result().config["point"]["train__lr"] != 1e-6
    run_dirs = list((tmp_path / "runs" / "search-tune").iterdir())
    assert len(run_dirs) == 3 and all((d / "metrics.jsonl").exists() for d in run_dirs)
