"""The strategy doctor: a preflight of devices, strategy, batch, rate, sharding, precision.

``preflight(...)`` returns ``(level, text)`` findings — ``ok``, ``info`` or ``warn`` — for
the configured run: the devices and the strategy the environment selects (runtime.py), the
replicas, the per-replica and global batch, the learning-rate scaling rule applied, the
data sharding policy across workers (files → FILE, in-memory → DATA), whether the devices
compute the configured precision fast, how a short last batch is topped up for several
replicas, and the known traps (class weights under a strategy, float16 without fast
float16, more logical devices than cores, settings that fail or are ignored under the
strategy).
``bigmodel doctor`` prints it without creating a strategy; training logs it at the start.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import keras
import tensorflow as tf

from bigmodel_tf.config import DataConfig, RuntimeConfig, TrainConfig
from bigmodel_tf.data import load_splits
from bigmodel_tf.data.pipeline import memory_cache_bytes, shard_policy
from bigmodel_tf.models import build_model
from bigmodel_tf.training.memory import estimate_memory, memory_findings
from bigmodel_tf.training.model_choice import auto_model
from bigmodel_tf.training.optim import scaled_learning_rate
from bigmodel_tf.training.runtime import strategy_kind, unsupported
from bigmodel_tf.training.workers import usable_cores, worker_role

log = logging.getLogger("bigmodel_tf.training")

# /proc/cpuinfo flags of CPUs with fast bfloat16 matrix arithmetic (oneDNN). float16 has
# no fast CPU path in TensorFlow: a CNN trains far slower in mixed_float16 than in
# mixed_bfloat16, even on CPUs with AVX512_FP16 (README, Performance: design measurements).
BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty when /proc/cpuinfo is unavailable)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def gpu_capabilities() -> list[tuple[int, int]]:
    """Compute capability (major, minor) of each GPU TensorFlow sees."""
    details = [tf.config.experimental.get_device_details(g)
               for g in tf.config.list_physical_devices("GPU")]
    return [tuple(d.get("compute_capability", (0, 0))) for d in details]


def planned_replicas(runtime: RuntimeConfig, kind: str, gpus: int, env=None) -> int | None:
    """Replicas the strategy will have (None for a TPU: known once it is connected)."""
    if kind == "TPUStrategy":
        return None
    if kind == "MultiWorkerMirroredStrategy":
        return worker_role(env).num_workers * max(1, gpus)
    if kind == "MirroredStrategy":
        return gpus if gpus > 1 else runtime.logical_cpus
    return 1


def _precision(policy: str, flags: set[str], capabilities: list) -> list[tuple[str, str]]:
    """Whether the devices compute the configured precision (runtime.mixed_precision) fast."""
    if capabilities:
        need = {"mixed_float16": (7, 0), "mixed_bfloat16": (8, 0)}.get(policy)
        slow = [c for c in capabilities if need and c < need]
        if slow:
            return [("warn", f"{policy} on GPU(s) of compute capability {slow[0]}: below "
                             f"{need}, no fast {policy[6:]} arithmetic; use float32")]
        return [("ok", f"precision {policy} on GPU(s) of compute capability {capabilities}")]
    if policy == "mixed_float16":
        return [("warn", "mixed_float16 on a CPU: TensorFlow has no fast float16 CPU kernels "
                         "(many times slower than mixed_bfloat16); use "
                         "mixed_bfloat16 or float32")]
    if policy == "mixed_bfloat16" and not flags & BF16_FLAGS:
        return [("warn", "mixed_bfloat16 on a CPU without AVX512_BF16/AMX: likely slower "
                         "than float32")]
    fast = sorted(flags & BF16_FLAGS) or ["no bfloat16 units"]
    level = "info" if policy == "float32" and flags & BF16_FLAGS else "ok"
    hint = ("; mixed_bfloat16 would use the CPU's bfloat16 units (faster at large batches; "
            "bigmodel benchmark's precision suite measures it)") if level == "info" else ""
    return [(level, f"precision {policy} on CPU ({', '.join(fast)}){hint}")]


def _batch(per_replica: int, kind: str, replicas: int | None,
           examples: int) -> list[tuple[str, str]]:
    """Per-replica and global batch, steps per epoch and the top-up of a short last batch."""
    if replicas is None:
        return [("info", f"batch {per_replica} per replica; the global batch is known once "
                         "the TPU is connected (per replica x TPU cores)")]
    global_batch = per_replica * replicas
    steps = math.ceil(examples / global_batch)
    findings = [("info", f"batch {per_replica} per replica x {replicas} replica(s) = "
                         f"global batch {global_batch}; {steps} steps per epoch over "
                         f"{examples} train examples")]
    fill = steps * global_batch - examples
    if kind in ("MirroredStrategy", "TPUStrategy") and replicas > 1 and fill:
        findings.append(("info", f"the last train batch is topped up with {fill} repeated "
                                 "example(s) so every replica gets a full batch; val/test "
                                 "batches are padded with zero-weight examples (not counted)"))
    return findings


def _traps(data: DataConfig, train: TrainConfig, runtime: RuntimeConfig, kind: str,
           replicas: int | None) -> list[tuple[str, str]]:
    """Known traps of the configured combination."""
    findings = [("warn", problem) for problem in unsupported(train, runtime, kind, replicas)]
    distributed = kind != "default"
    if data.imbalance.class_weight != "none" and distributed:
        findings.append(("ok", "class weights are per-example sample weights inside tf.data "
                               "(Keras' class_weight argument breaks under strategies, "
                               "tensorflow#33550)"))
    cores = usable_cores()
    if kind == "MirroredStrategy" and runtime.logical_cpus > cores:
        findings.append(("warn", f"{runtime.logical_cpus} logical CPU devices on {cores} "
                                 "core(s): the replicas share cores (a test of the "
                                 "multi-device path, not a speed-up)"))
    if kind == "MultiWorkerMirroredStrategy":
        if runtime.logical_cpus > 1:
            findings.append(("warn", "runtime.logical_cpus is ignored under TF_CONFIG: each "
                                     "worker trains on its own devices"))
        if runtime.steps_per_execution > 1:
            findings.append(("warn", "runtime.steps_per_execution is ignored by the "
                                     "multi-worker loop (one step per call)"))
    if runtime.jit_compile and not tf.config.list_physical_devices("GPU"):
        findings.append(("info", "runtime.jit_compile=true: XLA measured slower on this CPU "
                                 "(see `bigmodel benchmark`)"))
    return findings


def preflight(data: DataConfig, train: TrainConfig, runtime: RuntimeConfig, kind: str,
              replicas: int | None, train_examples: int, flags: set[str] | None = None,
              capabilities: list | None = None, train_files: int = 0,
              cache_bytes: int = 0) -> list:
    """All findings for a run of these sections on ``replicas`` replicas of ``kind``;
    ``train_files``: the files the train split is streamed from (0: in memory);
    ``cache_bytes``: what data.cache=memory would hold (pipeline.memory_cache_bytes)."""
    flags = cpu_flags() if flags is None else flags
    capabilities = gpu_capabilities() if capabilities is None else capabilities
    cpus = len(tf.config.list_logical_devices("CPU"))
    role = worker_role()
    worker = f"; this process is {role.name} of {role.num_workers}" if role else ""
    findings = [
        ("info", f"devices: {cpus} logical CPU device(s) on {os.cpu_count()} core(s), "
                 f"{len(capabilities)} GPU(s)"),
        ("info", f"strategy: {kind} with {replicas or 'TPU-core'} replica(s){worker}"),
        *_batch(data.batch_size, kind, replicas, train_examples),
    ]
    rate = scaled_learning_rate(train.learning_rate, runtime.lr_scaling, replicas or 1)
    findings.append(("info", f"learning rate: {runtime.lr_scaling} scaling for "
                             f"{replicas or 1} replica(s): {train.learning_rate:g} -> "
                             f"{rate:g}"))
    pipelines = role.num_workers if role else 1
    findings.append(("info", f"data sharding across {pipelines} input pipeline(s): "
                             f"{shard_policy(data, train_files, pipelines)} "
                             f"(data.name={data.name})"))
    findings += _memory_cache(data.cache, cache_bytes)
    return (findings + _precision(runtime.mixed_precision, flags, capabilities)
            + _traps(data, train, runtime, kind, replicas))


def _memory_cache(cache: str, cache_bytes: int) -> list:
    """A warning when data.cache=memory would hold more than half of this machine's memory."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if cache != "memory" or cache_bytes <= total / 2:
        return []
    return [("warn", f"data.cache=memory would hold {cache_bytes / 1e9:.1f} GB of decoded "
                     f"examples, more than half of this machine's {total / 1e9:.1f} GB: set "
                     "data.cache=none (stream every epoch) or data.cache=file")]


