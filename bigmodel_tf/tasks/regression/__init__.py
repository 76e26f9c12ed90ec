"""Regression: one real-valued target, a linear output in its units, MSE or Huber loss."""

from bigmodel_tf.tasks.regression.task import RegressionTask

TASK = RegressionTask()

__all__ = ["TASK", "RegressionTask"]
