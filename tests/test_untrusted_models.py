"""`.keras` files from elsewhere: Lambda layers refused, corrupt files named."""

import keras
import numpy as np
import pytest

import kgen.models
from tests.helpers import random_images, randomize_classifier


def test_kgen_model_round_trips_in_safe_mode(tmp_path):
    model = randomize_classifier(kgen.models.create("ladder-5", width_multiplier=0.125))
    path = tmp_path / "ladder5.keras"
    model.save(path)
    restored = kgen.models.load_model(path)
    images = random_images(2)
    # training=False: Keras' own RandomFlip augments when `training` is left unset.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(images, training=False)),
                               keras.ops.convert_to_numpy(model(images, training=False)),
                               atol=1e-5)


def test_lambda_layer_is_refused(tmp_path):
    marker = tmp_path / "ran"
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ValueError, match="Lambda.*path="):
        kgen.models.load_model(path)
    assert not marker.exists()


def test_corrupt_and_truncated_files_are_named(tmp_path):
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="garbage.keras"):
        kgen.models.load_model(garbage)
    model = kgen.models.create("small-cnn")
    whole = tmp_path / "whole.keras"
    model.save(whole)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated.keras"):
        kgen.models.load_model(truncated)


@pytest.mark.parametrize("name", ["missing.keras", "model.h5"])
def test_wrong_paths(tmp_path, name):
    if name.endswith(".h5"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ValueError, match="path="):
        kgen.models.load_model(tmp_path / name)
