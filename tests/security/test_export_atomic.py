"""Atomic exports: a failure or a kill at any point of an export leaves either the complete
new version (its manifest verifies) or no new version at all; earlier versions are never
touched."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from bigmodel_tf import manifest
from bigmodel_tf.config import config_hash
from bigmodel_tf.export import saved_model
from bigmodel_tf.export.saved_model import export_serving_model
from bigmodel_tf.manifest import verify_folder


def versions(base):
    """The integer version folders TF Serving would load."""
    return sorted(p.name for p in base.iterdir() if p.name.isdigit()) if base.exists() else []


class Crash(Exception):
    """The injected failure."""


@pytest.mark.parametrize("step", ["write_saved_model", "write_warmup_file", "write_manifest",
                                  "publish"])
def test_a_failure_at_any_step_leaves_no_new_version(iris_model, iris_cfg, tmp_path,
                                                     monkeypatch, step):
    model, spec, x = iris_model
    first = export_serving_model(model, spec, tmp_path, "iris", x[:2], config_hash(iris_cfg))
    before = {p: p.stat().st_mtime_ns for p in first.rglob("*")}

    def crash(*args, **kwargs):
        raise Crash(step)

    if step == "publish":
        monkeypatch.setattr(os, "rename", crash)  # publish_version renames
    else:
        monkeypatch.setattr(saved_model, step, crash)
    with pytest.raises(Crash):
        export_serving_model(model, spec, tmp_path, "iris", x[:2], config_hash(iris_cfg))
    assert versions(tmp_path / "iris") == ["1"]
    assert sorted(p.name for p in (tmp_path / "iris").iterdir()) == ["1"]  # no leftovers
    assert {p: p.stat().st_mtime_ns for p in first.rglob("*")} == before
    verify_folder(first)


@pytest.mark.slow
def test_a_killed_export_leaves_the_complete_version_or_none(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        import keras
        from bigmodel_tf.config import config_hash, load_config
        from bigmodel_tf.data import load_splits
        from bigmodel_tf.export import saved_model
        from bigmodel_tf.models import build_model

        cfg = load_config(overrides=["data.name=iris", "model.name=mlp"])
        splits = load_splits(cfg)
        model = build_model(cfg.model, splits.spec)
        write = saved_model.write_manifest

        def write_then_die(folder, hash_, **facts):
            write(folder, hash_, **facts)
            os.kill(os.getpid(), signal.SIGKILL)  # after every file, before the rename

        saved_model.write_manifest = write_then_die
        saved_model.export_serving_model(model, splits.spec, {str(tmp_path)!r}, "iris",
                                         splits.test.x[:2], config_hash(cfg))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    base = tmp_path / "iris"
    assert versions(base) == []  # TF Serving sees nothing
    (leftover,) = [p for p in base.iterdir()]
    assert leftover.name.startswith(".tmp-")  # hidden; TF Serving ignores it
    assert os.listdir(leftover)


def test_manifest_is_written_inside_the_version_before_it_is_published(iris_model, iris_cfg,
                                                                       tmp_path, monkeypatch):
    model, spec, x = iris_model
    seen = []
    rename = os.rename

    def spy(source, target):
        seen.append((manifest.MANIFEST in os.listdir(source), versions(tmp_path / "iris")))
        rename(source, target)

    monkeypatch.setattr(os, "rename", spy)
    version = export_serving_model(model, spec, tmp_path, "iris", x[:2], config_hash(iris_cfg))
    assert seen == [(True, [])]
    verify_folder(version)
