"""Out of the box: defaults on raw series beat the naive forecasts (``python -m benchmarks battery``'s fast subset).

The fast subset (``battery.FAST``, ``python -m benchmarks battery --fast``) runs our two
forecasters exactly as a new user would build them (only the window lengths,
``n_epochs`` and a seed; no ``Scaler``) on short raw real series, one seed, and compares
them with the naive forecasts over each case's test period: better than them where the
series has a season or a trend, a tie on a random walk and on a seasonal series in tiny
units. The other tests check that every case of the battery loads the series it says.
"""

import numpy as np
import pandas as pd
import pytest

from rnn_forecast.adapter.seasonality import calendar_seasons

#: The fast subset: each of our cells' MASE must be below ``bound`` times the best naive
#: forecast's (seasonal naive or naive) on one seed. Measured ratios (better cell, seed 0,
#: 2 CPU cores) in the comments.
BOUNDS = {
    "co2-monthly-short": 0.7,                  # season and trend, ppm: ~2.5x better than naive (0.38)
    "gdp-quarterly-short": 0.9,                # trend, billions of USD: better than naive (0.77)
    "german-inflation-quarterly-short": 1.02,  # season, values ~1e-2: never worse than seasonal naive (0.94)
    "tbill-quarterly-rw-short": 1.02,          # a random walk: a tie with naive is the honest best (1.00)
}
#: Seasons that are not the calendar's (yearly data have none).
NON_CALENDAR_SEASONS = {"sunspots-yearly-short": 11}  # the solar cycle


@pytest.fixture(scope="module")
def battery():
    from benchmarks import battery

    return battery


@pytest.fixture(scope="module")
def fast_rows(battery, data_dir) -> pd.DataFrame:
    """The fast subset, one seed, without Darts' BlockRNNModel (one row per model)."""
    return pd.concat([battery.run_case(battery.CASES_BY_NAME[name], seeds=(0,), data_dir=data_dir,
                                       block_rnn=False, log=None) for name in battery.FAST], ignore_index=True)


def test_fast_subset_is_short_and_covers_each_verdict(battery):
    assert sorted(battery.FAST) == sorted(BOUNDS)
    cases = [battery.CASES_BY_NAME[name] for name in battery.FAST]
    assert all(c.short for c in cases)
    assert any(c.random_walk for c in cases) and any(c.seasonal_or_trending for c in cases)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_default_forecasters_on_raw_series(fast_rows, name):
    rows = fast_rows[fast_rows["case"] == name]
    mase = rows.groupby("model")["mase"].mean()
    naive = mase[[m for m in mase.index if m == "Naive" or m.startswith("SeasonalNaive")]].min()
    for model in ("LSTMForecaster", "GRUForecaster"):
        assert np.isfinite(mase[model])
        assert mase[model] < BOUNDS[name] * naive, (model, mase.to_dict())


def test_report_has_the_season_rule_and_the_summary(battery, fast_rows):
    table = battery.verdicts(fast_rows)
    assert list(table["case"]) == list(battery.FAST)
    report = battery.markdown(table, fast_rows)
    assert "| season rule |" in report
    row = next(line for line in report.splitlines() if line.startswith("| co2-monthly-short |"))
    assert row.split(" | ")[5] == "12"  # the monthly calendar's season, confirmed by the data
    for words in ("Seasonal or trending series:", "Level-stationary series:", "worse than the best naive",
                  "Random walks tied", "Our other cell more than 2 % worse"):
        assert words in report


def test_the_battery_has_its_size(battery):
    cases = battery.CASES
    assert len(cases) >= 30 and len({c.name for c in cases}) == len(cases)
    assert sum(c.random_walk for c in cases) >= 4
    short_calendar = [c for c in cases if c.short and any(k in c.name for k in ("monthly", "quarterly", "yearly"))]
    assert len(short_calendar) >= 8
    for c in cases:
        assert c.random_walk == (c.pattern == "random walk"), c.name
        assert c.pattern in ("seasonal", "trend", "seasonal, trend", "level", "random walk"), c.name


