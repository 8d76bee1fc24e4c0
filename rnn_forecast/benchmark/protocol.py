"""The fixed evaluation protocol: what is forecast, how data are split and scaled.

Every dataset follows the same rules:

* **Chronological split.** The test period is the last 20 % of the rows (the published
  long-horizon test rows for ETTh1 and the 70/10/20 rule of :func:`ltsf_borders`
  elsewhere), cut to a whole number of forecast windows. Models train on the rows
  before it (the published train + validation rows); there is no early stopping and
  no tuning, so no validation set is needed.
* **Scaling.** A Darts ``Scaler`` (scikit-learn ``StandardScaler``) per series, fitted
  on the training rows only; forecasts are mapped back and scored in original units.
* **Rolling origin.** Forecasts of ``horizon`` steps start at the first test step and
  every ``horizon`` steps after it (non-overlapping windows covering the test period),
  from Darts' ``historical_forecasts`` with the model fitted once (``retrain=False``);
  the local baselines are refitted at every origin (``retrain=True``).
* **Same data for every model.** With ``max_train_windows`` set (the ``--quick``
  budget), each series' training part is cut to its most recent windows, for every
  contender alike.

Stocks are forecast as standardized log prices (a global model over many tickers) and
scored on prices, on the one-day log-returns they imply and by directional accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from darts import TimeSeries, concatenate
from darts.dataprocessing.transformers import Scaler
from sklearn.preprocessing import StandardScaler

from rnn_forecast import datasets
from rnn_forecast.benchmark.names import DATASETS


@dataclass(frozen=True)
class Setup:
    """One dataset's protocol and the budget shared by every trained model.

    Attributes
    ----------
    dataset
        ``"traffic"``, ``"weather"``, ``"stocks"`` or ``"etth1"``.
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


_FULL = {
    "traffic": Setup("traffic", "hourly traffic volume (vehicles/h); past: weather, future: calendar + holidays",
                     lookback=168, horizon=24, season=24, naive_seasons=(1, 24, 168),
                     hidden_dim=64, epochs=20, seeds=(0, 1, 2, 3, 4)),
    "weather": Setup("weather", "CO2 `OT` (ppm), 10-minute steps; past: the 20 other Jena variables",
                     lookback=144, horizon=36, season=144, naive_seasons=(1, 144),
                     hidden_dim=64, epochs=10, seeds=(0, 1, 2, 3, 4)),
    "stocks": Setup("stocks", "daily close, modelled as log prices, one global model over all tickers",
                    lookback=60, horizon=5, season=1, naive_seasons=(1,),
                    hidden_dim=64, epochs=10, seeds=(0, 1, 2, 3, 4)),
    "etth1": Setup("etth1", "oil temperature `OT` (degC), hourly; past: the 6 load features",
                   lookback=168, horizon=24, season=24, naive_seasons=(1, 24, 168),
                   hidden_dim=64, epochs=20, seeds=(0, 1, 2, 3, 4)),
}  # fmt: skip

# Sized so that `--dataset all --quick` (every contender, 3 seeds) ends within ten
# minutes on 2 CPU cores: lookbacks that hold each dataset's main season (a week of
# hours, a day of 10-minute steps), small networks, and every k-th training window over
# the whole training period (not only the most recent ones: a few recent weeks miss
# most months of the calendar covariates, and models then learn them wrong).
_QUICK = {
    "traffic": replace(_FULL["traffic"], hidden_dim=32, epochs=4, train_stride=8, seeds=(0, 1, 2)),
    "weather": replace(_FULL["weather"], hidden_dim=32, epochs=4, train_stride=16, seeds=(0, 1, 2)),
    "stocks": replace(_FULL["stocks"], lookback=30, hidden_dim=32, epochs=4,
                      max_train_windows=96, tickers=20, seeds=(0, 1, 2)),
    "etth1": replace(_FULL["etth1"], hidden_dim=32, epochs=4, train_stride=4, seeds=(0, 1, 2)),
}  # fmt: skip


