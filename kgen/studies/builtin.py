"""The built-in studies, as plain data in the format of a study file.

Each entry is what `kgen study --file` reads from TOML or JSON, so a user's
study and these are parsed and validated by the same code. `course` figures are
the course's accuracies in percent; `course_note` says which metric and data.
"""

# The ladder's course figures live on the presets (`course_val_accuracy`);
# a variant that trains a preset unchanged shows the preset's figure.
LADDER = {
    "name": "ladder",
    "title": "The generalization ladder",
    "description": (
        "Ten cumulative rungs, each the previous one plus one trick, each trained "
        "from scratch. Watch the gap between train and validation accuracy: the "
        "regularizers (erasing, dropout, L2, flip and pad-crop) should narrow it, "
        "capacity and skip connections should raise both accuracies."
    ),
    "course_note": "the course's CIFAR-10 validation accuracy (50 epochs, full width)",
    "compare": "previous",
    "variants": [
        {"name": f"ladder-{rung}", "preset": f"ladder-{rung}"} for rung in range(10)
    ],
}

NORMALIZATION = {
    "name": "normalization",
    "title": "Normalization layers",
    "description": (
        "The small CNN (Conv16-Conv32-Conv64, global average pooling) with each "
        "normalization after every convolution (Conv -> Norm -> ReLU), compared "
        "with no normalization."
    ),
    "course_note": "the course's CIFAR-10 test accuracy",
    "compare": "first",
    "variants": [
        {"name": "none", "preset": "small-cnn", "model": {"normalization": "none"},
         "course": 70.7},
        {"name": "batch", "preset": "small-cnn", "model": {"normalization": "batch"},
         "course": 72.2},
        {"name": "layer", "preset": "small-cnn", "model": {"normalization": "layer"},
         "course": 70.5},
        {"name": "instance", "preset": "small-cnn", "model": {"normalization": "instance"},
         "course": 69.0},
        {"name": "group", "preset": "small-cnn", "model": {"normalization": "group"},
         "course": 72.3},
        {"name": "weight", "preset": "small-cnn", "model": {"normalization": "weight"},
         "course": 72.3},
        {"name": "weight-mean-only", "preset": "small-cnn",
         "model": {"normalization": "weight_mean_only"},
         "summary": "weight normalization with mean-only BatchNorm (the slide's remark)"},
    ],
}

# The course's experiment: each remedy alone against the same base network, so
# each row measures one remedy (stacked, a row would measure all before it too).
_DROPOUT = {
    "stages": [{"width": 16, "convs": 1, "dropout": 0.2}, {"width": 32, "convs": 1, "dropout": 0.3},
               {"width": 64, "convs": 1, "dropout": 0.4}],
    "head_dropout": 0.5,
}

OVERFITTING = {
    "name": "overfitting",
    "title": "Fighting overfitting",
    "description": (
        "The course's small CNN (Conv16-Conv32-Conv64, flatten, dense 128) and each "
        "remedy on its own against it: L2, Dropout, DropConnect on the dense layer, "
        "global average pooling instead of flatten, flip and pad-crop augmentation, "
        "early stopping."
    ),
    "course_note": (
        "the course's test accuracy on its own 4-class image-folder dataset, not "
        "CIFAR-10: compare directions, not levels"
    ),
    "compare": "first",
    "variants": [
        {"name": "base", "preset": "hust-cnn", "course": 83.0,
         "summary": "Conv16-Conv32-Conv64, flatten, dense 128"},
        {"name": "l2", "preset": "hust-cnn", "model": {"l2": 5e-4}, "course": 84.9,
         "summary": "+ L2 5e-4 on every kernel"},
        {"name": "dropout", "preset": "hust-cnn", "model": _DROPOUT, "course": 86.5,
         "summary": "+ Dropout 0.2/0.3/0.4 after the stages, 0.5 before the classifier"},
        {"name": "dropconnect", "preset": "hust-cnn", "model": {"drop_connect": 0.5},
         "course": 84.9, "summary": "+ DropConnect 0.5 on the dense layer"},
        {"name": "gap", "preset": "hust-cnn", "model": {"head": "avg"}, "course": 90.9,
         "summary": "global average pooling instead of flatten"},
        {"name": "augmentation", "preset": "hust-cnn",
         "model": {"augmentation": {"flip": "random", "pad_crop": 2}}, "course": 89.6,
         "summary": "+ random flip and pad-2 crop"},
        {"name": "early-stopping", "preset": "hust-cnn",
         "train": {"early_stopping_patience": 5},
         "summary": "+ early stopping on val accuracy, patience 5, best weights restored"},
    ],
}

