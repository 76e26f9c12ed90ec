"""The strategy doctor, the strategy choice and TPU resolution, without creating strategies.

Strategies and TPUs cannot be created freely in a test process (devices are fixed once
TensorFlow starts; there is no TPU here), so these tests check the decisions: which
strategy the environment selects, how many replicas, what the preflight reports, and
how TPUClusterResolver is called (with TensorFlow's TPU functions replaced by fakes).
"""

import json
import os

import pytest
import tensorflow as tf

from bigmodel_tf.cli import main
from bigmodel_tf.config import load_config
from bigmodel_tf.errors import ConfigError
from bigmodel_tf.training import doctor, optim, runtime

TF_CONFIG = json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                        "task": {"type": "worker", "index": 1}})


def findings(overrides=(), kind="default", replicas=1, examples=1000, flags=("avx512_bf16",),
             capabilities=(), files=0, cache_bytes=0):
    """Preflight findings as one text per line, for a config with ``overrides``."""
    cfg = load_config(None, list(overrides))
    return [f"{level} {text}" for level, text in doctor.preflight(
        cfg.data, cfg.train, cfg.runtime, kind, replicas, examples, flags=set(flags),
        capabilities=list(capabilities), train_files=files, cache_bytes=cache_bytes)]


@pytest.mark.parametrize(
    ("env", "gpus", "overrides", "kind"),
    [
        ({"TPU_NAME": "my-tpu", "TF_CONFIG": TF_CONFIG}, 0, [], "TPUStrategy"),
        ({"TF_CONFIG": TF_CONFIG}, 2, [], "MultiWorkerMirroredStrategy"),
        ({}, 2, [], "MirroredStrategy"),
        ({}, 0, ["runtime.logical_cpus=4"], "MirroredStrategy"),
        ({}, 1, [], "default"),
    ],
)
def test_strategy_follows_the_environment(env, gpus, overrides, kind):
    assert runtime.strategy_kind(load_config(None, overrides).runtime, env, gpus) == kind


def test_planned_replicas(monkeypatch):
    section = load_config(None, ["runtime.logical_cpus=4"]).runtime
    assert doctor.planned_replicas(section, "MirroredStrategy", 0) == 4
    assert doctor.planned_replicas(section, "MirroredStrategy", 8) == 8
    assert doctor.planned_replicas(section, "TPUStrategy", 0) is None
    monkeypatch.setenv("TF_CONFIG", TF_CONFIG)
    assert doctor.planned_replicas(section, "MultiWorkerMirroredStrategy", 0) == 2


def test_preflight_reports_batch_rate_and_sharding():
    lines = findings(["data.batch_size=32", "runtime.lr_scaling=linear"],
                     kind="MirroredStrategy", replicas=4, examples=1000)
    assert any("32 per replica x 4 replica(s) = global batch 128; 8 steps" in ln for ln in lines)
    assert any("linear scaling for 4 replica(s): 0.001 -> 0.004" in ln for ln in lines)
    assert any("OFF (data.name=digits)" in ln for ln in lines)


def test_sqrt_scaling():
    cfg = load_config(None, ["runtime.lr_scaling=sqrt", "train.learning_rate=0.01"])
    assert optim.scaled_learning_rate(cfg.train.learning_rate, cfg.runtime.lr_scaling,
                                      4) == pytest.approx(0.02)


def test_a_short_last_batch_on_several_replicas_is_topped_up_not_a_warning():
    # 1025 = 8 * 128 + 1: the last batch would leave three replicas empty; it is topped up.
    lines = findings(["data.batch_size=32"], kind="MirroredStrategy", replicas=4,
                     examples=1025)
    assert not any(ln.startswith("warn") for ln in lines)
    assert any(ln.startswith("info the last train batch is topped up with 127 repeated")
               for ln in lines)
    assert not any("topped up" in ln for ln in findings(
        ["data.batch_size=32"], kind="MirroredStrategy", replicas=4, examples=1024))


@pytest.mark.parametrize(
    ("overrides", "flags", "capabilities", "expected"),
    [
        (["runtime.mixed_precision=mixed_float16"], ("avx512_fp16",), (),
         "warn mixed_float16 on a CPU"),
        (["runtime.mixed_precision=mixed_bfloat16"], (), (), "warn mixed_bfloat16 on a CPU "
         "without"),
        (["runtime.mixed_precision=mixed_bfloat16"], ("amx_bf16",), (), "ok precision "
         "mixed_bfloat16 on CPU (amx_bf16)"),
        ([], ("avx512_bf16",), (), "info precision float32 on CPU (avx512_bf16); "
         "mixed_bfloat16 would"),
        (["runtime.mixed_precision=mixed_float16"], (), ((6, 1),), "warn mixed_float16 on "
         "GPU(s) of compute capability (6, 1)"),
        (["runtime.mixed_precision=mixed_bfloat16"], (), ((8, 0),), "ok precision"),
    ],
)
def test_precision_support_of_the_devices(overrides, flags, capabilities, expected):
    lines = findings(overrides, flags=flags, capabilities=capabilities)
    assert any(ln.startswith(expected) for ln in lines), lines


