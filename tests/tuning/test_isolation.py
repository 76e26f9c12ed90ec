"""Trials do not leak memory into each other (keras-tuner#873).

The trials (``memory_probe.TRIALS``) run in a fresh interpreter
(tests/tuning/memory_probe.py), as in a user's ``bigmodel tune`` process; RSS is read at
the start of every trial, after the previous one's clean-up.
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.tuning.memory_probe import TRIALS

ROOT = Path(__file__).parents[2]


def test_memory_stays_flat_over_the_trials(tmp_path):
    probe = subprocess.run([sys.executable, "-m", "tests.tuning.memory_probe",
                            str(tmp_path / "search")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert probe.returncode == 0, probe.stderr[-2000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    memory = result["memory"]
    assert result["statuses"] == ["COMPLETED"] * TRIALS
    growth = memory[-1] - memory[4]  # after warm-up (first traces, caches)
    print(f"RSS at the start of each trial (MB): {[round(m) for m in memory]}; "
          f"growth over trials 5-{TRIALS}: {growth:.1f} MB")
    assert growth < 15  # clear_session + gc alone leak about 9.5 MB per trial (README)
    assert len(set(result["registry_sizes"])) == 1  # no gradient function survives its trial
