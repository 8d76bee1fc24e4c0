"""Out of the box: the default forecasters on raw series of many kinds, against naive.

Every case is a real series in its own units (no ``Scaler``), and every trained model
is built with only ``input_chunk_length``, ``output_chunk_length``, ``n_epochs`` and a
seed, as a new user would: our ``LSTMForecaster``/``GRUForecaster`` and Darts'
``BlockRNNModel`` (LSTM and GRU) with the same settings. The last ``test_size`` of each
series is forecast in non-overlapping ``horizon``-step windows by Darts'
``historical_forecasts`` (trained models fitted once; the naive baselines refitted at
every origin), and scored by MASE (scale: the in-sample seasonal naive error with the
case's season ``m``, the calendar's: 24 for hourly data, 7 for daily, 12 for monthly...;
weekly data get 52 only where the lookback holds a year, else 1). ``--every-origin``
scores the same fitted models on forecasts from every step of the test period instead
(``Setup.every_origin``: the mean over the ``horizon`` interleaved sets of back-to-back
windows), ``horizon`` times as many forecasts: on the short cases the back-to-back
windows are few (the Nile's test period is 4 windows of 5 years), and the score of a
fixed model then hangs on where the windows happen to start.

34 cases, from 10-minute to yearly: seasonal, trending, level-stationary series and
random walks (``random_walk=True``: six), in units from fractions of a percent to
billions of shares; 17 short ones of 60-300 points (``-short``). The data come from
``../shared/datasets`` through the project's loaders (resampled and sliced), from the
data sets that ship inside ``statsmodels`` (a Darts dependency: ``co2``, ``elnino``,
``sunspots``, ``nile``, ``elec_equip``, ``macrodata``, ``interest_inflation``) and from
matplotlib's sample data (the ``[dev]`` extra: monthly S&P 500); nothing is downloaded
and nothing is written but the results. The *season rule* column says which season
:func:`rnn_forecast.adapter.seasonality.infer_season` picks on each training part.

A case *passes* when the better of our two cells beats the best naive forecast
(seasonal naive or naive) by MASE over the seeds (Welch's p < 0.05 against the
deterministic baseline); on a random walk, where no model can beat the naive forecast
on average, it passes when it ties it: within 2 % of its MASE, and it is reported as
a tie, or as a loss when worse. The report ends with the counts the battery is judged
by: the seasonal or trending cases where the better cell beats the best naive forecast
beyond noise, the level-stationary ones likewise, the cases where it is more than 2 %
worse than the best naive forecast, and the random walks tied.

Commands (2 CPU cores; ``--cases`` picks a subset, ``--seeds`` the seeds, ``--fast`` the
fast subset of short cases that ``tests/bench/test_battery.py`` runs, ``--no-block-rnn`` leaves
Darts' ``BlockRNNModel`` out)::

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks battery
    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks battery --cases co2-weekly --seeds 0
    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks battery --every-origin
    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks battery --fast --seeds 0 --no-block-rnn \
        --out /tmp/battery_fast

Writes ``benchmarks/results/battery.csv`` (one row per case, model and seed; a rerun
replaces the rows of its cases and seeds, so ``--seeds 5 6`` adds two seeds to a run)
and ``benchmarks/results/battery.md``. With
``--normalization level`` (or ``mean_scale``, ``none``) our forecasters get that
normalization instead of the default, and the results go to ``battery_level.csv``/``.md``
(``battery_mean_scale``...): the raw-data side of the normalization comparison in
docs/defaults.md::

    python -m benchmarks battery --normalization level --no-block-rnn \
        --cases elnino-monthly sunspots-yearly-short gdp-quarterly-short

``--global-level on`` (``off``, ``auto``) sets our forecasters' ``global_level`` instead of
their default (``False`` since 0.4); results in ``battery_global_level_on.csv``/``.md``
(``_off``, ``_auto``).
``--hidden-dim N`` and ``--lr X`` change our forecasters' capacity and learning rate
(results in ``battery_hidden_N``/``battery_lr_X``): does a default overfit the short
series?
"""

from __future__ import annotations

import argparse
import functools
import inspect
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from darts import TimeSeries

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel  # noqa: E402

