"""Config sections of a training run: data, model, train, runtime and evaluation.

Each section is a dataclass whose defaults are the tool's defaults; a numeric field's
``metadata`` gives its inclusive range (``num_range``), checked by
bigmodel_tf.config.checks when a config is built. Every field also declares its
``effect`` on a run (one of ``EFFECTS``): the section's default (``section_effect``) or
its own (``effect(...)``, ``num_range(..., effect=...)``); bigmodel_tf.config.effects
derives from them which keys name a run, resume it or key the data splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# How a key affects a run, from most to least:
#   data        changes the loaded data splits (and so everything after them)
#   result      changes what training computes (the model, its metrics)
#   evaluation  changes only the evaluation stage's outputs
#   search      changes a search's trials or their order, never one training run
#   pipeline    changes only how fast data flows or what is printed, not any number
#   none        never changes a training run (names, later commands' settings)
EFFECTS = ("data", "result", "evaluation", "search", "pipeline", "none")


def num_range(lo: float | None = None, hi: float | None = None, **extra: Any) -> dict:
    """Field metadata giving an inclusive numeric range (and optional extra rules)."""
    return {"min": lo, "max": hi, **extra}


def effect(kind: str) -> dict:
    """Field metadata declaring the field's effect on a run (one of EFFECTS)."""
    if kind not in EFFECTS:
        raise ValueError(f"effect: expected one of {', '.join(EFFECTS)}, got {kind!r}")
    return {"effect": kind}


def section_effect(kind: str):
    """Class decorator: the effect of every field of a section that declares none itself."""
    effect(kind)  # checks the name

    def mark(cls: type) -> type:
        cls.default_effect = kind
        return cls

    return mark


@section_effect("result")
@dataclass
class AugmentConfig:
    """Image augmentation with Keras preprocessing layers, applied to the train split only."""

    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"
    rotation: float = field(default=0.0, metadata=num_range(0.0, 0.5))  # fraction of 2*pi
    zoom: float = field(default=0.0, metadata=num_range(0.0, 0.9))  # fraction of the size
    translation: float = field(default=0.0, metadata=num_range(0.0, 0.9))  # fraction of size
    contrast: float = field(default=0.0, metadata=num_range(0.0, 1.0))


@section_effect("result")
@dataclass
class ImbalanceConfig:
    """Class-imbalance handling: per-example class weights and/or resampling of the train split."""

    class_weight: Literal["none", "balanced"] = "none"
    resample: Literal["none", "oversample", "undersample", "smote"] = "none"


@section_effect("data")
@dataclass
class SyntheticConfig:
    """Size and shape of the generated synthetic_images / _tabular / _regression data sets."""

    num_examples: int = field(default=2000, metadata=num_range(20, 10_000_000))
    num_classes: int = field(default=3, metadata=num_range(2, 1000))
    num_features: int = field(default=20, metadata=num_range(1, 100_000))
    image_size: int = field(default=16, metadata=num_range(4, 1024))
    # Relative class frequencies (normalized); None means balanced classes.
    class_proportions: list[float] | None = None
    # synthetic_regression: standard deviation of the target's Gaussian noise
    noise: float = field(default=1.0, metadata=num_range(0.0, 1e6))


