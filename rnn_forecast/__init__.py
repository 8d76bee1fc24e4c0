"""LSTM and GRU forecasters for Darts, with Lightning modules you can also use alone.

Names are imported on first use (PEP 562), so that ``import rnn_forecast`` and the
command line's ``--help`` do not pay for importing torch, Lightning and Darts.
"""

from rnn_forecast._lazy import lazy_attributes
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


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


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
