"""LSTM and GRU forecasters for Darts, with Lightning modules you can also use alone."""

from darts.utils.serialization import add_safe_globals

from rnn_forecast.forecaster import GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.module import POINTWISE, RecurrentForecastModule

__version__ = "0.2.0"

# Darts loads models with an allow-list of classes; ours must be on it so that a plain
# `GRUForecaster.load(path)` works.
add_safe_globals([RNNForecaster, LSTMForecaster, GRUForecaster, RecurrentForecastModule])

# Loaded on first use: compare_cells pulls in the benchmark machinery, AutoRNNForecaster
# needs the optional Optuna.
_LAZY = {
    "Budget": "rnn_forecast.budget",
    "CellComparison": "rnn_forecast.compare",
    "compare_cells": "rnn_forecast.compare",
    "AutoRNNForecaster": "rnn_forecast.tune",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnn_forecast' has no attribute {name!r}")


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
