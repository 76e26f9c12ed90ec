"""Config sections of the later commands (export, benchmark, compress, tune) and the root.

``ExperimentConfig`` gathers every section. The export, benchmark, compression and tune
sections do not change what a training run computes (effect ``none``, or ``search`` for
the tune keys a search's trials depend on), so ``config_hash`` leaves them out
(bigmodel_tf.config.effects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bigmodel_tf.config.sections import (
    DataConfig,
    EvaluationConfig,
    ModelConfig,
    RuntimeConfig,
    TaskConfig,
    TrainConfig,
    effect,
    num_range,
    section_effect,
)

# Keys written by save_config for provenance; accepted (and ignored) when loading.
PROVENANCE_KEYS = ("versions",)

BENCHMARK_SUITES = (
    "input", "input_bound", "overhead", "precision", "scaling", "utilization", "tflite",
    "tabular_defaults", "memory", "image_folder",
)
# Asked for by name: tabular_defaults measures accuracy, not speed (many small training
# runs); memory and image_folder generate image folders of their own (memory trains in
# a subprocess per size and format).
NAMED_ONLY_SUITES = ("tabular_defaults", "memory", "image_folder")
DEFAULT_SUITES = tuple(s for s in BENCHMARK_SUITES if s not in NAMED_ONLY_SUITES)


@section_effect("none")
@dataclass
class BenchmarkConfig:
    """What `bigmodel benchmark` measures and how long (bigmodel_tf/benchmarks/)."""

    suites: list[Literal[BENCHMARK_SUITES]] = field(default_factory=lambda: list(DEFAULT_SUITES))
    epochs: int = field(default=4, metadata=num_range(2, 1000))  # per timing; the 1st is warm-up
    repeats: int = field(default=3, metadata=num_range(1, 100))  # best of, against shared-CPU noise
    devices: list[int] = field(default_factory=lambda: [1, 2, 4])  # scaling: logical CPUs
    input_passes: int = field(default=5, metadata=num_range(2, 1000))  # input suite: epochs read
    matmul_size: int = field(default=1024, metadata=num_range(64, 16_384))  # utilization: n x n
    # tabular_defaults: each seed is one split and initialization of every data set
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4],
                             metadata=num_range(0, 2**31 - 1))
    # memory: generated images at 1x, and the multiples of it that are trained on
    memory_examples: int = field(default=2000, metadata=num_range(100, 10_000_000))
    memory_scales: list[int] = field(default_factory=lambda: [1, 4, 16],
                                     metadata=num_range(1, 10_000))
    image_folder_examples: int = field(default=5000,  # image_folder: generated images
                                       metadata=num_range(100, 10_000_000))


EXPORT_FORMATS = ("saved_model", "onnx")


@section_effect("none")
@dataclass
class ExportConfig:
    """Where the TF Serving SavedModel is written after training."""

    enabled: bool = True
    dir: str = "saved_models"
    name: str | None = None  # default: "<data.name>_<model.name>"
    warmup_examples: int = field(default=4, metadata=num_range(0, 1000))
    # what `train` exports: the TF Serving SavedModel, and ONNX converted from it (tf2onnx)
    formats: list[Literal[EXPORT_FORMATS]] = field(default_factory=lambda: ["saved_model"])
    # binary classification: the decision threshold `class_id` applies at serving —
    # "tuned" (the val-tuned value of threshold.json) or a probability
    threshold: Literal["tuned"] | float = field(default="tuned", metadata=num_range(0.0, 1.0))


@section_effect("none")
@dataclass
class TrackingConfig:
    """Experiment tracking: where a run's params, metrics and artifacts are logged (chief only)."""

    backend: Literal["none", "mlflow"] = "none"  # none: the tracker is never imported
    # the tracking server or store; default: $MLFLOW_TRACKING_URI, else ./mlruns (a file store)
    uri: str | None = None
    experiment: str | None = None  # default: "<data.name>_<model.name>"


TFLITE_VARIANTS = ("float32", "dynamic_range", "float16", "int8")


