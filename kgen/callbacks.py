"""Callbacks kgen adds to every `fit`."""

import time

import keras
from keras import ops


class EpochLogger(keras.callbacks.Callback):
    """Adds `learning_rate` (the value during the epoch that just ended) and
    `seconds` (its wall time) to the epoch logs, so `History` and `CSVLogger`
    record them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._learning_rate = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self._learning_rate
            logs["seconds"] = time.perf_counter() - self._start


class SyncAugmentationEpoch(keras.callbacks.Callback):
    """Tells every layer with an `epoch` variable (`AlternatingFlip`) which epoch
    starts. The JAX trainer reads variables back into its state at the first
    step of each epoch, so assigning here reaches the compiled step."""

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self.model._flatten_layers():
            variable = getattr(layer, "epoch", None)
            if isinstance(variable, keras.Variable):
                variable.assign(epoch)
