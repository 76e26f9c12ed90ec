"""Learning-rate range test (``bigmodel tune --lr-finder``).

One short sweep over ``tune.lr_finder_steps`` training batches of the configured model,
pipeline and optimizer, with the learning rate growing geometrically from
``tune.lr_finder_min`` to ``tune.lr_finder_max`` (a constant-rate schedule is used so the
rate can be set per batch). Each batch's loss comes from ``train_on_batch`` (which resets
the metrics, so it is that batch's loss, not an epoch's running mean); the curve is
smoothed with an exponential moving average and the sweep stops early once the smoothed
loss exceeds 4x its minimum (divergence). The suggested rate is one tenth of the rate at
the smoothed minimum — the rule of thumb that picks a rate still safely on the falling
part of the curve. Writes ``config.yaml``, ``lr_finder.csv``, ``lr_finder.png`` and
``lr_finder.json`` into a folder that must be new, empty or made by this command (its
ownership marker, bigmodel_tf/io.py); anything else is refused before the sweep.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bigmodel_tf.config import ExperimentConfig, save_config, with_changes
from bigmodel_tf.data import build_dataset, load_splits
from bigmodel_tf.io import atomic_write, check_claimable, claim_dir, write_json
from bigmodel_tf.models import build_model
from bigmodel_tf.training import compile_model
from bigmodel_tf.training.run_dir import RUNS_ROOT
from bigmodel_tf.training.runtime import configure_runtime
from bigmodel_tf.tuning.isolation import isolated_trial

SMOOTHING = 0.9  # weight of the past in the exponential moving average of the loss
DIVERGED = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum
KIND = "tune --lr-finder"  # the owner of its output folders (bigmodel_tf/io.py)


@dataclass
class LRFinderResult:
    """The sweep: rates, raw and smoothed losses, and the suggested rate."""

    out_dir: Path
    learning_rates: list[float]
    losses: list[float]
    smoothed: list[float]
    min_loss_rate: float
    suggested: float


def resolve_lr_finder_dir(data_name: str, model_name: str,
                          run_dir: str | Path | None = None) -> Path:
    """``--run-dir`` if given, else ``runs/lr-finder-<data>-<model>``."""
    return Path(run_dir) if run_dir else RUNS_ROOT / f"lr-finder-{data_name}-{model_name}"


def smooth(losses: list[float], beta: float = SMOOTHING) -> list[float]:
    """Bias-corrected exponential moving average of ``losses``."""
    average, out = 0.0, []
    for step, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta**step))
    return out


def sweep(cfg: ExperimentConfig) -> tuple[list[float], list[float]]:
    """Train one batch per rate of the geometric sweep; (rates, losses) until divergence."""
    t = cfg.tune
    cfg = with_changes(cfg, {"train.schedule": "constant", "train.reduce_on_plateau": False,
                             "train.learning_rate": t.lr_finder_min})
    strategy = configure_runtime(cfg.runtime, cfg.train, cfg.seed)
    splits, replicas = load_splits(cfg), strategy.num_replicas_in_sync
    spec = splits.spec
    with strategy.scope():
        batches = iter(build_dataset(splits, "train", cfg.data, cfg.seed,
                                     cfg.data.batch_size * replicas, replicas=replicas).repeat())
        model = build_model(cfg.model, spec)
        compile_model(model, cfg.train, cfg.runtime, cfg.task, spec.task,
                      steps_per_epoch=t.lr_finder_steps)
    rates = np.geomspace(t.lr_finder_min, t.lr_finder_max, t.lr_finder_steps)
    tried, losses, best = [], [], math.inf
    for rate in rates:
        model.optimizer.learning_rate = float(rate)
        loss = float(model.train_on_batch(*next(batches), return_dict=True)["loss"])
        tried.append(float(rate))
        losses.append(loss)
        current = smooth(losses)[-1]
        best = min(best, current)
        if not math.isfinite(current) or current > DIVERGED * best:
            break
    return tried, losses


def _plot(result: LRFinderResult, path: Path) -> None:
    """Loss against learning rate (log scale), with the suggested rate marked."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.plot(result.learning_rates, result.losses, alpha=0.35, label="batch loss")
    ax.plot(result.learning_rates, result.smoothed, label="smoothed")
    ax.axvline(result.suggested, color="tab:green", linestyle="--",
               label=f"suggested {result.suggested:.2g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss", title="learning-rate range test")
    ax.set_ylim(0, 1.1 * max(result.smoothed[0], result.smoothed[-1]))
    ax.legend()
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=100)
    atomic_write(path, image.getvalue())


def lr_range_test(cfg: ExperimentConfig, out_dir: Path) -> LRFinderResult:
    """Run the sweep, write its CSV, plot and suggestion into ``out_dir``; return them."""
    check_claimable(out_dir, KIND)
    with isolated_trial():
        rates, losses = sweep(cfg)
    smoothed = smooth(losses)
    finite = [i for i, v in enumerate(smoothed) if math.isfinite(v)]
    lowest = min(finite, key=lambda i: smoothed[i])
    result = LRFinderResult(out_dir, rates, losses, smoothed, rates[lowest], rates[lowest] / 10)
    claim_dir(out_dir, KIND)
    save_config(cfg, out_dir / "config.yaml")
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["learning_rate", "loss", "smoothed_loss"])
    writer.writerows(zip(rates, losses, smoothed, strict=True))
    atomic_write(out_dir / "lr_finder.csv", table.getvalue())
    _plot(result, out_dir / "lr_finder.png")
    write_json(out_dir / "lr_finder.json", {
        "suggested_learning_rate": result.suggested, "min_loss_learning_rate": rates[lowest],
        "steps": len(rates), "stopped_early": len(rates) < cfg.tune.lr_finder_steps,
    })
    return result