from benchmarks import quiet  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster, RNNForecaster  # noqa: E402
from rnn_forecast.adapter.seasonality import infer_season  # noqa: E402
from rnn_forecast.evaluation.contenders import DartsTorchContender, baselines  # noqa: E402
from rnn_forecast.evaluation.scoring import evaluate  # noqa: E402
from rnn_forecast.evaluation.task import Setup, custom_task  # noqa: E402
from rnn_forecast.evaluation.verdict import mean_std, versus_best_baseline  # noqa: E402
from rnn_forecast.nn.early_stopping import BestEpoch  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: A random-walk case ties the naive forecast when its MASE is within this factor of it.
TIE_TOLERANCE = 1.02
#: Model seeds of a run: five, for a verdict beyond noise (the statistics protocol's longer runs).
SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Case:
    """One raw series and how it is forecast.

    Attributes
    ----------
    name
        Row label.
    kind
        What the series is, in words.
    load
        ``data_dir -> TimeSeries`` in the data's own units.
    lookback, horizon
        ``input_chunk_length`` and ``output_chunk_length``.
    season
        ``m`` of MASE and of the seasonal naive baseline (1: naive only).
    epochs
        ``n_epochs``.
    test_size
        Fraction of the series forecast (non-overlapping windows).
    pattern
        What dominates the series: ``"seasonal"``, ``"trend"``, ``"seasonal, trend"``,
        ``"level"`` (returns to a level) or ``"random walk"``; the summary counts the
        seasonal or trending cases apart.
    random_walk
        A series where the naive forecast is the honest best (a tie passes).
    fast
        In the fast subset (``--fast``) that ``tests/bench/test_battery.py`` runs.
    """

    name: str
    kind: str
    load: Callable[[str | None], TimeSeries]
    lookback: int
    horizon: int
    season: int
    epochs: int
    test_size: float = 0.2
    pattern: str = "seasonal"
    random_walk: bool = False
    fast: bool = False

    @property
    def short(self) -> bool:
        """A short series (60-300 points), as its name says."""
        return "-short" in self.name

    @property
    def seasonal_or_trending(self) -> bool:
        return not self.random_walk and ("seasonal" in self.pattern or "trend" in self.pattern)


def _ts(values: pd.Series, freq: str | None = None) -> TimeSeries:
    values = values.astype("float32")
    return TimeSeries.from_series(values, freq=freq)


def _last(values: pd.Series, last: int | None) -> pd.Series:
    return values.iloc[-last:] if last else values


def _whole_periods(values: pd.Series, rule: str, how: str = "mean") -> pd.Series:
    """``values`` aggregated (``how``: ``mean``, ``sum``, ``last``) over ``rule`` periods,
    without the partial periods at either end (a day of 20 hours is not a daily mean)."""
    grouped = values.resample(rule)
    counts = grouped.count()
    out = getattr(grouped, how)()
    whole = (counts == counts.max()).to_numpy()
    first, stop = whole.argmax(), len(whole) - whole[::-1].argmax()
    return out.iloc[first:stop]


@functools.cache
def _frame(name: str, data_dir) -> pd.DataFrame:
    """A whole shared data set through the project's loader, as a DataFrame, read once per process."""
    from rnn_forecast import datasets

    if name == "traffic":  # the volume and the air temperature (K) of its weather columns
        data = datasets.load_traffic(data_dir)
        return pd.concat([data.target.to_dataframe(), data.past_covariates["temp"].to_dataframe()], axis=1)
    return {"etth1": datasets.load_etth1, "weather": datasets.load_weather}[name](data_dir).target.to_dataframe()


def _etth1(data_dir, column="HUFL", rule=None, last=None):
    values = _frame("etth1", data_dir)[column]
    return _ts(_last(_whole_periods(values, rule) if rule else values, last))


def _traffic(data_dir, rule=None, last=None):
    volume = _frame("traffic", data_dir)["traffic_volume"]
    if rule:
        counts = volume.resample(rule).count()
        volume = volume.resample(rule).sum()[counts == counts.max()]  # whole periods only
        volume = volume.asfreq(rule)
    return _ts(_last(volume, last))


def _traffic_temperature(data_dir, last):
    """The air temperature (K) of the I-94 traffic data's weather columns (hourly)."""
    return _ts(_frame("traffic", data_dir)["temp"].iloc[-last:])


def _weather(data_dir, column, rule, last=None, start=None, end=None):
    """One Jena variable (10-minute, 2020), averaged over ``rule``, sliced by dates or ``last``."""
    values = _frame("weather", data_dir)[column]
    if rule != "10min":
        values = _whole_periods(values, rule)
    if start or end:
        values = values.loc[start:end]
    return _ts(_last(values, last))


def _stock(data_dir, ticker, rule=None, field="close"):
    """One ticker's daily close (business days) or weekly volume/close."""
    from rnn_forecast.datasets import load_stocks

    values = load_stocks(tickers=[ticker], fields=(field,), data_dir=data_dir).target[0].to_series()
    if rule:
        values = _whole_periods(values, rule, "sum" if field == "volume" else "last")
    return _ts(values)


