"""Safe loading: only .keras files, after their manifest and content are checked, with
safe_mode=True; a Lambda layer, an unknown class or a legacy .h5 file is refused with no
side effect (no code runs, no module is imported, nothing is written)."""

import json
import sys
import zipfile

import keras
import numpy as np
import pytest

from bigmodel_tf.config import config_hash
from bigmodel_tf.errors import ArtifactError
from bigmodel_tf.loading import check_config, load_keras_model
from bigmodel_tf.manifest import write_manifest


def save_with_manifest(model, folder, cfg=None):
    """model.keras plus its manifest in ``folder``; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.keras"
    model.save(path)
    write_manifest(folder, config_hash(cfg) if cfg else None, ["model.keras"])
    return path


def test_a_keras_file_with_its_manifest_loads_and_predicts_the_same(iris_model, iris_cfg,
                                                                   tmp_path):
    model, _, x = iris_model
    loaded = load_keras_model(save_with_manifest(model, tmp_path, iris_cfg))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_a_lambda_layer_is_refused_before_its_code_can_run(tmp_path):
    marker = tmp_path / "lambda-ran"
    inputs = keras.Input((4,))

    def payload(x):  # would write the marker whenever Keras called it
        marker.write_text("ran")
        return x * 2

    model = keras.Model(inputs, keras.layers.Lambda(payload)(inputs))
    marker.unlink()  # building the model called it once
    path = save_with_manifest(model, tmp_path / "lambda")
    with pytest.raises(ArtifactError, match="Lambda layer"):
        load_keras_model(path)
    assert not marker.exists()


def rewrite_config(path, change):
    """Rewrite config.json inside a .keras archive with ``change(config)`` applied."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_an_unknown_class_is_refused_without_importing_its_module(iris_model, tmp_path,
                                                                 monkeypatch):
    model, _, _ = iris_model
    marker = tmp_path / "imported"
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "evil_layers_xyz.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n"
    )
    monkeypatch.syspath_prepend(str(plugin))

    def to_unknown(config):
        layer = config["config"]["layers"][-1]
        layer.update(module="evil_layers_xyz", class_name="Payload",
                     registered_name="evil>Payload")

    folder = tmp_path / "unknown"
    path = save_with_manifest(model, folder)
    rewrite_config(path, to_unknown)
    write_manifest(folder, None, ["model.keras"])  # a consistent manifest: content decides
    with pytest.raises(ArtifactError, match="unknown class evil_layers_xyz.Payload"):
        load_keras_model(path)
    assert not marker.exists() and "evil_layers_xyz" not in sys.modules


def test_the_config_check_alone_refuses_what_keras_would_be_asked_to_resolve():
    check_config({"module": "keras.layers", "class_name": "Dense"}, "ok")
    check_config({"module": "bigmodel_tf.models.layers", "class_name": "LearnedEmbedding",
                  "registered_name": "bigmodel_tf>LearnedEmbedding"}, "ok")
    refused = [
        {"module": "keras.layers", "class_name": "Lambda"},
        {"module": "os", "class_name": "system"},
        {"module": "builtins", "class_name": "__lambda__"},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense"},
        {"layers": [{"config": {"inner": {"module": "numpy", "class_name": "load"}}}]},
    ]
    for config in refused:
        with pytest.raises(ArtifactError):
            check_config(config, "probe")


def test_legacy_h5_and_other_formats_are_refused(iris_model, tmp_path):
    model, _, _ = iris_model
    model.save(tmp_path / "model.h5")  # the legacy full-model format
    with pytest.raises(ArtifactError, match="only the .keras format"):
        load_keras_model(tmp_path / "model.h5", verify=False)
    disguised = tmp_path / "disguised.keras"
    disguised.write_bytes((tmp_path / "model.h5").read_bytes())
    with pytest.raises(ArtifactError, match="not a .keras archive"):
        load_keras_model(disguised, verify=False)
    with pytest.raises(ArtifactError, match="only the .keras format"):
        load_keras_model(tmp_path, verify=False)  # a folder (SavedModel)
