"""LSTM and GRU forecasters for Darts, with Lightning modules you can also use alone.

Names are imported on first use (PEP 562), so that ``import rnn_forecast`` and the
command line's ``--help`` do not pay for importing torch, Lightning and Darts.
"""

from rnn_forecast import _moved
from rnn_forecast._lazy import lazy_attributes
from rnn_forecast._version import __version__

_moved.install()  # the module paths of 0.3 and earlier (rnn_forecast.forecaster, ...)

_LAZY = {
    "RNNForecaster": "rnn_forecast.adapter.forecaster",
    "LSTMForecaster": "rnn_forecast.adapter.forecaster",
    "GRUForecaster": "rnn_forecast.adapter.forecaster",
    "RecurrentForecastModule": "rnn_forecast.nn.module",
    "POINTWISE": "rnn_forecast.nn.module",
    "Budget": "rnn_forecast.tools.budget",
    "CellComparison": "rnn_forecast.tools.compare",
    "compare_cells": "rnn_forecast.tools.compare",
    "AutoRNNForecaster": "rnn_forecast.tools.tune",  # needs the optional Optuna
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
