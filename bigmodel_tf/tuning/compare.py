"""Side-by-side comparison of search algorithms (``bigmodel tune --compare A,B,...``).

Runs one search per algorithm on the same config, space, budget and seed, each in its own
resumable search directory ``<compare>/<algorithm>/``, then reports for each: the best
objective, the trial (1-based) and the training epochs (summed over the trials up to it)
it took to first reach it, and the same for a common target — the worst of the
algorithms' bests, i.e. the best value every algorithm reached. Writes ``compare.csv``,
``compare.md`` and ``compare.png`` (best objective so far against trials).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from matplotlib.figure import Figure

from bigmodel_tf.config import ExperimentConfig, TuneConfig
from bigmodel_tf.io import atomic_file, atomic_write
from bigmodel_tf.training.run_dir import RUNS_ROOT
from bigmodel_tf.tuning.results import csv_text, markdown_table
from bigmodel_tf.tuning.search import run_search, tune_hash
from bigmodel_tf.tuning.settings import direction


def resolve_compare_dir(cfg: ExperimentConfig, run_dir: str | Path | None = None) -> Path:
    """``--run-dir`` if given, else ``runs/compare-<data>-<model>-<hash>``."""
    if run_dir:
        return Path(run_dir)
    name = f"compare-{cfg.data.name}-{cfg.model.name}"
    return RUNS_ROOT / f"{name}-{tune_hash(cfg, 'algorithm', 'max_trials')}"


def _reach(rows: list[dict], target: float, maximize: bool) -> tuple[int | None, int | None]:
    """(trial number, epochs so far) when the objective first reached ``target``."""
    epochs = 0
    for number, row in enumerate(rows, start=1):
        epochs += row["epochs"] or 0
        value = row["objective"]
        if value is not None and (value >= target if maximize else value <= target):
            return number, epochs
    return None, None


def best_so_far(rows: list[dict], maximize: bool) -> list[float | None]:
    """The best objective after each trial (None until a trial completed)."""
    best, out = None, []
    for row in rows:
        value = row["objective"]
        if value is not None:
            best = value if best is None else (max if maximize else min)(best, value)
        out.append(best)
    return out


def summarize(results: dict[str, list[dict]], maximize: bool) -> list[dict]:
    """One summary row per algorithm (see the module docstring)."""
    bests = {a: best_so_far(rows, maximize)[-1] if rows else None for a, rows in results.items()}
    reached = [b for b in bests.values() if b is not None]
    target = (min if maximize else max)(reached) if reached else None
    summary = []
    for algorithm, rows in results.items():
        best = bests[algorithm]
        trials_best, epochs_best = _reach(rows, best, maximize) if best is not None else (None,) * 2
        trials_target, epochs_target = (_reach(rows, target, maximize) if target is not None
                                        else (None, None))
        summary.append({
            "algorithm": algorithm, "trials": len(rows),
            "epochs": sum(r["epochs"] or 0 for r in rows),
            "best": best, "trials_to_best": trials_best, "epochs_to_best": epochs_best,
            "target": target, "trials_to_target": trials_target,
            "epochs_to_target": epochs_target,
        })
    return summary


def _plot(results: dict[str, list[dict]], tune: TuneConfig, path: Path) -> None:
    """Best objective so far against the trial number, one line per algorithm."""
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for algorithm, rows in results.items():
        curve = [float("nan") if b is None else b
                 for b in best_so_far(rows, direction(tune) == "max")]
        ax.step(range(1, len(rows) + 1), curve, where="post", label=algorithm)
    ax.set(xlabel="trial", ylabel=f"best {tune.objective}", title="search algorithms")
    ax.legend()
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def run_compare(cfg: ExperimentConfig, algorithms: list[str], compare_dir: Path,
                fresh: bool = False) -> list[dict]:
    """Run each algorithm's search, write the side-by-side report, return its rows."""
    results = {}
    for algorithm in algorithms:
        algo_cfg = dataclasses.replace(cfg, tune=dataclasses.replace(cfg.tune,
                                                                     algorithm=algorithm))
        results[algorithm] = run_search(algo_cfg, compare_dir / algorithm, fresh=fresh).rows
    summary = summarize(results, direction(cfg.tune) == "max")
    atomic_write(compare_dir / "compare.csv", csv_text(summary))
    t = cfg.tune
    text = (f"# Search algorithms compared\n\nSame space, seed {cfg.seed}, budget "
            f"{t.max_trials} trials of up to {t.max_epochs} epochs; objective {t.objective} "
            f"({direction(t)}). The target is the best value every algorithm reached.\n\n"
            + markdown_table(summary))
    atomic_write(compare_dir / "compare.md", text)
    _plot(results, t, compare_dir / "compare.png")
    return summary
