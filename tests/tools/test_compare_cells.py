"""compare_cells: LSTM vs GRU on a real series under one budget, and its clear errors."""

from __future__ import annotations

import pytest

from rnn_forecast import Budget, compare_cells
from rnn_forecast.datasets import load_etth1
from rnn_forecast.tools.testing import QUIET_TRAINER

TINY_MODEL = {"hidden_dim": 8, "batch_size": 32, "pl_trainer_kwargs": dict(QUIET_TRAINER)}


@pytest.fixture(scope="module")
def oil_temperature(data_dir):
    """The last 40 days of ETTh1's oil temperature (hourly)."""
    return load_etth1(data_dir, columns=["OT"]).target[-40 * 24 :]


def test_both_cells_scored_and_recommended_on_real_data(oil_temperature):
    result = compare_cells(oil_temperature, forecast_horizon=24, budget=Budget(epochs=2), seeds=(0, 1, 2),
                           season=24, test_size=0.25, model_kwargs=TINY_MODEL)
    table = result.table
    assert {"LSTM", "GRU", "Naive", "SeasonalNaive(24)", "Drift"} <= set(table.index)
    for column in ("mse", "mae", "mase", "smape", "train_s", "params", "peak_mem_mb", "predict_ms"):
        assert table.loc[["LSTM", "GRU"], column].notna().all(), column
    assert (result.runs["model"] == "LSTM").sum() == 3  # one run per seed
    rec = result.recommendation
    assert "MASE" in rec.reason
    # the recommendation restates the table's numbers
    assert f"{table.loc['LSTM', 'mase']:.4g}" in rec.reason and f"{table.loc['GRU', 'mase']:.4g}" in rec.reason
    best_baseline = table.loc[["Naive", "SeasonalNaive(24)", "Drift"], "mase"].idxmin()
    if rec.choice == best_baseline:  # neither cell beats it beyond noise: said, and named
        assert f"{best_baseline}: neither cell beats it beyond noise" in rec.reason
        assert table.loc[["LSTM", "GRU"], "mase"].min() > table.loc[best_baseline, "mase"] - 0.1
    else:
        assert rec.choice in ("LSTM", "GRU", "tie")
        assert table.loc[["LSTM", "GRU"], "mase"].min() < table.loc[best_baseline, "mase"]
    if rec.choice == "tie":
        cost = rec.cost
        assert rec.accuracy.within_noise
        assert cost.within_noise or max(cost.mean_a, cost.mean_b) / min(cost.mean_a, cost.mean_b) < 1.1
    assert len(result.by_horizon) == 24
    fig = result.plot()
    assert len(fig.axes) == 2


def test_seconds_budget_gives_each_cell_the_same_time(oil_temperature):
    result = compare_cells(oil_temperature, forecast_horizon=24, budget={"seconds": 1.5}, seeds=(0, 1),
                           test_size=0.25, include_baselines=False, model_kwargs=TINY_MODEL)
    runs = result.runs
    # Lightning's timer stops at the first batch end past the deadline: every run trains
    # for the budget and not much longer, whatever its speed
    assert runs["train_s"].between(1.5, 6.0).all(), runs["train_s"].tolist()
    assert (runs["windows_per_s"] > 0).all()
    assert "time per 1000 windows" in result.recommendation.reason


@pytest.mark.parametrize("budget, match", [
    (Budget, "needs `epochs`, `seconds`"),
    (lambda: Budget(epochs=0), "positive integer"),
    (lambda: Budget(seconds=-5), "positive number"),
    (lambda: Budget.coerce("fast"), "must be a Budget"),
    (lambda: Budget.coerce({"minutes": 3}), "Unknown budget keys"),
])
def test_impossible_budgets_are_refused(budget, match):
    with pytest.raises((ValueError, TypeError), match=match):
        budget()


def test_horizon_and_length_errors(oil_temperature):
    short = oil_temperature[:100]
    with pytest.raises(ValueError, match="longer than the test period"):
        compare_cells(short, forecast_horizon=30, test_size=0.2)
    with pytest.raises(ValueError, match="too short for this backtest"):
        compare_cells(short, forecast_horizon=12, input_chunk_length=96, test_size=0.2)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        compare_cells(oil_temperature, forecast_horizon=24, seeds=(0,))
    with pytest.raises(ValueError, match="may not set"):
        compare_cells(oil_temperature, forecast_horizon=24, model_kwargs={"cell": "gru"})


