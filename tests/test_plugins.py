"""Bring your own model and data: plug-ins from an installed package train, export and reload.

The package (tests/fixtures/bigmodel_demo_plugin) is installed from a copy, offline, into a
temporary folder that is put on PYTHONPATH of the ``bigmodel`` subprocesses.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from bigmodel_tf.cli import main
from bigmodel_tf.finished_run import RunDir

ROOT = Path(__file__).parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "bigmodel_demo_plugin"
MODEL = "bigmodel_demo_plugin.model:build"
DATA = "bigmodel_demo_plugin.data:load"
QUICK = ["train.epochs=2", "data.synthetic.num_examples=240", "data.synthetic.num_features=5",
         "model.width=8", "evaluation.baselines=[]", "evaluation.interpret=false"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The demo plug-in package, pip-installed (no network, no build isolation)."""
    root = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(FIXTURE, root / "source")  # the build writes next to the source
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    assert (target / "bigmodel_demo_plugin" / "model.py").is_file()
    return target


def bigmodel(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``bigmodel ARGS`` in a fresh process that can import the installed plug-in."""
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", str(ROOT))])}
    return subprocess.run([sys.executable, "-m", "bigmodel_tf.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def last_line(stderr: str) -> str:
    """The last line of stderr: the error the CLI printed."""
    return stderr.strip().splitlines()[-1]


def test_plugin_model_and_data_train_export_and_reload_safely(site, tmp_path, monkeypatch):
    """Both plug-ins train; the SavedModel and the safely reloaded model.keras agree."""
    run_dir = tmp_path / "run"
    proc = bigmodel(site, tmp_path, "train", "--run-dir", str(run_dir),
                    "--set", f"model.name={MODEL}", f"data.name={DATA}", *QUICK)
    assert proc.returncode == 0, proc.stderr[-3000:]
    monkeypatch.syspath_prepend(str(site))
    run = RunDir(run_dir)  # reads config.yaml: imports the plug-in, registering its layer
    assert (run.config.model.name, run.config.data.name) == (MODEL, DATA)
    assert run.metrics["epochs_run"] == 2
    model = run.load_verified_model(compile=False)
    assert type(model.get_layer("feature_scale")).__module__ == "bigmodel_demo_plugin.model"
    x = np.random.default_rng(0).normal(0.0, 3.0, (6, 5)).astype(np.float32)
    export = tmp_path / run.metrics["export_path"]  # relative to the run's working folder
    served = tf.saved_model.load(str(export)).signatures["serving_default"]
    from_export = served(**{model.input.name: tf.constant(x)})["probabilities"].numpy()
    np.testing.assert_allclose(np.asarray(model(x, training=False)), from_export, atol=1e-5)


BROKEN = [
    ("model.name=bigmodel_demo_plugin.missing:build",
     "model.name=bigmodel_demo_plugin.missing:build: cannot import bigmodel_demo_plugin.missing "
     "(No module named 'bigmodel_demo_plugin.missing')"),
    ("model.name=bigmodel_demo_plugin.model:nope",
     "model.name=bigmodel_demo_plugin.model:nope: module bigmodel_demo_plugin.model has no "
     "function nope"),
    ("model.name=bigmodel_demo_plugin.model:wrong_signature",
     "model.name=bigmodel_demo_plugin.model:wrong_signature: expected a function "
     "wrong_signature(model_cfg, spec, keras), got wrong_signature(spec)"),
    ("data.name=bigmodel_demo_plugin.model:wrong_signature",
     "data.name=bigmodel_demo_plugin.model:wrong_signature: expected a function "
     "wrong_signature(data_cfg, seed), got wrong_signature(spec)"),
    ("model.name=not a path", "model.name: expected one of auto, mlp, cnn, resnet, "
     "mobilenetv2, transformer or an importable 'package.module:function', got 'not a path'"),
]


def test_a_broken_plugin_fails_at_once_in_one_line_with_exit_2(site, tmp_path):
    """In a fresh process: the error contract (one line, exit 2, nothing written)."""
    setting, message = BROKEN[1]
    proc = bigmodel(site, tmp_path, "train", "--run-dir", str(tmp_path / "run"), "--set",
                    setting)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == f"bigmodel: error: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("setting", "message"), BROKEN)
def test_a_broken_plugin_path_is_a_config_error(site, tmp_path, monkeypatch, capsys,
                                                setting, message):
    """Import, attribute and signature problems fail when the config is built."""
    monkeypatch.syspath_prepend(str(site))
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set", setting]) == 2
    assert last_line(capsys.readouterr().err) == f"bigmodel: error: {message}"
    assert not (tmp_path / "run").exists()


def test_a_builder_with_the_wrong_output_is_named_before_anything_is_written(
        site, tmp_path, monkeypatch, capsys):
    """The built model is checked against the data spec before the run directory exists."""
    monkeypatch.syspath_prepend(str(site))
    assert main(["train", "--run-dir", str(tmp_path / "run"), "--set",
                 "model.name=bigmodel_demo_plugin.model:wrong_output", f"data.name={DATA}",
                 *QUICK]) == 2
    assert last_line(capsys.readouterr().err) == (
        "bigmodel: error: model.name=bigmodel_demo_plugin.model:wrong_output: the model's "
        "outputs have shapes [(None, 1)], expected one output of shape (None, 3) (one per "
        "class)")
    assert not (tmp_path / "run").exists()


def test_safe_loading_admits_only_the_runs_own_plugin_package():
    """A registered class of the run's plug-in package loads; another package's does not."""
    from bigmodel_tf.errors import ArtifactError
    from bigmodel_tf.loading import check_config

    def layer(package):
        return {"module": f"{package}.model", "class_name": "FeatureScale",
                "registered_name": f"{package}>FeatureScale"}

    check_config(layer("bigmodel_demo_plugin"), "ok", packages=("bigmodel_demo_plugin",))
    for node, packages in ((layer("bigmodel_demo_plugin"), ()),
                           (layer("other"), ("bigmodel_demo_plugin",))):
        with pytest.raises(ArtifactError, match="names the unknown class"):
            check_config(node, "refused", packages=packages)
