"""bigmodel_tf: train large models well with TensorFlow, from data to deployable artifacts."""

__version__ = "0.1.0"
