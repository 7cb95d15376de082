"""L1 and L1 + L2 penalties, MaxNorm constraints, LeakyReLU and PReLU: each
reaches every kernel or unit, does what it is named for, survives a `.keras`
round trip, and leaves the configs of earlier runs as they were written."""

import json

import keras
import numpy as np
import pytest

import kgen.layers
import kgen.models
from kgen.models import ModelConfig, Stage, TrainConfig, build_cnn, weight_statistics
from kgen.models.weights import kernels
from tests.helpers import check_model_contract, random_images

SMALL = {"stages": (Stage(8, convs=1), Stage(16, convs=1)), "head_units": (12,)}


def kernel_layers(model):
    return [layer for layer in kgen.layers.every_layer(model)
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]


@pytest.mark.parametrize("fields, regularizer_class, expected", [
    ({"l1": 1e-4}, keras.regularizers.L1, {"l1": 1e-4}),
    ({"l2": 5e-4}, keras.regularizers.L2, {"l2": 5e-4}),
    ({"l1": 1e-4, "l2": 5e-4}, keras.regularizers.L1L2, {"l1": 1e-4, "l2": 5e-4}),
])
def test_penalties_reach_every_kernel(fields, regularizer_class, expected):
    model = build_cnn(ModelConfig(**SMALL, **fields))
    layers = kernel_layers(model)
    assert len(layers) == 4  # two convolutions, the hidden dense layer, the classifier
    for layer in layers:
        assert type(layer.kernel_regularizer) is regularizer_class, layer.name
        config = layer.kernel_regularizer.get_config()
        for name, value in expected.items():
            assert config[name] == pytest.approx(value)


def test_l1_penalty_is_l1_times_the_sum_of_absolute_kernel_weights():
    model = build_cnn(ModelConfig(**SMALL, l1=1e-3, l2=2e-3))
    model(random_images(2))
    expected = sum(1e-3 * np.abs(k).sum() + 2e-3 * np.square(k).sum() for k in kernels(model))
    got = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    assert got == pytest.approx(expected, rel=1e-4)


def test_max_norm_caps_every_units_norm_after_a_step():
    config = ModelConfig(**SMALL, max_norm=0.5)
    model = build_cnn(config)
    for layer in kernel_layers(model):
        axes = (0, 1, 2) if len(layer.kernel.shape) == 4 else 0
        assert layer.kernel_constraint.get_config() == {"max_value": 0.5, "axis": axes}
    # He-initialized 3x3 filters start with norms above the cap (MaxNorm acts
    # after each optimizer step, not at initialization) ...
    assert weight_statistics(model)["max_unit_norm"] > 0.5
    model.compile(keras.optimizers.SGD(0.01), keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(random_images(16), np.arange(16) % 10, batch_size=16, epochs=1, verbose=0)
    # ... and one step later every unit is within it.
    assert weight_statistics(model)["max_unit_norm"] <= 0.5 + 1e-5


def test_leaky_relu_and_prelu_slopes():
    negative = -np.linspace(1.0, 2.0, 6, dtype="float32").reshape(1, 1, 2, 3)
    leaky = kgen.models.builder.activation_layer("leaky_relu", "leaky")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(leaky(negative)), 0.01 * negative,
                               rtol=1e-6)
    prelu = kgen.models.builder.activation_layer("prelu", "prelu", per_channel_of_images=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(prelu(negative)), 0.25 * negative,
                               rtol=1e-6)
    assert tuple(prelu.alpha.shape) == (1, 1, 3)  # one learned slope per channel


@pytest.mark.parametrize("activation, extra_parameters", [("leaky_relu", 0), ("prelu", 8 + 16 + 12)])
def test_layer_activations_in_a_model(activation, extra_parameters, tmp_path):
    relu = build_cnn(ModelConfig(**SMALL))
    model = build_cnn(ModelConfig(**SMALL, activation=activation))
    # PReLU learns one slope per channel of each convolution and per hidden unit.
    assert model.count_params() - relu.count_params() == extra_parameters
    check_model_contract(
        lambda: build_cnn(ModelConfig(**SMALL, activation=activation, l1=1e-4, max_norm=3.0),
                          num_classes=4),
        random_images(4), np.arange(4), tmp_path)


