"""End-to-end on real data: a trained forecaster beats the seasonal naive forecast."""

import numpy as np
import pytest
from darts import concatenate
from darts.dataprocessing.transformers import Scaler
from darts.metrics import mae
from darts.models import NaiveSeasonal

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.datasets import load_weather
from rnn_forecast.tools.testing import QUIET_TRAINER

DAY = 144  # 10-minute steps


@pytest.fixture(scope="module")
def temperature(data_dir):
    """The last 40 days of Jena air temperature, scaled on the first 32."""
    series = load_weather(data_dir, columns=["T (degC)"]).target[-40 * DAY :]
    train, _ = series.split_after(0.8)
    return Scaler().fit(train).transform(series), len(train)


@pytest.mark.parametrize("cls", [LSTMForecaster, GRUForecaster])
def test_beats_seasonal_naive_on_held_out_weather(cls, temperature):
    series, n_train = temperature
    horizon = 36
    model = cls(input_chunk_length=DAY, output_chunk_length=horizon, hidden_dim=32,
                n_epochs=4, batch_size=64, optimizer_kwargs={"lr": 3e-3}, random_state=0,
                pl_trainer_kwargs=dict(QUIET_TRAINER))
    model.fit(series[:n_train])

    def held_out_mae(forecaster, retrain):
        forecasts = forecaster.historical_forecasts(
            series, start=n_train, forecast_horizon=horizon, stride=horizon,
            retrain=retrain, last_points_only=False)
        return mae(series, concatenate(forecasts))

    ours = held_out_mae(model, retrain=False)
    naive = held_out_mae(NaiveSeasonal(K=DAY), retrain=True)
    print(f"{cls.__name__}: MAE {ours:.4f} vs seasonal naive {naive:.4f}")
    assert np.isfinite(ours) and ours < naive, (ours, naive)
