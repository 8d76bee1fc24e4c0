"""The season of a series: from the calendar of its frequency, confirmed by its data.

One rule serves the forecasters' seasonal-naive baseline (``season="auto"``), the
command line's baseline, :func:`~rnn_forecast.compare_cells` and the benchmarks:

1. **Calendar candidates** from the frequency (:func:`calendar_seasons`): a day and a
   week of sub-daily steps (hourly: 24 and 168; 10-minute: 144 and 1008), a week and a
   year of days (7, 365), a week of business days (5), 52 weeks, 12 months, 4 quarters.
2. **The data's own candidate**: the period Darts' ``check_seasonality`` finds (the
   first significant peak of the autocorrelation), which also covers series without a
   calendar (an integer index, or yearly data with an 11-year cycle). Alone it is not
   trusted: on monthly data it can return 11 where the calendar says 12.
3. **The data decide** (:func:`seasonal_naive_errors`): among no season (``m = 1``, the
   last value) and the candidates that fit (at most ``max_season`` steps, at least two
   seasons of data), the one whose seasonal-naive forecast has the lowest mean absolute
   error over the series, at every horizon ``1..H`` an ``H``-step forecast needs. A
   candidate must beat no season by ``MIN_GAIN`` (10 %), so noise never picks a season.

A season given explicitly (``season=`` of the forecasters, ``--season`` of the command
line) overrides the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: A season is chosen only when its seasonal-naive error is at least this fraction lower
#: than the last value's: ties (white noise, a flat series) keep the plain naive forecast.
#: On 90 steps of white noise a chance period of 3 was 2-9 % better; real seasons in the
#: battery win by 14 % (monthly CO2) to 78 % (quarterly German inflation).
MIN_GAIN = 0.1
#: ``check_seasonality`` looks at most this many lags back, in the last
#: ``MAX_DETECTION_LENGTH`` steps (its autocorrelation is computed without FFT: on the
#: 36,000 hours of a year of 10-minute weather it took about 10 s per component);
#: calendar candidates are not limited by either.
MAX_DETECTION_LAG, MAX_DETECTION_LENGTH = 400, 2000

_DAY, _WEEK = pd.Timedelta(days=1), pd.Timedelta(days=7)


def calendar_seasons(freq) -> tuple[int, ...]:
    """Seasonal periods, in steps, that the calendar suggests for a frequency.

    Parameters
    ----------
    freq
        A pandas frequency (string or offset, e.g. ``"h"``, ``"10min"``, ``"D"``,
        ``"W-SUN"``, ``"MS"``, ``"QS-JAN"``), or ``None`` for an integer index.

    Returns
    -------
    tuple of int
        Candidate periods, shortest first; empty for yearly or unknown frequencies.

    Examples
    --------
    >>> [calendar_seasons(f) for f in ("h", "10min", "D", "B", "W-SUN", "MS", "QS-JAN", "YS")]
    [(24, 168), (144, 1008), (7, 365), (5,), (52,), (12,), (4,), ()]
    """
    if freq is None:
        return ()
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (TypeError, ValueError):
        return ()
    n = max(1, offset.n)
    name = offset.name.split("-")[0]
    if isinstance(offset, pd.offsets.Tick):  # a fixed duration: D, h, min, s, ...
        step = pd.Timedelta(offset)
        spans = (_DAY, _WEEK) if step < _DAY else (_WEEK, 365 * _DAY)
        return tuple(int(span // step) for span in spans if span % step == pd.Timedelta(0) and span // step > 1)
    per_year = {"W": 52, "M": 12, "MS": 12, "ME": 12, "BM": 12, "BME": 12, "BMS": 12, "SM": 24, "SME": 24, "SMS": 24,
                "Q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQE": 4, "BQS": 4}
    if name in ("B", "C"):
        return (5,) if n == 1 else ()
    if name in per_year and per_year[name] % n == 0 and per_year[name] // n > 1:
        return (per_year[name] // n,)
    return ()


def seasonal_naive_errors(values: np.ndarray, periods: Sequence[int], horizon: int = 1) -> np.ndarray:
    """Mean absolute error of the seasonal-naive forecast with each period, per component.

    The forecast of ``x[t + h]`` from origin ``t`` is ``x[t + h - m * ceil(h / m)]``
    (the last value for ``m = 1``); errors are averaged over ``h = 1..horizon`` and over
    the same target steps for every period (those at least ``max(periods) *
    ceil(horizon / min)`` steps into the series), so the periods are compared on equal
    terms.

    Parameters
    ----------
    values
        ``(T, C)`` (or ``(T,)``) values of one series.
    periods
        Periods ``m`` to score.
    horizon
        ``H``, the steps ahead the forecasts are for.

    Returns
    -------
    numpy.ndarray
        ``(len(periods), C)`` errors; NaN where the series is too short for a period.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    lags = {m: sorted({m * -(-h // m) for h in range(1, horizon + 1)}) for m in periods}
    first = max(max(v) for v in lags.values())
    out = np.full((len(periods), x.shape[1]), np.nan)
    if len(x) <= first:
        return out
    for i, m in enumerate(periods):
        counts = {}
        for h in range(1, horizon + 1):
            k = m * -(-h // m)
            counts[k] = counts.get(k, 0) + 1
        total = sum(c * np.abs(x[first:] - x[first - k: len(x) - k]).mean(axis=0) for k, c in counts.items())
        out[i] = total / horizon
    return out


def detected_season(values: np.ndarray, max_lag: int) -> int | None:
    """The period Darts' ``check_seasonality`` finds in ``values`` (1-D), or ``None``."""
    from darts import TimeSeries
    from darts.utils.statistics import check_seasonality

    values = np.asarray(values, dtype=np.float64)[-MAX_DETECTION_LENGTH:]
    max_lag = min(max_lag, MAX_DETECTION_LAG, len(values) // 2)
    if max_lag < 2 or np.ptp(values) == 0:
        return None
    try:
        found, period = check_seasonality(TimeSeries.from_values(values), max_lag=max_lag)
    except (ValueError, np.linalg.LinAlgError):
        return None
    return int(period) if found and period > 1 else None


def select_seasons(series, horizon: int = 1, max_season: int | None = None, detect: bool = True) -> np.ndarray:
    """The season of each target component by the rule of this module.

    Parameters
    ----------
    series
        A Darts ``TimeSeries`` or a sequence of them with the same components (a
        pandas ``Series``/``DataFrame`` with a regular ``DatetimeIndex`` works too).
    horizon
        Steps ahead the forecasts are for (``output_chunk_length``).
    max_season
        Longest allowed period (a forecaster's ``input_chunk_length``: its baseline is
        read from the input window); ``None``: half the shortest series.
    detect
        Also consider the period ``check_seasonality`` finds.

    Returns
    -------
    numpy.ndarray
        ``(C,)`` integer periods; 1 means no season (the last value).
    """
    series = _as_list(series)
    arrays = [np.asarray(s.values(copy=False), dtype=np.float64) for s in series]
    n_components = arrays[0].shape[1]
    shortest = min(len(a) for a in arrays)
    limit = shortest // 2 if max_season is None else min(max_season, shortest // 2)
    calendar = [m for m in calendar_seasons(getattr(series[0], "freq", None)) if 1 < m <= limit]
    seasons = np.ones(n_components, dtype=np.int64)
    for c in range(n_components):
        candidates = list(calendar)
        if detect:
            found = detected_season(arrays[0][:, c], limit)
            if found is not None and found <= limit and found not in candidates:
                candidates.append(found)
        if not candidates:
            continue
        periods = [1, *candidates]
        # each series' errors relative to its own naive error: every series counts alike
        relative = []
        for a in arrays:
            errors = seasonal_naive_errors(a[:, c], periods, horizon)[:, 0]
            if np.isfinite(errors).all() and errors[0] > 0:
                relative.append(errors / errors[0])
        if not relative:
            continue
        score = np.mean(relative, axis=0)
        best = int(np.argmin(score))
        if best > 0 and score[best] <= 1 - MIN_GAIN:
            seasons[c] = periods[best]
    return seasons


def infer_season(series, horizon: int = 1, max_season: int | None = None) -> int:
    """The season of the first target component (:func:`select_seasons`); 1 for none.

    What the command line, :func:`~rnn_forecast.compare_cells` and the benchmarks use
    for their seasonal-naive baseline.
    """
    first = _as_list(series)[0]
    if first.n_components > 1:
        first = first.univariate_component(0)
    return int(select_seasons(first, horizon, max_season)[0])


def _as_list(series) -> list:
    if isinstance(series, (pd.Series, pd.DataFrame)):
        from rnn_forecast.adapter.inputs import as_series

        series = as_series(series, "series", np.float64)
    return list(series) if isinstance(series, Sequence) else [series]
