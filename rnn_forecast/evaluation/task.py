"""A forecasting task under the evaluation protocol: what is forecast, split and scaled.

A :class:`Setup` holds the protocol and the budget every trained model shares (lookback,
horizon, season, epochs, seeds); a :class:`Task` is data prepared under it, ready for
every contender: the model-space series (scaled), the ground truth in original units,
the first test step and the map back to original units. The rules:

* **Chronological split.** The test period is the end of the series, cut to a whole
  number of ``horizon``-step forecast windows; models train on the rows before it.
* **Scaling.** A Darts ``Scaler`` (scikit-learn ``StandardScaler``) per series, fitted
  on the training rows only; forecasts are mapped back and scored in original units.
  Covariate columns that only hold 0 and 1 in the training rows (holidays, one-hot
  categories) stay 0/1 (:func:`covariate_scaler`).
* **Rolling origin.** Forecasts of ``horizon`` steps start at the first test step and
  every ``horizon`` steps after it (non-overlapping windows covering the test period).

:func:`custom_task` prepares a user's own series (:func:`rnn_forecast.compare_cells`);
:func:`single_series_task` is the building block of the benchmark's dataset tasks
(``benchmarks.suite.setups`` in the repository).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
from darts import TimeSeries, concatenate
from darts.dataprocessing.transformers import Scaler
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class Setup:
    """One dataset's protocol and the budget shared by every trained model.

    Attributes
    ----------
    dataset
        A label: a registered dataset (``"traffic"``, ``"weather"``, ``"stocks"``,
        ``"etth1"``) or a free one (``"custom"``).
    target
        What is forecast, in words (for the report).
    lookback, horizon
        Input window ``L`` and forecast window ``T`` (steps).
    season
        Seasonal period ``m`` of MASE (1 for stocks: scaled by the random walk).
    naive_seasons
        Periods of the seasonal-naive baselines (1 is the plain naive forecast).
    hidden_dim, n_rnn_layers, epochs, batch_size, lr
        Budget and hyper-parameters, identical for every trained model.
    max_train_windows
        Most recent training windows kept per series (``None``: all).
    train_stride
        Train on every ``train_stride``-th window (Darts' ``fit(..., stride=...)``): fewer
        windows that still span the whole training period, so that every season and
        calendar covariate is seen (``1``: every window).
    tickers
        Stocks only: how many tickers (alphabetical order), ``None`` for all 505.
    seeds
        Training seeds; every trained model runs once per seed.
    directional
        Prices: also score the one-step log-returns the forecasts imply and their
        directional accuracy (:func:`~rnn_forecast.evaluation.metrics.direction`).
    every_origin
        Score a forecast from every step of the test period, not only from every
        ``horizon``-th: the forecasts fall into ``horizon`` interleaved sets of
        back-to-back windows (:meth:`Task.phases`), each scored as usual, and the
        metrics are their mean. A short test period (the Nile's 20 years: 4 windows
        of 5) then gives 16 forecasts instead of 4 and a less noisy score of the same
        models (fitted once; only the backtest runs ``horizon`` times).
    """

    dataset: str
    target: str
    lookback: int
    horizon: int
    season: int
    naive_seasons: tuple[int, ...]
    hidden_dim: int = 32
    n_rnn_layers: int = 1
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-3
    max_train_windows: int | None = None
    train_stride: int = 1
    tickers: int | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    directional: bool = False
    every_origin: bool = False


@dataclass
class Task:
    """A dataset prepared under the protocol, ready for every contender.

    Attributes
    ----------
    setup
        The protocol and budget.
    series
        What the trained models see (scaled; log prices for stocks), one per target
        series, from the first training row to the end of the test period.
    past_covariates, future_covariates
        Aligned with ``series`` (past covariates scaled on the training rows), or None.
    original
        The targets in original units (prices for stocks), full history to the end of
        the test period: the ground truth, the MASE in-sample data, and what the
        baselines forecast.
    test_start
        Time of the first forecast step.
    n_windows
        Forecast windows per series in the test period.
    to_original
        Maps concatenated model-space forecasts (one per series) to original units.
    names
        One name per series (tickers for stocks).
    notes
        What preparing the task did, for the report.
    """

    setup: Setup
    series: list[TimeSeries]
    past_covariates: list[TimeSeries] | None
    future_covariates: list[TimeSeries] | None
    original: list[TimeSeries]
    test_start: pd.Timestamp
    n_windows: int
    to_original: Callable[[list[TimeSeries]], list[TimeSeries]]
    names: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def train(self) -> list[TimeSeries]:
        """``series`` before the test period: what models are fitted on."""
        return [s.drop_after(self.test_start) for s in self.series]

    def phases(self) -> list[Task]:
        """The task's test period seen from each forecast origin phase.

        Phase ``k`` (``0 <= k < horizon``) starts its back-to-back ``horizon``-step
        windows ``k`` steps into the test period, so together the phases forecast from
        every step (phase 0 is the task itself; a later one has one window fewer, as the
        last would run past the test period). Only ``[self]`` unless
        ``setup.every_origin``. The phases share the series: a model fitted on
        ``self.train`` backtests each (their own ``train`` is longer and not for fitting).
        """
        if not self.setup.every_origin:
            return [self]
        index = self.series[0].time_index
        begin = index.get_loc(self.test_start)
        return [self] + [replace(self, test_start=index[begin + k], n_windows=self.n_windows - 1)
                         for k in range(1, self.setup.horizon) if self.n_windows > 1]

    @property
    def n_train_windows(self) -> int:
        """Training windows ``(L + T)`` over all series."""
        width, stride = self.setup.lookback + self.setup.horizon, self.setup.train_stride
        return sum(-(-max(0, len(s) - width + 1) // stride) for s in self.train)


def count_windows(setup: Setup, n_test_rows: int) -> int:
    """Whole ``horizon``-step forecast windows in ``n_test_rows`` test steps (at least one)."""
    n = n_test_rows // setup.horizon
    if n < 1:
        raise ValueError(f"the test period ({n_test_rows} steps) is shorter than one "
                         f"{setup.horizon}-step forecast window")
    return n


def first_train_row(setup: Setup, test_begin: int) -> int:
    """The first training row kept under ``setup.max_train_windows`` (0: all rows)."""
    if setup.max_train_windows is None:
        return 0
    return max(0, test_begin - (setup.max_train_windows + setup.lookback + setup.horizon - 1))


def covariate_scaler(train: TimeSeries) -> Scaler | None:
    """A ``Scaler`` fitted on ``train`` that standardizes every column but the 0/1 indicators.

    Standardizing an indicator that is rarely 1 (a holiday, a weather category seen in a
    few hundred of 40,000 hours) turns its ones into spikes of 30 to 150 standard
    deviations, which every trained model then has to learn to ignore; an indicator is
    already on a unit scale. ``None`` when every column is an indicator.

    Parameters
    ----------
    train
        The covariates' training rows, ``(time, components)``.
    """
    values = train.values(copy=False)
    indicator = ((values == 0) | (values == 1)).all(axis=0)
    if indicator.all():
        return None
    columns = [str(c) for c, flag in zip(train.components, indicator) if not flag]
    return Scaler(StandardScaler(), columns=columns).fit(train)


def _scaled(scaler: Scaler | None, series: TimeSeries) -> TimeSeries:
    return series if scaler is None else scaler.transform(series)


def single_series_task(setup: Setup, target: TimeSeries, past: TimeSeries | None, future: TimeSeries | None,
                       test_begin: int, test_end: int, rule: str) -> Task:
    """One series (with optional covariates) split at row positions, scaled on its training rows.

    Parameters
    ----------
    setup
        The protocol and budget.
    target, past, future
        The target and its past/future covariates (or ``None``), on one time axis.
    test_begin, test_end
        Row positions of the test period; it is cut to whole forecast windows.
    rule
        How the split was chosen, in words (for the notes).

    Returns
    -------
    Task
    """
    windows = count_windows(setup, test_end - test_begin)
    end = test_begin + windows * setup.horizon
    first = first_train_row(setup, test_begin)
    original = target[:end]
    target_scaler = Scaler(StandardScaler()).fit(original[:test_begin])
    series = target_scaler.transform(original[first:])
    if past is not None:
        past = [_scaled(covariate_scaler(past[:test_begin]), past[first:end])]
    if future is not None:
        future = [future[first:end]]
    test_start = original.time_index[test_begin]
    notes = [
        f"split: {rule}; test {original.time_index[test_begin]} .. {original.end_time()} "
        f"({end - test_begin} steps = {windows} windows of {setup.horizon}); "
        f"training rows {first} .. {test_begin - 1} ({test_begin - first} steps)",
        "scaling: StandardScaler per series/past covariate, fitted on the rows before the test period "
        "(0/1 indicator columns stay 0/1)",
    ]

    def to_original(forecasts: list[TimeSeries]) -> list[TimeSeries]:
        return [target_scaler.inverse_transform(f) for f in forecasts]

    return Task(setup, [series], past, future, [original], test_start, windows,
                to_original, [str(target.components[0])], notes)


def custom_task(
    series,
    setup: Setup,
    past_covariates=None,
    future_covariates=None,
    test_size: float = 0.2,
    scale: bool = True,
) -> Task:
    """The protocol on a user's own series (what :func:`rnn_forecast.compare_cells` uses).

    Parameters
    ----------
    series
        One ``TimeSeries`` (or pandas object), or a list of them ending at the same time.
    setup
        Lookback, horizon, season and seeds (``dataset`` is a free label).
    past_covariates, future_covariates
        Aligned covariates (one per series), or ``None``.
    test_size
        The test period: a fraction of the (first) series in ``(0, 1)``, or a number of steps.
    scale
        Standardize series and covariates with scalers fitted on the training part
        (forecasts are scored after mapping back); covariate columns of only 0s and 1s
        stay as they are (:func:`covariate_scaler`).

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        If the test period cannot hold one forecast window, or the training part one
        training window, or a list of series does not end at one time.
    """
    from rnn_forecast.adapter.inputs import as_series

    def as_list(value, name):
        value = as_series(value, name)
        return None if value is None else (value if isinstance(value, list) else [value])

    series = as_list(series, "series")
    past, future = as_list(past_covariates, "past_covariates"), as_list(future_covariates, "future_covariates")
    for name, covs in (("past_covariates", past), ("future_covariates", future)):
        if covs is not None and len(covs) != len(series):
            raise ValueError(f"`{name}` has {len(covs)} series for {len(series)} target series.")
    if len({s.end_time() for s in series}) > 1:
        raise ValueError("The target series must end at the same time to share a test period.")
    n = len(series[0])
    n_test = test_steps(n, test_size)
    h, L = setup.horizon, setup.lookback
    if n_test < h:
        raise ValueError(
            f"`forecast_horizon` ({h}) is longer than the test period ({n_test} steps of {n}): shorten the "
            "horizon or enlarge `test_size`.")
    test_begin = n - n_test
    if test_begin < L + h:
        raise ValueError(
            f"The series is too short for this backtest: {test_begin} steps before the test period, but one "
            f"training window needs input_chunk_length + forecast_horizon = {L + h}. Use a longer series, a "
            "smaller `test_size`, or a shorter lookback/horizon.")
    n_windows = n_test // h
    test_start = series[0].time_index[test_begin]
    end = series[0].time_index[test_begin + n_windows * h - 1]
    original = [s.slice(s.start_time(), end) for s in series]
    identity = scale is False

    def fitted(items):
        return [None if identity else Scaler(StandardScaler()).fit(x.drop_after(test_start)) for x in items]

    scalers = fitted(original)
    model_series = original if identity else [sc.transform(x) for sc, x in zip(scalers, original)]
    if not identity:  # covariates: indicator columns stay 0/1
        past = past and [_scaled(covariate_scaler(x.drop_after(test_start)), x) for x in past]
        future = future and [_scaled(covariate_scaler(x.drop_after(test_start)), x) for x in future]

    def to_original(forecasts: list[TimeSeries]) -> list[TimeSeries]:
        return forecasts if identity else [sc.inverse_transform(f) for sc, f in zip(scalers, forecasts)]

    notes = [f"test {test_start} .. {end} ({n_windows} windows of {h} steps); training on the "
             f"{test_begin} steps before" + ("; scalers fitted on them" if not identity else "")]
    names = [str(s.components[0]) if len(series) == 1 else f"series {i}" for i, s in enumerate(series)]
    return Task(setup, model_series, past, future, original, test_start, n_windows, to_original, names, notes)


def test_steps(n: int, test_size: float | int) -> int:
    """Steps in the test period of an ``n``-step series: a fraction in (0, 1) or a count.

    Raises
    ------
    ValueError
        For a ``test_size`` that is neither.
    """
    if isinstance(test_size, float) and 0 < test_size < 1:
        return int(round(n * test_size))
    if isinstance(test_size, int) and not isinstance(test_size, bool) and 0 < test_size < n:
        return test_size
    raise ValueError(f"`test_size` must be a fraction in (0, 1) or a number of steps in [1, {n - 1}], "
                     f"got {test_size!r}.")


def concat_windows(windows: list[TimeSeries] | list[list[TimeSeries]]) -> list[TimeSeries]:
    """Darts ``historical_forecasts`` output (per series, per window) -> one series each."""
    if windows and isinstance(windows[0], TimeSeries):
        windows = [windows]
    return [concatenate(list(w)) for w in windows]
