"""Bad input to fit and predict: a specific error, naming the problem, before any tensor is built."""


import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries

from rnn_forecast.tools.testing import ICL, OCL, make_series
from tests.builders import build, fit_with_covariates


@pytest.fixture(scope="module")
def fitted():
    """A small model fitted with past and future covariates, and its inputs."""
    return fit_with_covariates()


def with_value(series: TimeSeries, row: int, value: float) -> TimeSeries:
    values = series.values().copy()
    values[row, 0] = value
    return TimeSeries.from_times_and_values(series.time_index, values)


def daily(length=120, width=1):
    index = pd.date_range("2021-01-01", periods=length, freq="D")
    return TimeSeries.from_times_and_values(index, np.ones((length, width), np.float32))


# -- bad input: a specific error before any tensor is built --------------------------------

S = make_series()
PC = make_series(n_components=1, seed=1)
STATIC = pd.DataFrame({"site": [1.0, 2.0]})
FIT_ERRORS = [
    ("nan in series", {"series": with_value(S, 5, np.nan)}, ValueError, r"`series` contains 1 NaN/inf"),
    ("inf in past covariates", {"past_covariates": with_value(PC, 7, np.inf)}, ValueError,
     r"`past_covariates` contains 1 NaN/inf value\(s\), the first at 2021-01-01 07:00"),
    ("nan static covariate", {"series": S.with_static_covariates(pd.DataFrame({"a": [np.nan, 1.0]}))},
     ValueError, "NaN/inf static covariates"),
    ("string static covariate", {"series": S.with_static_covariates(pd.DataFrame({"a": ["x", "y"]}))},
     TypeError, "non-numeric static covariates"),
    ("missing timestamps", {"series": S.to_dataframe().drop(S.time_index[[5, 9]])}, ValueError,
     "irregular time index"),
    ("duplicate timestamps", {"series": pd.concat([S.to_dataframe().iloc[:3], S.to_dataframe()])},
     ValueError, "duplicate timestamps"),
    ("time zone across a DST change",
     {"series": S.to_dataframe().set_axis(pd.date_range("2021-10-30", periods=len(S), freq="h",
                                                        tz="Europe/Berlin"))},
     ValueError, r"time-zone-aware index \(Europe/Berlin\) that crosses a daylight-saving change"),
    ("two rows, no frequency",
     {"series": S.to_dataframe().iloc[:2].set_axis(pd.DatetimeIndex(list(S.time_index[:2])))},
     ValueError, r"only 2 timestamp\(s\) and its index has no `freq`"),
    ("DST change, 15-minute steps: wall clock goes back without repeating",  # found by the fuzzing
     {"series": pd.DataFrame({"a": np.arange(4.0), "b": np.arange(4.0)}, index=pd.date_range(
         pd.Timestamp("2021-10-31 00:30", tz="UTC").tz_convert("Europe/Berlin"), periods=4, freq="15min"))},
     ValueError, r"time-zone-aware index \(Europe/Berlin\) that crosses a daylight-saving change"),
    ("object column", {"series": S.to_dataframe().assign(label="x")}, TypeError,
     r"non-numeric columns \['label'\]"),
    ("integer column", {"series": S.to_dataframe().astype("int64")}, TypeError, "integer columns"),
    ("float16 column", {"series": S.to_dataframe().astype("float16")}, TypeError, "float16 columns"),
    ("float16 series", {"series": S.astype(np.float16)}, TypeError, "`series` has dtype float16"),
    ("empty frame", {"series": S.to_dataframe().iloc[:0]}, ValueError, "`series` is empty"),
    ("empty list", {"series": []}, ValueError, "empty sequence"),
    ("not a series", {"series": S.values()}, TypeError, "must be a darts TimeSeries"),
    ("too short", {"series": S[: ICL + OCL - 1]}, ValueError,
     f"has {ICL + OCL - 1} time steps .* at least {ICL + OCL}"),
    ("val too short", {"val_series": S[:5]}, ValueError, "`val_series` has 5 time steps"),
    ("past covariates start late", {"past_covariates": PC[10:]}, ValueError,
     r"`past_covariates` spans 2021-01-01 10:00:00 .* reads past covariates from 2021-01-01 00:00:00"),
    ("future covariates end early", {"future_covariates": PC[:-1]}, ValueError,
     r"reads future covariates from .* to 2021-01-05 23:00:00"),
    ("covariates at another frequency", {"past_covariates": daily()}, ValueError,
     r"`past_covariates` has frequency 'D' but `series` has 'h'"),
    ("covariates with a range index", {"past_covariates": TimeSeries.from_values(PC.values())},
     ValueError, r"integer \(Range\) index but `series` has a DatetimeIndex"),
    ("two series, one covariate", {"series": [S, S], "past_covariates": [PC]}, ValueError,
     "`series` is a list of 2, `past_covariates` is a list of 1"),
    ("one series, covariate list", {"past_covariates": [PC, PC]}, ValueError,
     "`series` is one series, `past_covariates` is a list of 2"),
    ("series of different widths", {"series": [S, make_series(n_components=3)]}, ValueError,
     r"`series\[1\]` has 3 components but `series\[0\]` has 2"),
    ("validation width", {"val_series": make_series(n_components=3)}, ValueError,
     "`val_series` has 3 components but `series` has 2"),
    ("covariates of different widths", {"series": [S, S], "past_covariates": [PC, make_series(n_components=2)]},
     ValueError, r"`past_covariates\[1\]` has 2 components"),
    ("static covariates on one series only", {"series": [S.with_static_covariates(STATIC), S]}, ValueError,
     r"`series\[1\]` has no static covariates but `series\[0\]` has static covariates of shape \(2, 1\)"),
]


