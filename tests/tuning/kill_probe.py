"""Run a search with the stand-in trainer and SIGKILL this process in the middle of a trial.

Started by tests/tuning/test_resume.py in its own interpreter: the kill leaves the search
directory exactly as a power cut or an out-of-memory kill would.
Usage: python -m tests.tuning.kill_probe SEARCH_DIR ALGORITHM KILL_AT_CALL
"""

import sys
from pathlib import Path

from bigmodel_tf.tuning import tuner as tuner_module
from bigmodel_tf.tuning.search import run_search
from tests.tuning.conftest import FakeTrainer, algorithm_config

if __name__ == "__main__":
    search_dir, algorithm, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    trainer = FakeTrainer()
    trainer.kill_at = kill_at
    tuner_module.run_experiment = trainer
    run_search(algorithm_config(algorithm), search_dir)
