"""Argument checks shared by the network (:mod:`rnn_forecast.nn`) and the adapter.

They live below both layers so that the network does not import the Darts adapter.
"""

from __future__ import annotations

import numbers


def check_positive_int(value, name: str, meaning: str = "", alternatives: str = "") -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise ``ValueError``.

    ``meaning`` is put in parentheses after the name; ``alternatives`` follows "a
    positive integer" in the message verbatim, naming the other values the caller
    accepts (e.g. ``", 'auto' or None"``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        meaning = f" ({meaning})" if meaning else ""
        raise ValueError(f"`{name}`{meaning} must be a positive integer{alternatives}, got {value!r}.")
    return int(value)