def test_every_case_loads_a_regular_raw_series(battery, data_dir):
    for case in battery.CASES:
        series = case.load(data_dir)
        values = series.values()
        assert series.n_components == 1 and series.has_datetime_index and series.freq is not None, case.name
        assert len(pd.date_range(series.start_time(), series.end_time(), freq=series.freq)) == len(series), case.name
        assert np.isfinite(values).all() and np.ptp(values) > 0, case.name
        # the length class its name states: short cases really have 60-300 points
        assert (60 <= len(series) <= 300) if case.short else len(series) > 300, (case.name, len(series))
        # a test period of whole windows, and a training part that leaves training windows after the
        # forecasters' validation tail (~20 % of the windows): lookback + horizon + a few dozen points
        n_test = round(len(series) * case.test_size)
        assert n_test >= 2 * case.horizon, case.name
        assert len(series) - n_test >= case.lookback + case.horizon + 40, case.name
        # m is the calendar's season (weekly: 52 where the lookback holds a year), held by the lookback
        calendar = calendar_seasons(series.freq_str)
        expected = NON_CALENDAR_SEASONS.get(case.name)
        if expected is None:
            fits = [m for m in calendar if m <= case.lookback]
            assert case.season == 1 if not fits else case.season in fits, (case.name, calendar)
        else:
            assert case.season == expected
        assert case.season <= case.lookback, case.name


def test_a_rerun_replaces_only_its_cases_and_seeds(battery):
    """``--seeds 3 4`` on some cases adds those seeds to them and keeps everything else,
    and a rerun without a model keeps that model's rows."""
    def rows(case, seeds, mase):
        return pd.DataFrame([{"case": case, "model": "Naive", "seed": np.nan, "mase": mase}]
                            + [{"case": case, "model": "GRUForecaster", "seed": s, "mase": mase} for s in seeds])

    old = pd.concat([rows("a", [0, 1, 2], 1.0), rows("b", [0, 1, 2], 1.0)], ignore_index=True)
    merged = battery.merge_rerun(old, rows("a", [2, 3], 2.0), cases=["a"], seeds=[2, 3])
    a = merged[merged["case"] == "a"].set_index(["model", "seed"])["mase"]
    assert a.loc[("GRUForecaster", 0.0)] == a.loc[("GRUForecaster", 1.0)] == 1.0
    assert a.loc[("GRUForecaster", 2.0)] == a.loc[("GRUForecaster", 3.0)] == 2.0
    assert (merged[merged["model"] == "Naive"].groupby("case").size() == 1).all()
    pd.testing.assert_frame_equal(merged[merged["case"] == "b"].reset_index(drop=True),
                                  old[old["case"] == "b"].reset_index(drop=True))
    # a rerun without a model (--no-block-rnn) keeps that model's recorded rows
    peer = pd.DataFrame([{"case": "a", "model": "Darts BlockRNNModel-GRU", "seed": s, "mase": 5.0} for s in (2, 3)])
    merged = battery.merge_rerun(pd.concat([merged, peer], ignore_index=True), rows("a", [2, 3], 3.0),
                                 cases=["a"], seeds=[2, 3])
    assert (merged[merged["model"] == "Darts BlockRNNModel-GRU"]["mase"] == 5.0).sum() == 2
    gru_a = merged[(merged["model"] == "GRUForecaster") & (merged["case"] == "a")].set_index("seed")["mase"]
    assert (gru_a.loc[[2.0, 3.0]] == 3.0).all() and (gru_a.loc[[0.0, 1.0]] == 1.0).all()


def test_the_summary_names_a_cell_that_loses_where_the_better_one_wins(battery):
    """The verdicts judge the better cell; the other one's loss to naive is still reported."""
    table = pd.DataFrame([
        {"case": "a", "ratio": 0.95, "cell ratios": {"LSTMForecaster": 1.05, "GRUForecaster": 0.95}},
        {"case": "b", "ratio": 1.10, "cell ratios": {"LSTMForecaster": 1.10, "GRUForecaster": 1.12}},
        {"case": "c", "ratio": 0.90, "cell ratios": {"LSTMForecaster": 0.90, "GRUForecaster": 1.01}},
    ])
    [line] = battery._worse_cells(table)
    assert line.endswith("1 case: a (LSTM 1.050).")  # b is counted among the cases worse than naive


def test_an_every_origin_report_says_so_and_names_its_command(battery, fast_rows):
    rows = fast_rows.copy()
    rows.attrs["every_origin"] = True
    report = battery.markdown(battery.verdicts(rows), rows)
    assert "`python -m benchmarks battery --seeds 0 --every-origin`" in report
    assert "forecasts from every step of the test period" in report
    assert "--every-origin" not in battery.markdown(battery.verdicts(fast_rows), fast_rows)
