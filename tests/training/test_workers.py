"""TF_CONFIG roles, the worker directories and the launcher's helpers (no TensorFlow run)."""

import json
import shlex
from pathlib import Path

import pytest

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.experiments.workers import for_this_worker
from bigmodel_tf.training import launcher, workers
from bigmodel_tf.training.run_dir import run_state


def tf_config(index, task="worker", chief=False):
    cluster = {"worker": ["h1:1", "h2:2"], **({"chief": ["h0:0"]} if chief else {})}
    return {"TF_CONFIG": json.dumps({"cluster": cluster,
                                     "task": {"type": task, "index": index}})}


def test_roles_from_tf_config():
    assert workers.worker_role({}) is None
    assert workers.worker_role(tf_config(0)) == workers.WorkerRole("worker", 0, 2, True)
    assert not workers.worker_role(tf_config(1)).is_chief
    # With a chief job, worker 0 is an ordinary worker.
    assert not workers.worker_role(tf_config(0, chief=True)).is_chief
    chief = workers.worker_role(tf_config(0, task="chief", chief=True))
    assert chief.is_chief and chief.name == "chief" and chief.num_workers == 3


@pytest.mark.parametrize("text", ["{", '{"cluster": {}}', '{"cluster": {"worker": []}, '
                                  '"task": {"type": "worker", "index": 0}}'])
def test_a_malformed_tf_config_is_a_config_error(text):
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        workers.worker_role({"TF_CONFIG": text})


def test_non_chief_workers_write_apart_and_do_not_export(tmp_path, monkeypatch):
    cfg = load_config()
    assert for_this_worker(cfg, tmp_path) == (cfg, tmp_path)
    monkeypatch.setenv("TF_CONFIG", tf_config(1)["TF_CONFIG"])
    worker_cfg, worker_dir = for_this_worker(cfg, tmp_path)
    assert worker_dir == tmp_path / "workers" / "worker-1"
    assert not worker_cfg.export.enabled and worker_cfg.evaluation.baselines == []
    assert workers.chief_run_dir(worker_dir) == tmp_path
    monkeypatch.setenv("TF_CONFIG", tf_config(0)["TF_CONFIG"])
    assert for_this_worker(cfg, tmp_path) == (cfg, tmp_path)
    with pytest.raises(ConfigError, match="train.cv_folds"):
        for_this_worker(load_config(None, ["train.cv_folds=3"]), tmp_path)


def test_a_worker_mirrors_a_chief_that_already_finished(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config(1)["TF_CONFIG"])
    own = tmp_path / "workers" / "worker-1"
    own.mkdir(parents=True)
    (own / "config.yaml").write_text("seed: 42\n")
    (tmp_path / "metrics.json").write_text('{"test": {}}')
    for_this_worker(load_config(), tmp_path)
    assert (own / "metrics.json").read_text() == '{"test": {}}'


def test_the_workers_folder_alone_does_not_make_a_run(tmp_path):
    (tmp_path / "workers").mkdir()
    assert run_state(load_config(), tmp_path) == "new"


def test_free_ports_and_tf_config():
    ports = launcher.free_ports(3)
    assert len(set(ports)) == 3
    config = json.loads(launcher.tf_config(["a:1", "b:2"], 1))
    assert config == {"cluster": {"worker": ["a:1", "b:2"]},
                      "task": {"type": "worker", "index": 1}}


@pytest.mark.parametrize("hosts", ["", "nohost", "a:1,b:x"])
def test_bad_cluster_hosts(hosts):
    with pytest.raises(ConfigError, match="--cluster"):
        launcher.parse_hosts(hosts)


def test_cluster_commands_one_per_host(capsys):
    assert main(["train", "--cluster", "h1:2222,h2:2222", "--run-dir", "/shared/run",
                 "--set", "train.epochs=3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    commands = [ln for ln in lines if not ln.startswith("#")]
    assert len(commands) == 2 and "# on h1:2222 (worker 0, the chief" in lines[0]
    for index, command in enumerate(commands):
        assignment, *argv = shlex.split(command)
        name, _, value = assignment.partition("=")
        assert name == "TF_CONFIG"
        assert json.loads(value)["task"] == {"type": "worker", "index": index}
        assert argv == ["bigmodel", "train", "--run-dir", "/shared/run", "--set",
                        "train.epochs=3"]


def test_worker_count_is_checked(capsys, tmp_path):
    assert main(["train", "--workers", "0", "--run-dir", str(tmp_path / "r")]) == 2
    assert "--workers: expected 1 to 64" in capsys.readouterr().err


def test_launching_inside_a_cluster_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_CONFIG", tf_config(0)["TF_CONFIG"])
    with pytest.raises(ConfigError, match="TF_CONFIG is already set"):
        launcher.launch_local([], 2, Path(tmp_path))
