"""Property tests (hypothesis): any input gives a correct forecast or a clear error.

Each example draws a forecasting set-up (series count, lengths, widths, frequency or
integer index, chunk lengths, covariate layout, horizon, pandas or TimeSeries, float32 or
float64) and at most one deliberate defect. Without a defect ``fit``/``predict`` must
return forecasts of the right shape, index and dtype with finite values, and
``historical_forecasts`` (``retrain=False``) one such forecast per window that fits in
each series, inside it; with one (or
with a series too short to train on) they must raise a ``ValueError``/``TypeError``
that names the problem, raised by rnn_forecast's or Darts' own checks, never from deep
inside numpy or torch.
"""

import traceback

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.utils.timeseries_generation import generate_index
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.tools.testing import QUIET_TRAINER

FREQS = ["h", "D", "15min", "W-SUN", "MS", "B", None]  # None: an integer (Range) index
DEFECTS = {
    # defect: message fragments any of which the error must contain
    "short": ["needs at least", "cannot be inferred from fewer than 3"],
    "nan": ["NaN/inf"],
    "late_past": ["spans"],
    "short_future": ["do not extend far enough"],
    "other_freq": ["has frequency", "DatetimeIndex but", "(Range) index but"],
    "covariate_count": ["one covariate series per target series"],
    "dst": ["crosses a daylight-saving change"],
    "static_shape": ["same static covariate columns"],
    "predict_static": ["static covariates"],
}
ZONES = [None, "UTC", "Europe/Berlin"]  # pandas inputs only; Berlin starts in summer (no DST change)


def index(start, length, freq):
    """``length`` steps from ``start``: a DatetimeIndex, or a RangeIndex when ``freq`` is an int."""
    if isinstance(freq, int):
        return generate_index(start=int(start), length=length, freq=freq)
    return generate_index(start=pd.Timestamp(start), length=length, freq=freq)


def make(idx, width, seed, dtype):
    t = np.arange(len(idx))[:, None] + seed
    values = np.sin(t / 3.0 + np.arange(width)[None, :]) + 0.1 * np.cos(t)
    return TimeSeries.from_times_and_values(idx, values.astype(dtype))


def covariate(series, before, after, width, seed, dtype):
    """A covariate from ``before`` steps before ``series`` to ``after`` steps after its end."""
    start = series.start_time() - before * series.freq
    return make(index(start, before + len(series) + after, series.freq), width, seed, dtype)


def other_frequency(series, length, width, dtype):
    """A covariate on another time axis: hourly or daily, or dates for an integer index."""
    if not series.has_datetime_index:
        return make(index("2021-01-04", length, "D"), width, 3, dtype)
    freq = "D" if series.freq_str == "h" else "h"
    return make(index(series.start_time(), length, freq), width, 3, dtype)


@st.composite
def setups(draw):
    freq = draw(st.sampled_from(FREQS))
    icl, ocl = draw(st.integers(1, 8)), draw(st.integers(1, 4))
    n = draw(st.integers(1, 3 * ocl))
    width = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    as_pandas = draw(st.booleans())
    zone = draw(st.sampled_from(ZONES)) if as_pandas and freq is not None else None
    start, freq = (5, 1) if freq is None else ("2021-06-01" if zone else "2021-01-04", freq)
    n_series = draw(st.integers(1, 2))
    lengths = [draw(st.integers(icl + ocl, icl + ocl + 30)) for _ in range(n_series)]
    series = [make(index(start, length, freq), width, i, dtype) for i, length in enumerate(lengths)]
    if draw(st.booleans()):
        series = [s.with_static_covariates(pd.DataFrame({"site": [float(i)]})) for i, s in enumerate(series)]
    use_past, use_future = draw(st.booleans()), draw(st.booleans())
    past_width, future_width = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = st.integers(0, 3)  # extra steps around the span the model needs
    past = [covariate(s, draw(pads), max(0, n - ocl) + draw(pads), past_width, 7, dtype) for s in series]
    future = [covariate(s, draw(pads), max(n, ocl) + draw(pads), future_width, 9, dtype) for s in series]

    static = not as_pandas and series[0].static_covariates is not None
    possible = ["short", "nan"] + ["late_past"] * use_past + ["short_future"] * use_future
    if use_past or use_future:
        possible += ["other_freq"] + ["covariate_count"] * (n_series == 2)
    possible += ["dst"] * (as_pandas and freq in ("h", "15min"))
    possible += ["static_shape"] * (static and n_series == 2) + ["predict_static"] * static
    defect = draw(st.sampled_from([None] * len(possible) + possible))
    target = draw(st.integers(0, n_series - 1))
    s = series[target]
    if defect == "short":
        series[target] = s[: draw(st.integers(1, icl + ocl - 1))]
    elif defect == "nan":
        values = s.values().copy()
        values[draw(st.integers(0, len(s) - 1)), draw(st.integers(0, width - 1))] = np.nan
        series[target] = TimeSeries.from_times_and_values(s.time_index, values)
    elif defect == "late_past":
        late = draw(st.integers(1, len(s) - icl - ocl + 1))
        past[target] = covariate(s, -late, max(0, n - ocl), past_width, 7, dtype)
    elif defect == "short_future":
        future[target] = covariate(s, 0, max(n, ocl) - 1, future_width, 9, dtype)
    elif defect == "other_freq":
        bad_width = past_width if use_past else future_width
        (past if use_past else future)[target] = other_frequency(s, len(s) + 3 * ocl + 10, bad_width, dtype)
    elif defect == "covariate_count":
        past, future = past[:1], future[:1]
    elif defect == "static_shape":
        series[target] = s.with_static_covariates(pd.DataFrame({"site": [1.0], "altitude": [2.0]}))
    single = n_series == 1 and defect != "covariate_count" and draw(st.booleans())

    def frame(item):
        df = item.to_dataframe()
        if zone is not None:
            df.index = pd.DatetimeIndex(df.index.tz_localize(zone), freq=item.freq)
        return df

    def pack(items):
        items = [frame(item) if as_pandas else item for item in items]
        return items[0] if single else items

    targets = pack(series)
    if defect == "dst":  # regular in absolute time, but the wall clock repeats 02:00-03:00
        use_past = use_future = False
        crossing = pd.Timestamp("2021-10-31 00:30", tz="UTC").tz_convert("Europe/Berlin")
        s = series[target]
        length = max(len(s), 3)
        crossed = pd.DataFrame(np.resize(s.values(), (length, s.width)), columns=s.components,
                               index=pd.date_range(crossing, periods=length, freq=freq))
        targets = crossed if single else [crossed if i == target else t for i, t in enumerate(targets)]
    predict_targets = targets
    if defect == "predict_static":  # trained with static covariates, predicts without
        predict_targets = [t.with_static_covariates(None) for t in series]
        predict_targets = predict_targets[0] if single else predict_targets

    return {
        "cls": draw(st.sampled_from([LSTMForecaster, GRUForecaster])),
        "icl": icl, "ocl": ocl, "n": n, "defect": defect, "series": series,
        "dtype": np.float32 if as_pandas else dtype,  # pandas inputs become float32
        "static": static, "index": "integer" if freq == 1 else f"{freq}, {zone or 'naive'}",
        "targets": targets, "predict_targets": predict_targets,
        "past": pack(past) if use_past else None,
        "future": pack(future) if use_future else None,
    }