def _statsmodels(name, last=None):
    """Series from the data sets that ship inside statsmodels (a Darts dependency)."""
    import statsmodels.api as sm

    if name == "co2":  # weekly, Saturdays, with a few missing weeks: linear interpolation
        data = sm.datasets.co2.load_pandas().data["co2"]
        return _ts(data.asfreq("W-SAT").interpolate())
    if name == "co2-monthly":  # monthly means of the weeks that were measured
        data = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean()
        return _ts(_last(data.iloc[1:], last))  # 1958-03 holds four days
    if name == "elnino":  # one row per year, one column per month
        wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
        values = wide.to_numpy().ravel()
        index = pd.date_range(f"{int(wide.index[0])}-01-01", periods=values.size, freq="MS")
        return _ts(pd.Series(values, index=index))
    if name == "sunspots":
        data = sm.datasets.sunspots.load_pandas().data
        index = pd.date_range(f"{int(data.YEAR.iloc[0])}-01-01", periods=len(data), freq="YS")
        return _ts(_last(pd.Series(data.SUNACTIVITY.to_numpy(), index=index), last))
    if name == "nile":
        data = sm.datasets.nile.load_pandas().data
        index = pd.date_range(f"{int(data.year.iloc[0])}-01-01", periods=len(data), freq="YS")
        return _ts(pd.Series(data.volume.to_numpy(), index=index))
    if name == "elec_equip":  # not in statsmodels.datasets' namespace, but shipped with it
        from statsmodels.datasets import elec_equip

        data = elec_equip.load_pandas().data.iloc[:, 0]
        return _ts(data.asfreq("MS"))
    if name.startswith("macrodata."):  # 1959Q1 - 2009Q3
        data = sm.datasets.macrodata.load_pandas().data
        index = pd.date_range("1959-01-01", periods=len(data), freq="QS")
        return _ts(pd.Series(data[name.split(".")[1]].to_numpy(), index=index))
    if name.startswith("interest_inflation."):  # (West) Germany, 1972Q2 - 1998Q4
        data = sm.datasets.interest_inflation.load_pandas().data
        index = pd.date_range("1972-04-01", periods=len(data), freq="QS")
        return _ts(pd.Series(data[name.split(".")[1]].to_numpy(), index=index))
    raise ValueError(name)


def _sample_stocks(column, last):
    """Monthly prices from matplotlib's sample data (``Stocks.csv``, Yahoo Finance, 1990-2022)."""
    from matplotlib import cbook

    path = cbook.get_sample_data("Stocks.csv", asfileobj=False)
    data = pd.read_csv(path, comment="#", parse_dates=["Date"], index_col="Date")[column].dropna()
    monthly = data.resample("MS").first()  # one row per month start (and a repeat on 2022-06-28)
    return _ts(monthly.iloc[-last:])