def test_known_traps(monkeypatch):
    lines = findings(["data.imbalance.class_weight=balanced", "runtime.logical_cpus=64"],
                     kind="MirroredStrategy", replicas=64)
    assert any(ln.startswith("ok class weights are per-example sample weights") for ln in lines)
    assert any("64 logical CPU devices on" in ln for ln in lines)
    monkeypatch.setenv("TF_CONFIG", TF_CONFIG)
    lines = findings(["runtime.logical_cpus=2", "runtime.steps_per_execution=4",
                      "runtime.jit_compile=true", "train.gradient_accumulation_steps=2"],
                     kind="MultiWorkerMirroredStrategy", replicas=2)
    assert any("this process is worker-1 of 2" in ln for ln in lines)
    for fragment in ("logical_cpus is ignored", "steps_per_execution is ignored",
                     "jit_compile=true: XLA cannot", "gradient_accumulation_steps=2: Keras 3"):
        assert any(ln.startswith("warn") and fragment in ln for ln in lines), fragment


def test_unsupported_combinations_stop_before_training():
    cfg = load_config(None, ["train.gradient_accumulation_steps=4", "runtime.jit_compile=true"])
    sections = (cfg.train, cfg.runtime)
    assert runtime.unsupported(*sections, "default", 1) == []
    assert len(runtime.unsupported(*sections, "MultiWorkerMirroredStrategy", 2)) == 2
    assert "train.gradient_accumulation_steps=4" in runtime.unsupported(
        *sections, "MirroredStrategy", 2)[0]


def test_tfrecord_data_is_sharded_by_file_across_workers(tmp_path, monkeypatch):
    assert main(["data", "convert", "--out", str(tmp_path / "rec"),
                 "--set", "data.shards=2"]) == 0
    records = ["data.name=tfrecord", f"data.path={tmp_path / 'rec'}"]
    monkeypatch.setenv("TF_CONFIG", TF_CONFIG)
    found = [f"{level} {text}" for level, text in doctor.doctor(load_config(None, records))]
    assert any("2 input pipeline(s): FILE" in ln for ln in found)
    assert any("2 input pipeline(s): DATA (data.name=digits)" in ln for ln in findings())


def test_a_memory_cache_that_would_not_fit_is_a_warning():
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert any("data.cache=memory would hold" in ln and ln.startswith("warn")
               for ln in findings(cache_bytes=total))
    assert not any("data.cache=memory" in ln for ln in findings(cache_bytes=total // 4))
    assert not any("data.cache=memory" in ln
                   for ln in findings(["data.cache=none"], cache_bytes=total))


def test_tpu_resolver_arguments():
    assert runtime.tpu_resolver_args({"TPU_NAME": "grpc://10.0.0.2:8470", "TPU_ZONE": "z",
                                      "TPU_PROJECT": "p"}) == {
        "tpu": "grpc://10.0.0.2:8470", "zone": "z", "project": "p"}
    assert runtime.tpu_resolver_args({"TPU_NAME": "local"}) == {
        "tpu": "local", "zone": None, "project": None}
    with pytest.raises(ConfigError, match="TPU_NAME"):
        runtime.tpu_resolver_args({"TPU_NAME": " "})


@pytest.fixture
def fake_tpu(monkeypatch):
    """TensorFlow's TPU entry points replaced by recorders; returns the call log."""
    calls = []

    class Resolver:
        def __init__(self, **kwargs):
            calls.append(("resolver", kwargs))

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", Resolver)
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster",
                        lambda r: calls.append(("connect", type(r).__name__)))
    monkeypatch.setattr(tf.tpu.experimental, "initialize_tpu_system",
                        lambda r: calls.append(("initialize", type(r).__name__)))
    monkeypatch.setattr(tf.distribute, "TPUStrategy",
                        lambda r: calls.append(("strategy", type(r).__name__)) or "tpu")
    return calls


def test_a_remote_tpu_is_resolved_connected_and_initialized(fake_tpu, monkeypatch):
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    monkeypatch.setenv("TPU_ZONE", "us-central1-b")
    assert runtime.choose_strategy(load_config().runtime) == "tpu"
    assert fake_tpu == [
        ("resolver", {"tpu": "my-tpu", "zone": "us-central1-b", "project": None}),
        ("connect", "Resolver"), ("initialize", "Resolver"), ("strategy", "Resolver")]


def test_a_tpu_vm_is_not_connected_to_a_remote_cluster(fake_tpu, monkeypatch):
    monkeypatch.setenv("TPU_NAME", "local")
    runtime.choose_strategy(load_config().runtime)
    assert [call[0] for call in fake_tpu] == ["resolver", "initialize", "strategy"]


def test_an_unreachable_tpu_is_a_clear_error(monkeypatch):
    def unreachable(resolver):
        raise tf.errors.NotFoundError(None, None, "No TPU devices found")

    monkeypatch.setenv("TPU_NAME", "grpc://10.0.0.2:8470")
    monkeypatch.setattr(tf.config, "experimental_connect_to_cluster", unreachable)
    with pytest.raises(ConfigError, match=r"TPU_NAME=grpc://10.0.0.2:8470: cannot reach the "
                                          r"TPU \(No TPU devices found\)"):
        runtime.choose_strategy(load_config().runtime)


def test_bigmodel_doctor_prints_the_preflight_and_memory(capsys):
    assert main(["doctor", "--memory", "--budget-gb", "1", "--set", "model.name=mlp"]) == 0
    out = capsys.readouterr().out
    for fragment in ("strategy: default with 1 replica(s)", "learning rate: none scaling",
                     "parameters:", "optimizer state:", "activations (float32):",
                     "of a 1.0 GiB budget", "largest batch that fits the budget"):
        assert fragment in out, fragment