@section_effect("data")
@dataclass
class DataConfig:
    """Which data set, how it is split, and how the tf.data pipeline feeds it."""

    # a built-in source or a plug-in "package.module:function" (bigmodel_tf/plugins.py)
    name: Literal[
        "digits", "breast_cancer", "wine", "iris", "diabetes", "synthetic_images",
        "synthetic_tabular", "synthetic_regression", "csv", "image_dir", "tfrecord", "mnist",
        "fashion_mnist", "cifar10",
    ] = field(default="digits", metadata={"plugin": True})
    path: str | None = None  # csv file, image folder or TFRecord folder
    label: str | None = None  # csv label column
    numeric_columns: list[str] | None = None  # csv: None = inferred
    categorical_columns: list[str] | None = None  # csv: None = inferred (non-numeric)
    image_size: list[int] = field(default_factory=lambda: [32, 32])  # image_dir: [h, w]
    channels: int = field(default=3, metadata=num_range(1, 4))  # image_dir: 1 gray, 3 rgb
    # examples per batch, per replica
    batch_size: int = field(default=64, metadata=num_range(1, 1_000_000, effect="result"))
    val_fraction: float = field(default=0.15, metadata=num_range(0.01, 0.5))
    test_fraction: float = field(default=0.2, metadata=num_range(0.01, 0.5))
    # train examples shuffled together (rounded up to whole batches; data/order.py)
    shuffle_buffer: int = field(default=10_000,
                                metadata=num_range(1, 100_000_000, effect="result"))
    # Pipeline only: caching keeps the same records, and with data.deterministic the order
    # (and the augmentation, applied in order) does not depend on the parallelism or
    # prefetching; without it the order is timing-dependent whatever these are.
    cache: Literal["memory", "file", "none"] = field(default="memory",
                                                     metadata=effect("pipeline"))
    # for cache=file; default <run_dir>/cache
    cache_dir: str | None = field(default=None, metadata=effect("pipeline"))
    num_parallel_calls: int = field(default=-1,  # -1 = AUTOTUNE
                                    metadata=num_range(-1, 1024, effect="pipeline"))
    prefetch: int = field(default=-1,  # -1 = AUTOTUNE
                          metadata=num_range(-1, 1024, effect="pipeline"))
    # tf.data element order; False may be faster (and makes the order timing-dependent)
    deterministic: bool = field(default=True, metadata=effect("result"))
    # `data convert`: files per split written; reading them gives the same records
    shards: int = field(default=4, metadata=num_range(1, 100_000, effect="pipeline"))
    # TFRecord folders: skip unreadable or invalid records (counted and logged, training
    # then reads the kept records from memory) instead of failing on the first one; a
    # split with more than max_corrupt_fraction bad records still fails (data/salvage.py).
    skip_corrupt: bool = False
    max_corrupt_fraction: float = field(default=0.01, metadata=num_range(0.0, 0.5))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    imbalance: ImbalanceConfig = field(default_factory=ImbalanceConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    # Hooks for the evaluation stage (cross-validation, learning curve by data size):
    # with cv_folds = K > 1, train+val are re-split into K stratified folds and fold cv_fold
    # is the val split; train_fraction keeps a stratified fraction of the train split.
    # The test split never changes.
    cv_folds: int = field(default=0, metadata=num_range(0, 100))
    cv_fold: int = field(default=0, metadata=num_range(0, 99))
    train_fraction: float = field(default=1.0, metadata=num_range(0.01, 1.0))


@section_effect("result")
@dataclass
class TaskConfig:
    """What the labels are (bigmodel_tf/tasks/): the head, loss, metrics and outputs follow.

    ``auto`` is resolved from the train labels before a run starts (strings or few distinct
    integers: classification; floats with many distinct values: regression), logged, and
    recorded in the saved config.
    """

    # data: a CSV's label column is read as classes or as regression targets by it
    name: Literal["auto", "classification", "regression"] = field(
        default="auto", metadata=effect("data"))
    loss: Literal["auto", "crossentropy", "mse", "huber"] = "auto"  # auto: the task's default
    huber_delta: float = field(default=1.0, metadata=num_range(1e-6, 1e6))  # loss=huber


@section_effect("result")
@dataclass
class ModelConfig:
    """Which zoo model to build and its architecture options.

    ``auto`` (the default) follows the data: bigmodel_tf/models/auto.py resolves it before
    a run starts, and the saved config records the concrete name. ``name`` may also be a
    plug-in builder, ``package.module:function`` (bigmodel_tf/plugins.py).
    """

    name: Literal["auto", "mlp", "cnn", "resnet", "mobilenetv2", "transformer"] = field(
        default="auto", metadata={"plugin": True})
    width: int = field(default=64, metadata=num_range(1, 65_536))
    depth: int = field(default=2, metadata=num_range(0, 256))  # mlp depth 0 = linear model
    dropout: float = field(default=0.1, metadata=num_range(0.0, 0.95))
    l1: float = field(default=0.0, metadata=num_range(0.0, 10.0))
    l2: float = field(default=0.0, metadata=num_range(0.0, 10.0))
    normalization: Literal["batch", "layer", "none"] = "batch"
    activation: Literal["relu", "gelu", "swish", "elu", "tanh"] = "relu"
    kernel_size: int = field(default=3, metadata=num_range(1, 15))  # cnn, resnet
    alpha: float = field(default=1.0, metadata=num_range(0.1, 2.0))  # mobilenetv2 width mult.
    patch_size: int = field(default=2, metadata=num_range(1, 256))  # transformer (images)
    num_heads: int = field(default=4, metadata=num_range(1, 256))  # transformer
    mlp_ratio: int = field(default=2, metadata=num_range(1, 16))  # transformer
    share_weights: bool = False  # transformer: ALBERT-style cross-layer sharing


@section_effect("result")
@dataclass
class TrainConfig:
    """Optimizer, schedule, regularizing callbacks and the length of training."""

    epochs: int = field(default=30, metadata=num_range(1, 100_000))
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = field(default=1e-3, metadata=num_range(1e-12, 100.0))
    weight_decay: float = field(default=1e-4, metadata=num_range(0.0, 1.0))  # adamw only
    momentum: float = field(default=0.9, metadata=num_range(0.0, 0.999))  # sgd only
    nesterov: bool = False  # sgd only
    schedule: Literal["constant", "exponential", "cosine", "piecewise"] = "constant"
    warmup_epochs: int = field(default=0, metadata=num_range(0, 100_000))  # cosine only
    decay_rate: float = field(default=0.9, metadata=num_range(1e-6, 1.0))  # exponential, per epoch
    # piecewise: epochs where the rate changes, and the multiplier of learning_rate after each.
    piecewise_epochs: list[int] = field(default_factory=lambda: [10, 20])
    piecewise_factors: list[float] = field(default_factory=lambda: [0.1, 0.01])
    reduce_on_plateau: bool = False
    plateau_factor: float = field(default=0.5, metadata=num_range(0.01, 0.99))
    plateau_patience: int = field(default=3, metadata=num_range(1, 1000))
    clipnorm: float | None = field(default=None, metadata=num_range(1e-9, None))
    global_clipnorm: float | None = field(default=None, metadata=num_range(1e-9, None))
    gradient_accumulation_steps: int = field(default=1, metadata=num_range(1, 1024))
    ema: bool = False  # keep an exponential moving average of the weights
    ema_momentum: float = field(default=0.99, metadata=num_range(0.0, 0.99999))
    early_stopping_patience: int = field(default=8, metadata=num_range(0, 100_000))  # 0 = off
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"
    # TensorBoard weight histograms every n epochs (0 = off); each costs time per epoch.
    # Pipeline: they only read the weights.
    histogram_freq: int = field(default=5, metadata=num_range(0, 100_000, effect="pipeline"))
    # Loss blow-up guard (training/blowup.py): a NaN/inf batch loss, or an epoch loss above
    # blowup_factor x the best epoch loss so far (None = NaN/inf only), rolls the weights
    # and optimizer state back to the last good epoch and multiplies the learning rate by
    # rollback_lr_factor, at most max_rollbacks times (0 = stop at once with a message).
    blowup_factor: float | None = field(default=None, metadata=num_range(1.0, None))
    max_rollbacks: int = field(default=0, metadata=num_range(0, 100))
    rollback_lr_factor: float = field(default=0.5, metadata=num_range(1e-6, 0.99))
    # Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch; auto = 1 on a
    # terminal, else 2 (progress bars would flood CI logs).
    verbose: Literal["auto", 0, 1, 2] = field(default="auto", metadata=effect("pipeline"))
    # k-fold cross-validation (`bigmodel train --cv K`): K stratified folds of train+val,
    # each trained as its own run under <run>/cv/fold_<k>; 0 = off. The main run trains as
    # without it: only the evaluation outputs (the cross-validation summary) change.
    cv_folds: int = field(default=0, metadata=num_range(0, 100, effect="evaluation"))


@section_effect("result")
@dataclass
class RuntimeConfig:
    """Devices, distribution, precision and determinism."""

    logical_cpus: int = field(default=0, metadata=num_range(0, 64))  # 0/1 = no split
    mixed_precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = "float32"
    # XLA; measured slower on this CPU (docs/architecture.md). A result key: fused kernels
    # round differently.
    jit_compile: bool = False
    deterministic: bool = False  # op determinism: two runs give identical metrics
    # Pipeline: the same steps, run a few per call (batch callbacks see fewer losses).
    steps_per_execution: int = field(default=1, metadata=num_range(1, 10_000,
                                                                   effect="pipeline"))
    # Learning rate vs the number of replicas (the global batch grows with them):
    # none, linear (x replicas, Goyal et al. 2017) or sqrt (x sqrt(replicas)).
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"


# Kinds of baseline; each task builds its own of each (bigmodel_tf/tasks/*/baselines.py):
# logistic_regression and ridge are the linear baseline of either task (logistic regression
# for classes, Ridge for regression), svm an SVC or SVR, the others forests and boosting.
BaselineName = Literal["logistic_regression", "ridge", "svm", "random_forest",
                       "gradient_boosting"]


@section_effect("evaluation")
@dataclass
class EvaluationConfig:
    """The evaluation stage: fit diagnosis thresholds, calibration, decision threshold,
    baselines, data-size curve, interpretation and the TensorBoard profiler."""

    # overfit when train accuracy exceeds val accuracy by more than this (fraction)
    overfit_gap: float = field(default=0.05, metadata=num_range(0.0, 1.0))
    # underfit when train accuracy stays below this (the model cannot fit its own data)
    underfit_accuracy: float = field(default=0.9, metadata=num_range(0.0, 1.0))
    # regression: underfit when the train R² stays below this; overfit when the val RMSE
    # exceeds the train RMSE by more than this fraction (0.25 = 25 %)
    underfit_r2: float = field(default=0.5, metadata=num_range(-1e6, 1.0))
    overfit_rmse_gap: float = field(default=0.25, metadata=num_range(0.0, 100.0))
    # overfit when the val loss curve ends this fraction above its minimum (0.5 = 50 %)
    # while the train loss kept falling
    overfit_loss_rise: float = field(default=0.5, metadata=num_range(0.0, 100.0))
    calibration_bins: int = field(default=10, metadata=num_range(2, 100))  # reliability diagram
    # binary tasks: tune the decision threshold on val to maximize F1, or to reach
    # target_recall (of the positive class) with the best precision
    threshold_objective: Literal["f1", "recall"] = "f1"
    # binary tasks: the class name the threshold, PR curve and recall target are about;
    # None = the second class (class id 1)
    positive_class: str | None = None
    target_recall: float = field(default=0.95, metadata=num_range(0.01, 1.0))
    # scikit-learn baselines, each tuned by GridSearchCV on the train split; [] = none
    baselines: list[BaselineName] = field(
        default_factory=lambda: ["logistic_regression", "svm", "random_forest"]
    )
    baseline_max_examples: int = field(default=5000, metadata=num_range(10, 10_000_000))
    # learning curve by data size: retrain on these fractions of the train split; [] = off
    data_size_fractions: list[float] = field(default_factory=list, metadata=num_range(0.01, 0.99))
    interpret: bool = True  # permutation importance / integrated gradients / attention maps
    interpret_examples: int = field(default=8, metadata=num_range(1, 64))  # images shown
    permutation_repeats: int = field(default=5, metadata=num_range(1, 100))
    permutation_max_examples: int = field(default=2000, metadata=num_range(10, 1_000_000))
    ig_steps: int = field(default=32, metadata=num_range(4, 1024))  # integrated gradients
    # TensorBoard profiler: [first, last] training batch (1-based) to trace; [] = off
    profile_batches: list[int] = field(default_factory=list, metadata=num_range(1, None))
