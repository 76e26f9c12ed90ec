"""The default model follows the data end to end: the README's csv tour line trains."""

import logging

import pytest
import yaml

from bigmodel_tf.benchmarks.tabular import write_wine_csv
from bigmodel_tf.cli import main
from bigmodel_tf.models.auto import SMALL_TABULAR


@pytest.mark.slow
def test_the_tour_csv_line_trains_the_mlp_and_records_it(tmp_path, monkeypatch, caplog):
    path = write_wine_csv(tmp_path / "my.csv")
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.INFO, logger="bigmodel_tf")
    assert main(["train", "--set", "data.name=csv", f"data.path={path}", "data.label=variety",
                 "train.epochs=2", "evaluation.baselines=[]", "evaluation.interpret=false",
                 "export.enabled=false"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("csv-mlp-")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["model"]["name"] == "mlp"
    assert saved["data"]["batch_size"] == SMALL_TABULAR["data.batch_size"]
    assert saved["train"]["epochs"] == 2  # set on the command line: the recipe keeps it
    assert "preflight info: model.name=auto chose mlp (tabular data with 115 train" in (
        caplog.text)
