"""Forecast accuracy: Darts' metrics, plus directional accuracy for returns.

All functions take the ground truth and the forecasts as lists of ``TimeSeries`` (one
per target series, in original units); each forecast is the concatenation of the
non-overlapping ``horizon``-step windows of a rolling-origin evaluation. Scores of
several series are averaged (``series_reduction=np.mean``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.metrics import ae, mae, mase, mse, smape


def _positional(actual: list[TimeSeries], forecast: list[TimeSeries]):
    """The same series on integer (position) indexes, the forecasts at their positions in ``actual``.

    Darts aligns series by time; on business-day indexes each alignment regenerates the
    calendar (``pandas.date_range``), which took two minutes of the stocks benchmark.
    Positions give the same alignment for regular series at no cost.
    """
    out_a, out_f = [], []
    for a, f in zip(actual, forecast):
        start = a.get_index_at_point(f.start_time())
        out_a.append(TimeSeries.from_values(a.values(copy=False), columns=a.components))
        out_f.append(TimeSeries.from_times_and_values(pd.RangeIndex(start, start + len(f)),
                                                      f.values(copy=False), columns=f.components))
    return out_a, out_f


def accuracy(actual: list[TimeSeries], forecast: list[TimeSeries], season: int) -> dict[str, float]:
    """MSE, MAE, MASE and sMAPE (%), averaged over series.

    Parameters
    ----------
    actual
        Ground truth, full history (MASE's in-sample part is taken from it).
    forecast
        One forecast series per ``actual`` series.
    season
        MASE's seasonal period ``m``: the scale is the mean absolute error of the
        seasonal naive forecast ``y[t - m]`` over all history before the forecast
        (Darts' ``mase`` with ``insample=actual``).

    Returns
    -------
    dict
        ``{"mse", "mae", "mase", "smape"}``.
    """
    kw = {"series_reduction": np.mean}
    actual, forecast = _positional(actual, forecast)
    return {
        "mse": float(mse(actual, forecast, **kw)),
        "mae": float(mae(actual, forecast, **kw)),
        "mase": float(mase(actual, forecast, insample=actual, m=season, **kw)),
        "smape": float(smape(actual, forecast, zero_division="warn", **kw)),
    }


def error_by_horizon(actual: list[TimeSeries], forecast: list[TimeSeries], horizon: int) -> np.ndarray:
    """Mean absolute error at each step ahead, shape ``(horizon,)``.

    Darts' per-step absolute errors ``ae`` are folded into ``(windows, horizon)`` and
    averaged over the windows, then over the series.
    """
    errors = ae(*_positional(actual, forecast))  # one (n_steps,) array per series
    return np.mean([np.asarray(e).reshape(-1, horizon).mean(axis=0) for e in errors], axis=0)


def _log_returns(actual: TimeSeries, forecast: TimeSeries, horizon: int):
    """Actual and forecast one-step log-returns over the forecast's steps.

    A window's first forecast return is taken from the last observed price before it
    (what the forecaster knew), the others from consecutive forecast prices.
    """
    log_price = np.log(actual.values(copy=False)[:, 0].astype(np.float64))
    t0 = actual.get_index_at_point(forecast.start_time())
    n = len(forecast)
    true = log_price[t0 : t0 + n] - log_price[t0 - 1 : t0 + n - 1]
    log_fc = np.log(forecast.values(copy=False)[:, 0].astype(np.float64)).reshape(-1, horizon)
    anchors = log_price[t0 - 1 : t0 + n - 1 : horizon]
    previous = np.concatenate([anchors[:, None], log_fc[:, :-1]], axis=1)
    return true, (log_fc - previous).ravel()


def direction(actual: list[TimeSeries], forecast: list[TimeSeries], horizon: int) -> dict[str, float]:
    """Log-return errors and directional accuracy of price forecasts.

    Parameters
    ----------
    actual
        Prices, full history.
    forecast
        Price forecasts (concatenated ``horizon``-step windows).
    horizon
        Window length, to find where each window's anchor price is.

    Returns
    -------
    dict
        ``ret_mse``/``ret_mae``: errors of the one-step log-returns (Darts' ``mse``/``mae``,
        averaged over series); ``dir_acc``: share of days with a price move whose sign
        the forecast got right (a forecast of exactly no move counts as a coin flip,
        0.5, so the random walk scores 0.5); ``always_up_acc``: the same share for a
        forecaster that always says "up" (the fraction of up days); ``n_moves``: how
        many days with a move were scored (all series).
    """
    true_ts, pred_ts, hits, ups = [], [], [], []
    for a, f in zip(actual, forecast):
        true, pred = _log_returns(a, f, horizon)
        true_ts.append(TimeSeries.from_values(true))
        pred_ts.append(TimeSeries.from_values(pred))
        moved = true != 0
        hit = np.where(pred == 0, 0.5, (np.sign(pred) == np.sign(true)).astype(float))
        hits.append(hit[moved])
        ups.append(true[moved] > 0)
    hits, ups = np.concatenate(hits), np.concatenate(ups)
    return {
        "ret_mse": float(mse(true_ts, pred_ts, series_reduction=np.mean)),
        "ret_mae": float(mae(true_ts, pred_ts, series_reduction=np.mean)),
        "dir_acc": float(hits.mean()),
        "always_up_acc": float(ups.mean()),
        "n_moves": int(hits.size),
    }