def format_findings(findings: list) -> str:
    """One line per finding, its level first."""
    return "\n".join(f"  {level:<5} {text}" for level, text in findings)


def log_preflight(data: DataConfig, train: TrainConfig, runtime: RuntimeConfig,
                  strategy: tf.distribute.Strategy, splits) -> None:
    """Log the preflight of the strategy training actually runs under, on ``splits``."""
    kind = strategy_kind(runtime)
    replicas = strategy.num_replicas_in_sync
    for level, text in preflight(data, train, runtime, kind, replicas, **_data_facts(splits)):
        (log.warning if level == "warn" else log.info)("preflight %s: %s", level, text)


def doctor(cfg) -> list:
    """The preflight ``bigmodel doctor`` prints, without creating a strategy.

    With ``model.name=auto`` the first finding says what auto chose and why, and the rest
    are about the resolved config.
    """
    cfg, reason = auto_model(cfg)
    kind = strategy_kind(cfg.runtime)
    gpus = len(tf.config.list_physical_devices("GPU"))
    facts = _data_facts(load_splits(cfg))
    chosen = [("info", reason)] if reason else []
    replicas = planned_replicas(cfg.runtime, kind, gpus)
    return chosen + preflight(cfg.data, cfg.train, cfg.runtime, kind, replicas, **facts)


def _data_facts(splits) -> dict:
    """preflight's arguments about the data: train examples and files, the cache's size."""
    return {"train_examples": splits.train.size,
            "train_files": len(splits.train.files() or ()),
            "cache_bytes": memory_cache_bytes(splits)}


def doctor_memory(cfg, budget_bytes: float | None = None) -> list:
    """Memory findings for the configured model, batch and precision (``--memory``)."""
    cfg, _ = auto_model(cfg)
    keras.mixed_precision.set_global_policy(cfg.runtime.mixed_precision)
    spec = load_splits(cfg).spec
    estimate = estimate_memory(cfg.train, cfg.data.batch_size, build_model(cfg.model, spec),
                               spec.input_shape)
    budget = budget_bytes or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return memory_findings(estimate, cfg.runtime.mixed_precision, int(budget))
