"""Distributed tuning on KerasTuner's own chief/worker protocol.

KerasTuner reads three environment variables: ``KERASTUNER_ORACLE_IP`` and
``KERASTUNER_ORACLE_PORT`` (where the chief's oracle listens, over gRPC) and
``KERASTUNER_TUNER_ID`` (``chief`` for the chief; a unique id per worker). The chief runs
only the oracle and holds every trial's result; workers ask it for trials, train them
and report back. ``bigmodel tune --role chief|worker`` checks that environment before any
work and fills in the tuner id when it is not set (a worker keeps the same id across
restarts only if you set it: the chief then hands a restarted worker its unfinished trial).
"""

from __future__ import annotations

import os
import socket

from bigmodel_tf.errors import ConfigError

ROLES = ("chief", "worker")
ADDRESS_VARIABLES = ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def configure_role(role: str | None) -> str:
    """Check and complete the KERASTUNER_* environment; returns ``local``, chief or worker."""
    env = os.environ
    if role is None:
        if "KERASTUNER_ORACLE_IP" in env:
            raise ConfigError("KERASTUNER_ORACLE_IP is set: add --role chief or --role worker, "
                              "or unset it for a search on this machine alone")
        return "local"
    if role not in ROLES:
        raise ConfigError(f"--role: expected chief or worker, got {role!r}")
    missing = [name for name in ADDRESS_VARIABLES if not env.get(name)]
    if missing:
        raise ConfigError(f"--role {role}: set {' and '.join(missing)} (the chief's address, "
                          "e.g. KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000)")
    port = env["KERASTUNER_ORACLE_PORT"]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"KERASTUNER_ORACLE_PORT: expected a port number, got {port!r}")
    tuner_id = env.get("KERASTUNER_TUNER_ID")
    if tuner_id and (("chief" in tuner_id) != (role == "chief")):
        rule = "contain" if role == "chief" else "not contain"
        raise ConfigError(f"KERASTUNER_TUNER_ID: must {rule} 'chief' for --role {role} "
                          f"(KerasTuner's rule), got {tuner_id!r}")
    if not tuner_id:
        default = "chief" if role == "chief" else f"worker-{socket.gethostname()}-{os.getpid()}"
        env["KERASTUNER_TUNER_ID"] = default
    return role
