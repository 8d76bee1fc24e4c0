"""LSTM and GRU forecasters for Darts, with Lightning modules you can also use alone."""

from darts.utils.serialization import add_safe_globals

from rnn_forecast.forecaster import GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.module import RecurrentForecastModule

__version__ = "0.1.0"

# Darts loads models with an allow-list of classes; ours must be on it so that a plain
# `GRUForecaster.load(path)` works.
add_safe_globals([RNNForecaster, LSTMForecaster, GRUForecaster, RecurrentForecastModule])

__all__ = [
    "GRUForecaster",
    "LSTMForecaster",
    "RNNForecaster",
    "RecurrentForecastModule",
    "__version__",
]