def _monthly_sst():
    """El Nino sea surface temperature, monthly (statsmodels.datasets, installed with Darts)."""
    import pandas as pd
    import statsmodels.api as sm
    from darts import TimeSeries

    wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
    index = pd.date_range("1950-01-01", periods=wide.size, freq="MS")
    return TimeSeries.from_times_and_values(index, wide.to_numpy().ravel().astype("float32"))


def test_season_is_detected_and_a_lost_comparison_names_the_baseline():
    """A 1-epoch budget on raw monthly temperatures: the cells lose to seasonal naive, and say so."""
    from rnn_forecast.tools.compare import detect_season

    series = _monthly_sst()
    assert detect_season(series, horizon=12) == 12
    assert detect_season(series) == 1  # one step ahead, last month beats last year's month
    result = compare_cells(series[-240:], forecast_horizon=12, budget=Budget(epochs=1), seeds=(0, 1),
                           model_kwargs={"batch_size": 256, "pl_trainer_kwargs": dict(QUIET_TRAINER)})
    assert result.season == 12 and "SeasonalNaive(12)" in result.table.index
    rec = result.recommendation
    assert rec.choice == "SeasonalNaive(12)", rec.reason
    assert rec.reason.startswith("SeasonalNaive(12): neither cell beats it beyond noise.")
    assert "Between the two cells:" in rec.reason


def test_a_won_comparison_recommends_a_cell():
    result = compare_cells(_monthly_sst(), forecast_horizon=12, budget=Budget(epochs=15), seeds=(0, 1, 2),
                           model_kwargs={"pl_trainer_kwargs": dict(QUIET_TRAINER)})
    assert result.recommendation.choice in ("LSTM", "GRU", "tie"), result.recommendation.reason
    assert result.table.loc[["LSTM", "GRU"], "mase"].max() < result.table.loc["SeasonalNaive(12)", "mase"]


def test_season_detection_finds_none_in_a_trend():
    import numpy as np
    from darts import TimeSeries

    from rnn_forecast.tools.compare import detect_season

    assert detect_season(TimeSeries.from_values(np.arange(200, dtype="float32"))) == 1
    with pytest.raises(ValueError, match="positive integer or None"):
        compare_cells(_monthly_sst(), forecast_horizon=12, season=0)


def test_verbose_shows_one_line_per_run_under_a_progress_bar(oil_temperature, capsys):
    compare_cells(oil_temperature, forecast_horizon=24, budget=1, seeds=(0, 1), test_size=0.25,
                  include_baselines=False, model_kwargs=TINY_MODEL, verbose=True)
    captured = capsys.readouterr()
    assert sum(line.startswith("[custom] ") for line in captured.out.splitlines()) == 4  # 2 cells x 2 seeds
    assert "4/4" in captured.err and ("run/s" in captured.err or "s/run" in captured.err)  # tqdm: count, rate


def test_any_two_registered_cells_compare_by_their_display_names(oil_temperature):
    """``cells=`` reads the registry: a cell whose state has four parts (tests/cells/slstm.py) against the GRU."""
    from rnn_forecast.nn.cells import registered
    from tests.cells.slstm import SLSTM_CELL

    with registered(SLSTM_CELL):
        result = compare_cells(oil_temperature[-10 * 24:], forecast_horizon=12, budget=Budget(epochs=1),
                               seeds=(0, 1), season=24, include_baselines=False, cells=("gru", "slstm"),
                               model_kwargs={**TINY_MODEL, "hidden_dim": 4})
    assert list(result.table.index) == ["GRU", "sLSTM"] and result.cells == ("GRU", "sLSTM")
    assert result.recommendation.choice in ("GRU", "sLSTM", "tie")
    for bad in (("gru",), ("gru", "gru"), ("gru", "lstm", "slstm")):
        with pytest.raises(ValueError, match="two different registered cells"):
            compare_cells(oil_temperature, forecast_horizon=12, cells=bad)
    with pytest.raises(ValueError, match="register_cell"):
        compare_cells(oil_temperature, forecast_horizon=12, cells=("gru", "slstm"))  # no longer registered
