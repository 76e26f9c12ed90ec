"""The typed experiment config: load YAML, apply ``--set`` overrides, validate, save.

One ``ExperimentConfig`` drives every stage. It is built from the defaults below, a YAML
file (presets in configs/ list only what differs from the defaults) and dotted
``--set key=value`` overrides; every key, type, range and cross-field rule is checked
before any work starts, and a violation is a ``ConfigError`` naming the key and what is
allowed. The resolved config is saved with each run (plus library versions) so that
``bigmodel train --config runs/X/config.yaml`` reproduces the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import platform
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from bigmodel_tf.errors import ConfigError


def _range(lo: float | None = None, hi: float | None = None, **extra: Any) -> dict:
    """Field metadata giving an inclusive numeric range (and optional extra rules)."""
    return {"min": lo, "max": hi, **extra}


@dataclass
class AugmentConfig:
    """Image augmentation with Keras preprocessing layers, applied to the train split only."""

    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"
    rotation: float = field(default=0.0, metadata=_range(0.0, 0.5))  # fraction of 2*pi
    zoom: float = field(default=0.0, metadata=_range(0.0, 0.9))  # fraction of the size
    translation: float = field(default=0.0, metadata=_range(0.0, 0.9))  # fraction of size
    contrast: float = field(default=0.0, metadata=_range(0.0, 1.0))


@dataclass
class ImbalanceConfig:
    """Class-imbalance handling: per-example class weights and/or resampling of the train split."""

    class_weight: Literal["none", "balanced"] = "none"
    resample: Literal["none", "oversample", "undersample", "smote"] = "none"


@dataclass
class SyntheticConfig:
    """Size and shape of the generated synthetic_images / synthetic_tabular data sets."""

    num_examples: int = field(default=2000, metadata=_range(20, 10_000_000))
    num_classes: int = field(default=3, metadata=_range(2, 1000))
    num_features: int = field(default=20, metadata=_range(1, 100_000))
    image_size: int = field(default=16, metadata=_range(4, 1024))
    # Relative class frequencies (normalized); None means balanced classes.
    class_proportions: list[float] | None = None


@dataclass
class DataConfig:
    """Which data set, how it is split, and how the tf.data pipeline feeds it."""

    name: Literal[
        "digits", "breast_cancer", "wine", "iris", "synthetic_images", "synthetic_tabular",
        "csv", "image_dir", "tfrecord", "mnist", "fashion_mnist", "cifar10",
    ] = "digits"
    path: str | None = None  # csv file, image folder or TFRecord folder
    label: str | None = None  # csv label column
    numeric_columns: list[str] | None = None  # csv: None = inferred
    categorical_columns: list[str] | None = None  # csv: None = inferred (non-numeric)
    image_size: list[int] = field(default_factory=lambda: [32, 32])  # image_dir: [h, w]
    channels: int = field(default=3, metadata=_range(1, 4))  # image_dir: 1 gray, 3 rgb
    batch_size: int = field(default=64, metadata=_range(1, 1_000_000))  # per replica
    val_fraction: float = field(default=0.15, metadata=_range(0.01, 0.5))
    test_fraction: float = field(default=0.2, metadata=_range(0.01, 0.5))
    shuffle_buffer: int = field(default=10_000, metadata=_range(1, 100_000_000))
    cache: Literal["memory", "file", "none"] = "memory"
    cache_dir: str | None = None  # for cache=file; default <run_dir>/cache
    num_parallel_calls: int = field(default=-1, metadata=_range(-1, 1024))  # -1 = AUTOTUNE
    prefetch: int = field(default=-1, metadata=_range(-1, 1024))  # -1 = AUTOTUNE
    deterministic: bool = True  # tf.data element order; False may be faster
    shards: int = field(default=4, metadata=_range(1, 100_000))  # `data convert`
    # TFRecord folders: skip unreadable or invalid records (counted and logged, training
    # then reads the kept records from memory) instead of failing on the first one; a
    # split with more than max_corrupt_fraction bad records still fails (data/salvage.py).
    skip_corrupt: bool = False
    max_corrupt_fraction: float = field(default=0.01, metadata=_range(0.0, 0.5))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    imbalance: ImbalanceConfig = field(default_factory=ImbalanceConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    # Hooks for the evaluation stage (cross-validation, learning curve by data size):
    # with cv_folds = K > 1, train+val are re-split into K stratified folds and fold cv_fold
    # is the val split; train_fraction keeps a stratified fraction of the train split.
    # The test split never changes.
    cv_folds: int = field(default=0, metadata=_range(0, 100))
    cv_fold: int = field(default=0, metadata=_range(0, 99))
    train_fraction: float = field(default=1.0, metadata=_range(0.01, 1.0))


@dataclass
class ModelConfig:
    """Which zoo model to build and its architecture options."""

    name: Literal["mlp", "cnn", "resnet", "mobilenetv2", "transformer"] = "cnn"
    width: int = field(default=64, metadata=_range(1, 65_536))
    depth: int = field(default=2, metadata=_range(0, 256))  # mlp depth 0 = linear model
    dropout: float = field(default=0.1, metadata=_range(0.0, 0.95))
    l1: float = field(default=0.0, metadata=_range(0.0, 10.0))
    l2: float = field(default=0.0, metadata=_range(0.0, 10.0))
    normalization: Literal["batch", "layer", "none"] = "batch"
    activation: Literal["relu", "gelu", "swish", "elu", "tanh"] = "relu"
    kernel_size: int = field(default=3, metadata=_range(1, 15))  # cnn, resnet
    alpha: float = field(default=1.0, metadata=_range(0.1, 2.0))  # mobilenetv2 width mult.
    patch_size: int = field(default=2, metadata=_range(1, 256))  # transformer (images)
    num_heads: int = field(default=4, metadata=_range(1, 256))  # transformer
    mlp_ratio: int = field(default=2, metadata=_range(1, 16))  # transformer
    share_weights: bool = False  # transformer: ALBERT-style cross-layer sharing


@dataclass
class TrainConfig:
    """Optimizer, schedule, regularizing callbacks and the length of training."""

    epochs: int = field(default=30, metadata=_range(1, 100_000))
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = field(default=1e-3, metadata=_range(1e-12, 100.0))
    weight_decay: float = field(default=1e-4, metadata=_range(0.0, 1.0))  # adamw only
    momentum: float = field(default=0.9, metadata=_range(0.0, 0.999))  # sgd only
    nesterov: bool = False  # sgd only
    schedule: Literal["constant", "exponential", "cosine", "piecewise"] = "constant"
    warmup_epochs: int = field(default=0, metadata=_range(0, 100_000))  # cosine only
    decay_rate: float = field(default=0.9, metadata=_range(1e-6, 1.0))  # exponential, per epoch
    # piecewise: epochs where the rate changes, and the multiplier of learning_rate after each.
    piecewise_epochs: list[int] = field(default_factory=lambda: [10, 20])
    piecewise_factors: list[float] = field(default_factory=lambda: [0.1, 0.01])
    reduce_on_plateau: bool = False
    plateau_factor: float = field(default=0.5, metadata=_range(0.01, 0.99))
    plateau_patience: int = field(default=3, metadata=_range(1, 1000))
    clipnorm: float | None = field(default=None, metadata=_range(1e-9, None))
    global_clipnorm: float | None = field(default=None, metadata=_range(1e-9, None))
    gradient_accumulation_steps: int = field(default=1, metadata=_range(1, 1024))
    ema: bool = False  # keep an exponential moving average of the weights
    ema_momentum: float = field(default=0.99, metadata=_range(0.0, 0.99999))
    early_stopping_patience: int = field(default=8, metadata=_range(0, 100_000))  # 0 = off
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"
    histogram_freq: int = field(default=1, metadata=_range(0, 100_000))  # TensorBoard; 0 = off
    # Loss blow-up guard (training/blowup.py): a NaN/inf batch loss, or an epoch loss above
    # blowup_factor x the best epoch loss so far (None = NaN/inf only), rolls the weights
    # and optimizer state back to the last good epoch and multiplies the learning rate by
    # rollback_lr_factor, at most max_rollbacks times (0 = stop at once with a message).
    blowup_factor: float | None = field(default=None, metadata=_range(1.0, None))
    max_rollbacks: int = field(default=0, metadata=_range(0, 100))
    rollback_lr_factor: float = field(default=0.5, metadata=_range(1e-6, 0.99))
    # Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch; auto = 1 on a
    # terminal, else 2 (progress bars would flood CI logs).
    verbose: Literal["auto", 0, 1, 2] = "auto"
    # k-fold cross-validation (`bigmodel train --cv K`): K stratified folds of train+val,
    # each trained as its own run under <run>/cv/fold_<k>; 0 = off
    cv_folds: int = field(default=0, metadata=_range(0, 100))


@dataclass
class RuntimeConfig:
    """Devices, distribution, precision and determinism."""

    logical_cpus: int = field(default=0, metadata=_range(0, 64))  # 0/1 = no split
    mixed_precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    jit_compile: bool = False  # XLA; measured slower on this CPU (DESIGN.md)
    deterministic: bool = False  # op determinism: two runs give identical metrics
    steps_per_execution: int = field(default=1, metadata=_range(1, 10_000))
    # Learning rate vs the number of replicas (the global batch grows with them):
    # none, linear (x replicas, Goyal et al. 2017) or sqrt (x sqrt(replicas)).
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"


BENCHMARK_SUITES = (
    "input", "input_bound", "overhead", "precision", "scaling", "utilization", "tflite",
)


@dataclass
class BenchmarkConfig:
    """What `bigmodel benchmark` measures and how long (bigmodel_tf/benchmarks/)."""

    suites: list[Literal[BENCHMARK_SUITES]] = field(default_factory=lambda: list(BENCHMARK_SUITES))
    epochs: int = field(default=4, metadata=_range(2, 1000))  # per timing; the 1st is warm-up
    repeats: int = field(default=3, metadata=_range(1, 100))  # best of, against shared-CPU noise
    devices: list[int] = field(default_factory=lambda: [1, 2, 4])  # scaling: logical CPUs
    input_passes: int = field(default=5, metadata=_range(2, 1000))  # input suite: epochs read
    matmul_size: int = field(default=1024, metadata=_range(64, 16_384))  # utilization: n x n


BaselineName = Literal["logistic_regression", "svm", "random_forest", "gradient_boosting"]


@dataclass
class EvaluationConfig:
    """The evaluation stage: fit diagnosis thresholds, calibration, decision threshold,
    baselines, data-size curve, interpretation and the TensorBoard profiler."""

    # overfit when train accuracy exceeds val accuracy by more than this (fraction)
    overfit_gap: float = field(default=0.05, metadata=_range(0.0, 1.0))
    # underfit when train accuracy stays below this (the model cannot fit its own data)
    underfit_accuracy: float = field(default=0.9, metadata=_range(0.0, 1.0))
    # overfit when the val loss curve ends this fraction above its minimum (0.5 = 50 %)
    # while the train loss kept falling
    overfit_loss_rise: float = field(default=0.5, metadata=_range(0.0, 100.0))
    calibration_bins: int = field(default=10, metadata=_range(2, 100))  # reliability diagram
    # binary tasks: tune the decision threshold on val to maximize F1, or to reach
    # target_recall (of the positive class) with the best precision
    threshold_objective: Literal["f1", "recall"] = "f1"
    # binary tasks: the class name the threshold, PR curve and recall target are about;
    # None = the second class (class id 1)
    positive_class: str | None = None
    target_recall: float = field(default=0.95, metadata=_range(0.01, 1.0))
    # scikit-learn baselines, each tuned by GridSearchCV on the train split; [] = none
    baselines: list[BaselineName] = field(
        default_factory=lambda: ["logistic_regression", "svm", "random_forest"]
    )
    baseline_max_examples: int = field(default=5000, metadata=_range(10, 10_000_000))
    # learning curve by data size: retrain on these fractions of the train split; [] = off
    data_size_fractions: list[float] = field(default_factory=list, metadata=_range(0.01, 0.99))
    interpret: bool = True  # permutation importance / integrated gradients / attention maps
    interpret_examples: int = field(default=8, metadata=_range(1, 64))  # images shown
    permutation_repeats: int = field(default=5, metadata=_range(1, 100))
    permutation_max_examples: int = field(default=2000, metadata=_range(10, 1_000_000))
    ig_steps: int = field(default=32, metadata=_range(4, 1024))  # integrated gradients
    # TensorBoard profiler: [first, last] training batch (1-based) to trace; [] = off
    profile_batches: list[int] = field(default_factory=list, metadata=_range(1, None))


@dataclass
class ExportConfig:
    """Where the TF Serving SavedModel is written after training."""

    enabled: bool = True
    dir: str = "saved_models"
    name: str | None = None  # default: "<data.name>_<model.name>"
    warmup_examples: int = field(default=4, metadata=_range(0, 1000))


TFLITE_VARIANTS = ("float32", "dynamic_range", "float16", "int8")


@dataclass
class CompressionConfig:
    """`bigmodel compress`: TF-MOT pruning and QAT, TFLite post-training quantization."""

    prune: bool = True  # magnitude pruning + fine-tuning (TF-MOT, through tf_keras)
    target_sparsity: float = field(default=0.8, metadata=_range(0.0, 0.99))  # per layer
    initial_sparsity: float = field(default=0.0, metadata=_range(0.0, 0.99))  # polynomial
    schedule: Literal["polynomial", "constant"] = "polynomial"
    # Fine-tuning steps (batches) where pruning starts and reaches its target, and the
    # steps between mask updates; end_step -1 = a quarter of the fine-tuning's steps.
    begin_step: int = field(default=0, metadata=_range(0, 100_000_000))
    end_step: int = field(default=-1, metadata=_range(-1, 100_000_000))
    frequency: int = field(default=10, metadata=_range(1, 100_000))
    m_by_n: str | None = None  # structured sparsity "M:N" (M zeros in N), e.g. "2:4"
    xnnpack_policy: bool = False  # TF-MOT PruneForLatencyOnXNNPack (1x1 convs only)
    leave_dense: list[str] = field(default_factory=list)  # layer names never pruned/QAT
    finetune_epochs: int = field(default=20, metadata=_range(1, 100_000))
    # Adam, cosine-decayed over each fine-tuning; pruned digits CNNs recovered best from 3e-3
    learning_rate: float = field(default=3e-3, metadata=_range(1e-12, 100.0))
    qat: bool = False  # quantization-aware training of the base model (TF-MOT)
    pqat: bool = False  # pruning-preserving QAT of the pruned model (needs prune)
    qat_epochs: int = field(default=3, metadata=_range(1, 100_000))
    variants: list[Literal[TFLITE_VARIANTS]] = field(  # post-training quantization
        default_factory=lambda: list(TFLITE_VARIANTS)
    )
    int8_io: bool = False  # int8 variants take int8 inputs and give int8 outputs
    int8_float_fallback: bool = False  # int8: keep float ops that have no int8 kernel
    representative_examples: int = field(default=200, metadata=_range(1, 100_000))
    latency_runs: int = field(default=100, metadata=_range(1, 100_000))  # 1-example invokes
    throughput_batch: int = field(default=64, metadata=_range(1, 100_000))
    num_threads: int = field(default=1, metadata=_range(1, 256))  # LiteRT interpreter
    export_pruned: bool = False  # also a TF Serving SavedModel at <export.name>_pruned


def _default_space() -> dict:
    """The default search space: keys every zoo model has, ranges sensible on small data."""
    return {
        "train.learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": True},
        "model.width": {"type": "int", "min": 16, "max": 128, "step": 16},
        "model.depth": {"type": "int", "min": 1, "max": 3},
        "model.dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
        "data.batch_size": {"type": "choice", "values": [32, 64, 128]},
    }


@dataclass
class TuneConfig:
    """`bigmodel tune`: the search algorithm, objective, budget and search space.

    ``space`` maps a dotted config key to {type: int|float|choice|bool, min, max, log,
    step, values}; bigmodel_tf.tuning.space validates it against the real keys.
    """

    algorithm: Literal["random", "grid", "bayesian", "hyperband", "evolution"] = "random"
    objective: str = "val.accuracy"  # a number in metrics.json, as a dotted path
    direction: Literal["auto", "max", "min"] = "auto"  # auto: min for a loss, else max
    max_trials: int = field(default=10, metadata=_range(1, 100_000))
    # epochs of every trial (train.epochs); Hyperband: the epochs of its longest trials
    max_epochs: int = field(default=10, metadata=_range(1, 100_000))
    executions_per_trial: int = field(default=1, metadata=_range(1, 100))  # objective = mean
    max_consecutive_failures: int = field(default=3, metadata=_range(1, 100_000))
    initial_points: int = field(default=3, metadata=_range(1, 100_000))  # bayesian: random
    hyperband_factor: int = field(default=3, metadata=_range(2, 100))
    population_size: int = field(default=5, metadata=_range(2, 10_000))  # evolution
    tournament_size: int = field(default=2, metadata=_range(1, 10_000))
    crossover_rate: float = field(default=0.7, metadata=_range(0.0, 1.0))  # per child
    mutation_rate: float = field(default=0.3, metadata=_range(0.0, 1.0))  # per gene
    elitism: int = field(default=1, metadata=_range(0, 10_000))  # best kept as parents
    lr_finder_min: float = field(default=1e-6, metadata=_range(1e-12, 100.0))
    lr_finder_max: float = field(default=1.0, metadata=_range(1e-12, 100.0))
    lr_finder_steps: int = field(default=100, metadata=_range(10, 100_000))  # batches
    space: dict[str, Any] = field(default_factory=_default_space)


@dataclass
class ExperimentConfig:
    """The whole experiment: data, model, training, runtime and export settings."""

    seed: int = field(default=42, metadata=_range(0, 2**31 - 1))
    run_name: str | None = None  # default: "<data>-<model>-<config hash>"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)


# Keys written by save_config for provenance; accepted (and ignored) when loading.
PROVENANCE_KEYS = ("versions",)


# ---------------------------------------------------------------- conversion


def _describe(tp: Any) -> str:
    """Human-readable name of an annotated type, for error messages."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` to the annotated type ``tp`` or raise ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        is_null = value is None or (isinstance(value, str) and value.lower() in ("null", "none"))
        if is_null and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if isinstance(value, str) and value not in allowed and value.strip().isdigit():
            value = int(value)
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
        return value
    if origin is dict:  # free-form mappings (tune.space) are checked by their stage
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return value
    if origin is list:
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip().startswith("[") else (
                    value.split(","))
            except (yaml.YAMLError, ValueError, RecursionError):
                raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}") from None
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
        (item_type,) = typing.get_args(tp)
        return [_coerce(f"{key}[{i}]", v, item_type) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    raise ConfigError(f"{key}: unsupported type {_describe(tp)}")


def _check_range(key: str, value: Any, meta: typing.Mapping) -> None:
    """Raise ConfigError when a number is outside the field's inclusive range."""
    lo, hi = meta.get("min"), meta.get("max")
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is None or not isinstance(v, int | float):
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise ConfigError(f"{key}: expected a value {bounds}, got {v!r}")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from a mapping, converting and range-checking every field."""
    if not isinstance(raw, dict):
        where = prefix.rstrip(".") or "config"
        raise ConfigError(f"{where}: expected a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    # key=str: YAML keys may be numbers too; a key that is not printable is shown quoted,
    # so that the message stays one line.
    unknown = sorted(set(raw) - set(fields) - (set(PROVENANCE_KEYS) if not prefix else set()),
                     key=str)
    if unknown:
        key = f"{prefix}{unknown[0]}"
        key = key if key.isprintable() else repr(key)
        raise ConfigError(f"{key}: unknown key; allowed keys here: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            continue
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, raw[name] if raw[name] is not None else {}, f"{key}.")
        else:
            values[name] = _coerce(key, raw[name], tp)
            _check_range(key, values[name], f.metadata)
    return cls(**values)


# ---------------------------------------------------------------- cross-field rules


def _validate(cfg: ExperimentConfig) -> None:
    """Check rules that involve more than one key (impossible combinations)."""
    d, t = cfg.data, cfg.train
    if d.val_fraction + d.test_fraction >= 0.9:
        raise ConfigError(
            "data.val_fraction + data.test_fraction: expected a sum below 0.9, "
            f"got {d.val_fraction + d.test_fraction:g}"
        )
    if d.name in ("csv", "image_dir", "tfrecord") and not d.path:
        raise ConfigError(f"data.path: required when data.name={d.name} (a file or folder)")
    if d.name == "csv" and not d.label:
        raise ConfigError("data.label: required when data.name=csv (the label column's name)")
    if len(d.image_size) != 2:
        raise ConfigError(f"data.image_size: expected [height, width], got {d.image_size}")
    _check_range("data.image_size", d.image_size, _range(4, 4096))
    props = d.synthetic.class_proportions
    if props is not None:
        if len(props) != d.synthetic.num_classes:
            raise ConfigError(
                "data.synthetic.class_proportions: expected one value per class "
                f"({d.synthetic.num_classes}), got {len(props)}"
            )
        if any(p <= 0 for p in props):
            raise ConfigError("data.synthetic.class_proportions: expected positive values")
    if t.reduce_on_plateau and t.schedule != "constant":
        raise ConfigError(
            "train.reduce_on_plateau: cannot be combined with "
            f"train.schedule={t.schedule}; use schedule=constant or turn reduce_on_plateau off"
        )
    if t.max_rollbacks and t.schedule != "constant":
        raise ConfigError(
            f"train.max_rollbacks: a rollback lowers the learning rate, which "
            f"train.schedule={t.schedule} fixes in advance; use schedule=constant or "
            "max_rollbacks=0"
        )
    _check_range("benchmark.devices", cfg.benchmark.devices, _range(1, 64))
    if t.clipnorm is not None and t.global_clipnorm is not None:
        raise ConfigError("train.clipnorm and train.global_clipnorm: set at most one of them")
    if t.schedule == "piecewise":
        if len(t.piecewise_epochs) != len(t.piecewise_factors) or not t.piecewise_epochs:
            raise ConfigError(
                "train.piecewise_epochs and train.piecewise_factors: expected non-empty "
                "lists of the same length"
            )
        if sorted(t.piecewise_epochs) != t.piecewise_epochs or t.piecewise_epochs[0] < 1:
            raise ConfigError(
                f"train.piecewise_epochs: expected increasing epochs ≥ 1, got {t.piecewise_epochs}"
            )
    if t.schedule == "cosine" and t.warmup_epochs >= t.epochs:
        raise ConfigError(
            f"train.warmup_epochs: expected fewer than train.epochs ({t.epochs}), "
            f"got {t.warmup_epochs}"
        )
    if cfg.model.name == "transformer" and cfg.model.width % cfg.model.num_heads:
        raise ConfigError(
            f"model.width: expected a multiple of model.num_heads ({cfg.model.num_heads}) "
            f"for the transformer, got {cfg.model.width}"
        )
    _validate_evaluation(cfg)
    _validate_compression(cfg.compression)
    for key, name in (("export.name", cfg.export.name), ("run_name", cfg.run_name)):
        if name is not None and (name in (".", "..") or any(c in name for c in "/\\")):
            raise ConfigError(f"{key}: expected a plain name without slashes, got {name!r}")


def _validate_compression(c: CompressionConfig) -> None:
    """Rules of the compression section: M:N format, PQAT needs pruning, variants."""
    if c.m_by_n is not None:
        m, sep, n = c.m_by_n.partition(":")
        if not (sep and m.isdigit() and n.isdigit() and 0 < int(m) < int(n)):
            raise ConfigError(
                "compression.m_by_n: expected 'M:N' with 0 < M < N (e.g. '2:4'), "
                f"got {c.m_by_n!r}"
            )
    if c.pqat and not c.prune:
        raise ConfigError("compression.pqat: needs compression.prune=true (it fine-tunes the "
                          "pruned model)")
    if len(set(c.variants)) != len(c.variants):
        raise ConfigError(f"compression.variants: expected no repeats, got {c.variants}")
    if not (c.variants or c.qat or c.pqat):
        raise ConfigError("compression.variants: expected at least one variant (or qat/pqat)")
    if c.end_step != -1 and c.end_step <= c.begin_step:
        raise ConfigError(
            f"compression.end_step: expected -1 or a step after begin_step ({c.begin_step}), "
            f"got {c.end_step}"
        )


def _validate_evaluation(cfg: ExperimentConfig) -> None:
    """Rules of cross-validation, the data-size curve and the profiler range."""
    d, e = cfg.data, cfg.evaluation
    for key, folds in (("train.cv_folds", cfg.train.cv_folds), ("data.cv_folds", d.cv_folds)):
        if folds == 1:
            raise ConfigError(f"{key}: expected 0 (off) or at least 2 folds, got 1")
    if d.cv_folds and d.cv_fold >= d.cv_folds:
        raise ConfigError(
            f"data.cv_fold: expected a fold id below data.cv_folds ({d.cv_folds}), "
            f"got {d.cv_fold}"
        )
    if d.name == "tfrecord" and (d.cv_folds or d.train_fraction < 1 or cfg.train.cv_folds):
        raise ConfigError(
            "data.name=tfrecord: its split is fixed in the files; cross-validation and "
            "data.train_fraction need an in-memory data set"
        )
    if len(e.profile_batches) not in (0, 2) or e.profile_batches[:1] > e.profile_batches[1:]:
        raise ConfigError(
            "evaluation.profile_batches: expected [] (off) or [first, last] batch numbers "
            f"with first <= last, got {e.profile_batches}"
        )


# ---------------------------------------------------------------- public API


def parse_overrides(pairs: typing.Iterable[str]) -> dict:
    """Turn ``["train.epochs=5", "data.name=csv"]`` into a nested dict of raw values."""
    nested: dict = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key.isprintable() or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE with a dotted key")
        value: Any = text  # "null"/"none" become None only where the key allows None
        if text.strip().startswith("["):
            try:
                value = yaml.safe_load(text)
            except (yaml.YAMLError, ValueError, RecursionError):
                raise ConfigError(f"--set {key}: expected a YAML list, got {text!r}") from None
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {key}: {part} is set both as a value and a section")
            node = child
        if isinstance(node.get(leaf), dict):
            raise ConfigError(f"--set {key}: is a section; set one of its keys instead")
        node[leaf] = value
    return nested


def _merge(base: dict, override: dict) -> dict:
    """Recursively merge ``override`` into a copy of ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: str | Path) -> dict:
    """Read a YAML config file into a dict; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path}: cannot be read ({exc.__class__.__name__})") from None
    try:
        raw = yaml.safe_load(text)
    # ValueError: an impossible date (2001-13-45); RecursionError: absurd nesting.
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"--config {path}: not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"--config {path}: expected a mapping of config sections")
    return raw


def from_dict(raw: dict) -> ExperimentConfig:
    """Build and validate an ExperimentConfig from a (possibly partial) nested dict."""
    cfg = _build(ExperimentConfig, raw, "")
    _validate(cfg)
    return cfg


def load_config(path: str | Path | None = None, overrides: typing.Iterable[str] = ()) -> (
    ExperimentConfig
):
    """Load defaults, then the YAML file (if any), then ``--set`` overrides; validate all."""
    raw = read_yaml(path) if path else {}
    return from_dict(_merge(raw, parse_overrides(overrides)))


def to_dict(cfg: Any) -> dict:
    """The config as a plain nested dict (YAML/JSON serializable)."""
    return dataclasses.asdict(cfg)


def replace(cfg: ExperimentConfig, overrides: typing.Iterable[str]) -> ExperimentConfig:
    """A validated copy of ``cfg`` with dotted ``KEY=VALUE`` overrides applied."""
    return from_dict(_merge(to_dict(cfg), parse_overrides(overrides)))


def config_hash(cfg: ExperimentConfig) -> str:
    """A short stable hash of everything that changes what a run computes."""
    content = to_dict(cfg)
    content.pop("run_name", None)
    content.pop("export", None)
    content.pop("benchmark", None)  # what a benchmark measures does not change a run
    content.pop("compression", None)  # compressing a run does not change it
    content.pop("tune", None)  # a search's settings do not change one training run
    blob = json.dumps(content, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def run_name(cfg: ExperimentConfig) -> str:
    """The run directory's name: ``run_name`` if set, else data-model-hash (stable)."""
    return cfg.run_name or f"{cfg.data.name}-{cfg.model.name}-{config_hash(cfg)}"


def export_name(cfg: ExperimentConfig) -> str:
    """The exported model's name under ``export.dir``."""
    return cfg.export.name or f"{cfg.data.name}_{cfg.model.name}"


def library_versions() -> dict:
    """Versions of Python and the libraries that decide a run's results."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("tensorflow", "keras", "tf-keras", "scikit-learn", "numpy", "bigmodel_tf"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    """Write the resolved config plus library versions as YAML (atomically)."""
    path = Path(path)
    content = {**to_dict(cfg), "versions": library_versions()}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
