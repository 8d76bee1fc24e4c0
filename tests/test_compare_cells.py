"""compare_cells: LSTM vs GRU on a real series under one budget, and its clear errors."""

from __future__ import annotations

import pytest

from rnn_forecast import Budget, compare_cells
from rnn_forecast.datasets import load_etth1
from rnn_forecast.testing import QUIET_TRAINER

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
    assert rec.choice in ("LSTM", "GRU", "tie") and "MASE" in rec.reason
    # the recommendation restates the table's numbers
    assert f"{table.loc['LSTM', 'mase']:.4g}" in rec.reason and f"{table.loc['GRU', 'mase']:.4g}" in rec.reason
    if rec.choice == "tie":
        assert rec.accuracy.within_noise and rec.cost.within_noise
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
