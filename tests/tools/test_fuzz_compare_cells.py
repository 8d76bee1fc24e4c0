"""Fuzzing ``compare_cells`` (hypothesis): a recommendation with its numbers, or a clear error.

Each example draws one or two series (length, frequency or integer index, width, level
and scale of raw values, pandas or ``TimeSeries``), a horizon, lookback, test size,
season, metric and budget, and at most one defect (a NaN, a series too short for the
backtest, a horizon longer than the test period, an unknown metric, an impossible
budget or season, one seed, a reserved model argument, series ending at different
times). Without a defect the result must hold one row per model with finite metrics
and a recommendation among the cells, "tie" and the baselines; with one, a
``ValueError``/``TypeError`` naming it, raised by rnn_forecast's or Darts' own checks.
"""

from __future__ import annotations

import traceback

import numpy as np
import pandas as pd
import pytest
from darts import TimeSeries
from darts.utils.timeseries_generation import generate_index
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnn_forecast import compare_cells
from rnn_forecast.tools.testing import QUIET_TRAINER

TINY = {"hidden_dim": 4, "batch_size": 64, "pl_trainer_kwargs": dict(QUIET_TRAINER)}
DEFECTS = {
    # defect: message fragments any of which the error must contain
    "nan": ["NaN/inf"],
    "short": ["too short for this backtest", "longer than the test period", "needs at least",
              "`test_size` must be"],
    "long_horizon": ["longer than the test period"],
    "metric": ["`metric` must be one of"],
    "budget": ["positive integer", "positive number", "must be a Budget", "Unknown budget keys"],
    "season": ["`season` must be a positive integer"],
    "one_seed": ["at least 2 seeds"],
    "reserved": ["may not set"],
    "misaligned": ["end at the same time", "same time"],
}
FREQS = ["h", "D", "MS", "W-SUN", None]  # None: an integer (Range) index


@st.composite
def comparisons(draw):
    freq = draw(st.sampled_from(FREQS))
    horizon = draw(st.integers(1, 6))
    lookback = draw(st.sampled_from([None, draw(st.integers(1, 12))]))
    length = draw(st.integers(60, 160))
    width = draw(st.integers(1, 2))
    level, scale = draw(st.sampled_from([0.0, 50.0, 2e4])), draw(st.sampled_from([1.0, 30.0]))
    n_series = draw(st.integers(1, 2))
    start = 0 if freq is None else pd.Timestamp("2020-01-06")

    def make(seed, n):
        idx = generate_index(start=start, length=n, freq=freq or 1)
        t = np.arange(n)[:, None]
        noise = np.random.default_rng(seed).normal(size=(n, width))
        values = level + scale * (np.sin(2 * np.pi * t / 7 + np.arange(width)) + 0.2 * noise)
        return TimeSeries.from_times_and_values(idx, values.astype(np.float32))

    series = [make(i, length) for i in range(n_series)]
    kwargs = {"forecast_horizon": horizon, "input_chunk_length": lookback,
              "test_size": draw(st.sampled_from([0.2, 0.3, 24])), "seeds": (0, 1),
              "season": draw(st.sampled_from([None, 1, 7])),
              "metric": draw(st.sampled_from(["mase", "mae", "mse", "smape"])),
              "budget": draw(st.sampled_from([1, {"epochs": 1}])), "scale": draw(st.booleans()),
              "include_baselines": draw(st.booleans())}
    possible = ["nan", "short", "long_horizon", "metric", "budget", "season", "one_seed", "reserved"]
    possible += ["misaligned"] * (n_series == 2)
    defect = draw(st.sampled_from([None] * len(possible) + possible))
    if defect == "nan":
        values = series[0].values().copy()
        values[draw(st.integers(0, length - 1)), 0] = np.nan
        series[0] = TimeSeries.from_times_and_values(series[0].time_index, values)
    elif defect == "short":
        # the lookback is >= 1 and both the training windows and the test period need a
        # horizon: fewer than 2 * horizon + 1 steps can never be compared
        cut = draw(st.integers(2, 2 * horizon))
        series = [s[:cut] for s in series]
    elif defect == "long_horizon":
        kwargs["test_size"], kwargs["forecast_horizon"] = 5, draw(st.integers(6, 20))
    elif defect == "metric":
        kwargs["metric"] = draw(st.sampled_from(["rmse", "MASE", "", "accuracy"]))
    elif defect == "budget":
        kwargs["budget"] = draw(st.sampled_from([0, -3, {"epochs": 0}, {"seconds": -1.0}, {"minutes": 2}, "fast", 1.5]))
    elif defect == "season":
        kwargs["season"] = draw(st.sampled_from([0, -12, 2.5, True]))
    elif defect == "one_seed":
        kwargs["seeds"] = (0,)
    elif defect == "reserved":
        kwargs["model_kwargs"] = {"cell": "gru"}
    elif defect == "misaligned":
        series[1] = series[1][: -draw(st.integers(1, 10))]
    if draw(st.booleans()):
        series = [s.to_dataframe() for s in series]
    return {"series": series[0] if n_series == 1 and draw(st.booleans()) else series,
            "kwargs": kwargs, "defect": defect, "n_series": n_series}


def check_comparison(case):
    kwargs = dict(case["kwargs"])
    kwargs["model_kwargs"] = {**TINY, **kwargs.get("model_kwargs", {})}
    event(f"defect: {case['defect']}")
    try:
        result = compare_cells(case["series"], **kwargs)
    except (ValueError, TypeError) as exc:
        assert case["defect"] is not None, f"clean input refused: {exc}"
        assert any(f in str(exc) for f in DEFECTS[case["defect"]]), (case["defect"], str(exc))
        origin = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
        assert "/rnn_forecast/" in origin or origin.endswith("darts/logging.py"), (origin, str(exc))
        return
    assert case["defect"] is None, f"{case['defect']} was not refused"
    table = result.table
    assert {"LSTM", "GRU"} <= set(table.index)
    metric = kwargs["metric"]
    assert np.isfinite(table.loc[["LSTM", "GRU"], metric].to_numpy()).all()
    baselines = [name for name in table.index if name not in ("LSTM", "GRU")]
    assert bool(baselines) == kwargs["include_baselines"]
    assert result.recommendation.choice in ("LSTM", "GRU", "tie", *baselines)
    assert len(result.actual) == case["n_series"]
    event(f"recommendation: {result.recommendation.choice.split('(')[0]}")


@settings(max_examples=8, deadline=None, derandomize=True,  # the same examples every CI run
          suppress_health_check=[HealthCheck.too_slow])
@given(comparisons())
def test_compare_cells_recommends_or_refuses_clearly(case):
    check_comparison(case)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(comparisons())
def test_compare_cells_recommends_or_refuses_clearly_many_examples(case):
    check_comparison(case)
