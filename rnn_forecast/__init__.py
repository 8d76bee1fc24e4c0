"""LSTM and GRU forecasters for Darts, with Lightning modules you can also use alone.

Names are imported on first use (PEP 562), so that ``import rnn_forecast`` and the
command line's ``--help`` do not pay for importing torch, Lightning and Darts.
"""

from rnn_forecast._version import __version__

_LAZY = {
    "RNNForecaster": "rnn_forecast.forecaster",
    "LSTMForecaster": "rnn_forecast.forecaster",
    "GRUForecaster": "rnn_forecast.forecaster",
    "RecurrentForecastModule": "rnn_forecast.module",
    "POINTWISE": "rnn_forecast.module",
    "Budget": "rnn_forecast.budget",
    "CellComparison": "rnn_forecast.compare",
    "compare_cells": "rnn_forecast.compare",
    "AutoRNNForecaster": "rnn_forecast.tune",  # needs the optional Optuna
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'rnn_forecast' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AutoRNNForecaster",
    "Budget",
    "CellComparison",
    "GRUForecaster",
    "LSTMForecaster",
    "POINTWISE",
    "RNNForecaster",
    "RecurrentForecastModule",
    "__version__",
    "compare_cells",
]
