"""`bigmodel compress`: wired into the CLI, and its errors follow the one-line contract."""

import sys

from bigmodel_tf.cli import build_parser, main
from bigmodel_tf.config import ExperimentConfig, save_config
from bigmodel_tf.finished_run import RunDir


def last_error_line(capsys) -> str:
    """The last stderr line, checked to be the CLI's one-line error."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("bigmodel: error: ")
    return last


def test_compress_is_built():
    """The subcommand exists with --run and --set."""
    args = build_parser().parse_args(["compress", "--run", "r", "--set", "compression.qat=true"])
    assert args.run == "r" and args.overrides == ["compression.qat=true"]


def test_missing_run_directory(tmp_path, capsys):
    """A missing folder is refused before any work."""
    assert main(["compress", "--run", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: not found" in last_error_line(capsys)


def test_only_compression_and_export_keys(tmp_path, capsys):
    """The run fixes model and data: other --set keys are refused with the reason."""
    save_config(ExperimentConfig(), tmp_path / "config.yaml")
    assert main(["compress", "--run", str(tmp_path), "--set", "data.name=wine"]) == 2
    assert "compression.* and export.* keys only" in last_error_line(capsys)


def test_bad_compression_value(tmp_path, capsys):
    """A malformed compression key names the key and what is expected."""
    save_config(ExperimentConfig(), tmp_path / "config.yaml")
    assert main(["compress", "--run", str(tmp_path), "--set", "compression.m_by_n=4:2"]) == 2
    assert "compression.m_by_n: expected 'M:N'" in last_error_line(capsys)


def test_unfinished_run_leaves_nothing_behind(tmp_path, capsys):
    """A run without metrics.json (unfinished): one line, exit 2, no output folders."""
    run = tmp_path / "run"
    run.mkdir()
    save_config(ExperimentConfig(), run / "config.yaml")
    exports = tmp_path / "saved_models"
    assert main(["compress", "--run", str(run), "--set", f"export.dir={exports}"]) == 2
    assert "metrics.json: missing (expected the metrics" in last_error_line(capsys)
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
    assert not exports.exists()


def test_a_missing_compress_extra_says_which_to_install(tmp_path, capsys, monkeypatch):
    """Without TF-MOT, tf_keras or LiteRT: one line naming the [compress] extra, exit 2."""
    save_config(ExperimentConfig(), tmp_path / "config.yaml")
    monkeypatch.setattr(RunDir, "check_finished", lambda self: None)  # a finished run
    for name in ("tensorflow_model_optimization", "ai_edge_litert"):
        monkeypatch.setitem(sys.modules, name, None)  # what an absent package finds
    assert main(["compress", "--run", str(tmp_path)]) == 2
    assert last_error_line(capsys) == (
        "bigmodel: error: bigmodel compress needs tensorflow_model_optimization, "
        'ai_edge_litert (the [compress] extra): pip install "bigmodel_tf[compress]"')
