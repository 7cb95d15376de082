"""Losses for integer labels and logits."""

import keras
from keras import ops

from kgen.validation import check_number


@keras.saving.register_keras_serializable(package="kgen")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Cross-entropy from integer labels and logits, with optional label smoothing.

    Keras' own `SparseCategoricalCrossentropy` has no `label_smoothing` (only the
    one-hot `CategoricalCrossentropy` has), and kgen's datasets keep integer
    labels, so this one-hot encodes inside the loss.
    """

    def __init__(self, label_smoothing=0.0, name="sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        # 1.0 would make every target uniform: nothing left to learn.
        self.label_smoothing = check_number("label_smoothing", label_smoothing, minimum=0.0,
                                            maximum=1.0, max_inclusive=False)

    def call(self, y_true, y_pred):
        if not self.label_smoothing:
            return keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        one_hot = ops.one_hot(y_true, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
