"""The module paths of 0.3 and earlier, kept working after the package took its layers.

``import rnn_forecast.forecaster`` (and every other moved module in :data:`MOVED`) gives
the module at its new path, the same object, with a ``DeprecationWarning``; classes keep
one identity, so ``isinstance`` and pickling agree whichever path imported them.
Saved forecasters record their classes by module path: :func:`with_old_paths` allows the
old paths too, so that files written before the move load through Darts' safe loading.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module -> new module
MOVED = {
    "rnn_forecast.backend": "rnn_forecast.nn.backend",
    "rnn_forecast.callbacks": "rnn_forecast.nn.callbacks",
    "rnn_forecast.cells": "rnn_forecast.nn.cells",
    "rnn_forecast.early_stopping": "rnn_forecast.nn.early_stopping",
    "rnn_forecast.global_level": "rnn_forecast.nn.global_level",
    "rnn_forecast.layers": "rnn_forecast.nn.layers",
    "rnn_forecast.module": "rnn_forecast.nn.module",
    "rnn_forecast.recurrence": "rnn_forecast.nn.recurrence",
    "rnn_forecast.forecaster": "rnn_forecast.adapter.forecaster",
    "rnn_forecast.inference": "rnn_forecast.adapter.inference",
    "rnn_forecast.inputs": "rnn_forecast.adapter.inputs",
    "rnn_forecast.params": "rnn_forecast.adapter.params",
    "rnn_forecast.seasonality": "rnn_forecast.adapter.seasonality",
    "rnn_forecast.windows": "rnn_forecast.adapter.windows",
    "rnn_forecast.budget": "rnn_forecast.tools.budget",
    "rnn_forecast.cli": "rnn_forecast.tools.cli",
    "rnn_forecast.cli_settings": "rnn_forecast.tools.cli_settings",
    "rnn_forecast.compare": "rnn_forecast.tools.compare",
    "rnn_forecast.testing": "rnn_forecast.tools.testing",
    "rnn_forecast.tune": "rnn_forecast.tools.tune",
    "rnn_forecast.tune.auto": "rnn_forecast.tools.tune.auto",
    "rnn_forecast.tune.space": "rnn_forecast.tools.tune.space",
    "rnn_forecast.dataset_registry": "rnn_forecast.datasets.registry",
}
_OLD = {new: old for old, new in MOVED.items()}


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module at its new path (the same module object)."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        # the import system set the old path's spec on the module: give it its own back
        module.__spec__ = self.spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        warnings.warn(f"`{fullname}` moved to `{new}`; the old path will be removed in 1.0.",
                      DeprecationWarning, stacklevel=2)
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Put the finder of the old paths first on ``sys.meta_path`` (once).

    First, so that ``rnn_forecast.tune.auto`` is not found again by the path finder in the
    real ``tune`` package's folder as a second copy of the module.
    """
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())


def with_old_paths(classes: list) -> list:
    """``classes`` for Darts' ``add_safe_globals``, each also under its 0.3 module path.

    Parameters
    ----------
    classes
        Classes (or functions) defined in moved modules, or elsewhere (passed on as they are).

    Returns
    -------
    list
        ``classes`` followed by ``(cls, "old.module.QualName")`` for those that moved.
    """
    old = [(c, f"{_OLD[c.__module__]}.{c.__qualname__}") for c in classes
           if getattr(c, "__module__", None) in _OLD]
    return [*classes, *old]
