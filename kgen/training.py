"""Compile and fit kgen models from their `TrainConfig`."""

import math

import keras

from kgen import optimizers, schedules
from kgen.callbacks import EpochLogger, SyncAugmentationEpoch
from kgen.data import check_images, check_labels
from kgen.layers import WeightNormalization, initialize_weight_normalization
from kgen.losses import SparseCategoricalCrossentropy
from kgen.validation import check_int


def compile_model(model, train_config, steps_per_epoch, epochs=None, jit_compile="auto"):
    """Compile `model` with the optimizer, schedule and loss of `train_config`.

    `steps_per_epoch` turns per-epoch schedules (the course's) into Keras'
    per-step ones. The model is expected to output logits.
    """
    schedule = schedules.from_config(train_config, steps_per_epoch, epochs)
    optimizer = optimizers.create(
        train_config.optimizer, schedule, weight_decay=train_config.weight_decay,
        momentum=train_config.momentum,
    )
    model.compile(
        optimizer=optimizer,
        loss=SparseCategoricalCrossentropy(label_smoothing=train_config.label_smoothing),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model


def fit(model, dataset, train_config, epochs=None, callbacks=(), verbose="auto",
        jit_compile="auto", initial_epoch=0):
    """Compile `model` for `train_config` and fit it on a `kgen.data.Dataset`.

    Validates the arrays first (uint8 images of the model's shape, labels in
    range), adds kgen's callbacks (learning rate and seconds per epoch in the
    logs, the epoch for alternating flips, early stopping if configured) and
    returns Keras' `History`.
    """
    epochs = train_config.epochs if epochs is None else check_int("epochs", epochs, minimum=1)
    num_classes = model.output_shape[-1]
    height, width, channels = model.input_shape[1:]
    for split in ("train", "val"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if split == "val" and len(x) == 0:
            continue
        check_images(x, name=f"x_{split}", num_channels=channels, height=height, width=width)
        check_labels(y, num_classes, name=f"y_{split}", x=x)
    if len(dataset.x_train) == 0:
        raise ValueError(
            f"`x_train` is empty: there is nothing to train on. "
            f"Received: x_train of shape {dataset.x_train.shape} from dataset {dataset.name!r}"
        )
    batch_size = min(train_config.batch_size, len(dataset.x_train))
    steps_per_epoch = math.ceil(len(dataset.x_train) / batch_size)
    compile_model(model, train_config, steps_per_epoch, epochs, jit_compile=jit_compile)
    if any(isinstance(layer, WeightNormalization) for layer in model._flatten_layers()):
        initialize_weight_normalization(model, dataset.x_train[:batch_size])

    all_callbacks = [EpochLogger(), SyncAugmentationEpoch()]
    validation_data = (dataset.x_val, dataset.y_val) if len(dataset.x_val) else None
    if train_config.early_stopping_patience:
        all_callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_accuracy" if validation_data else "accuracy",
            patience=train_config.early_stopping_patience,
            restore_best_weights=True,
        ))
    all_callbacks.extend(callbacks)
    return model.fit(
        dataset.x_train,
        dataset.y_train,
        batch_size=batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        validation_data=validation_data,
        shuffle=True,
        callbacks=all_callbacks,
        verbose=verbose,
    )


def evaluate(model, x, y, batch_size=1024):
    """Accuracy of `model` on uint8 images `x` and integer labels `y`."""
    if len(x) == 0:
        return float("nan")
    results = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return float(results["accuracy"])