def setup_for(dataset: str, quick: bool) -> Setup:
    """The :class:`Setup` of ``dataset`` for the quick or the full benchmark."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")
    return (_QUICK if quick else _FULL)[dataset]


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

    @property
    def n_train_windows(self) -> int:
        """Training windows ``(L + T)`` over all series."""
        width, stride = self.setup.lookback + self.setup.horizon, self.setup.train_stride
        return sum(-(-max(0, len(s) - width + 1) // stride) for s in self.train)


# dataset -> (loader, ltsf_borders split, how the split is described in the report)
_OT_DATASETS = {
    "weather": (datasets.load_weather, "custom",
                "70/10/20 rows of the regularized 10-minute series (ltsf_borders 'custom')"),
    "etth1": (datasets.load_etth1, "etth1",
              "12/4/4 months (ltsf_borders 'etth1'); rows after the test months unused"),
}


def build_task(setup: Setup, data_dir=None) -> Task:
    """Load ``setup.dataset`` and prepare it under the protocol.

    Parameters
    ----------
    setup
        From :func:`setup_for`, possibly modified (tests use tiny budgets).
    data_dir
        Folder of the dataset files (default: ``$RNN_FORECAST_DATA``, see
        :mod:`rnn_forecast.datasets`).

    Returns
    -------
    Task
    """
    if setup.dataset == "stocks":
        return _stocks_task(setup, data_dir, setup.tickers)
    if setup.dataset == "traffic":
        data = datasets.load_traffic(data_dir)
        target, past, future = data.target, data.past_covariates, data.future_covariates
        borders = datasets.ltsf_borders(len(target), "custom", setup.lookback)
        rule = "70/10/20 rows (ltsf_borders 'custom')"
    elif setup.dataset in _OT_DATASETS:
        # forecast the oil temperature / CO2 column `OT` from the other variables
        load, split, rule = _OT_DATASETS[setup.dataset]
        data = load(data_dir)
        target = data.target["OT"]
        past = data.target.drop_columns(["OT"])
        future = None
        borders = datasets.ltsf_borders(len(target), split, setup.lookback)
    else:
        raise ValueError(f"unknown dataset {setup.dataset!r}; choose from {DATASETS}")
    test_begin, test_end = borders["val"][1], borders["test"][1]
    return _single_series_task(setup, target, past, future, test_begin, test_end, rule)


def _windows(setup: Setup, n_test_rows: int) -> int:
    n = n_test_rows // setup.horizon
    if n < 1:
        raise ValueError(f"the test period ({n_test_rows} steps) is shorter than one "
                         f"{setup.horizon}-step forecast window")
    return n


def _first_train_row(setup: Setup, test_begin: int) -> int:
    if setup.max_train_windows is None:
        return 0
    return max(0, test_begin - (setup.max_train_windows + setup.lookback + setup.horizon - 1))


def _single_series_task(setup, target, past, future, test_begin, test_end, rule) -> Task:
    n_windows = _windows(setup, test_end - test_begin)
    end = test_begin + n_windows * setup.horizon
    first = _first_train_row(setup, test_begin)
    original = target[:end]
    target_scaler = Scaler(StandardScaler()).fit(original[:test_begin])
    series = target_scaler.transform(original[first:])
    if past is not None:
        past_scaler = Scaler(StandardScaler()).fit(past[:test_begin])
        past = [past_scaler.transform(past[first:end])]
    if future is not None:
        future = [future[first:end]]
    test_start = original.time_index[test_begin]
    notes = [
        f"split: {rule}; test {original.time_index[test_begin]} .. {original.end_time()} "
        f"({end - test_begin} steps = {n_windows} windows of {setup.horizon}); "
        f"training rows {first} .. {test_begin - 1} ({test_begin - first} steps)",
        "scaling: StandardScaler per series/covariate, fitted on the rows before the test period",
    ]

    def to_original(forecasts: list[TimeSeries]) -> list[TimeSeries]:
        return [target_scaler.inverse_transform(f) for f in forecasts]

    return Task(setup, [series], past, future, [original], test_start, n_windows,
                to_original, [str(target.components[0])], notes)


def _stocks_task(setup: Setup, data_dir, tickers: int | None) -> Task:
    """Log prices of many tickers, one global model; prices recovered for scoring.

    Each ticker's log close is standardized with the mean and spread of its training
    days (a daily price is close to a random walk, so forecasting its log directly lets
    "no change" be what a model says when it has nothing better). The split is by date
    on the common business-day calendar (70/10/20, train on the first 80 %). Tickers
    listed too late to have ``lookback + horizon`` training days are left out (and listed
    in the notes).
    """
    every = datasets.load_stocks(data_dir=data_dir, fields=("close",))
    names = every.series_names if tickers is None else every.series_names[:tickers]
    prices = every.target if tickers is None else every.target[:tickers]
    calendar = pd.bdate_range(min(p.start_time() for p in prices), max(p.end_time() for p in prices))
    borders = datasets.ltsf_borders(len(calendar), "custom", setup.lookback)
    test_begin = borders["val"][1]
    n_windows = _windows(setup, len(calendar) - test_begin)
    test_start = calendar[test_begin]
    end_time = calendar[test_begin + n_windows * setup.horizon - 1]
    needed = setup.lookback + setup.horizon
    kept, dropped = [], []
    for name, price in zip(names, prices):
        history = price.start_time() < test_start and len(price.drop_after(test_start)) >= needed
        price = price.slice(price.start_time(), end_time)
        if history and price.end_time() == end_time:
            kept.append((name, price))
        else:
            dropped.append(name)
    if not kept:
        raise ValueError("no ticker has enough history before the test period")
    names = [n for n, _ in kept]
    original = [p for _, p in kept]
    log_prices = [p.map(np.log) for p in original]
    if setup.max_train_windows is not None:
        width = setup.max_train_windows + setup.lookback + setup.horizon - 1
        log_prices = [lp[max(0, lp.get_index_at_point(test_start) - width):] for lp in log_prices]
    scalers = [Scaler(StandardScaler()).fit(lp.drop_after(test_start)) for lp in log_prices]
    series = [sc.transform(lp) for sc, lp in zip(scalers, log_prices)]

    def to_original(forecasts: list[TimeSeries]) -> list[TimeSeries]:
        """Scaled log-price forecasts -> prices."""
        return [sc.inverse_transform(f).map(np.exp).astype(np.float32) for sc, f in zip(scalers, forecasts)]

    notes = [
        f"{len(names)} tickers ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); "
        f"left out (listed too late): {dropped or 'none'}",
        f"split: 70/10/20 of the {len(calendar)} business days (ltsf_borders 'custom'); test "
        f"{test_start.date()} .. {end_time.date()} ({n_windows} windows of {setup.horizon} days); "
        "models train on log prices before the test period",
        "scaling: StandardScaler per ticker on its training log prices; forecasts are mapped back "
        "to prices",
    ]
    return Task(setup, series, None, None, original, test_start, n_windows, to_original, names, notes)


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
        (forecasts are scored after mapping back).

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        If the test period cannot hold one forecast window, or the training part one
        training window, or a list of series does not end at one time.
    """
    from rnn_forecast.inputs import as_series

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
    if past is not None and not identity:
        past = [sc.transform(x) for sc, x in zip(fitted(past), past)]
    if future is not None and not identity:
        future = [sc.transform(x) for sc, x in zip(fitted(future), future)]

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
