"""Argument checks shared by kgen's public API.

Every number that enters kgen (an API argument, a config field, a study file's
value, a `--set` override) goes through a check here: it must be finite, of the
right kind, and inside a range that cannot overflow later. Every check raises
`ValueError` (or `TypeError` for the wrong kind of object) with a message that
names the argument and ends with `Received: name=value`, the convention of Keras
and keras-hub, so the user sees at once what to change.
"""

import difflib
import math
from numbers import Integral, Real

import numpy as np

# === Limits ===
# Past each of these a value is a typo or an overflow, not an experiment, and it
# would fail later and far from its cause (an OverflowError, an allocation no
# device holds, a training run that diverges on its first step).

# float32's largest finite value: a number that becomes a float32 tensor (a
# learning rate, a logit scale, a fill value) turns into infinity above it.
FLOAT32_MAX = 3.4028234663852886e38
# Channels of one convolution, units of one dense layer, classes: a 3x3
# convolution 2**16 channels wide in and out holds 38 billion weights, more than
# any accelerator's memory; the widest published CNN layers have 2,048 to 4,096.
MAX_CHANNELS = 2**16
# Convolutions in one model. Keras walks a functional model's graph recursively,
# about a frame per layer, against Python's limit of 1,000 frames: 300 convolutions
# with batch norm built and 400 raised RecursionError (measured on Keras 3.15);
# 200 residual blocks (800 layers) built, trained and saved on all three backends.
MAX_CONVOLUTIONS = 200
# Epochs of one run (and warm-up epochs, and early-stopping patience).
MAX_EPOCHS = 100_000
# Images in one batch: a batch of 2**20 CIFAR images is 3 GiB of uint8 pixels
# before the first activation; ImageNet's training set holds 1.28 million.
MAX_BATCH_SIZE = 2**20
# Optimizer steps of a schedule: JAX, 32-bit by default, turns a Python int
# into int32 and overflows past this (measured with `WarmupLinearDecay`).
MAX_STEPS = 2**31 - 1
# Height and width of an input image (and a pad-crop's padding): one RGB image
# 2**14 pixels square is 768 MiB of uint8, far past what these CNNs train on.
MAX_IMAGE_SIDE = 2**14
# Seeds of `keras.random.SeedGenerator`: JAX keeps them as uint32, PyTorch as
# int32, so only [0, 2**31 - 1] works on every backend.
MAX_SEED = 2**31 - 1

# Longer representations of a received value are cut to this many characters:
# the message must stay one readable line whatever was passed (a 1 MB string, a
# list of a million numbers), yet show a long file path whole.
_MAX_SHOWN = 500


def received(name, value):
    return f"Received: {name}={shown(value)}"


def shown(value):
    """`repr(value)`, shortened: an integer too long to read is given by its
    digit count (`repr` itself refuses ints past 4,300 digits), and any other
    long representation is cut."""
    if isinstance(value, Integral) and not isinstance(value, bool) and abs(int(value)) >= 10**60:
        return f"<an integer of {int(math.log10(abs(int(value)))) + 1} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a nested huge int; a structure too deep
        text = f"<a {type(value).__name__} too large to show>"
    if len(text) > _MAX_SHOWN:
        text = f"{text[:_MAX_SHOWN - 20]}...{text[-15:]}"
    return text


def check_choice(name, value, choices, label=None):
    """`value` must be one of `choices`; suggests the closest when it is not.

    `label` says what the value is when the argument's name does not
    (`check_choice("name", ..., label="dataset name")`). When every choice is a
    string, anything else (a number, a list, a dict, None) is told so; it stays a
    `ValueError`, like any value outside the choices, as callers rely on.
    """
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(map(str, choices))
    if not isinstance(value, str):
        if all(isinstance(choice, str) for choice in choices):
            raise ValueError(
                f"The {label or name} must be a string, one of: {listed}. {received(name, value)}"
            )
        if _is_hashable(value) and value in choices:
            return value
    message = f"Unknown {label or name} {shown(value)}. Expected one of: {listed}."
    if isinstance(value, str):
        close = closest_names(value, [str(c) for c in choices])
        if close:
            message += f" Did you mean {' or '.join(repr(c) for c in close)}?"
    raise ValueError(f"{message} {received(name, value)}")