def assert_clear_error(exc, setup):
    expected = DEFECTS[setup["defect"]]
    assert any(fragment in str(exc) for fragment in expected), (setup["defect"], str(exc))
    origin = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
    assert "/rnn_forecast/" in origin or origin.endswith("darts/logging.py"), (origin, str(exc))


def check_setup(setup):
    model = setup["cls"](input_chunk_length=setup["icl"], output_chunk_length=setup["ocl"],
                         hidden_dim=4, n_epochs=1, batch_size=64, random_state=0,
                         use_static_covariates=setup["static"], pl_trainer_kwargs=dict(QUIET_TRAINER))
    covariates = {"past_covariates": setup["past"], "future_covariates": setup["future"]}
    event(f"defect: {setup['defect']}")
    event(f"index: {setup['index']}")
    try:
        model.fit(setup["targets"], **covariates)
        forecasts = model.predict(setup["n"], series=setup["predict_targets"], **covariates)
    except (ValueError, TypeError) as exc:
        if setup["defect"] is None:
            raise
        assert_clear_error(exc, setup)
        return
    assert setup["defect"] is None, f"{setup['defect']} was not refused"
    forecasts = [forecasts] if isinstance(forecasts, TimeSeries) else forecasts
    assert len(forecasts) == len(setup["series"])
    for series, forecast in zip(setup["series"], forecasts):
        assert forecast.shape == (setup["n"], series.width, 1)
        expected = generate_index(start=series.end_time() + series.freq, length=setup["n"], freq=series.freq)
        assert forecast.time_index.equals(expected)
        assert forecast.dtype == setup["dtype"]
        assert np.isfinite(forecast.values()).all()
    check_historical_forecasts(model, setup, covariates)


def check_historical_forecasts(model, setup, covariates):
    """Rolling forecasts over the training series (``retrain=False``): all inside it, finite."""
    ocl = setup["ocl"]
    rolled = model.historical_forecasts(setup["targets"], **covariates, forecast_horizon=ocl, stride=ocl,
                                        retrain=False, last_points_only=False, verbose=False)
    rolled = [rolled] if isinstance(setup["targets"], (TimeSeries, pd.DataFrame, pd.Series)) else rolled
    assert len(rolled) == len(setup["series"])
    for series, forecasts in zip(setup["series"], rolled):
        assert len(forecasts) == (len(series) - setup["icl"]) // ocl  # every window that fits, stride ocl
        for forecast in forecasts:
            assert forecast.shape == (ocl, series.width, 1) and forecast.dtype == setup["dtype"]
            assert forecast.start_time() >= series.time_index[setup["icl"]]
            assert forecast.end_time() <= series.end_time()
            assert np.isfinite(forecast.values()).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_forecast_is_correct_or_the_error_is_clear(setup):
    check_setup(setup)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_forecast_is_correct_or_the_error_is_clear_many_examples(setup):
    check_setup(setup)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["int8", "int32", "int64", "Int64", "float16", "bool", "object", "category"]),
       st.booleans())
def test_non_float_pandas_columns_are_refused_by_name(dtype, as_series):
    index = pd.date_range("2021-01-01", periods=30, freq="h")
    frame = pd.DataFrame({"ok": np.ones(30), "bad": pd.Series(np.arange(30) % 2, index=index).astype(dtype)})
    obj = frame["bad"] if as_series else frame
    model = GRUForecaster(input_chunk_length=4, output_chunk_length=2)
    with pytest.raises(TypeError, match=r"(integer|float16|non-numeric) columns \['bad'\]"):
        model.fit(obj)
