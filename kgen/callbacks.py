"""Callbacks kgen adds to every `fit`."""

import contextlib
import signal
import threading
import time

import keras
import numpy as np
from keras import ops

from kgen.layers.base import every_layer


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
        for layer in every_layer(self.model):
            variable = getattr(layer, "epoch", None)
            if isinstance(variable, keras.Variable):
                variable.assign(epoch)


class GradientNorms(keras.callbacks.Callback):
    """The gradient norm of every convolution and dense kernel, layer by layer,
    on a fixed probe batch: before training (or at the epoch a resumed run
    starts from) and after every epoch.

    The "how to raise training accuracy" lesson's explanation of why a deep
    sigmoid network stops learning: the gradient shrinks by the sigmoid's
    slope (at most 1/4) at every layer it passes back through, so the first
    layers get almost none. `rows` holds one dict per (epoch, kernel):
    `epoch` (epochs completed when measured), `depth` (the kernel's place from
    the input, 0 first), `layer` and `norm`; `on_rows(rows)` is called after
    each measurement (the study runner writes them to gradient_norms.csv).
    The loss is the data loss alone (no penalties), through
    `kgen.backend.loss_gradients`, which changes nothing in the model.
    """

    def __init__(self, images, labels, initial_epoch=0, rows=(), on_rows=None):
        super().__init__()
        self.images, self.labels = images, labels
        self.initial_epoch = initial_epoch
        self.rows = [row for row in rows if row["epoch"] <= initial_epoch]
        self.on_rows = on_rows

    def on_train_begin(self, logs=None):
        if not any(row["epoch"] == self.initial_epoch for row in self.rows):
            self._measure(self.initial_epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._measure(epoch + 1)

    def _measure(self, epochs_completed):
        from kgen.backend import loss_gradients

        gradients = loss_gradients(self.model, self.images, self.labels)
        depth = 0
        self.rows = [row for row in self.rows if row["epoch"] != epochs_completed]
        for variable, gradient in zip(self.model.trainable_variables, gradients, strict=True):
            if variable.name != "kernel":
                continue
            self.rows.append({"epoch": epochs_completed, "depth": depth,
                              "layer": variable.path.rsplit("/", 1)[0],
                              "norm": float(np.sqrt(np.sum(np.square(gradient, dtype="float64"))))})
            depth += 1
        if self.on_rows is not None:
            self.on_rows(self.rows)


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C during `fit` stops training at the next batch end, on every backend.

    Python raises `KeyboardInterrupt` wherever the main thread happens to be.
    On JAX that is most often inside Keras' `pythonify_logs`, which waits for the
    step's result under a bare `except:` and so swallows the interrupt: training
    went on to the end. Inside `interrupts_deferred()` SIGINT only sets a flag,
    and this callback raises `KeyboardInterrupt` from its own hooks, where
    nothing catches it. A second Ctrl-C interrupts at once, as Python would.
    Training stops between batches, never records a partial epoch: a resumed
    run repeats the interrupted epoch from its start.
    """

    def __init__(self):
        super().__init__()
        self.requested = False

    def check(self):
        if self.requested:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_test_batch_end(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()


@contextlib.contextmanager
def interrupts_deferred():
    """Yields a `StopOnInterrupt` to pass to `fit`; SIGINT sets its flag while
    the block runs. Outside the main thread (where signal handlers cannot be
    installed, e.g. a Ray worker) the callback is inert and SIGINT is left alone."""
    callback = StopOnInterrupt()
    if threading.current_thread() is not threading.main_thread():
        yield callback
        return

    def request_stop(signum, frame):
        if callback.requested:
            raise KeyboardInterrupt
        callback.requested = True

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield callback
        callback.check()  # a Ctrl-C after the last batch
    finally:
        signal.signal(signal.SIGINT, previous)
