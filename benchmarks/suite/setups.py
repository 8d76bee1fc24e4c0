"""The benchmark's datasets under the fixed protocol: budgets (quick and full) and tasks.

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

from dataclasses import replace

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.dataprocessing.transformers import Scaler
from sklearn.preprocessing import StandardScaler

from rnn_forecast import datasets
from rnn_forecast.datasets.registry import NAMES, get
from rnn_forecast.evaluation.task import Setup, Task, count_windows, single_series_task

#: The benchmark's datasets: every registered one, in registry order.
DATASETS = NAMES

_FULL = {
    "traffic": Setup("traffic", "hourly traffic volume (vehicles/h); past: weather, future: calendar + holidays",
                     lookback=168, horizon=24, season=24, naive_seasons=(1, 24, 168),
                     hidden_dim=64, epochs=20, seeds=(0, 1, 2, 3, 4)),
    "weather": Setup("weather", "CO2 `OT` (ppm), 10-minute steps; past: the 20 other Jena variables",
                     lookback=144, horizon=36, season=144, naive_seasons=(1, 144),
                     hidden_dim=64, epochs=10, seeds=(0, 1, 2, 3, 4)),
    "stocks": Setup("stocks", "daily close, modelled as log prices, one global model over all tickers",
                    lookback=60, horizon=5, season=1, naive_seasons=(1,),
                    hidden_dim=64, epochs=10, seeds=(0, 1, 2, 3, 4), directional=True),
    "etth1": Setup("etth1", "oil temperature `OT` (degC), hourly; past: the 6 load features",
                   lookback=168, horizon=24, season=24, naive_seasons=(1, 24, 168),
                   hidden_dim=64, epochs=20, seeds=(0, 1, 2, 3, 4)),
}

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
}
assert set(_FULL) == set(_QUICK) == set(DATASETS), "a budget for every registered dataset"


def setup_for(dataset: str, quick: bool) -> Setup:
    """The :class:`~rnn_forecast.evaluation.task.Setup` of ``dataset`` for the quick or the full benchmark."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")
    return (_QUICK if quick else _FULL)[dataset]


# dataset -> (ltsf_borders split, how the split is described in the report); loaded with
# the registry's loader
_OT_DATASETS = {
    "weather": ("custom", "70/10/20 rows of the regularized 10-minute series (ltsf_borders 'custom')"),
    "etth1": ("etth1", "12/4/4 months (ltsf_borders 'etth1'); rows after the test months unused"),
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
        split, rule = _OT_DATASETS[setup.dataset]
        data = getattr(datasets, get(setup.dataset).loader)(data_dir)
        target = data.target["OT"]
        past = data.target.drop_columns(["OT"])
        future = None
        borders = datasets.ltsf_borders(len(target), split, setup.lookback)
    else:
        get(setup.dataset)  # raises for an unregistered name
        raise ValueError(f"no benchmark task for dataset {setup.dataset!r}; choose from {DATASETS}")
    test_begin, test_end = borders["val"][1], borders["test"][1]
    return single_series_task(setup, target, past, future, test_begin, test_end, rule)


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
    n_windows = count_windows(setup, len(calendar) - test_begin)
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


