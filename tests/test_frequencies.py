"""Every common frequency through fit, predict, historical_forecasts and backtest.

pandas 3 made the daily offset a calendar day, and Darts 0.48's `n_steps_between` then
raised `TypeError: unsupported operand type(s) for //: 'Timedelta' and 'Day'` in
`historical_forecasts`/`backtest` on daily series (pyproject pins pandas below 3). This
test fails loudly if a pandas or Darts release breaks one of these frequencies again.
"""

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.metrics import mae

from rnn_forecast import GRUForecaster
from rnn_forecast.testing import QUIET_TRAINER

L, T, N = 28, 7, 120


@pytest.mark.parametrize("freq", ["D", "B", "W", "MS", "QS", "h", "30min"])
def test_a_forecaster_runs_every_darts_entry_point_at(freq):
    index = pd.date_range("2000-01-03", periods=N, freq=freq)
    t = np.arange(N, dtype=np.float32)
    series = TimeSeries.from_times_and_values(index, (10 + np.sin(2 * np.pi * t / 7) + 0.01 * t).astype(np.float32))
    model = GRUForecaster(input_chunk_length=L, output_chunk_length=T, hidden_dim=8, n_epochs=1,
                          random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    model.fit(series[:-2 * T])
    forecast = model.predict(T)
    assert forecast.time_index.equals(series.time_index[-2 * T:-T])
    windows = model.historical_forecasts(series, start=0.8, forecast_horizon=T, stride=T, retrain=False,
                                         last_points_only=False)
    assert windows and all(len(w) == T and w.freq == series.freq for w in windows)
    error = model.backtest(series, historical_forecasts=windows, metric=mae)
    assert np.isfinite(error)
    again = model.backtest(series, start=0.8, forecast_horizon=T, stride=T, retrain=False, metric=mae)
    assert again == pytest.approx(error, rel=1e-6)