@section_effect("none")
@dataclass
class CompressionConfig:
    """`bigmodel compress`: TF-MOT pruning and QAT, TFLite post-training quantization."""

    prune: bool = True  # magnitude pruning + fine-tuning (TF-MOT, through tf_keras)
    target_sparsity: float = field(default=0.8, metadata=num_range(0.0, 0.99))  # per layer
    initial_sparsity: float = field(default=0.0, metadata=num_range(0.0, 0.99))  # polynomial
    schedule: Literal["polynomial", "constant"] = "polynomial"
    # Fine-tuning steps (batches) where pruning starts and reaches its target, and the
    # steps between mask updates; end_step -1 = a quarter of the fine-tuning's steps.
    begin_step: int = field(default=0, metadata=num_range(0, 100_000_000))
    end_step: int = field(default=-1, metadata=num_range(-1, 100_000_000))
    frequency: int = field(default=10, metadata=num_range(1, 100_000))
    m_by_n: str | None = None  # structured sparsity "M:N" (M zeros in N), e.g. "2:4"
    xnnpack_policy: bool = False  # TF-MOT PruneForLatencyOnXNNPack (1x1 convs only)
    leave_dense: list[str] = field(default_factory=list)  # layer names never pruned/QAT
    finetune_epochs: int = field(default=20, metadata=num_range(1, 100_000))
    # Adam, cosine-decayed over each fine-tuning; pruned digits CNNs recovered best from 3e-3
    learning_rate: float = field(default=3e-3, metadata=num_range(1e-12, 100.0))
    qat: bool = False  # quantization-aware training of the base model (TF-MOT)
    pqat: bool = False  # pruning-preserving QAT of the pruned model (needs prune)
    qat_epochs: int = field(default=3, metadata=num_range(1, 100_000))
    variants: list[Literal[TFLITE_VARIANTS]] = field(  # post-training quantization
        default_factory=lambda: list(TFLITE_VARIANTS)
    )
    int8_io: bool = False  # int8 variants take int8 inputs and give int8 outputs
    int8_float_fallback: bool = False  # int8: keep float ops that have no int8 kernel
    representative_examples: int = field(default=200, metadata=num_range(1, 100_000))
    latency_runs: int = field(default=100, metadata=num_range(1, 100_000))  # 1-example invokes
    throughput_batch: int = field(default=64, metadata=num_range(1, 100_000))
    num_threads: int = field(default=1, metadata=num_range(1, 256))  # LiteRT interpreter
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


@section_effect("search")
@dataclass
class TuneConfig:
    """`bigmodel tune`: the search algorithm, objective, budget and search space.

    ``space`` maps a dotted config key to {type: int|float|choice|bool, min, max, log,
    step, values}; bigmodel_tf.tuning.space validates it against the real keys.
    """

    algorithm: Literal["random", "grid", "bayesian", "hyperband", "evolution"] = "random"
    # a number in metrics.json, as a dotted path; auto: the task's headline on val
    # (val.accuracy for classification, val.rmse for regression)
    objective: str = "auto"
    direction: Literal["auto", "max", "min"] = "auto"  # auto: min for a loss or error
    # none: a larger budget extends a search, its finished trials are kept
    max_trials: int = field(default=10, metadata=num_range(1, 100_000, effect="none"))
    # epochs of every trial (train.epochs); Hyperband: the epochs of its longest trials
    max_epochs: int = field(default=10, metadata=num_range(1, 100_000))
    executions_per_trial: int = field(default=1, metadata=num_range(1, 100))  # objective = mean
    max_consecutive_failures: int = field(default=3, metadata=num_range(1, 100_000))
    initial_points: int = field(default=3, metadata=num_range(1, 100_000))  # bayesian: random
    hyperband_factor: int = field(default=3, metadata=num_range(2, 100))
    population_size: int = field(default=5, metadata=num_range(2, 10_000))  # evolution
    tournament_size: int = field(default=2, metadata=num_range(1, 10_000))
    crossover_rate: float = field(default=0.7, metadata=num_range(0.0, 1.0))  # per child
    mutation_rate: float = field(default=0.3, metadata=num_range(0.0, 1.0))  # per gene
    elitism: int = field(default=1, metadata=num_range(0, 10_000))  # best kept as parents
    # `tune --lr-finder` only (a search never reads them)
    lr_finder_min: float = field(default=1e-6, metadata=num_range(1e-12, 100.0, effect="none"))
    lr_finder_max: float = field(default=1.0, metadata=num_range(1e-12, 100.0, effect="none"))
    lr_finder_steps: int = field(default=100,  # batches
                                 metadata=num_range(10, 100_000, effect="none"))
    space: dict[str, Any] = field(default_factory=_default_space)


@dataclass
class ExperimentConfig:
    """The whole experiment: data, model, training, runtime and export settings."""

    # seeds the split (so a data key), the initialization and the shuffling
    seed: int = field(default=42, metadata=num_range(0, 2**31 - 1, effect="data"))
    # default: "<data>-<model>-<config hash>"
    run_name: str | None = field(default=None, metadata=effect("none"))
    data: DataConfig = field(default_factory=DataConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
