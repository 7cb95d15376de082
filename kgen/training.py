"""Compile and fit kgen models from their `TrainConfig`."""

import math

import keras
import numpy as np

from kgen import optimizers, schedules
from kgen.callbacks import EpochLogger, SyncAugmentationEpoch, interrupts_deferred
from kgen.data import check_features, check_images, check_labels
from kgen.layers import WeightNormalization, every_layer, initialize_weight_normalization
from kgen.losses import SparseCategoricalCrossentropy
from kgen.validation import MAX_BATCH_SIZE, MAX_EPOCHS, check_bool, check_int

# Evaluation has no backward pass and no augmentation: large batches amortize
# the per-step overhead (docs/performance.md).
EVAL_BATCH_SIZE = 1024


def compile_model(model, train_config, steps_per_epoch, epochs=None, jit_compile="auto"):
    """Compile `model` with the optimizer, schedule and loss of `train_config`.

    `steps_per_epoch` turns per-epoch schedules (the course's) into Keras'
    per-step ones. The model is expected to output logits.

    `jit_compile="auto"` is the fastest choice measured per backend (see
    docs/performance.md): JAX always compiles the train step with `jax.jit`;
    TensorFlow runs a `tf.function` graph and adds XLA only when a GPU is
    visible (on CPU, XLA was slower than TF's oneDNN graph); PyTorch runs
    eagerly (`torch.compile` of the Keras train step was slower here: Keras'
    layers break it into many graphs that recompile).
    """
    schedule = schedules.from_config(train_config, steps_per_epoch, epochs)
    optimizer = optimizers.create(
        train_config.optimizer, schedule, weight_decay=train_config.weight_decay,
        momentum=train_config.momentum, nesterov=train_config.nesterov,
    )
    model.compile(
        optimizer=optimizer,
        loss=SparseCategoricalCrossentropy(label_smoothing=train_config.label_smoothing),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model


def fit(model, dataset, train_config, epochs=None, callbacks=(), verbose="auto",
        jit_compile="auto", initial_epoch=0, data_dependent_init=True, schedule_epochs=None):
    """Compile `model` for `train_config` and fit it on a `kgen.data.Dataset`.

    Validates the arrays first (uint8 images of the model's shape or, for an
    MLP, float32 feature vectors; labels in range; a batch size no larger than
    the training split), adds kgen's
    callbacks (learning rate and seconds per epoch in the logs, the epoch for
    alternating flips, early stopping if configured) and returns Keras' `History`.
    `data_dependent_init=False` leaves weight-normalized layers as they are
    (trained weights: a second phase, or a pretrained backbone) instead of
    initializing them from the first batch. `schedule_epochs`: the epochs the
    learning-rate schedule spans (default `epochs`), for a phase of a run that
    starts at `initial_epoch` with a fresh optimizer.
    """
    epochs = (train_config.epochs if epochs is None
              else check_int("epochs", epochs, minimum=1, maximum=MAX_EPOCHS))
    # Keras counts epochs from `initial_epoch` up to `epochs`: a resumed run may
    # start at the end (nothing left), never past it.
    initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0, maximum=epochs)
    num_classes = model.output_shape[-1]
    for split in ("train", "val"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if split == "val" and len(x) == 0:
            continue
        if len(model.input_shape) == 2:  # an MLP (kgen.models.build_mlp)
            check_features(x, name=f"x_{split}", num_features=model.input_shape[1])
        else:
            height, width, channels = model.input_shape[1:]
            check_images(x, name=f"x_{split}", num_channels=channels, height=height, width=width)
        check_labels(y, num_classes, name=f"y_{split}", x=x)
    if len(dataset.x_train) == 0:
        raise ValueError(
            f"`x_train` is empty: there is nothing to train on. "
            f"Received: x_train of shape {dataset.x_train.shape} from dataset {dataset.name!r}"
        )
    batch_size = check_batch_size(train_config.batch_size, len(dataset.x_train))
    steps_per_epoch = math.ceil(len(dataset.x_train) / batch_size)
    schedule_epochs = epochs if schedule_epochs is None else check_int(
        "schedule_epochs", schedule_epochs, minimum=1, maximum=MAX_EPOCHS)
    compile_model(model, train_config, steps_per_epoch, schedule_epochs, jit_compile=jit_compile)
    if data_dependent_init and any(isinstance(layer, WeightNormalization)
                                   for layer in every_layer(model)):
        # (and MeanOnlyBatchNormalization's moving means: see its docstring)
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
    # Ctrl-C stops training at the next batch end on every backend (on JAX a bare
    # KeyboardInterrupt is lost inside Keras' log conversion: kgen.callbacks).
    with interrupts_deferred() as stop_on_interrupt:
        return model.fit(
            dataset.x_train,
            dataset.y_train,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            validation_batch_size=max(batch_size, EVAL_BATCH_SIZE),
            shuffle=True,
            callbacks=[stop_on_interrupt, *all_callbacks],
            verbose=verbose,
        )


def check_batch_size(batch_size, num_images):
    """`batch_size` must not exceed the `num_images` training images.

    A larger batch is refused rather than shrunk to the data: it would silently
    train with another batch size (and so another noise scale and step count)
    than the one asked for. Evaluation batches may exceed the data; they change
    no result.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
    if batch_size > num_images:
        raise ValueError(
            f"`batch_size` is larger than the training set ({num_images} images): lower "
            f"the batch size or train on more images. Received: batch_size={batch_size}"
        )
    return batch_size


def evaluate(model, x, y, batch_size=EVAL_BATCH_SIZE, flip=False):
    """Accuracy of `model` on uint8 images `x` and integer labels `y`.

    With `flip=True`, test-time augmentation: the logits of each image and of
    its mirror image are averaged before the argmax (airbench's TTA).
    """
    if len(x) == 0:
        return float("nan")
    logits = predict_logits(model, x, batch_size=batch_size, flip=flip)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y).reshape(-1)))


def predict_logits(model, x, batch_size=EVAL_BATCH_SIZE, flip=False):
    """Logits for uint8 images `x` (inference mode); with `flip=True`, the mean of
    the logits of each image and of its horizontal mirror."""
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
    if check_bool("flip", flip):
        model = flip_averaged(model)
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def flip_averaged(model):
    """A model returning the mean of `model`'s logits on the input and on its
    horizontal mirror. The flip happens inside the compiled function, on the
    batch, so no flipped copy of the dataset is made."""
    inputs = keras.Input(model.input_shape[1:], dtype=model.inputs[0].dtype, name="images")
    logits = model(inputs, training=False)
    mirrored = model(keras.ops.flip(inputs, axis=2), training=False)
    averaged = keras.ops.multiply(keras.ops.add(logits, mirrored), 0.5)
    return keras.Model(inputs, averaged, name=f"{model.name}_flip_averaged")
