"""Argument checks shared by kgen's public API.

Every check raises `ValueError` (or `TypeError` for the wrong kind of object)
with a message that names the argument and ends with `Received: name=value`, the
convention of Keras and keras-hub, so the user sees at once what to change.
"""

import difflib
from numbers import Integral, Real


def received(name, value):
    return f"Received: {name}={value!r}"


def check_choice(name, value, choices, label=None):
    """`value` must be one of `choices`; suggests the closest when it is not.

    `label` says what the value is when the argument's name does not
    (`check_choice("name", ..., label="dataset name")`).
    """
    if value in choices:
        return value
    message = f"Unknown {label or name} {value!r}. Expected one of: {', '.join(map(str, choices))}."
    if isinstance(value, str):
        close = closest_names(value, [str(c) for c in choices])
        if close:
            message += f" Did you mean {' or '.join(repr(c) for c in close)}?"
    raise ValueError(f"{message} {received(name, value)}")


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


def check_number(name, value, minimum=None, maximum=None, min_inclusive=True,
                 max_inclusive=True):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a number. {received(name, value)}")
    value = float(value)
    if value != value:  # NaN compares unequal to itself
        raise ValueError(f"`{name}` must not be NaN. {received(name, value)}")
    if minimum is not None and (value < minimum or (not min_inclusive and value == minimum)):
        bound = ">=" if min_inclusive else ">"
        raise ValueError(f"`{name}` must be {bound} {minimum}. {received(name, value)}")
    if maximum is not None and (value > maximum or (not max_inclusive and value == maximum)):
        bound = "<=" if max_inclusive else "<"
        raise ValueError(f"`{name}` must be {bound} {maximum}. {received(name, value)}")
    return value


def check_int(name, value, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer. {received(name, value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. {received(name, value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}. {received(name, value)}")
    return int(value)


def check_probability(name, value):
    return check_number(name, value, minimum=0.0, maximum=1.0)


def check_rate(name, value):
    """A dropout-like rate: 1.0 would drop everything, so it is excluded."""
    return check_number(name, value, minimum=0.0, maximum=1.0, max_inclusive=False)


def check_range_pair(name, pair, low=None, high=None, strictly_positive=False):
    """A `(min, max)` pair in order, optionally inside `[low, high]`."""
    try:
        first, second = pair
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a pair (min, max). {received(name, pair)}") from None
    first = check_number(name, first)
    second = check_number(name, second)
    if first > second:
        raise ValueError(f"`{name}` must be in order (min <= max). {received(name, pair)}")
    if strictly_positive and first <= 0:
        raise ValueError(f"`{name}` must be positive. {received(name, pair)}")
    if (low is not None and first < low) or (high is not None and second > high):
        raise ValueError(f"`{name}` must lie within [{low}, {high}]. {received(name, pair)}")
    return (first, second)
