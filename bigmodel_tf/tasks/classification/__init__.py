"""Classification: class ids, softmax probabilities, cross-entropy and accuracy."""

from bigmodel_tf.tasks.classification.task import ClassificationTask

TASK = ClassificationTask()

__all__ = ["TASK", "ClassificationTask"]
