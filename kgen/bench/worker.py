"""The child process of `kgen bench`: trains one backend and times it.

Runs with `KERAS_BACKEND` set by the parent, so Keras is imported only here,
inside the functions.
"""

import statistics
import time

import kgen.backend
from kgen.bench.config import bench_variant, random_images_dataset
from kgen.validation import received


def measure_backend(config, backend):
    """Trains `config.preset` on the current Keras backend; returns its figures.

    Runs in a child whose `KERAS_BACKEND` the parent set to `backend`. The
    unit is a study's run (`kgen.studies.runner.run_one`), one epoch of
    `config.total_steps` steps on random images: the timed windows hold its
    steps with their per-step callbacks (the NaN check); its journal, backup
    and the scoring of a batch of validation and test images come after them.
    """
    import tempfile

    import keras

    from kgen import distribution
    from kgen.studies import Settings, Study, runner

    if keras.backend.backend() != backend:
        raise ValueError(
            f"The worker runs Keras on {keras.backend.backend()!r}: set KERAS_BACKEND. "
            f"{received('backend', backend)}"
        )
    settings = Settings(dataset="random", epochs=1, seeds=1, precision=config.precision)
    (planned,) = runner.plan(Study(name="bench", variants=(bench_variant(config),)), settings)
    # A batch of validation and test images: the run scores them after the timing.
    dataset = random_images_dataset(config.batch * config.total_steps, config.batch,
                                    config.image_shape)
    timer = _window_timer(config)
    jit_compile = {"auto": "auto", "true": True, "false": False}[config.jit_compile]
    with tempfile.TemporaryDirectory() as folder, distribution.data_parallel(config.devices):
        runner.run_one(planned, settings, dataset, seed=0, directory=folder,
                       log=lambda *_: None, callbacks=[timer], jit_compile=jit_compile)
    result = timer.summary()
    result.update({
        "precision": config.precision,
        "devices": distribution.device_count(config.devices) if config.devices != "1" else 1,
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

        def on_train_end(self, logs=None):
            # The model exists only inside the run: read what the table needs now.
            self.jit_compile = bool(self.model.jit_compile)
            self.flops_per_image = forward_flops(self.model)

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
                "jit_compile": self.jit_compile,
                "flops_per_image": self.flops_per_image,
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
