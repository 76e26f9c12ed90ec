"""Small tabular data: the default network against the tuned baselines, and the suite's table."""

import statistics

import pytest

from bigmodel_tf.benchmarks.report import markdown
from bigmodel_tf.benchmarks.tabular import default_config, measure_data_set
from bigmodel_tf.config import BENCHMARK_SUITES, BenchmarkConfig, replace
from bigmodel_tf.experiments import run

SEEDS = (0, 1)
MARGIN_EXAMPLES = 1.5  # test examples per split; a split's accuracy moves in whole examples


def test_the_suite_runs_only_when_named():
    assert "tabular_defaults" in BENCHMARK_SUITES
    assert "tabular_defaults" not in BenchmarkConfig().suites


@pytest.mark.slow
@pytest.mark.parametrize("data_set", ["wine", "iris", "breast_cancer"])
def test_the_default_network_is_as_accurate_as_the_best_baseline(data_set, tmp_path):
    """Mean test accuracy over SEEDS at most MARGIN_EXAMPLES test examples below the better
    of logistic regression and the RBF SVM (the best baselines of these sets) per split."""
    network, baseline = [], []
    for seed in SEEDS:
        cfg = replace(default_config(data_set, seed, tmp_path),
                      ["evaluation.baselines=[logistic_regression,svm]"])
        metrics = run(cfg, tmp_path / f"seed{seed}").metrics
        network.append(metrics["test"]["accuracy"])
        baseline.append(max(row["test"]["accuracy"] for row in metrics["baselines"]))
    margin = MARGIN_EXAMPLES / metrics["data"]["split_sizes"]["test"]
    assert statistics.fmean(network) >= statistics.fmean(baseline) - margin


@pytest.mark.slow
def test_the_suite_reports_the_network_beside_the_best_baseline(tmp_path):
    row = measure_data_set("iris", [0], tmp_path)
    assert row["train_examples"] == 97
    assert set(row["baselines"]) == {"logistic regression", "SVM (RBF kernel)",
                                     "random forest", "gradient boosting"}
    best = max(row["baselines"].values(), key=lambda b: b["accuracy"]["mean"])
    assert row["best_baseline"]["accuracy"] == best["accuracy"]
    assert 0.8 < row["network"]["accuracy"]["mean"] <= 1 and row["network"]["accuracy"]["sd"] == 0
    result = {"machine": {"cpu": "x", "cores": 2, "memory_gb": 1, "tensorflow": "t",
                          "keras": "k"}, "load_average_before": [0], "load_average_after": [0],
              "repeats": 1, "command": "c", "targets": {},
              "suites": {"tabular_defaults": {"seeds": [0], "rows": [row]}}}
    text = markdown(result)
    assert "## Tabular defaults (test split; mean ± sd over seeds [0])" in text
    assert f"| iris | 97 | {row['network']['accuracy']['mean']:.3f} ± 0.000 |" in text