def test_weight_statistics_on_known_kernels():
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    # Largest magnitude 4: below 0.04 are the two tiny entries out of eight.
    dense.kernel.assign(np.array([[4.0, 0.0], [0.03, -3.0], [1.0, 0.5], [-0.5, 1.0]], "float32"))
    statistics = weight_statistics(model)
    assert statistics["near_zero_weights"] == pytest.approx(2 / 8)
    assert statistics["max_unit_norm"] == pytest.approx(np.sqrt(16 + 0.0009 + 1 + 0.25))
    with pytest.raises(ValueError, match="Received: near_zero_share=0"):
        weight_statistics(model, near_zero_share=0)


def test_l1_training_makes_weights_near_zero_where_l2_shrinks_them():
    # The course's claim, on a problem small enough to check in a test: the same
    # steps from the same weights with L1 leave many more near-zero weights, and L2
    # (scaling every weight alike) does not.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")  # two of twenty inputs matter

    def trained(regularizer):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((20,))
        outputs = keras.layers.Dense(2, kernel_regularizer=regularizer)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(True))
        model.fit(x, y, batch_size=256, epochs=300, verbose=0)
        return weight_statistics(model)["near_zero_weights"]

    none, l1, l2 = trained(None), trained(keras.regularizers.L1(0.01)), trained(
        keras.regularizers.L2(0.01))
    assert l1 >= none + 0.3
    assert l2 < none + 0.2


def test_new_fields_keep_earlier_configs_as_written():
    # Run folders and saved models written before l1, max_norm and nesterov existed
    # hold configs without them; at their defaults the configs are written the same.
    model_fields, train_fields = ModelConfig().to_dict(), TrainConfig().to_dict()
    assert not {"l1", "max_norm"} & set(model_fields)
    assert "nesterov" not in train_fields
    changed = ModelConfig(l1=1e-5, max_norm=3.0)
    assert ModelConfig.from_dict(json.loads(json.dumps(changed.to_dict()))) == changed
    assert TrainConfig(nesterov=False).to_dict()["nesterov"] is False


@pytest.mark.parametrize("fields, message", [
    ({"l1": -1e-4}, "Received: l1=-0.0001"),
    ({"max_norm": float("nan")}, "Received: max_norm=nan"),
    ({"activation": "leakyrelu"}, "leaky_relu"),
])
def test_bad_fields_name_themselves(fields, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**fields)


def test_weight_statistics_measure_the_weights_a_weight_normalized_layer_computes_with():
    model = build_cnn(ModelConfig(**SMALL, normalization="weight"))
    model(random_images(2))
    wrappers = [layer for layer in kgen.layers.every_layer(model)
                if isinstance(layer, kgen.layers.WeightNormalization)]
    for index, wrapper in enumerate(wrappers):
        wrapper.g.assign(np.full(wrapper.g.shape, 0.1 * (index + 1), "float32"))
    # Each unit's norm is its g, not the norm of the direction v.
    largest_g = 0.1 * len(wrappers)
    statistics = weight_statistics(model)
    head = [keras.ops.convert_to_numpy(model.get_layer(name).kernel)
            for name in ("head0_dense", "classifier")]
    head_norm = max(np.sqrt(np.square(k).sum(axis=0)).max() for k in head)
    assert statistics["max_unit_norm"] == pytest.approx(max(largest_g, head_norm), rel=1e-4)


def test_the_course_normal_initializer_is_the_same_in_both_builders():
    from kgen.models import MLPConfig, build_mlp

    keras.utils.set_random_seed(0)
    mlp = build_mlp(MLPConfig(hidden_units=(512,), initializer="normal"), 512, 2)
    assert np.std(keras.ops.convert_to_numpy(mlp.get_layer("hidden0_dense").kernel)) == \
        pytest.approx(0.01, rel=0.05)
