"""The typed experiment config: load YAML, apply ``--set`` overrides, validate, save.

One ``ExperimentConfig`` drives every stage. It is built from the defaults in the
section dataclasses, a YAML file (presets in configs/ list only what differs from the
defaults) and dotted ``--set key=value`` overrides; every key, type, range and
cross-field rule is checked before any work starts, and a violation is a ``ConfigError``
naming the key and what is allowed. The resolved config is saved with each run (plus
library versions) so that ``bigmodel train --config runs/X/config.yaml`` reproduces the run.

Modules, one stage each: ``sections`` (data, model, train, runtime and evaluation
sections), ``experiment`` (export, benchmark, compression and tune sections and the
root ``ExperimentConfig``), ``loader`` (YAML, ``--set`` overrides, type conversion),
``checks`` (ranges and cross-field rules), ``effects`` (which keys change a run, from each
field's declared effect) and ``saving`` (saved YAML, hash, names).
"""

from bigmodel_tf.config.effects import (
    NOT_RUN_EFFECTS,
    RUN_EFFECTS,
    differences,
    effect_of,
    keys_with,
    select,
)
from bigmodel_tf.config.experiment import (
    BENCHMARK_SUITES,
    PROVENANCE_KEYS,
    TFLITE_VARIANTS,
    BenchmarkConfig,
    CompressionConfig,
    ExperimentConfig,
    ExportConfig,
    TrackingConfig,
    TuneConfig,
)
from bigmodel_tf.config.loader import (
    from_dict,
    load_config,
    parse_overrides,
    read_yaml,
    replace,
    with_changes,
)
from bigmodel_tf.config.saving import (
    config_hash,
    export_name,
    library_versions,
    run_name,
    save_config,
    to_dict,
)
from bigmodel_tf.config.sections import (
    EFFECTS,
    AugmentConfig,
    BaselineName,
    DataConfig,
    EvaluationConfig,
    ImbalanceConfig,
    ModelConfig,
    RuntimeConfig,
    SyntheticConfig,
    TaskConfig,
    TrainConfig,
)

__all__ = [
    "BENCHMARK_SUITES",
    "EFFECTS",
    "NOT_RUN_EFFECTS",
    "PROVENANCE_KEYS",
    "RUN_EFFECTS",
    "TFLITE_VARIANTS",
    "AugmentConfig",
    "BaselineName",
    "BenchmarkConfig",
    "CompressionConfig",
    "DataConfig",
    "EvaluationConfig",
    "ExperimentConfig",
    "ExportConfig",
    "TrackingConfig",
    "ImbalanceConfig",
    "ModelConfig",
    "RuntimeConfig",
    "SyntheticConfig",
    "TaskConfig",
    "TrainConfig",
    "TuneConfig",
    "config_hash",
    "differences",
    "effect_of",
    "export_name",
    "from_dict",
    "keys_with",
    "library_versions",
    "load_config",
    "parse_overrides",
    "read_yaml",
    "replace",
    "run_name",
    "save_config",
    "select",
    "to_dict",
    "with_changes",
]