@pytest.mark.parametrize("case, inputs, error, message", FIT_ERRORS, ids=[c[0] for c in FIT_ERRORS])
def test_bad_fit_inputs_raise_specific_errors(case, inputs, error, message):
    model = build()
    with pytest.raises(error, match=message):
        model.fit(**{"series": S, **inputs})
    assert not model.model_created  # refused before anything was built


def test_time_zone_aware_index_without_a_dst_change_is_accepted():
    # as in Darts: the zone is dropped and wall-clock times kept; only a DST change is refused
    berlin = pd.date_range("2021-01-04", periods=len(S), freq="h", tz="Europe/Berlin")
    forecast = build().fit(S.to_dataframe().set_axis(berlin)).predict(OCL)
    assert forecast.start_time() == berlin[-1].tz_localize(None) + pd.Timedelta(hours=1)
    utc = pd.date_range("2021-10-30", periods=len(S), freq="h", tz="UTC")  # UTC has no DST
    assert build().fit(S.to_dataframe().set_axis(utc)).predict(OCL).n_timesteps == OCL


def test_short_time_zone_aware_input_keeps_its_frequency():
    # Darts drops the zone and, with it, the index's freq: fatal for a 2-row frame
    model = build(input_chunk_length=2, output_chunk_length=1).fit(S)
    window = S.to_dataframe().iloc[-2:].set_axis(
        pd.date_range("2021-06-01", periods=2, freq="h", tz="Europe/Berlin"))
    with pytest.warns(UserWarning, match=r"time-zone-aware index \(Europe/Berlin\); forecasting on its wall-clock"):
        forecast = model.predict(1, series=window)
    assert forecast.start_time() == pd.Timestamp("2021-06-01 02:00")


def test_max_samples_per_ts_needs_covariates_only_for_the_windows_used():
    model = build().fit(S, past_covariates=PC[60:], max_samples_per_ts=5)
    assert model.model_created
    with pytest.raises(ValueError, match="spans"):
        build().fit(S, past_covariates=PC[60:], max_samples_per_ts=60)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, s, p, f: m.predict(0), ValueError, r"`n` \(the forecast horizon\) must be a positive integer, got 0"),
    (lambda m, s, p, f: m.predict(2.0), ValueError, "positive integer, got 2.0"),
    (lambda m, s, p, f: m.predict(3, num_samples=10), ValueError, "`num_samples=10` needs a probabilistic model"),
    (lambda m, s, p, f: m.predict(3, series=s[:ICL - 1], past_covariates=p, future_covariates=f), ValueError,
     f"`series` has {ICL - 1} time steps but prediction"),
    (lambda m, s, p, f: m.predict(3, series=s, past_covariates=daily(), future_covariates=f), ValueError,
     "`past_covariates` has frequency 'D'"),
    (lambda m, s, p, f: m.predict(3, series=[s, s], past_covariates=[p], future_covariates=[f, f]), ValueError,
     "one covariate series per target series"),
    (lambda m, s, p, f: m.predict(3, series=with_value(s, 100, np.nan)), ValueError, "NaN/inf"),
    (lambda m, s, p, f: m.historical_forecasts(s[:ICL - 2], retrain=False), ValueError,
     f"`series` has {ICL - 2} time steps"),
    (lambda m, s, p, f: m.backtest(s.astype(np.float16), retrain=False), TypeError, "dtype float16"),
], ids=["n=0", "n float", "samples without likelihood", "short series", "covariate frequency",
        "covariate count", "nan", "historical forecasts short", "float16 backtest"])
def test_bad_prediction_inputs_raise_specific_errors(fitted, call, error, message):
    with pytest.raises(error, match=message):
        call(*fitted)


def test_numpy_integer_horizon_is_accepted(fitted):
    model = fitted[0]
    assert model.predict(np.int64(OCL)).n_timesteps == OCL


def test_dtypes_are_cast_to_the_model_dtype(fitted):
    model, series, past, future = fitted
    expected = model.predict(OCL).values()
    as64 = model.predict(OCL, series=series.astype(np.float64), past_covariates=past.astype(np.float64),
                         future_covariates=future.to_dataframe())  # pandas float64 -> model dtype
    assert as64.dtype == np.float32
    np.testing.assert_allclose(as64.values(), expected, rtol=1e-6)
    # float32 target, float64 covariates: the covariates follow the target
    mixed = build().fit(series, past_covariates=past.astype(np.float64))
    assert mixed.predict(OCL).dtype == np.float32
    # a float64 target trains a float64 model (Darts' default), covariates follow it
    wide = build().fit(series.astype(np.float64), past_covariates=past)
    assert wide.predict(OCL).dtype == np.float64


def test_a_cast_that_would_overflow_is_refused(fitted):
    # Darts refuses any float64 input to a float32 model; ours casts, except where the
    # cast would turn finite values into inf
    model, series, past, _ = fitted
    values = past.astype(np.float64).values()
    values[3, 0] = 1e40
    huge = TimeSeries.from_times_and_values(past.time_index, values, columns=past.components)
    for call in (lambda: model.predict(OCL, series=series, past_covariates=huge),
                 lambda: model.predict(OCL, series=series, past_covariates=huge.to_dataframe()),
                 lambda: build().fit([series, series], past_covariates=[past, huge])):
        with pytest.raises(ValueError, match=r"`past_covariates(\[1\])?` holds 1 value\(s\) beyond the "
                                             r"float32 range .* the largest 1e\+40"):
            call()
