"""The EMA weights as the run's weights: validated, kept as best, saved and exported.

With ``train.ema`` the optimizer keeps an exponential moving average of the trainable
weights (Keras' ``use_ema``). ``EmaWeights`` puts the averages into the model for
validation (fit's test hooks) and, at each epoch end, for the callbacks after it (the best
checkpoint, early stopping's best weights); ``release`` puts the training weights back
before the run backup snapshots the state, so a resume continues from the same training
weights and averages. When training ends, the optimizer's ``finalize_variable_values``
(fit's, and the multi-worker loop's) puts the last averages into the model, and early
stopping's restore then puts the best epoch's averages in.

Keras' ``SwapEMAWeights`` swaps by additions and subtractions, which rounds; this swap
copies, so the model holds the averages bit for bit.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bigmodel_tf.compat import ema_pairs


def ema_optimizer(model: keras.Model):
    """The optimizer holding the averages (the inner one under loss scaling)."""
    return getattr(model.optimizer, "inner_optimizer", model.optimizer)


class EmaWeights(keras.callbacks.Callback):
    """Swaps the optimizer's EMA weights into the model for validation and at epoch ends."""

    def __init__(self):
        super().__init__()
        self.in_model = False

    def _swap(self) -> None:
        """Exchange the model's trainable weights with their averages (exact copies)."""
        optimizer = ema_optimizer(self.model)
        pairs = ema_pairs(optimizer)
        weights = [tf.convert_to_tensor(variable) for variable, _ in pairs]
        averages = [tf.convert_to_tensor(average) for _, average in pairs]
        for (variable, average), weight, mean in zip(pairs, weights, averages, strict=True):
            variable.assign(mean)
            average.assign(weight)
        self.in_model = not self.in_model

    def put_in(self, *_args) -> None:
        """The averages into the model (once)."""
        if not self.in_model:
            self._swap()

    def take_out(self, *_args) -> None:
        """The training weights back into the model (once)."""
        if self.in_model:
            self._swap()

    def on_train_begin(self, logs=None):
        """A fit starts with the training weights in the model."""
        self.in_model = False

    on_test_begin = put_in
    on_test_end = take_out
    on_epoch_end = put_in

    def release(self) -> keras.callbacks.Callback:
        """A callback that puts the training weights back at the epoch end (place it last
        before the run backup)."""
        return keras.callbacks.LambdaCallback(on_epoch_end=self.take_out)
