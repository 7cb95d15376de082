"""Learning-rate schedules, all `keras.optimizers.schedules.LearningRateSchedule`s.

Keras steps a schedule once per optimizer step; the course's PyTorch code steps
its schedulers once per epoch. The functions here take `steps_per_epoch` and do
the conversion, so the learning rate during epoch `e` is what PyTorch gives.
"""

import keras
from keras import ops

from kgen.validation import MAX_STEPS, check_float32, check_int, check_number


def check_learning_rate(name, value):
    """A positive learning rate that is finite as a float32 tensor."""
    return check_float32(name, value, minimum=0.0, min_inclusive=False)


def per_epoch_exponential(initial_learning_rate, gamma, steps_per_epoch):
    """`lr0 * gamma ** epoch`, constant within an epoch.

    Equal to `torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)` with
    `scheduler.step()` called after every epoch (tested against PyTorch).
    """
    check_learning_rate("initial_learning_rate", initial_learning_rate)
    check_number("gamma", gamma, minimum=0.0, maximum=1.0, min_inclusive=False)
    check_int("steps_per_epoch", steps_per_epoch, minimum=1, maximum=MAX_STEPS)
    return keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate, decay_steps=steps_per_epoch, decay_rate=gamma, staircase=True
    )


def cosine(initial_learning_rate, total_steps, warmup_steps=0, final_fraction=0.0):
    """Linear warmup from 0 to the peak over `warmup_steps`, then cosine decay to
    `final_fraction * peak` at `total_steps` (Keras' `CosineDecay` does both)."""
    check_learning_rate("initial_learning_rate", initial_learning_rate)
    check_int("total_steps", total_steps, minimum=1, maximum=MAX_STEPS)
    check_int("warmup_steps", warmup_steps, minimum=0, maximum=total_steps)
    check_number("final_fraction", final_fraction, minimum=0.0, maximum=1.0)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate, decay_steps=total_steps, alpha=final_fraction
        )
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=initial_learning_rate,
        warmup_steps=warmup_steps,
    )


@keras.saving.register_keras_serializable(package="kgen")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A triangle: linear from `start_fraction * peak` to `peak` over `warmup_steps`,
    then linear to `end_fraction * peak` at `total_steps`, constant after.

    The one-cycle shape of Page's ResNet-9 and of airbench. Keras has no linear
    warmup with a linear decay (its `PolynomialDecay` has no warmup), hence this.
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, start_fraction=0.0,
                 end_fraction=0.0):
        self.peak_learning_rate = check_learning_rate("peak_learning_rate", peak_learning_rate)
        self.total_steps = check_int("total_steps", total_steps, minimum=1, maximum=MAX_STEPS)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0, maximum=total_steps)
        self.start_fraction = check_number("start_fraction", start_fraction, 0.0, 1.0)
        self.end_fraction = check_number("end_fraction", end_fraction, 0.0, 1.0)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        rising = self.start_fraction + (1.0 - self.start_fraction) * step / warmup
        decay_length = float(max(self.total_steps - self.warmup_steps, 1))
        progress = ops.minimum((step - self.warmup_steps) / decay_length, 1.0)
        falling = 1.0 - (1.0 - self.end_fraction) * progress
        return peak * ops.where(step < self.warmup_steps, rising, falling)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "start_fraction": self.start_fraction,
            "end_fraction": self.end_fraction,
        }


def from_config(train_config, steps_per_epoch, epochs=None):
    """The schedule a `kgen.models.TrainConfig` asks for; a float for "constant"."""
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, minimum=1, maximum=MAX_STEPS)
    epochs = train_config.epochs if epochs is None else check_int("epochs", epochs, minimum=1)
    lr = train_config.learning_rate
    total_steps = steps_per_epoch * epochs
    if total_steps > MAX_STEPS:  # checked here, not in the config: it depends on the data
        raise ValueError(
            f"`epochs` x `steps_per_epoch` is {total_steps} optimizer steps, more than the "
            f"{MAX_STEPS} a schedule can count. Received: epochs={epochs}, "
            f"steps_per_epoch={steps_per_epoch}"
        )
    warmup_steps = min(round(train_config.warmup_epochs * steps_per_epoch), total_steps)
    if train_config.schedule == "constant":
        return lr
    if train_config.schedule == "exponential":
        return per_epoch_exponential(lr, train_config.gamma, steps_per_epoch)
    if train_config.schedule == "cosine":
        return cosine(lr, total_steps, warmup_steps)
    if train_config.schedule == "warmup_linear":
        return WarmupLinearDecay(lr, warmup_steps, total_steps)
    # TrainConfig refuses other names; a new one must be made here first.
    raise ValueError(f"No schedule is made for this name. "
                     f"Received: schedule={train_config.schedule!r}")
