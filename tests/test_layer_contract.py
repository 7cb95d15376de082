"""Every layer kgen exports goes through the same Keras layer contract
(`tests.helpers.check_layer_contract`): config round trip, symbolic and eager
call, a fit step in which every weight receives a gradient, `.keras` round trip
with its class, and mixed precision. What each layer computes is tested in
tests/test_layers.py, tests/test_<layer>.py and tests/test_fast_layers.py."""

import keras
import numpy as np
import pytest

import kgen.layers
from kgen.layers import (
    AlternatingFlip,
    BatchNormalization,
    Conv2D,
    DropConnectDense,
    MaxPooling2D,
    MeanOnlyBatchNormalization,
    RandomErasing,
    RandomPadCrop,
    RandomRotation,
    WeightNormalization,
)
from tests.helpers import check_layer_contract

IMAGES = np.random.default_rng(0).uniform(size=(4, 8, 8, 3)).astype("float32")
FEATURES = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")

# (make a new layer, its input, whether it passes its input through at inference)
CASES = {
    AlternatingFlip: (lambda: AlternatingFlip(seed=0), IMAGES, True),
    BatchNormalization: (lambda: BatchNormalization(momentum=0.9), IMAGES, False),
    Conv2D: (lambda: Conv2D(2, 3, padding="same"), IMAGES, False),
    DropConnectDense: (lambda: DropConnectDense(5, rate=0.3, seed=1), FEATURES, False),
    MaxPooling2D: (lambda: MaxPooling2D(2), IMAGES, False),
    MeanOnlyBatchNormalization: (lambda: MeanOnlyBatchNormalization(momentum=0.9), IMAGES, False),
    RandomErasing: (lambda: RandomErasing(p=1.0, scale=(0.1, 0.3), seed=1), IMAGES, True),
    RandomPadCrop: (lambda: RandomPadCrop(padding=2, seed=1), IMAGES, True),
    RandomRotation: (lambda: RandomRotation(degrees=10.0, fill_value=0.5, seed=1), IMAGES, True),
    WeightNormalization: (lambda: WeightNormalization(keras.layers.Conv2D(4, 3, padding="same")),
                          IMAGES, False),
}


def test_every_exported_layer_has_a_case():
    exported = [getattr(kgen.layers, name) for name in kgen.layers.__all__]
    layers = {obj for obj in exported if isinstance(obj, type) and issubclass(obj, keras.layers.Layer)}
    # RandomImageLayer is the augmentations' abstract base.
    assert layers - {kgen.layers.RandomImageLayer} == set(CASES)


@pytest.mark.parametrize("layer_class", CASES, ids=lambda c: c.__name__)
def test_layer_contract(layer_class, tmp_path):
    make_layer, inputs, identity_at_inference = CASES[layer_class]
    check_layer_contract(make_layer, inputs, tmp_path, identity_at_inference)


@pytest.mark.parametrize("layer_class", CASES, ids=lambda c: c.__name__)
def test_layer_is_registered_for_loading(layer_class):
    # A saved model names its layers by registered name; an unregistered one
    # cannot be loaded, and "kgen>" keeps kgen's RandomRotation apart from Keras'.
    name = f"kgen>{layer_class.__name__}"
    assert keras.saving.get_registered_name(layer_class) == name
    assert keras.saving.get_registered_object(name) is layer_class
