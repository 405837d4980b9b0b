"""Early-stopping searches with Ray Tune (ASHA, HyperBand, PBT ...) over qhybrid runs.

qhybrid's own `sweep:` block (sweep.py) trains every point to the end, with seeds and matched twins,
into one comparison report: the tool for a study whose every point you will quote. When weak points
should stop early to spend the budget on good ones, Ray Tune's schedulers do that; `tune_runs` hands
them qhybrid runs:

    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from qhybrid.tune import tune_runs
    grid = tune_runs(base, {"train.lr": tune.loguniform(1e-4, 1e-2), "model.quantum.n_qubits": tune.choice([2, 4])},
                     num_samples=8, scheduler=ASHAScheduler(grace_period=1))
    grid.get_best_result().config["point"]        # {"train.lr": ..., "model.quantum.n_qubits": ...}

`base` is a run config dict; each trial is one qhybrid run (<out_dir>/<name>-tune/<trial id>/) trained by
the Trainer, which reports every evaluation record to Tune (metric `val_loss`, mode `min` by default), so
the scheduler's time unit is one evaluation (train.eval_every steps). Needs the `ray` extra (Tune is
part of it).
"""
from __future__ import annotations

import copy
from pathlib import Path

from ._optional import require
from .config import run_config_from_dict
from .sweep import with_point

_SEP = "__"                       # dotted keys travel as train__lr: Tune reads '/' and '.' in keys itself


def run_trial(config: dict) -> None:
    """One Tune trial: the base run config with the trial's point merged in, trained, every evaluation reported."""
    tune = require("ray.tune")
    from .train import Trainer

    cfg = with_point(copy.deepcopy(config["base"]), {k.replace(_SEP, "."): v for k, v in config["point"].items()})
    trial = tune.get_context().get_trial_id() or "trial"
    cfg["name"] = trial
    cfg["out_dir"] = str(Path(config["base"]["out_dir"]) / f"{config['base'].get('name', 'run')}-tune")
    cfg.setdefault("train", {})["progress"] = False
    trainer = Trainer(run_config_from_dict(cfg))
    trainer.fit(resume=trainer.checkpoint_path.exists(),              # a retried trial continues its run
                on_eval=lambda rec: tune.report(dict(rec)))


def tune_runs(base: dict, param_space: dict, num_samples: int = 1, scheduler=None, metric: str = "val_loss",
              mode: str = "min", storage_path: str | None = None, cpus_per_trial: float = 1,
              max_concurrent_trials: int | None = None):
    """A Ray Tune search over qhybrid runs; returns Tune's ResultGrid (trial configs under config["point"])."""
    ray = require("ray")
    tune = require("ray.tune")
    run_config_from_dict(copy.deepcopy(base))                  # a bad base config fails here, not in every trial
    base = {**base, "out_dir": str(Path(base.get("out_dir", "runs")).resolve())}   # trials run in other folders
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    space = {"base": base, "point": {k.replace(".", _SEP): v for k, v in param_space.items()}}
    trainable = tune.with_resources(run_trial, {"cpu": cpus_per_trial})
    tuner = tune.Tuner(trainable, param_space=space,
                       tune_config=tune.TuneConfig(metric=metric, mode=mode, scheduler=scheduler,
                                                   num_samples=num_samples,
                                                   max_concurrent_trials=max_concurrent_trials),
                       run_config=tune.RunConfig(storage_path=storage_path, verbose=0))
    return tuner.fit()
