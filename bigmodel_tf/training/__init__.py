"""Training stage: strategy, optimizer and schedule, callbacks, and the train() entry."""

from bigmodel_tf.training.train import TrainResult, compile_model, run_train

__all__ = ["TrainResult", "compile_model", "run_train"]
