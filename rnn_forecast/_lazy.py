"""Package attributes imported on first use (PEP 562).

``rnn_forecast`` and :mod:`rnn_forecast.evaluation`
name classes whose modules import torch, Lightning and Darts; importing those only when
a name is used keeps ``import rnn_forecast`` and ``rnn-forecast --help`` light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(namespace: dict, names: dict[str, str]) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` of a package whose ``names`` load on first use.

    Parameters
    ----------
    namespace
        The package's ``globals()``; a loaded name is stored there, so later lookups
        do not reach ``__getattr__`` again.
    names
        Attribute name -> the module that defines it.

    Returns
    -------
    (__getattr__, __dir__)
        To assign at the package's top level.
    """
    package = namespace["__name__"]

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