_DEEPER = [{"width": 32, "convs": 3}, {"width": 64, "convs": 3}, {"width": 128, "convs": 3}]
_RELU = {"stages": _DEEPER, "activation": "relu"}
_BATCHNORM = {**_RELU, "normalization": "batch"}
_SKIP = {**_BATCHNORM, "residual": True}

TRAINING = {
    "name": "training",
    "title": "How to raise training accuracy",
    "description": (
        "Fixes for a network that does not fit its training data: a deeper "
        "(3 convs per stage) sigmoid CNN, then ReLU, input scaling, BatchNorm, "
        "initialization, other activations, skip connections and learning-rate decay."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "previous",
    "variants": [
        {"name": "sigmoid", "preset": "ladder-0", "scaling": "unit",
         "model": {"stages": _DEEPER, "activation": "sigmoid"},
         "summary": "9 convs with sigmoid, inputs in [0, 1]"},
        {"name": "relu", "preset": "ladder-0", "scaling": "unit", "model": _RELU,
         "summary": "ReLU instead of sigmoid"},
        {"name": "scale-symmetric", "preset": "ladder-0", "scaling": "symmetric",
         "model": _RELU, "compare_to": "relu", "summary": "inputs in [-1, 1]"},
        {"name": "standardize", "preset": "ladder-0", "model": _RELU, "compare_to": "relu",
         "summary": "inputs standardized with the training set's mean and std"},
        {"name": "batchnorm", "preset": "ladder-0", "model": _BATCHNORM,
         "compare_to": "standardize", "summary": "+ BatchNorm after every conv"},
        {"name": "glorot", "preset": "ladder-0",
         "model": {**_BATCHNORM, "initializer": "glorot_uniform"}, "compare_to": "batchnorm",
         "summary": "Glorot uniform instead of He normal initialization"},
        *[
            {"name": activation, "preset": "ladder-0",
             "model": {**_BATCHNORM, "activation": activation}, "compare_to": "batchnorm",
             "summary": f"{activation.upper()} instead of ReLU"}
            for activation in ("elu", "selu", "gelu", "silu")
        ],
        {"name": "leaky_relu", "preset": "ladder-0",
         "model": {**_BATCHNORM, "activation": "leaky_relu"}, "compare_to": "batchnorm",
         "summary": "LeakyReLU (slope 0.01) instead of ReLU"},
        {"name": "prelu", "preset": "ladder-0",
         "model": {**_BATCHNORM, "activation": "prelu"}, "compare_to": "batchnorm",
         "summary": "PReLU (a learned slope per channel, from 0.25) instead of ReLU"},
        {"name": "skip", "preset": "ladder-0", "model": _SKIP, "compare_to": "batchnorm",
         "summary": "+ residual skip connections around every block"},
        {"name": "lr-decay", "preset": "ladder-0", "model": _SKIP,
         "train": {"schedule": "exponential", "gamma": 0.96},
         "summary": "+ exponential learning-rate decay, gamma 0.96 per epoch"},
    ],
}

# The penalty strengths were set before any run, not tuned: L2 as in the
# overfitting study; L1 at 1e-5, where its penalty on hust-cnn's 156,000
# kernel weights starts at 0.06, the size of the L2 term's 0.16 (at
# initialization); MaxNorm 3 as in the course's Keras snippets (Srivastava et
# al. 2014's value with dropout).
#
# Adam divides each weight's step by its gradient's running size, so a penalty
# whose gradient dominates a weight's (on the many dense weights the data barely
# moves) gets steps of about the learning rate whatever its form: under Adam, L2
# drives those weights to zero much as L1 does (the first run of this study
# found 45% near-zero weights with L2 against 38% with L1). The course's
# contrast (L1 sparse, L2 shrunk) holds for plain gradient steps, so the study
# repeats the comparison with SGD and classical momentum (lr 0.01, momentum 0.9).
# There a penalty's step is lr x its gradient: L1 at 1e-5 would move a weight
# by about 6e-3 in all 6,260 steps of 20 epochs on 10,000 images (momentum
# included), a fraction of the typical 0.04 weight, so L1 is 1e-4 there (about
# 0.06, enough to reach zero), and L2's 5e-4 shrinks weights by about e^-0.6.
_SGD = {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": False}
PENALTIES = {
    "name": "penalties",
    "title": "Weight penalties and constraints: L2, L1, L1 + L2, MaxNorm",
    "description": (
        "The overfitting study's network (Conv16-Conv32-Conv64, flatten, dense 128) "
        "with each way of keeping weights small, against none. The course's claim "
        "for L1 is sparsity: read the near-zero column of the kernel table beside "
        "the accuracies; MaxNorm's is a cap on each unit's norm. The preset trains "
        "with Adam, which rescales a penalty's gradient like any other; the sgd- "
        "variants repeat none, L2 and L1 with plain SGD and classical momentum."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "first",
    "variants": [
        {"name": "none", "preset": "hust-cnn", "summary": "no penalty, no constraint"},
        {"name": "l2", "preset": "hust-cnn", "model": {"l2": 5e-4},
         "summary": "L2 5e-4 on every kernel"},
        {"name": "l1", "preset": "hust-cnn", "model": {"l1": 1e-5},
         "summary": "L1 (LASSO) 1e-5 on every kernel"},
        {"name": "l1-l2", "preset": "hust-cnn", "model": {"l1": 1e-5, "l2": 5e-4},
         "summary": "L1 1e-5 and L2 5e-4 (elastic net) on every kernel"},
        {"name": "max-norm", "preset": "hust-cnn", "model": {"max_norm": 3.0},
         "summary": "MaxNorm(3) on every kernel: each unit's incoming weights' norm at most 3"},
        {"name": "sgd-none", "preset": "hust-cnn", "train": _SGD,
         "summary": "SGD, classical momentum: no penalty"},
        {"name": "sgd-l2", "preset": "hust-cnn", "model": {"l2": 5e-4}, "train": _SGD,
         "compare_to": "sgd-none", "summary": "SGD: L2 5e-4 on every kernel"},
        {"name": "sgd-l1", "preset": "hust-cnn", "model": {"l1": 1e-4}, "train": _SGD,
         "compare_to": "sgd-none", "summary": "SGD: L1 1e-4 on every kernel"},
    ],
}

BATCHNORM_POSITION = {
    "name": "bn-position",
    "title": "Where BatchNorm goes: before or after the activation",
    "description": (
        "The normalization study's small CNN (Conv16-Conv32-Conv64, global average "
        "pooling) without normalization, with BatchNorm between each convolution and "
        "its ReLU (Conv -> BN -> ReLU, Ioffe and Szegedy's placement) and with "
        "BatchNorm after the ReLU (Conv -> ReLU -> BN, the course ladder's)."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "first",
    "variants": [
        {"name": "none", "preset": "small-cnn", "summary": "no normalization"},
        {"name": "bn-before-relu", "preset": "small-cnn",
         "model": {"normalization": "batch", "block_order": "conv-norm-act"},
         "summary": "Conv -> BatchNorm -> ReLU"},
        {"name": "bn-after-relu", "preset": "small-cnn",
         "model": {"normalization": "batch", "block_order": "conv-act-norm"},
         "summary": "Conv -> ReLU -> BatchNorm"},
    ],
}

# Batch sizes from 2 (BatchNorm's statistics from two images) to 256 (the
# presets' default). The learning rate stays Adam's 1e-3 at every size, so a
# smaller batch also takes more steps per epoch: compare BatchNorm with
# GroupNorm at the same batch size (each GroupNorm variant's `vs`), not across sizes.
_BATCH_SIZES = (2, 8, 32, 256)
BATCHNORM_BATCH_SIZE = {
    "name": "bn-batch-size",
    "title": "BatchNorm depends on the batch size; GroupNorm does not",
    "description": (
        "The small CNN with BatchNorm and with GroupNorm (8 groups) after every "
        "convolution, trained at batch sizes from 2 to 256. BatchNorm normalizes with "
        "the batch's statistics in training and with running averages at inference; "
        "with few images per batch those statistics are noisy and differ from the "
        "averages, while GroupNorm normalizes each image on its own (Wu and He 2018)."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "first",
    "variants": [
        variant
        for batch in _BATCH_SIZES
        for variant in (
            {"name": f"batch-{batch}", "preset": "small-cnn",
             "model": {"normalization": "batch"}, "train": {"batch_size": batch},
             "summary": f"BatchNorm, batch size {batch}"},
            {"name": f"group-{batch}", "preset": "small-cnn",
             "model": {"normalization": "group"}, "train": {"batch_size": batch},
             "compare_to": f"batch-{batch}", "summary": f"GroupNorm, batch size {batch}"},
        )
    ],
}

# 3, 6, 9 and 12 convolutions: the training study's widths, with 1 to 4 per stage.
_DEPTHS = (1, 2, 3, 4)
SIGMOID_DEPTH = {
    "name": "sigmoid-depth",
    "title": "Where sigmoid stops learning: depth with sigmoid and with ReLU",
    "description": (
        "The training study's plain CNN (widths 32, 64, 128, flatten, dense 256, "
        "inputs in [0, 1], no normalization) with 1 to 4 convolutions per stage, "
        "with sigmoid and with ReLU. Run it with `--gradient-norms`: the report then "
        "shows each kernel's gradient norm by depth, the lesson's explanation (the "
        "sigmoid's slope is at most 1/4, so the gradient shrinks at every layer it "
        "passes back through)."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "first",
    "variants": [
        variant
        for convs in _DEPTHS
        for variant in (
            {"name": f"sigmoid-{3 * convs}", "preset": "ladder-0", "scaling": "unit",
             "model": {"stages": [{"width": w, "convs": convs} for w in (32, 64, 128)],
                       "activation": "sigmoid"},
             "summary": f"{3 * convs} convs, sigmoid"},
            {"name": f"relu-{3 * convs}", "preset": "ladder-0", "scaling": "unit",
             "model": {"stages": [{"width": w, "convs": convs} for w in (32, 64, 128)],
                       "activation": "relu"},
             "compare_to": f"sigmoid-{3 * convs}", "summary": f"{3 * convs} convs, ReLU"},
        )
    ],
}

# Widths k of the mCNN; Nakkiran et al. swept 1 to 64. Trained with Adam at
# 1e-3, not their 1e-4: they trained 4,000 epochs, a CPU run a hundred times
# fewer, and the curve needs the wide models to reach (near) zero training error.
_MCNN_WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 32, 64)
DOUBLE_DESCENT = {
    "name": "double-descent",
    "title": "Double descent: test error over model width, with label noise",
    "description": (
        "Nakkiran et al.'s five-layer CNN at widths k = 1 to 64 (convolutions k, 2k, "
        "4k, 8k), each trained from scratch to the same number of epochs. Run it with "
        "`--label-noise 0.2`: with noisy labels the test error first falls with width, "
        "rises near the width that just fits the noisy training set (the interpolation "
        "threshold), then falls again. Read the test accuracy and the train accuracy "
        "column by column, in order of width."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "previous",
    "variants": [
        {"name": f"k{k}", "preset": "mcnn", "model": {"width_multiplier": k / 64},
         "train": {"learning_rate": 1e-3}, "summary": f"widths {k}, {2 * k}, {4 * k}, {8 * k}"}
        for k in _MCNN_WIDTHS
    ],
}

# The course's 5x5-convolution example (d2l's "Batch Normalization" chapter):
# LeNet with sigmoid, and the same network with BatchNorm after every convolution
# and hidden dense layer, each at its preset's learning rate (0.9 and 1.0).
LENET = {
    "name": "lenet",
    "title": "LeNet with sigmoid, without and with BatchNorm",
    "description": (
        "LeNet (5x5 convolutions of 6 and 16 channels, 2x2 average pooling, dense 120 "
        "and 84, sigmoid) trained with plain SGD, and the same network with BatchNorm "
        "after every convolution and hidden dense layer, before the sigmoid: the "
        "course's example of BatchNorm letting a saturating network train."
    ),
    "course_note": "the course gives no figures for this study",
    "compare": "first",
    "variants": [
        {"name": "lenet", "preset": "lenet"},
        {"name": "lenet-bn", "preset": "lenet-bn"},
    ],
}

STUDIES = {study["name"]: study for study in (LADDER, NORMALIZATION, OVERFITTING, TRAINING,
                                              PENALTIES, BATCHNORM_POSITION, BATCHNORM_BATCH_SIZE,
                                              SIGMOID_DEPTH, DOUBLE_DESCENT, LENET)}
