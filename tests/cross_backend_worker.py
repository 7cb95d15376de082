"""Run under one backend: `save DIR` writes models and their predictions, `predict DIR`
loads the other backends' models and predicts with them. Used by test_cross_backend."""

import json
import os
import sys

import numpy as np

# Presets at small widths that together hold every kind of layer kgen builds.
MODELS = {
    "ladder9": ("ladder-9", {"width_multiplier": 0.125}),
    "weightnorm_dropconnect": ("small-cnn", {"normalization": "weight", "head": "flatten",
                                             "head_units": (16,), "drop_connect": 0.3}),
    "resnet9": ("resnet9", {"width_multiplier": 0.125}),
}
# And an MLP (kgen.models.MLPClassifier), on feature vectors: features.npy.
MLP_MODELS = {"course_mlp": ("course-mlp", {"hidden_units": (16, 8)})}
FEATURES = 6


def build(key):
    import kgen.models

    if key in MLP_MODELS:
        preset, overrides = MLP_MODELS[key]
        return kgen.models.create_mlp(preset, FEATURES, 10, mean=[0.5] * FEATURES,
                                      std=[2.0] * FEATURES, **overrides)
    preset, overrides = MODELS[key]
    return kgen.models.create(preset, **overrides)


def main(mode, folder):
    import keras

    import kgen.models
    from tests.helpers import randomize_classifier

    backend = keras.backend.backend()
    images = np.load(os.path.join(folder, "images.npy"))
    features = np.load(os.path.join(folder, "features.npy"))

    def inputs_of(key):
        return features if key in MLP_MODELS else images

    if mode == "save":
        for key in (*MODELS, *MLP_MODELS):
            keras.utils.set_random_seed(hash(backend) % 1000)
            model = build(key)
            # Move BatchNorm's running statistics off their 0/1 start, so inference
            # exercises them; and give the zero-initialized classifier weights, so the
            # logits depend on everything before it.
            model.compile("sgd", "sparse_categorical_crossentropy")
            randomize_classifier(model, seed=2)
            for layer in model.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.moving_mean.assign(np.random.default_rng(0).normal(size=layer.moving_mean.shape))
                    layer.moving_variance.assign(np.random.default_rng(1).uniform(0.5, 2.0, size=layer.moving_variance.shape))
            model.save(os.path.join(folder, f"{key}_{backend}.keras"))
            np.save(os.path.join(folder, f"{key}_{backend}_by_{backend}.npy"),
                    keras.ops.convert_to_numpy(model(inputs_of(key), training=False)))
    else:
        for name in os.listdir(folder):
            if not name.endswith(".keras") or name.endswith(f"_{backend}.keras"):
                continue
            model = kgen.models.load_model(os.path.join(folder, name))  # safe mode
            stem = name[:-len(".keras")]
            key = stem.rsplit("_", 1)[0]
            np.save(os.path.join(folder, f"{stem}_by_{backend}.npy"),
                    keras.ops.convert_to_numpy(model(inputs_of(key), training=False)))
            # What the file says the model is, against what the saving side built.
            expected = build(key).model_config
            with open(os.path.join(folder, f"{stem}_by_{backend}.json"), "w") as handle:
                json.dump({"class": type(model).__name__, "preset": model.preset,
                           "same_config": model.model_config == expected}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
