"""Resume and preemption: a killed or preempted run resumes and ends as if never stopped.

Promises (README, Reliability): SIGKILL between epochs or in the middle of one, then the
same command again, gives bit-identical final weights and metrics to an uninterrupted run
(op determinism on; the data order is a function of seed and epoch; dropout seeds and
early stopping's state are part of the backup); SIGTERM stops at a batch boundary, keeps
the backup and exits 75; the rerun resumes.
"""

import json

import pytest

from tests.reliability.conftest import assert_same_weights, train_experiment

pytestmark = pytest.mark.slow


def resume_after(tmp_path, reference_run, killer):
    """Interrupt a run at ``killer``, rerun the same command; compare with the reference."""
    stopped = train_experiment(tmp_path, "run", killer=killer)
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert list((tmp_path / "run" / "checkpoints" / "backup").glob("epoch-*"))
    resumed = train_experiment(tmp_path, "run")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_weights(tmp_path / "run", reference_run)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    expected = json.loads((reference_run / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        assert metrics[split] == expected[split]
    assert not (tmp_path / "run" / "checkpoints" / "backup").exists()  # removed when done
    return stopped, resumed


def test_sigkill_between_epochs_resumes_to_identical_weights(tmp_path, reference_run):
    stopped, resumed = resume_after(tmp_path, reference_run, killer=(4, -1, "KILL"))
    assert stopped.returncode == -9
    assert "Epoch 4/6" not in resumed.stdout and "Epoch 5/6" in resumed.stdout


def test_sigkill_while_a_snapshot_is_written_resumes_to_identical_weights(
        tmp_path, reference_run):
    # Killed as epoch 5 begins, without waiting for epoch 4's snapshot (written on the
    # backup's thread): either it landed, or the resume starts from epoch 3's and trains
    # epoch 4 again; the result is the same run.
    stopped, resumed = resume_after(tmp_path, reference_run, killer=(4, -2, "KILL"))
    assert stopped.returncode == -9
    assert "Epoch 5/6" in resumed.stdout and "Epoch 3/6" not in resumed.stdout


def test_sigkill_mid_epoch_replays_the_epoch_to_identical_weights(tmp_path, reference_run):
    stopped, resumed = resume_after(tmp_path, reference_run, killer=(2, 6, "KILL"))
    assert stopped.returncode == -9
    assert "Epoch 2/6" not in resumed.stdout and "Epoch 3/6" in resumed.stdout


def test_sigterm_keeps_the_backup_exits_75_and_resumes(tmp_path, reference_run):
    stopped, resumed = resume_after(tmp_path, reference_run, killer=(5, 3, "TERM"))
    assert stopped.returncode == 75, stopped.stderr[-3000:]
    assert "preempted by SIGTERM" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "Epoch 5/6" not in resumed.stdout and "Epoch 6/6" in resumed.stdout


def test_sigkill_with_ema_resumes_to_identical_weights(tmp_path):
    """The backup holds the training weights and their averages, not the swapped-in EMA
    weights that validation and early stopping see: a resume continues the same run."""
    ema = ("train.ema=true", "train.ema_momentum=0.8")
    reference = train_experiment(tmp_path, "reference", *ema)
    assert reference.returncode == 0, reference.stderr[-3000:]
    stopped = train_experiment(tmp_path, "run", *ema, killer=(4, -1, "KILL"))
    assert stopped.returncode == -9
    resumed = train_experiment(tmp_path, "run", *ema)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 4/6" not in resumed.stdout and "Epoch 5/6" in resumed.stdout
    assert_same_weights(tmp_path / "run", tmp_path / "reference")