def _is_hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


# Characters people type for one another: letter O for zero, l or I for one.
_LOOKALIKES = str.maketrans({"o": "0", "l": "1", "i": "1"})


def closest_names(value, choices, limit=3, cutoff=0.6):
    """Up to `limit` choices most similar to `value`, best first, ties in the
    order of `choices`. Case and look-alike characters (O/0, l/1) are ignored:
    difflib alone ranks ties by reverse string order, so "ladder-O" suggested
    ladder-9 before ladder-0."""
    def folded(text):
        return text.casefold().translate(_LOOKALIKES)

    scored = [
        (difflib.SequenceMatcher(None, folded(value), folded(choice)).ratio(), -index, choice)
        for index, choice in enumerate(choices)
    ]
    scored.sort(reverse=True)
    return [choice for score, _, choice in scored[:limit] if score >= cutoff]


def is_finite_number(value):
    """Whether `value` is a finite int or float (a metric that was measured, not
    None, NaN or infinite)."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_number(name, value, minimum=None, maximum=None, min_inclusive=True,
                 max_inclusive=True):
    """A real number (not a bool) as a float, finite (no kgen argument has a use
    for infinity or NaN), inside `[minimum, maximum]` (bounds optional, each
    inclusive or not)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a number. {received(name, value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float's range, 10**309 and up
        raise ValueError(
            f"`{name}` must be a finite number; this one is beyond float range. "
            f"{received(name, value)}"
        ) from None
    if number != number:  # NaN compares unequal to itself
        raise ValueError(f"`{name}` must not be NaN. {received(name, value)}")
    if math.isinf(number):
        # JSON's 1e309, TOML's inf and Python's float("inf") all arrive here.
        raise ValueError(f"`{name}` must be finite. {received(name, value)}")
    if minimum is not None and (number < minimum or (not min_inclusive and number == minimum)):
        bound = ">=" if min_inclusive else ">"
        limit = "-3.4e38 (float32's lowest value)" if minimum == -FLOAT32_MAX else minimum
        raise ValueError(f"`{name}` must be {bound} {limit}. {received(name, value)}")
    if maximum is not None and (number > maximum or (not max_inclusive and number == maximum)):
        bound = "<=" if max_inclusive else "<"
        limit = "3.4e38 (float32's largest value)" if maximum == FLOAT32_MAX else maximum
        raise ValueError(f"`{name}` must be {bound} {limit}. {received(name, value)}")
    return number


def check_float32(name, value, minimum=None, maximum=FLOAT32_MAX, min_inclusive=True):
    """A finite number that stays finite as a float32 tensor: within
    `[-FLOAT32_MAX, FLOAT32_MAX]` (or the tighter `minimum`, `maximum`)."""
    minimum = -FLOAT32_MAX if minimum is None else minimum
    return check_number(name, value, minimum=minimum, maximum=maximum,
                        min_inclusive=min_inclusive)


def check_int(name, value, minimum=None, maximum=None):
    """An integer (a Python or NumPy int, not a bool and not a float such as
    2.0) as an `int`, inside `[minimum, maximum]`."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer. {received(name, value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. {received(name, value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}. {received(name, value)}")
    return value


def check_bool(name, value):
    """`True` or `False` (or a NumPy bool): a string such as "no" is truthy, so
    accepting any object would silently turn an option on."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"`{name}` must be True or False. {received(name, value)}")


def check_seed(name, value):
    """`None` (a fresh random seed) or an integer seed every backend accepts."""
    if value is None:
        return None
    return check_int(name, value, minimum=0, maximum=MAX_SEED)


def check_probability(name, value):
    return check_number(name, value, minimum=0.0, maximum=1.0)


def check_rate(name, value):
    """A dropout-like rate: 1.0 would drop everything, so it is excluded."""
    return check_number(name, value, minimum=0.0, maximum=1.0, max_inclusive=False)


def check_range_pair(name, pair, low=None, high=None, strictly_positive=False):
    """A `(min, max)` pair in order, optionally inside `[low, high]`."""
    if isinstance(pair, (str, bytes, dict)):
        raise TypeError(f"`{name}` must be a pair (min, max). {received(name, pair)}")
    try:
        first, second = pair
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a pair (min, max). {received(name, pair)}") from None
    first, second = (_entry(check_number, name, pair, entry) for entry in (first, second))
    if first > second:
        raise ValueError(f"`{name}` must be in order (min <= max). {received(name, pair)}")
    if strictly_positive and first <= 0:
        raise ValueError(f"`{name}` must be positive. {received(name, pair)}")
    if (low is not None and first < low) or (high is not None and second > high):
        raise ValueError(f"`{name}` must lie within [{low}, {high}]. {received(name, pair)}")
    return (first, second)


def check_erasing_value(name, value):
    """The fill of a random erasing: a number, one number per channel (a list,
    tuple or 1-d array), or "random"; numbers finite in float32."""
    expected = f'`{name}` must be a number, a per-channel tuple or "random".'
    if isinstance(value, str):
        if value != "random":
            raise ValueError(f"{expected} {received(name, value)}")
        return value
    value = _plain(value)
    if isinstance(value, Real) and not isinstance(value, bool):
        return check_float32(name, value)
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", None) == 1:
        return tuple(_entry(check_float32, name, value, _plain(v)) for v in value)
    raise TypeError(f"{expected} {received(name, value)}")


def check_sequence(name, value):
    """A list or tuple (not a string, whose characters would pass for items) as a tuple."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"`{name}` must be a list or tuple. {received(name, value)}")
    return tuple(value)


def check_classes(name, value, num_classes=None):
    """Two or more distinct class indices (below `num_classes` when given), as a tuple."""
    maximum = None if num_classes is None else num_classes - 1
    classes = tuple(check_int(name, c, minimum=0, maximum=maximum)
                    for c in check_sequence(name, value))
    if len(set(classes)) < 2 or len(set(classes)) != len(classes):
        raise ValueError(f"`{name}` must name two or more distinct classes. {received(name, value)}")
    return classes


def check_keras_file(name, value):
    """The path of an existing `.keras` file, as a string."""
    from pathlib import Path

    if not str(value).endswith(".keras") or not Path(value).is_file():
        raise ValueError(f"`{name}` must be an existing kgen `.keras` file. "
                         f"{received(name, str(value))}")
    return str(value)


def check_per_channel(name, value, channels, minimum=None, maximum=None, min_inclusive=True):
    """One number, or one per channel (a list, tuple or NumPy array), as a list of
    `channels` finite floats inside the bounds."""
    if isinstance(value, (str, bytes, dict)) or isinstance(value, bool):
        raise TypeError(
            f"`{name}` must be a number or one number per channel ({channels}). "
            f"{received(name, value)}"
        )
    value = _plain(value)
    if isinstance(value, Real):
        values = [value] * channels
    else:
        try:
            values = list(value)
        except TypeError:
            raise TypeError(
                f"`{name}` must be a number or one number per channel ({channels}). "
                f"{received(name, value)}"
            ) from None
        if len(values) != channels:
            raise ValueError(
                f"`{name}` needs one value per channel ({channels}). {received(name, value)}"
            )
    return [_entry(check_number, name, value, item, minimum, maximum, min_inclusive)
            for item in map(_plain, values)]


def _entry(check, name, whole, entry, *bounds):
    """`check(name, entry, *bounds)` for one entry of a sequence argument; an
    error shows the whole argument, which is what the user typed."""
    try:
        return check(name, entry, *bounds)
    except (TypeError, ValueError) as error:
        reason = str(error).rsplit(" Received:", 1)[0]
        raise type(error)(f"{reason} {received(name, whole)}") from None


def _plain(value):
    """A NumPy scalar or 0-d array as the Python number it holds; anything else as is."""
    return value.item() if getattr(value, "ndim", None) == 0 else value
