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
from rnn_forecast.tools.testing import QUIET_TRAINER

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


def test_scale_batch_size_works_for_fit_and_predict():
    """Darts' batch-size finder builds its own DataLoaders; ours need their batched collate (#20, bug 1)."""
    index = pd.date_range("2000-01-03", periods=N, freq="h")
    series = TimeSeries.from_times_and_values(index, np.sin(np.arange(N) / 4).astype(np.float32))
    model = GRUForecaster(input_chunk_length=L, output_chunk_length=T, hidden_dim=8, n_epochs=1,
                          random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(series)
    for method, kwargs in (("fit", {}), ("predict", {"n": T})):
        size = model.scale_batch_size(series, method=method, max_trials=2, **kwargs)
        assert isinstance(size, int) and size >= 1


def test_overrides_keep_darts_signatures():
    """#20, bug 2: the pandas-accepting wrappers must not hide Darts' parameters."""
    import inspect

    from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel

    for name in ("historical_forecasts", "backtest", "residuals", "predict", "fit"):
        ours = inspect.signature(getattr(GRUForecaster, name)).parameters
        darts = inspect.signature(getattr(TorchForecastingModel, name)).parameters
        extra = ["resume"] if name == "fit" else []  # fit(..., resume=True): docs/reliability.md
        assert list(ours) == list(darts) + extra, name
        assert all(ours[p].default == darts[p].default for p in darts), name


def test_fit_and_predict_take_only_the_series_by_position():
    """Darts' fit/predict take ``trainer`` 7th/5th; ours must not bind it to another parameter."""
    import inspect

    index = pd.date_range("2000-01-03", periods=N, freq="h")
    series = TimeSeries.from_times_and_values(index, np.sin(np.arange(N) / 4).astype(np.float32))
    model = GRUForecaster(input_chunk_length=L, output_chunk_length=T, hidden_dim=8, n_epochs=1,
                          random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    with pytest.raises(TypeError, match="positional"):
        model.fit(series, None, None, None, None, None, True)  # a `trainer` by position, not resume=True
    model.fit(series)
    with pytest.raises(TypeError, match="positional"):
        model.predict(T, series, None, None, 1)  # a `trainer` by position, not num_samples
    for name, last in (("fit", "val_future_covariates"), ("predict", "future_covariates")):
        parameters = list(inspect.signature(getattr(model, name)).parameters.values())
        cut = [p.name for p in parameters].index(last) + 1
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[cut:]), name
        assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters[:cut]), name


def test_a_key_given_twice_to_historical_forecasts_gets_darts_clear_error():
    index = pd.date_range("2000-01-03", periods=N, freq="h")
    series = TimeSeries.from_times_and_values(index, np.sin(np.arange(N) / 4).astype(np.float32))
    model = GRUForecaster(input_chunk_length=L, output_chunk_length=T, hidden_dim=8, n_epochs=1,
                          random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(series)
    with pytest.raises(ValueError, match="predict_kwargs"):
        model.historical_forecasts(series, start=0.8, forecast_horizon=T, retrain=False,
                                   predict_likelihood_parameters=False,
                                   predict_kwargs={"predict_likelihood_parameters": False})


def test_a_wrong_val_series_is_named_and_its_components_reported_first():
    """#20, bug 3: a validation series of the wrong width was reported as a static-covariates problem."""
    index = pd.date_range("2000-01-03", periods=N, freq="h")
    static = pd.DataFrame({"site": [1.0]})
    series = TimeSeries.from_times_and_values(index, np.random.default_rng(0).random((N, 1)).astype(np.float32),
                                              static_covariates=static)
    wide = TimeSeries.from_times_and_values(index, np.random.default_rng(1).random((N, 2)).astype(np.float32),
                                            static_covariates=pd.DataFrame({"site": [1.0, 2.0]}))
    model = GRUForecaster(input_chunk_length=L, output_chunk_length=T, n_epochs=1)
    with pytest.raises(ValueError, match=r"`val_series` has 2 components but `series` has 1"):
        model.fit(series, val_series=wide)
    other_static = series.with_static_covariates(pd.DataFrame({"site": [1.0], "zone": [3.0]}))
    with pytest.raises(ValueError, match=r"`val_series` has static covariates of shape \(1, 2\)"):
        model.fit(series, val_series=other_static)
