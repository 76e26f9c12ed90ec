"""Run searches with the stand-in trainer, each SIGKILLed in the middle of a trial.

Started by tests/tuning/test_resume.py in its own interpreter, which imports TensorFlow and
KerasTuner once (most of a probe's time); each search then runs in a forked child that
SIGKILLs itself in the middle of call KILL_AT_CALL, which leaves its search directory
exactly as a power cut or an out-of-memory kill would. Prints {algorithm: the signal that
ended its child, 0 if none} as JSON.
Usage: python -m tests.tuning.kill_probe ROOT KILL_AT_CALL ALGORITHM... (searches ROOT/<algorithm>)
"""

import json
import os
import sys
import traceback
from pathlib import Path

from bigmodel_tf.tuning import tuner as tuner_module
from bigmodel_tf.tuning.search import run_search
from tests.tuning.conftest import FakeTrainer, algorithm_config


def killed_search(search_dir: Path, algorithm: str, kill_at: int) -> int:
    """Run the search in a forked child killed at call ``kill_at``; the signal that ended it."""
    pid = os.fork()
    if pid == 0:  # the child: nothing of TensorFlow's runtime was started before the fork
        try:
            trainer = FakeTrainer()
            trainer.kill_at = kill_at
            tuner_module.run_experiment = trainer
            run_search(algorithm_config(algorithm), search_dir)
        except BaseException:
            traceback.print_exc()
        os._exit(1)  # the search ended without being killed
    _, status = os.waitpid(pid, 0)
    return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


if __name__ == "__main__":
    root, kill_at, algorithms = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    print(json.dumps({name: killed_search(root / name, name, kill_at) for name in algorithms}))
