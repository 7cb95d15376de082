"""The child process of `kgen bench`: trains one backend and times it.

Runs with `KERAS_BACKEND` set by the parent, so Keras is imported only here,
inside the functions.
"""

import statistics
import time

import numpy as np

import kgen.backend
from kgen.bench.config import RANDOM_MEAN, RANDOM_STD, preset_configs, random_dataset
from kgen.validation import received


def measure_backend(config, backend):
    """Trains `config.preset` on the current Keras backend; returns its figures.

    Runs in a child whose `KERAS_BACKEND` the parent set to `backend`.
    """
    import keras

    from kgen import distribution, precision, training
    from kgen.data import Dataset
    from kgen.models import build_cnn

    if keras.backend.backend() != backend:
        raise ValueError(
            f"The worker runs Keras on {keras.backend.backend()!r}: set KERAS_BACKEND. "
            f"{received('backend', backend)}"
        )
    model_config, train_config = preset_configs(config.preset, config.width, config.batch)
    images, labels = random_dataset(config.batch * config.total_steps)
    empty = images[:0]
    dataset = Dataset(
        name="random", x_train=images, y_train=labels, x_val=empty, y_val=labels[:0],
        x_test=empty, y_test=labels[:0], class_names=tuple(str(i) for i in range(10)),
        mean=np.asarray(RANDOM_MEAN, "float32"), std=np.asarray(RANDOM_STD, "float32"),
    )
    timer = _window_timer(config)
    jit_compile = {"auto": "auto", "true": True, "false": False}[config.jit_compile]
    with precision.policy(config.precision), distribution.data_parallel(config.devices):
        model = build_cnn(model_config, mean=RANDOM_MEAN, std=RANDOM_STD)
        training.fit(model, dataset, train_config, epochs=1, callbacks=[timer], verbose=0,
                     jit_compile=jit_compile)
    result = timer.summary()
    result.update({
        "jit_compile": bool(model.jit_compile),
        "precision": config.precision,
        "devices": distribution.device_count(config.devices) if config.devices != "1" else 1,
        "flops_per_image": forward_flops(model),
        "versions": kgen.backend.versions(backend),
    })
    return result


def _window_timer(config):
    import keras

    class WindowTimer(keras.callbacks.Callback):
        """Marks the wall and CPU clocks at the end of the warm-up and of each window.

        Reading the loss forces the step to finish on backends that dispatch
        asynchronously (JAX), so a window holds exactly its steps.
        """

        def __init__(self):
            super().__init__()
            self.marks = []
            self.final_loss = None

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step = batch + 1
            after_warmup = step - config.warmup_steps
            if after_warmup >= 0 and after_warmup % config.window_steps == 0:
                self.final_loss = float(keras.ops.convert_to_numpy(logs["loss"]))
                self.marks.append((time.perf_counter(), time.process_time()))

        def summary(self):
            marks = self.marks
            rates = [config.batch * config.window_steps / (b[0] - a[0])
                     for a, b in zip(marks, marks[1:])]
            cpu = sum(b[1] - a[1] for a, b in zip(marks, marks[1:]))
            wall = marks[-1][0] - marks[0][0]
            return {
                "images_per_second": statistics.median(rates),
                "window_images_per_second": rates,
                "warmup_seconds": marks[0][0] - self.start,
                "cpu_seconds_per_image": cpu / (config.batch * config.window_steps * len(rates)),
                "cpu_utilization": cpu / wall,
                "final_loss": self.final_loss,
            }

    return WindowTimer()


def forward_flops(model):
    """Multiply-adds x 2 of the model's convolutions and dense layers, per image."""
    import keras

    from kgen.layers import every_layer

    flops = 0
    for layer in every_layer(model, include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels = layer.output.shape[1:]
            kernel = layer.kernel.shape
            flops += 2 * height * width * channels * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)
