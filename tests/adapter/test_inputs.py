"""Property tests for the boundary: pandas conversion and validation."""

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.adapter.inputs import as_series, check_finite
from rnn_forecast.tools.testing import QUIET_TRAINER

FREQS = ["h", "D", "15min", "W-SUN", "MS", "B"]


@st.composite
def frames(draw, min_length=3, max_length=80):
    """A pandas DataFrame (or Series) with a regular DatetimeIndex and numeric columns."""
    length = draw(st.integers(min_length, max_length))
    width = draw(st.integers(1, 4))
    freq = draw(st.sampled_from(FREQS))
    index = pd.date_range("2020-01-01", periods=length, freq=freq)
    if draw(st.booleans()):  # as read from a CSV: no freq attribute
        index = pd.DatetimeIndex(list(index))
    dtype = draw(st.sampled_from([np.float64, np.float32]))  # integers are refused
    values = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32),
                           min_size=length * width, max_size=length * width))
    data = np.asarray(values, dtype=np.float64).reshape(length, width).astype(dtype)
    frame = pd.DataFrame(data, index=index, columns=[f"c{i}" for i in range(width)])
    return frame.iloc[:, 0] if width == 1 and draw(st.booleans()) else frame


@settings(max_examples=60, deadline=None)
@given(frames())
def test_regular_pandas_converts_exactly_and_is_not_modified(obj):
    before = obj.copy()
    series = as_series(obj, "series")
    assert isinstance(series, TimeSeries)
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    assert series.shape == (len(frame), frame.shape[1], 1)
    assert (series.time_index == frame.index).all()
    assert series.dtype == np.float32
    np.testing.assert_allclose(series.values(), frame.to_numpy(np.float32))
    assert obj.equals(before)


@settings(max_examples=40, deadline=None)
@given(frames(min_length=4), st.data())
def test_duplicate_timestamps_are_refused(frame, data):
    i = data.draw(st.integers(1, len(frame) - 1))
    index = frame.index.tolist()
    index[i] = index[i - 1]
    broken = frame.set_axis(pd.DatetimeIndex(index))
    with pytest.raises(ValueError, match="duplicate timestamps"):
        as_series(broken, "series")


@settings(max_examples=40, deadline=None)
@given(frames(min_length=5), st.data())
def test_missing_timestamps_are_refused(frame, data):
    i = data.draw(st.integers(1, len(frame) - 2))
    broken = frame.drop(frame.index[i])
    broken.index = pd.DatetimeIndex(list(broken.index))  # no freq, as from a file
    with pytest.raises(ValueError, match="irregular time index"):
        as_series(broken, "past_covariates")


@settings(max_examples=40, deadline=None)
@given(frames(), st.data())
def test_non_finite_values_are_named(frame, data):
    series = as_series(frame, "series")
    values = series.values().copy()
    row = data.draw(st.integers(0, len(values) - 1))
    values[row, data.draw(st.integers(0, values.shape[1] - 1))] = data.draw(
        st.sampled_from([np.nan, np.inf, -np.inf]))
    broken = TimeSeries.from_times_and_values(series.time_index, values)
    with pytest.raises(ValueError, match=r"`future_covariates\[1\]` contains 1 NaN/inf"):
        check_finite([series, broken], "future_covariates")


def test_other_bad_inputs_have_specific_messages():
    index = pd.date_range("2020", periods=5, freq="h")
    with pytest.raises(TypeError, match="non-numeric columns"):
        as_series(pd.DataFrame({"a": list("abcde")}, index=index), "series")
    with pytest.raises(TypeError, match="DatetimeIndex"):
        as_series(pd.Series([1.0, 2.0], index=["x", "y"]), "series")
    with pytest.raises(TypeError, match="`series` must be a darts TimeSeries"):
        as_series(np.zeros(5), "series")
    with pytest.raises(ValueError, match="empty"):
        as_series(pd.Series([], dtype=float, index=pd.DatetimeIndex([])), "series")
    with pytest.raises(ValueError, match="empty sequence"):
        as_series([], "series")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cls=st.sampled_from([LSTMForecaster, GRUForecaster]),
    length=st.integers(4, 40),
    width=st.integers(1, 3),
    icl=st.integers(1, 12),
    ocl=st.integers(1, 6),
    n=st.integers(1, 10),
)
def test_fit_predict_is_a_correct_forecast_or_a_clear_error(cls, length, width, icl, ocl, n):
    index = pd.date_range("2021-03-01", periods=length, freq="D")
    frame = pd.DataFrame(np.sin(np.arange(length * width)).reshape(length, width), index=index)
    model = cls(input_chunk_length=icl, output_chunk_length=ocl, hidden_dim=4, n_epochs=1,
                random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    if length < icl + ocl:
        with pytest.raises(ValueError, match="needs at least"):
            model.fit(frame)
        return
    forecast = model.fit(frame).predict(n)
    assert forecast.shape == (n, width, 1)
    assert forecast.start_time() == index[-1] + index.freq
    assert np.isfinite(forecast.values()).all()
