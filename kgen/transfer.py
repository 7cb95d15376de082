"""Transfer learning: reuse a trained network's features for new classes.

The course's recipe, in Keras' conventions (keras.io, "Transfer learning and
fine-tuning"):

1. take a trained network and replace its head by a classifier for the new
   classes (`with_new_head`);
2. freeze the backbone and train the new head (`set_backbone_trainable(model,
   False)`); a frozen BatchNormalization runs in inference mode, with its
   moving statistics, as Keras does for any layer with `trainable=False`;
3. unfreeze all of it, or its top stages, and train on at a lower learning rate
   (`fine_tune` does 2 and 3).

Training the head alone to the end is a linear probe. Pretrained networks come
from a kgen `.keras` file (`kgen.models.load_model`: kgen pretrains its own,
offline, in `recipes/teaching/transfer.py`), or from a `keras.applications`
network with a weights file on disk (`application_model`; `weights="imagenet"`
downloads them where there is a network).
"""

import dataclasses
import re

import keras

from kgen.data import class_subset  # noqa: F401 (part of this module's API)
from kgen.validation import check_choice, check_int, check_number, received

CLASSIFIER = "transfer_classifier"
# The layer names the builder gives its heads' pooling (`HEAD_POOLING`;
# tests/test_transfer.py checks they agree).
POOLING_LAYERS = ("flatten", "avg_pool", "max_pool")
_STAGE = re.compile(r"^stage(\d+)_")


def features_layer(model):
    """The layer whose output is `model`'s pooled features: a kgen CNN's head
    pooling (flatten or global pooling), else the input of its last layer."""
    for name in POOLING_LAYERS:
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    return model.layers[-2]


def with_new_head(model, num_classes, dropout=0.0, name=None):
    """A model computing `model`'s pooled features (its layers and weights,
    shared, not copied) followed by a new classifier of `num_classes` logits;
    `model`'s own head layers (hidden dense layers, classifier) are left out.
    `dropout` adds dropout before the new classifier."""
    num_classes = check_int("num_classes", num_classes, minimum=2)
    dropout = check_number("dropout", dropout, minimum=0.0, maximum=1.0, max_inclusive=False)
    x = features_layer(model).output
    if dropout:
        x = keras.layers.Dropout(dropout, name="transfer_dropout")(x)
    # Zero-initialized, as kgen's classifiers: training starts at the loss of guessing.
    logits = keras.layers.Dense(num_classes, kernel_initializer="zeros", dtype="float32",
                                name=CLASSIFIER)(x)
    return keras.Model(model.inputs, logits, name=name or f"{model.name}_transfer")


def set_backbone_trainable(model, trainable, top_stages=None):
    """Freezes (`trainable=False`) or unfreezes every layer of `model` but the
    new classifier (and its dropout). With `top_stages=n`, unfreezing reaches
    only the layers of the last `n` stages of a kgen CNN (named `stageI_...`),
    the rest stays frozen. Recompile (or `fit` again) after changing it."""
    if not isinstance(trainable, bool):
        raise TypeError(f"`trainable` must be True or False. {received('trainable', trainable)}")
    stages = sorted({int(m.group(1)) for layer in model.layers
                     if (m := _STAGE.match(layer.name))})
    unfrozen_stages = set(stages)
    if top_stages is not None:
        if not stages:
            raise ValueError("`top_stages` counts the stages of a kgen CNN (layers named "
                             f"stageI_...); this model has none. Received: top_stages={top_stages}")
        check_int("top_stages", top_stages, minimum=1, maximum=len(stages))
        unfrozen_stages = set(stages[-top_stages:])
    for layer in model.layers:
        if layer.name in (CLASSIFIER, "transfer_dropout"):
            layer.trainable = True
            continue
        match = _STAGE.match(layer.name)
        in_top = top_stages is None or (match is not None and int(match.group(1)) in unfrozen_stages)
        layer.trainable = trainable and in_top


@dataclasses.dataclass(frozen=True)
class FineTuneResult:
    """The two phases' `History.history` dicts (`head`, then `full`; `full` is
    empty for a linear probe)."""

    head: dict
    full: dict


def fine_tune(model, data, train_config, head_epochs, full_epochs=0, learning_rate_factor=0.1,
              top_stages=None, callbacks=()):
    """Trains a `with_new_head` model on `data`: `head_epochs` with the backbone
    frozen, then `full_epochs` with it unfrozen (all of it, or its `top_stages`)
    at `learning_rate_factor` times `train_config`'s learning rate. Each phase
    is one `kgen.training.fit` (which compiles, as a change of `trainable`
    requires: the optimizer starts afresh in the second phase). `full_epochs=0`
    is a linear probe."""
    from kgen import training

    head_epochs = check_int("head_epochs", head_epochs, minimum=1)
    full_epochs = check_int("full_epochs", full_epochs, minimum=0)
    check_number("learning_rate_factor", learning_rate_factor, minimum=0.0, maximum=1.0,
                 min_inclusive=False)
    set_backbone_trainable(model, False)
    # The backbone's weight-normalized layers are trained: no data-dependent init.
    head = training.fit(model, data, train_config, epochs=head_epochs, callbacks=list(callbacks),
                        verbose=0, data_dependent_init=False).history
    full = {}
    if full_epochs:
        set_backbone_trainable(model, True, top_stages=top_stages)
        lower = dataclasses.replace(train_config,
                                    learning_rate=train_config.learning_rate * learning_rate_factor)
        full = training.fit(model, data, lower, epochs=full_epochs, callbacks=list(callbacks),
                            verbose=0, data_dependent_init=False).history
    return FineTuneResult(head=head, full=full)


# keras.applications networks by name, with the scaling their weights expect:
# "tf" is their `preprocess_input` for these (pixels to [-1, 1]); EfficientNet
# rescales inside the network. As Keras layers, not a Lambda around
# `preprocess_input`, which safe-mode loading refuses. (VGG16 and ResNet50 want
# "caffe" BGR mean subtraction; they are left out rather than half-supported.)
APPLICATIONS = {"MobileNetV2": "tf", "ResNet50V2": "tf", "EfficientNetB0": "none"}


def application_model(name, num_classes, input_shape=(224, 224, 3), weights=None):
    """A `keras.applications` network (`APPLICATIONS`) without its top, with
    global average pooling and a new classifier, taking uint8 images.

    `weights`: None (random), a path to a weights file of that network without
    its top (a `.weights.h5` you downloaded or saved), or "imagenet" (Keras
    downloads it; needs a network). Its layers form the backbone for
    `set_backbone_trainable`."""
    check_choice("name", name, tuple(APPLICATIONS))
    num_classes = check_int("num_classes", num_classes, minimum=2)
    backbone = getattr(keras.applications, name)(include_top=False, weights=weights,
                                                 input_shape=input_shape, pooling="avg")
    inputs = keras.Input(input_shape, dtype="uint8", name="images")
    x = keras.layers.Rescaling(1.0, name="to_float")(inputs)
    if APPLICATIONS[name] == "tf":
        x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(x)
    x = backbone(x)
    logits = keras.layers.Dense(num_classes, dtype="float32", name=CLASSIFIER)(x)
    return keras.Model(inputs, logits, name=f"{name.lower()}_transfer")
