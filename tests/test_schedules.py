import keras
import numpy as np
import pytest

import kgen.models
from kgen import schedules


def values(schedule, steps):
    return np.array([float(keras.ops.convert_to_numpy(schedule(step))) for step in steps])


def test_per_epoch_exponential_is_lr0_gamma_pow_epoch():
    schedule = schedules.per_epoch_exponential(0.1, 0.96, steps_per_epoch=7)
    steps = np.arange(0, 70)
    np.testing.assert_allclose(values(schedule, steps), 0.1 * 0.96 ** (steps // 7), rtol=1e-6)


def test_per_epoch_exponential_equals_pytorch_exponential_lr():
    torch = pytest.importorskip("torch")
    steps_per_epoch, epochs = 5, 12
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.05)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    torch_rates = []
    for _ in range(epochs):
        torch_rates += [optimizer.param_groups[0]["lr"]] * steps_per_epoch
        optimizer.step()
        scheduler.step()  # once per epoch, as the course does
    keras_rates = values(schedules.per_epoch_exponential(0.05, 0.9, steps_per_epoch),
                         range(steps_per_epoch * epochs))
    np.testing.assert_allclose(keras_rates, torch_rates, rtol=1e-6)


def test_cosine_with_warmup():
    schedule = schedules.cosine(1.0, total_steps=110, warmup_steps=10)
    got = values(schedule, [0, 5, 10, 60, 110])
    np.testing.assert_allclose(got, [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(values(schedules.cosine(2.0, 100), [0, 50, 100]), [2.0, 1.0, 0.0],
                               atol=1e-6)


def test_warmup_linear_decay_is_a_triangle():
    schedule = schedules.WarmupLinearDecay(0.4, warmup_steps=5, total_steps=25, start_fraction=0.0)
    got = values(schedule, [0, 1, 5, 15, 25, 40])
    np.testing.assert_allclose(got, [0.0, 0.08, 0.4, 0.2, 0.0, 0.0], atol=1e-7)
    restored = schedules.WarmupLinearDecay.from_config(schedule.get_config())
    np.testing.assert_allclose(values(restored, [3, 17]), values(schedule, [3, 17]))


@pytest.mark.parametrize("name, expected", [
    ("constant", float), ("exponential", keras.optimizers.schedules.ExponentialDecay),
    ("cosine", keras.optimizers.schedules.CosineDecay), ("warmup_linear", schedules.WarmupLinearDecay),
])
def test_from_config_picks_each_schedule(name, expected):
    train = kgen.models.TrainConfig(schedule=name, learning_rate=0.1, epochs=4, warmup_epochs=1)
    assert isinstance(schedules.from_config(train, steps_per_epoch=10), expected)


@pytest.mark.parametrize("call, match", [
    (lambda: schedules.per_epoch_exponential(0.1, 1.5, 10), "gamma"),
    (lambda: schedules.per_epoch_exponential(-0.1, 0.9, 10), "initial_learning_rate"),
    (lambda: schedules.per_epoch_exponential(0.1, 0.9, 0), "steps_per_epoch"),
    (lambda: schedules.cosine(0.1, 10, warmup_steps=11), "warmup_steps"),
])
def test_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