CASES = [
    # --- sub-daily: shared datasets, the last weeks ---
    Case("load-hourly", "ETTh1 high useful load (HUFL, MW), hourly, last 24 weeks",
         lambda d: _etth1(d, last=24 * 7 * 24), lookback=168, horizon=24, season=24, epochs=10,
         pattern="seasonal"),
    Case("oil-temperature-hourly", "ETTh1 transformer oil temperature (OT, degC), hourly, last 24 weeks",
         lambda d: _etth1(d, "OT", last=24 * 7 * 24), lookback=168, horizon=24, season=24, epochs=10,
         pattern="seasonal, trend"),
    Case("load-6h", "ETTh1 middle useful load (MUFL, MW), 6-hourly means, 2 years",
         lambda d: _etth1(d, "MUFL", "6h"), lookback=56, horizon=8, season=4, epochs=20, pattern="seasonal"),
    Case("traffic-hourly", "I-94 traffic volume (vehicles/h), hourly, last 24 weeks",
         lambda d: _traffic(d, last=24 * 7 * 24), lookback=168, horizon=24, season=168, epochs=10,
         pattern="seasonal"),
    Case("air-temperature-kelvin-hourly", "Minneapolis-St Paul air temperature (K), the I-94 traffic data's "
         "weather, hourly, last 12 weeks", lambda d: _traffic_temperature(d, 12 * 7 * 24), lookback=168, horizon=24,
         season=24, epochs=10, pattern="seasonal, trend"),
    Case("temperature-30min", "Jena air temperature (degC), half-hourly means, last 12 weeks",
         lambda d: _weather(d, "T (degC)", "30min", 12 * 7 * 48), lookback=96, horizon=48, season=48, epochs=10,
         pattern="seasonal"),
    Case("humidity-10min", "Jena relative humidity (%), 10-minute, 4 weeks of July 2020",
         lambda d: _weather(d, "rh (%)", "10min", start="2020-07-06", end="2020-08-02 23:50"), lookback=144,
         horizon=36, season=144, epochs=10, pattern="seasonal"),
    Case("solar-hourly", "Jena shortwave radiation (SWDR, W/m2), hourly means, 24 weeks of spring and summer",
         lambda d: _weather(d, "SWDR (W/m\u00b2)", "h", start="2020-04-06", end="2020-09-20 23:00"),
         lookback=168, horizon=24, season=24, epochs=10, pattern="seasonal"),
    Case("pressure-hourly", "Jena air pressure (mbar), hourly means, last 12 weeks",
         lambda d: _weather(d, "p (mbar)", "h", 12 * 7 * 24), lookback=168, horizon=24, season=24, epochs=10,
         pattern="level"),
    Case("wind-hourly", "Jena wind speed (m/s), hourly means, last 12 weeks",
         lambda d: _weather(d, "wv (m/s)", "h", 12 * 7 * 24), lookback=168, horizon=24, season=24, epochs=10,
         pattern="level"),
    # --- daily ---
    Case("traffic-daily", "I-94 traffic volume (vehicles/day), daily totals",
         lambda d: _traffic(d, "D"), lookback=28, horizon=7, season=7, epochs=20, pattern="seasonal"),
    Case("oil-temperature-daily", "ETTh1 transformer oil temperature (degC), daily means, 2 years",
         lambda d: _etth1(d, "OT", "D"), lookback=28, horizon=7, season=7, epochs=20, pattern="trend"),
    Case("temperature-daily", "Jena air temperature (degC), daily means, 2020",
         lambda d: _weather(d, "T (degC)", "D"), lookback=28, horizon=7, season=7, epochs=30, pattern="trend"),
    Case("load-daily-short", "ETTh1 high useful load (MW), daily means, last 250 days",
         lambda d: _etth1(d, "HUFL", "D", last=250), lookback=28, horizon=7, season=7, epochs=30,
         pattern="seasonal"),
    Case("stock-daily-rw", "AAPL daily close (USD), 1,259 trading days",
         lambda d: _stock(d, "AAPL"), lookback=30, horizon=5, season=5, epochs=10, pattern="random walk",
         random_walk=True),
    Case("stock-daily-large-rw", "PCLN (Priceline) daily close (USD, 670-2,050), 1,259 trading days",
         lambda d: _stock(d, "PCLN"), lookback=30, horizon=5, season=5, epochs=10, pattern="random walk",
         random_walk=True),
    # --- weekly ---
    Case("co2-weekly", "Mauna Loa CO2 (ppm), weekly, statsmodels.datasets.co2",
         lambda d: _statsmodels("co2"), lookback=104, horizon=13, season=52, epochs=20, pattern="seasonal, trend"),
    Case("traffic-weekly-short", "I-94 traffic volume (vehicles/week), weekly totals, 172 weeks",
         lambda d: _traffic(d, "W-SUN"), lookback=12, horizon=4, season=1, epochs=50, test_size=0.25,
         pattern="level"),
    Case("load-weekly-short", "ETTh1 high useful load (MW), weekly means, 103 weeks",
         lambda d: _etth1(d, "HUFL", "W-SUN"), lookback=12, horizon=4, season=1, epochs=50, pattern="level"),
    Case("volume-weekly-short", "BAC shares traded per week (1e8-1e9), 260 weeks",
         lambda d: _stock(d, "BAC", "W-FRI", "volume"), lookback=12, horizon=4, season=1, epochs=50,
         pattern="level"),
    Case("stock-weekly-rw-short", "JPM weekly close (USD), 260 weeks",
         lambda d: _stock(d, "JPM", "W-FRI"), lookback=12, horizon=4, season=1, epochs=50,
         pattern="random walk", random_walk=True),
    # --- monthly ---
    Case("elnino-monthly", "El Nino sea surface temperature (degC), monthly, statsmodels.datasets.elnino",
         lambda d: _statsmodels("elnino"), lookback=36, horizon=12, season=12, epochs=30, pattern="seasonal"),
    Case("elec-equip-monthly-short", "EU electrical equipment orders (index 2005=100), monthly, 257 months, "
         "statsmodels elec_equip", lambda d: _statsmodels("elec_equip"), lookback=24, horizon=12, season=12,
         epochs=50, pattern="seasonal, trend"),
    Case("co2-monthly-short", "Mauna Loa CO2 (ppm), monthly means, last 240 months, statsmodels co2",
         lambda d: _statsmodels("co2-monthly", last=240), lookback=24, horizon=12, season=12, epochs=50,
         pattern="seasonal, trend", fast=True),
    Case("sp500-monthly-rw-short", "S&P 500 index, monthly, last 240 months, matplotlib sample data",
         lambda d: _sample_stocks("^GSPC", 240), lookback=24, horizon=12, season=12, epochs=50,
         pattern="random walk", random_walk=True),
    # --- quarterly ---
    Case("gdp-quarterly-short", "US real GDP (billions of 2005 USD), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("macrodata.realgdp"), lookback=16, horizon=4, season=4, epochs=50, pattern="trend",
         fast=True),
    Case("cpi-quarterly-short", "US consumer price index (1982-84=100), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("macrodata.cpi"), lookback=16, horizon=4, season=4, epochs=50, pattern="trend"),
    Case("inflation-quarterly-short", "US inflation (% a year), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("macrodata.infl"), lookback=16, horizon=4, season=4, epochs=50, pattern="level"),
    Case("unemployment-quarterly-short", "US unemployment rate (%), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("macrodata.unemp"), lookback=16, horizon=4, season=4, epochs=50, pattern="level"),
    Case("tbill-quarterly-rw-short", "US 3-month T-bill rate (%), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("macrodata.tbilrate"), lookback=16, horizon=4, season=4, epochs=50,
         pattern="random walk", random_walk=True, fast=True),
    Case("german-inflation-quarterly-short", "(West) German quarterly inflation (log-price change, -0.03-0.04), "
         "107 quarters, statsmodels interest_inflation", lambda d: _statsmodels("interest_inflation.Dp"),
         lookback=8, horizon=4, season=4, epochs=50, pattern="seasonal", fast=True),
    Case("german-rate-quarterly-rw-short", "(West) German long-term interest rate (fraction, 0.04-0.11), "
         "107 quarters, statsmodels interest_inflation", lambda d: _statsmodels("interest_inflation.R"),
         lookback=8, horizon=4, season=4, epochs=50, pattern="random walk", random_walk=True),
    # --- yearly ---
    # the yearly calendar has no season; m = 11 is the solar cycle (the rule finds 10 or 11)
    Case("sunspots-yearly-short", "yearly sunspot numbers, last 300 years, statsmodels.datasets.sunspots",
         lambda d: _statsmodels("sunspots", last=300), lookback=22, horizon=5, season=11, epochs=50,
         pattern="seasonal"),
    Case("nile-yearly-short", "Nile flow at Aswan (1e8 m3/year), 100 years, statsmodels.datasets.nile",
         lambda d: _statsmodels("nile"), lookback=10, horizon=5, season=1, epochs=50, pattern="level"),
]
CASES_BY_NAME = {c.name: c for c in CASES}
#: The fast subset (``--fast``): short cases, cheap to train, that tests/bench/test_battery.py runs with one seed.
FAST = [c.name for c in CASES if c.fast]


def _default_model(cls, best_epoch: dict | None = None, **options) -> Callable:
    """``cls`` built as a new user would: only the window lengths, epochs and a seed (plus
    ``options``, and ``BestEpoch(**best_epoch)`` among the callbacks when given)."""

    def build(setup: Setup, seed: int, trainer: dict):
        if best_epoch is not None:
            trainer = {**trainer, "callbacks": [*trainer.get("callbacks", []), BestEpoch(**best_epoch)]}
        return cls(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                   n_epochs=setup.epochs, random_state=seed, pl_trainer_kwargs=trainer, **options)

    return build


def _block_rnn(cell: str) -> Callable:
    def build(setup: Setup, seed: int, trainer: dict):
        return BlockRNNModel(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                             model=cell, n_epochs=setup.epochs, random_state=seed,
                             pl_trainer_kwargs=trainer)

    return build


def contenders(setup: Setup, block_rnn: bool = True, **options) -> list:
    """Ours (LSTM, GRU) with their defaults (plus ``options``), optionally Darts' BlockRNNModel,
    and the naive baselines."""
    models = [DartsTorchContender("LSTMForecaster", "ours", "lstm", build=_default_model(LSTMForecaster, **options)),
              DartsTorchContender("GRUForecaster", "ours", "gru", build=_default_model(GRUForecaster, **options))]
    if block_rnn:
        models += [DartsTorchContender(f"Darts BlockRNNModel-{c}", "peer", c.lower(), build=_block_rnn(c))
                   for c in ("LSTM", "GRU")]
    return models + [b for b in baselines(setup) if b.name != "Drift"]


def run_case(case: Case, seeds, data_dir=None, block_rnn: bool = True, log=print, every_origin: bool = False,
             **options) -> pd.DataFrame:
    """Every contender on one case; one row per model and seed (baselines once).

    ``options`` go to our forecasters (e.g. ``normalization="level"``); ``every_origin``
    scores forecasts from every step of the test period (``Setup.every_origin``).
    """
    series = case.load(data_dir)
    setup = case_setup(case, seeds, every_origin)
    task = custom_task(series, setup, test_size=case.test_size, scale=False)
    began = time.perf_counter()
    result = evaluate(task, contenders(setup, block_rnn, **options), warm_up=False,
                      log=(lambda m: log(f"  {m}")) if log else None)
    rows = pd.DataFrame(result.rows)
    rows.insert(0, "case", case.name)
    rows["length"] = len(series)
    rows["freq"] = series.freq_str
    rows["case_wall_s"] = time.perf_counter() - began
    rows["global_level"] = global_level_used(task, options.get("global_level", DEFAULT_GLOBAL_LEVEL))
    rows["season_rule"] = season_rule(task, case)
    return rows


def case_setup(case: Case, seeds, every_origin: bool = False) -> Setup:
    return Setup(case.name, case.kind, lookback=case.lookback, horizon=case.horizon, season=case.season,
                 naive_seasons=(1, case.season) if case.season > 1 else (1,), epochs=case.epochs,
                 seeds=tuple(seeds), every_origin=every_origin)


def season_rule(task, case: Case) -> int:
    """The season :func:`rnn_forecast.adapter.seasonality.infer_season` picks on the training part
    (the rule the forecasters' baseline, the command line and ``compare_cells`` use)."""
    return infer_season(task.train[0], case.horizon, max_season=case.lookback)


#: our forecasters' own default (``False`` since 0.4), used where ``--global-level`` is not given
DEFAULT_GLOBAL_LEVEL = inspect.signature(RNNForecaster.__init__).parameters["global_level"].default


def global_level_used(task, global_level) -> bool | None:
    """Whether our forecasters' ``global_level`` was on ("auto": tested on the training part;
    ``None`` where the library no longer has the test)."""
    if global_level != "auto":
        return bool(global_level)
    try:
        from rnn_forecast.nn.global_level import stationary_components
    except ImportError:
        return None
    return bool(stationary_components(task.train).any())


def verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per case: ours vs the best naive forecast, Darts' BlockRNNModel, pass or fail."""
    out = []
    for name, part in rows.groupby("case", sort=False):
        case = CASES_BY_NAME.get(name)
        if case is None:  # a case no longer in the battery (renamed or dropped)
            continue
        mase = {m: g["mase"].tolist() for m, g in part.groupby("model", sort=False)}
        naive = [m for m in mase if m == "Naive" or m.startswith("SeasonalNaive")]
        check = versus_best_baseline(mase, ("LSTMForecaster", "GRUForecaster"), naive)
        ours, best_naive, diff = check.model, check.baseline, check.difference
        ratio = float(diff.mean_a / diff.mean_b)
        outcome = {"better than": "beats", "within noise of": "ties", "worse than": "loses to"}[check.relation]
        if case.random_walk:  # a tie within the tolerance is the honest best
            if not check.beats_baseline:
                outcome = "ties" if ratio <= TIE_TOLERANCE else "loses to"
            passed = ratio <= TIE_TOLERANCE
        else:
            passed = check.beats_baseline
        row = {"case": name, "kind": case.kind, "freq": part["freq"].iloc[0], "length": int(part["length"].iloc[0]),
               "L/H/m": f"{case.lookback}/{case.horizon}/{case.season}", "epochs": case.epochs,
               "season rule": _int_or_none(part["season_rule"].iloc[0]) if "season_rule" in part else None,
               "pattern": case.pattern, "random_walk": case.random_walk,
               "seasonal_or_trending": case.seasonal_or_trending,
               "seeds": part["seed"].dropna().nunique(),
               "global_level": part["global_level"].iloc[0] if "global_level" in part else None}
        for m in mase:
            row[m] = mean_std(mase[m])
        row.update({"best naive": best_naive, "ours": ours, "ratio": ratio, "p": diff.p_value,
                    "outcome": outcome, "pass": passed,
                    "cell ratios": {m: float(np.mean(mase[m]) / np.mean(mase[best_naive]))
                                    for m in ("LSTMForecaster", "GRUForecaster") if m in mase}})
        out.append(row)
    return pd.DataFrame(out)


def summary(table: pd.DataFrame) -> list[str]:
    """The counts the battery is judged by, as markdown list items.

    Seasonal or trending cases where the better cell beats the best naive forecast beyond
    noise; cases where it is more than 2 % worse than the best naive (on average); random
    walks tied (within 2 %); and the level-stationary cases, which count in neither of the
    first two groups' denominators but in the second.
    """

    def names(part) -> str:
        return f": {', '.join(part['case'])}" if len(part) else ""

    def share(k, n) -> str:
        return f"{k} of {n}" + (f" ({100 * k / n:.0f} %)" if n else "")

    trending = table[table["seasonal_or_trending"].astype(bool)]
    beats = trending["outcome"] == "beats"
    level = table[~table["seasonal_or_trending"].astype(bool) & ~table["random_walk"].astype(bool)]
    level_beats = level["outcome"] == "beats"
    worse = table[table["ratio"] > TIE_TOLERANCE]
    walks = table[table["random_walk"].astype(bool)]
    tied = walks["ratio"] <= TIE_TOLERANCE
    return [f"- Seasonal or trending series: the better cell beats the best naive forecast beyond noise on "
            f"{share(int(beats.sum()), len(trending))}" + (f"; not on{names(trending[~beats])}" if (~beats).any()
                                                            else "") + ".",
            f"- Level-stationary series: it beats the best naive forecast beyond noise on "
            f"{share(int(level_beats.sum()), len(level))}" + (f"; not on{names(level[~level_beats])}"
                                                              if (~level_beats).any() else "") + ".",
            f"- More than {100 * (TIE_TOLERANCE - 1):.0f} % worse than the best naive forecast (ratio > "
            f"{TIE_TOLERANCE}): {share(len(worse), len(table))} cases{names(worse)}.",
            f"- Random walks tied (ratio <= {TIE_TOLERANCE}): {share(int(tied.sum()), len(walks))}"
            + (f"; not{names(walks[~tied])}" if (~tied).any() else "") + ".",
            *_worse_cells(table)]


def _worse_cells(table: pd.DataFrame) -> list[str]:
    """A list item naming each of our cells more than 2 % worse than the best naive forecast
    (on average) where the better cell is not: the verdicts judge the better cell only."""
    if "cell ratios" not in table:
        return []
    worse = [f"{r['case']} ({m.removesuffix('Forecaster')} {q:.3f})" for _, r in table.iterrows()
             if r["ratio"] <= TIE_TOLERANCE for m, q in r["cell ratios"].items() if q > TIE_TOLERANCE]
    return [f"- Our other cell more than {100 * (TIE_TOLERANCE - 1):.0f} % worse than the best naive forecast "
            f"where the better one is not (the other cell's ratio): {len(worse)} case{'' if len(worse) == 1 else 's'}"
            + (f": {', '.join(worse)}" if worse else "") + "."]


def _int_or_none(value):
    return None if value is None or pd.isna(value) else int(value)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        mean, std = value
        return f"{mean:.3f}" if std == 0 or math.isnan(std) else f"{mean:.3f} ± {std:.3f}"
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _seed_range(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2 \
        else ", ".join(map(str, seeds))


def markdown(table: pd.DataFrame, rows: pd.DataFrame) -> str:
    models = ["LSTMForecaster", "GRUForecaster", "Darts BlockRNNModel-LSTM", "Darts BlockRNNModel-GRU"]
    level = rows.attrs.get("global_level", "default")
    seeds = sorted(int(seed) for seed in rows["seed"].dropna().unique())
    command = "python -m benchmarks battery"
    if tuple(seeds) != SEEDS:
        command += f" --seeds {' '.join(map(str, seeds))}"
    if "callbacks" in rows.attrs.get("overrides", {}):
        command += " --within-noise"
    every_origin = rows.attrs.get("every_origin", False)
    if every_origin:
        command += " --every-origin"
    lines = ["# Out of the box: default forecasters on raw series", "",
             f"Produced by `{command}` (see its docstring). MASE (mean ± sd over seeds "
             f"{_seed_range(seeds)}; < 1 beats the in-sample seasonal naive forecast"
             + ("; forecasts from every step of the test period, the mean over the H interleaved sets of "
                "back-to-back windows" if every_origin else ", forecasts of back-to-back H-step windows")
             + "), every model built with only "
             "`input_chunk_length`, `output_chunk_length`, `n_epochs` and a seed, on raw values. "
             f"*ratio*: our better cell's MASE over the best naive forecast's. Random walks pass "
             f"with a tie (ratio <= {TIE_TOLERANCE}). Our forecasters' normalization: "
             f"`{rows.attrs.get('normalization', 'level_scale')}`"
             f"{' (the default)' if rows.attrs.get('normalization', 'level_scale') == 'level_scale' else ''}"
             f"; `global_level`: "
             f"{'the default (`False` since 0.4)' if level == 'default' else f'`{level}`'}"
             f"{' (*level* says where its stationarity tests turned it on)' if level == 'auto' else ''}."
             + "".join(f" Our forecasters also get `{k}={v}` (not their default)."
                       for k, v in rows.attrs.get("overrides", {}).items())
             + " *m* is the calendar's season (MASE and the seasonal naive forecast); *season rule*: the season "
             "`rnn_forecast.adapter.seasonality.infer_season` picks on the training part (horizon H, at most L).",
             "",
             "| case | series | freq | length | L/H/m | season rule | epochs | seeds | LSTM (ours) | GRU (ours) | "
             "BlockRNN LSTM | BlockRNN GRU | Naive | Seasonal naive | level | ratio | outcome |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        season = [k for k in r.index if str(k).startswith("SeasonalNaive")]
        snaive = next((_fmt(r[k]) for k in season if isinstance(r[k], tuple)), "–")
        cells = [_fmt(r[m]) if isinstance(r.get(m), tuple) else "–" for m in models]
        verdict = f"{'**pass**' if r['pass'] else '**FAIL**'}: {r['ours']} {r['outcome']} {r['best naive']}"
        if r["outcome"] != "ties":
            verdict += f" (p={r['p']:.2g})"
        lines.append(f"| {r['case']} | {r['kind']} | {r['freq']} | {r['length']} | {r['L/H/m']} | "
                     f"{_fmt(r['season rule'])} | {r['epochs']} | {r['seeds']} | " + " | ".join(cells) +
                     f" | {_fmt(r['Naive'])} | {snaive} | {_on_off(r['global_level'])} | {r['ratio']:.3f} "
                     f"| {verdict} |")
    n_pass = int(table["pass"].sum())
    lines += ["", f"**{n_pass} of {len(table)} cases pass.**", "", *summary(table), ""]
    trained = rows[rows["family"] != "baseline"]
    # per seed: a run that adds seeds (``--seeds 3 4``) may have had the machine to itself or not
    timing = trained.groupby(["model", "seed"])["train_s"].median().unstack()
    lines += [f"Median `fit` wall time per model over the cases, seed by seed ({_seed_range(seeds)}; s): " +
              ", ".join(f"{m} {'/'.join(f'{t:.1f}' for t in timing.loc[m])}" for m in models if m in timing.index)
              + ". Compare models within a seed: seeds run at different times may have shared the machine.", ""]
    env = rows.attrs.get("environment")
    if env:
        lines += [f"Hardware: {env}.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES_BY_NAME), default=list(CASES_BY_NAME))
    parser.add_argument("--fast", action="store_true",
                        help=f"only the fast subset that tests/bench/test_battery.py runs ({', '.join(FAST)})")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--no-block-rnn", action="store_true", help="leave Darts' BlockRNNModel out")
    parser.add_argument("--normalization", choices=["level_scale", "mean_scale", "level", "none"],
                        default="level_scale", help="our forecasters' normalization (default: theirs, level_scale)")
    parser.add_argument("--global-level", choices=["default", "auto", "on", "off"], default="default",
                        help="our forecasters' global_level (default: theirs, off since 0.4)")
    parser.add_argument("--hidden-dim", type=int, default=None,
                        help="our forecasters' hidden_dim (default: theirs, 64)")
    parser.add_argument("--lr", type=float, default=None, help="our forecasters' learning rate (default: Darts', 1e-3)")
    parser.add_argument("--within-noise", action="store_true",
                        help="our forecasters with BestEpoch(within_noise=True): the earliest trained epoch within "
                             "one standard error of the lowest validation loss")
    parser.add_argument("--every-origin", action="store_true",
                        help="score forecasts from every step of the test period (H interleaved sets of "
                             "back-to-back windows, averaged), not only from every H-th; same fitted models")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: rewrite the .md from the .csv (a missing `global_level` column is "
                             "filled in from the cases' training parts)")
    args = parser.parse_args(argv)
    if args.fast:
        args.cases = [name for name in args.cases if name in FAST]
    quiet()
    import torch

    torch.set_num_threads(1)  # as the benchmark runner: stable timings on a shared machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options, stem = {}, "battery"
    if args.normalization != "level_scale":
        options = {"normalization": None if args.normalization == "none" else args.normalization}
        stem = f"battery_{args.normalization}"
    if args.global_level != "default":
        options["global_level"] = {"auto": "auto", "on": True, "off": False}[args.global_level]
        stem += f"_global_level_{args.global_level}"
    if args.hidden_dim is not None:
        options["hidden_dim"] = args.hidden_dim
        stem += f"_hidden_{args.hidden_dim}"
    if args.lr is not None:
        options["optimizer_kwargs"] = {"lr": args.lr}
        stem += f"_lr_{args.lr:g}"
    if args.within_noise:
        options["best_epoch"] = {"within_noise": True}
        stem += "_within_noise"
    if args.every_origin:
        stem += "_every_origin"
    path = out / f"{stem}.csv"
    if args.report_only:
        new = pd.read_csv(path)
        new = _known_cases(new)
        if "global_level" not in new:
            new["global_level"] = new["case"].map({name: _case_global_level(name, args.data_dir, options)
                                                   for name in new["case"].unique()})
        if "season_rule" not in new:
            new["season_rule"] = new["case"].map({name: _case_season_rule(name, args.data_dir)
                                                  for name in new["case"].unique()})
    else:
        frames = []
        for name in args.cases:
            print(f"[{name}]", flush=True)
            frames.append(run_case(CASES_BY_NAME[name], args.seeds, args.data_dir, not args.no_block_rnn,
                                   every_origin=args.every_origin, **options))
            # the cases so far, after each one: an interrupted hour-long run keeps what it measured
            pd.concat(frames, ignore_index=True).to_csv(out / f"{stem}.partial.csv", index=False, float_format="%.6g")
        new = pd.concat(frames, ignore_index=True)
        (out / f"{stem}.partial.csv").unlink()
    if path.exists() and not args.report_only:
        new = merge_rerun(_known_cases(pd.read_csv(path)), new, args.cases, args.seeds)
    order = {c.name: i for i, c in enumerate(CASES)}
    new = new.sort_values("case", key=lambda s: s.map(order), kind="stable")
    new.to_csv(path, index=False, float_format="%.6g")
    new.attrs["environment"] = _environment()
    new.attrs["normalization"] = args.normalization
    new.attrs["global_level"] = args.global_level
    new.attrs["overrides"] = {k: v for k, v in (("hidden_dim", args.hidden_dim), ("lr", args.lr)) if v is not None}
    if args.within_noise:
        new.attrs["overrides"]["callbacks"] = "BestEpoch(within_noise=True)"
    new.attrs["every_origin"] = args.every_origin
    (out / f"{stem}.md").write_text(markdown(verdicts(new), new))
    print((out / f"{stem}.md").read_text())


def merge_rerun(old: pd.DataFrame, new: pd.DataFrame, cases, seeds) -> pd.DataFrame:
    """``old`` rows with those of a rerun of ``cases`` and ``seeds`` replaced by ``new``'s:
    the baselines of those cases (no seed) and the rerun models' rows of those seeds (a
    ``--no-block-rnn`` rerun keeps the recorded ``BlockRNNModel`` rows)."""
    rerun = old["case"].isin(cases) & (old["seed"].isna()
                                       | (old["seed"].isin(seeds) & old["model"].isin(set(new["model"]))))
    return pd.concat([old[~rerun], new], ignore_index=True)


def _case_task(name: str, data_dir):
    case = CASES_BY_NAME[name]
    return custom_task(case.load(data_dir), case_setup(case, (0,)), test_size=case.test_size, scale=False)


def _case_global_level(name: str, data_dir, options: dict) -> bool:
    return global_level_used(_case_task(name, data_dir), options.get("global_level", DEFAULT_GLOBAL_LEVEL))


def _case_season_rule(name: str, data_dir) -> int:
    return season_rule(_case_task(name, data_dir), CASES_BY_NAME[name])


def _known_cases(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` without the cases that are no longer in the battery (renamed or dropped)."""
    gone = sorted(set(rows["case"]) - set(CASES_BY_NAME))
    if gone:
        print(f"(dropping the rows of cases no longer in the battery: {', '.join(gone)})")
    return rows[rows["case"].isin(CASES_BY_NAME)]


def _on_off(flag) -> str:
    return "–" if flag is None or pd.isna(flag) else ("on" if bool(flag) else "off")


def _environment() -> str:
    from rnn_forecast.evaluation.costs import environment

    env = environment(threads=1, device="cpu")
    return (f"{env['cpu']}, {env['cpu_cores']} cores, torch threads 1; torch {env['torch']}, "
            f"Darts {env['darts']}, Python {env['python']}")


if __name__ == "__main__":
    sys.exit(main())
