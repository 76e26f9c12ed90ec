"""The learning-rate range test on digits: a real sweep, its files and its suggestion."""

import json

from bigmodel_tf.cli import main
from bigmodel_tf.tuning import lr_finder
from bigmodel_tf.tuning.lr_finder import smooth


def test_smoothing_is_bias_corrected():
    assert smooth([2.0, 2.0, 2.0]) == [2.0, 2.0, 2.0]


def test_lr_finder_suggests_a_rate_on_the_falling_part_of_the_curve(tmp_path, capsys):
    out = tmp_path / "lr"
    assert main(["tune", "--lr-finder", "--run-dir", str(out), "--set", "model.name=mlp",
                 "tune.lr_finder_steps=60", "tune.lr_finder_min=1e-5",
                 "tune.lr_finder_max=10"]) == 0
    report = json.loads((out / "lr_finder.json").read_text())
    rows = (out / "lr_finder.csv").read_text().splitlines()
    assert rows[0] == "learning_rate,loss,smoothed_loss" and len(rows) == report["steps"] + 1
    assert report["stopped_early"]  # a rate of 10 makes the loss explode
    smoothed = [float(r.split(",")[2]) for r in rows[1:]]
    assert min(smoothed) < 0.7 * smoothed[0]  # the loss fell before it diverged
    assert 1e-4 < report["suggested_learning_rate"] < 0.1
    assert report["suggested_learning_rate"] == report["min_loss_learning_rate"] / 10
    assert (out / "lr_finder.png").stat().st_size > 0
    assert "suggested learning rate" in capsys.readouterr().out
    assert main(["tune", "--lr-finder", "--run-dir", str(out), "--set", "model.name=mlp",
                 "tune.lr_finder_steps=10"]) == 0  # its own folder: rewritten
    assert json.loads((out / "lr_finder.json").read_text())["steps"] <= 10


def test_a_folder_not_made_by_the_lr_finder_is_refused_before_the_sweep(tmp_path, capsys,
                                                                         monkeypatch):
    def no_sweep(cfg):
        raise AssertionError("the sweep ran before the folder was refused")

    monkeypatch.setattr(lr_finder, "sweep", no_sweep)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("mine")
    assert main(["tune", "--lr-finder", "--run-dir", str(mine), "--set", "model.name=mlp"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"bigmodel: error: {mine}: exists and was not made by bigmodel tune --lr-finder; "
        "choose a new or empty folder")
    assert [p.name for p in mine.iterdir()] == ["config.yaml"]
    assert (mine / "config.yaml").read_text() == "mine"
