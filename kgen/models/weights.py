"""What the penalties and constraints do to a model's weights, as numbers.

The course's claims are about the weights, not only the accuracy: L1 (LASSO)
drives many weights to zero, L2 shrinks all of them, MaxNorm caps the norm of
each unit's incoming weights. `weight_statistics` measures each of these on a
trained model, and the study runner records them for every run.
"""

import keras
import numpy as np

from kgen.layers import WeightNormalization, every_layer
from kgen.validation import check_number

# A weight is "near zero" below this share of the largest magnitude in its own
# kernel. Relative, not absolute: L2 shrinks every weight by the same factor,
# which leaves this fraction unchanged, while L1 moves weights onto zero, which
# raises it; an absolute threshold would count L2's uniform shrinkage as
# sparsity. (Gradient steps leave L1's weights oscillating around zero at about
# the learning rate's size, not at exactly zero, so exact zeros are not counted.)
NEAR_ZERO_SHARE = 0.01
# The axes each kernel's per-unit norm is taken over, as for MaxNorm.
UNIT_AXES = {4: (0, 1, 2), 2: (0,)}  # Conv2D (h, w, in, out); Dense (in, out)


def kernels(model):
    """The kernels of every convolution and dense layer of `model`, as NumPy
    arrays: the weights the layer computes with, so for a weight-normalized
    layer `g * v / ||v||`, not its direction `v`."""
    found = []
    wrapped = set()
    for layer in every_layer(model):
        if isinstance(layer, WeightNormalization):
            wrapped.add(id(layer.layer))
            found.append(keras.ops.convert_to_numpy(layer.normalized_kernel()).astype("float64"))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and id(layer) not in wrapped:
            found.append(keras.ops.convert_to_numpy(layer.kernel).astype("float64"))
    return found


def weight_statistics(model, near_zero_share=NEAR_ZERO_SHARE):
    """`{"near_zero_weights": ..., "max_unit_norm": ...}` over every kernel of
    `model` (biases, normalization and PReLU slopes left out):

    - `near_zero_weights`: the fraction of kernel weights whose magnitude is
      below `near_zero_share` times the largest magnitude in their kernel;
    - `max_unit_norm`: the largest L2 norm of one unit's incoming weights (a
      dense unit's column, a convolution filter), the quantity `MaxNorm` caps.
    """
    check_number("near_zero_share", near_zero_share, minimum=0.0, maximum=1.0,
                 min_inclusive=False)
    arrays = kernels(model)
    if not arrays:
        raise ValueError(f"The model has no convolution or dense kernels to measure. "
                         f"Received: model={model.name!r}")
    near_zero = sum(int(np.sum(np.abs(k) < near_zero_share * np.max(np.abs(k)))) for k in arrays)
    norms = [np.sqrt(np.sum(np.square(k), axis=UNIT_AXES[k.ndim])).max() for k in arrays]
    return {"near_zero_weights": near_zero / sum(k.size for k in arrays),
            "max_unit_norm": float(max(norms))}
