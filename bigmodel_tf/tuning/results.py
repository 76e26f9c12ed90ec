"""Search results: the trial table (CSV and Markdown), the objective plot, the best config.

Reads the oracle's trials (on the chief or a local search, which hold them all) and writes
into the search directory, each file to a temporary name first and then renamed:
``results.csv`` and ``results.md`` (trial, status, hyperparameters, objective, epochs,
seconds; the evolution's generation and per-generation summary), ``objective.png`` (each
trial's objective and the best so far) and ``best_config.yaml`` (the search config with
the best trial's values, ready for ``bigmodel train --config``).
"""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

from keras_tuner.engine.trial import TrialStatus
from matplotlib.figure import Figure

from bigmodel_tf.config import ExperimentConfig, TuneConfig, save_config, with_changes
from bigmodel_tf.io import atomic_file, atomic_write
from bigmodel_tf.tuning.settings import direction
from bigmodel_tf.tuning.tuner import trial_changes


def _metric(trial, name: str):
    """The trial's last reported value of ``name`` (None if never reported)."""
    return trial.metrics.get_last_value(name) if trial.metrics.exists(name) else None


def trial_rows(space: dict, oracle) -> list[dict]:
    """One row per trial, in creation order, with a column per key of ``space``."""
    generations = getattr(oracle, "generation_of", None)
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        values = trial.hyperparameters.values
        row = {"trial": trial_id, "status": trial.status}
        if generations is not None:
            row["generation"] = generations.get(trial_id)
        row.update({key: values.get(key) for key in space})
        epochs = _metric(trial, "epochs")
        seconds = _metric(trial, "seconds")
        row.update({
            "objective": (float(trial.score) if trial.status == TrialStatus.COMPLETED
                          else None),
            "epochs": None if epochs is None else int(epochs),
            "seconds": None if seconds is None else round(float(seconds), 1),
            "values": values,
        })
        rows.append(row)
    return rows


def best_row(tune: TuneConfig, rows: list[dict]) -> dict | None:
    """The completed row with the best objective (the first of equals)."""
    done = [r for r in rows if r["objective"] is not None]
    if not done:
        return None
    pick = max if direction(tune) == "max" else min
    return pick(done, key=lambda r: r["objective"])


def _table(rows: list[dict]) -> list[dict]:
    """Rows without the raw values mapping (the table's columns)."""
    return [{k: v for k, v in row.items() if k != "values"} for row in rows]


def csv_text(rows: list[dict]) -> str:
    """The rows as CSV text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _cell(value) -> str:
    """A Markdown table cell."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown_table(rows: list[dict]) -> str:
    """A Markdown table of plain dict rows (all with the same keys)."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def generation_summary(rows: list[dict], maximize: bool) -> list[dict]:
    """Evolution: best and mean objective of each generation's completed trials."""
    summary = []
    for generation in sorted({r["generation"] for r in rows if r.get("generation") is not None}):
        scores = [r["objective"] for r in rows
                  if r.get("generation") == generation and r["objective"] is not None]
        summary.append({
            "generation": generation, "trials": len(scores),
            "best": (max if maximize else min)(scores) if scores else None,
            "mean": statistics.fmean(scores) if scores else None,
        })
    return summary


def _markdown(t: TuneConfig, rows: list[dict], best: dict | None) -> str:
    """results.md: the settings, the best trial and the table."""
    text = [f"# Search: {t.algorithm}\n",
            f"Objective: {t.objective} ({direction(t)}), {len(rows)} trials "
            f"(budget {t.max_trials}), up to {t.max_epochs} epochs per trial.\n"]
    if best:
        text.append(f"Best: trial {best['trial']}, {t.objective} = {best['objective']:.4f}; "
                    "its config is best_config.yaml.\n")
    text.append(markdown_table(_table(rows)))
    generations = generation_summary(rows, direction(t) == "max")
    if generations:
        text += ["\n## Generations\n", markdown_table(generations)]
    return "\n".join(text)


def plot_objective(tune: TuneConfig, rows: list[dict], path: Path) -> None:
    """Each trial's objective and the best so far, against the trial number."""
    pick = max if direction(tune) == "max" else min
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    xs, ys, best, best_so_far = [], [], None, []
    for number, row in enumerate(rows, start=1):
        if row["objective"] is not None:
            xs.append(number)
            ys.append(row["objective"])
            best = row["objective"] if best is None else pick(best, row["objective"])
        best_so_far.append(best)
    ax.plot(xs, ys, "o", label="trial")
    ax.step(range(1, len(rows) + 1), [float("nan") if b is None else b for b in best_so_far],
            where="post", label="best so far")
    ax.set(xlabel="trial", ylabel=tune.objective, title=f"{tune.algorithm} search")
    ax.legend()
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def write_results(cfg: ExperimentConfig, search_dir: Path, oracle) -> list[dict]:
    """Write results.csv, results.md, objective.png and best_config.yaml; return the rows."""
    rows = trial_rows(cfg.tune.space, oracle)
    if not rows:
        return rows
    best = best_row(cfg.tune, rows)
    atomic_write(search_dir / "results.csv", csv_text(_table(rows)))
    atomic_write(search_dir / "results.md", _markdown(cfg.tune, rows, best))
    plot_objective(cfg.tune, rows, search_dir / "objective.png")
    if best:
        save_config(best_config(cfg, best["values"]), search_dir / "best_config.yaml")
    return rows


def best_config(cfg: ExperimentConfig, values: dict) -> ExperimentConfig:
    """The search config with a trial's values and epochs (export settings kept)."""
    return with_changes(cfg, trial_changes(cfg.tune, values))
