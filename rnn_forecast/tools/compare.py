""""LSTM or GRU?" for your own series, as a function call.

:func:`compare_cells` trains an LSTM and a GRU :class:`~rnn_forecast.RNNForecaster`
under the same budget, backtests both with Darts' ``historical_forecasts`` over the
end of the series, repeats over seeds, and recommends one with its reason. It runs the
library's evaluation machinery (:mod:`rnn_forecast.evaluation`, which the benchmark
suite uses too) on a single dataset: the same split and scaling rules, metrics, cost
measurements and noise test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from darts import TimeSeries

from rnn_forecast._checks import check_positive_int
from rnn_forecast.adapter.forecaster import RNNForecaster
from rnn_forecast.evaluation.contenders import DartsTorchContender, baselines
from rnn_forecast.evaluation.scoring import evaluate
from rnn_forecast.evaluation.task import Setup, custom_task, test_steps
from rnn_forecast.evaluation.verdict import Recommendation, recommend, versus_best_baseline
from rnn_forecast.nn.cells import get_cell
from rnn_forecast.tools.budget import Budget

METRICS = ("mse", "mae", "mase", "smape")
COSTS = ("train_s", "windows_per_s", "params", "peak_mem_mb", "predict_ms")
DEFAULT_BUDGET = Budget(epochs=10)
_RESERVED = ("cell", "input_chunk_length", "output_chunk_length", "n_epochs", "random_state")


@dataclass
class CellComparison:
    """The result of :func:`compare_cells`.

    Attributes
    ----------
    recommendation
        ``recommendation.choice`` is one of the two cells (``"LSTM"``, ``"GRU"``: their
        display names) or ``"tie"``, or the name of the best baseline (e.g.
        ``"SeasonalNaive(12)"``) when neither cell beats it beyond noise;
        ``recommendation.reason`` says why, with the numbers.
    table
        One row per model: mean and standard deviation over seeds of each metric
        (``mse``, ``mae``, ``mase``, ``smape``) and cost (``train_s``, ``windows_per_s``,
        ``params``, ``peak_mem_mb``, ``predict_ms``).
    runs
        One row per model and seed (baselines once), as measured.
    by_horizon
        Mean absolute error at each step ahead, per model (mean over seeds).
    forecasts
        Per model, the first seed's rolling forecasts (one series per target series).
    actual
        The target series in original units.
    budget, metric
        What each cell was given, and the deciding metric.
    season
        The seasonal period used (given, or found by :mod:`rnn_forecast.adapter.seasonality`).
    cells
        The two cells compared, by display name (the model names in ``table``).
    """

    recommendation: Recommendation
    table: pd.DataFrame
    runs: pd.DataFrame
    by_horizon: pd.DataFrame
    forecasts: dict[str, list[TimeSeries]]
    actual: list[TimeSeries]
    budget: Budget
    metric: str
    season: int = 1
    cells: tuple[str, str] = ("LSTM", "GRU")

    def __str__(self) -> str:
        return f"{self.table.to_string(float_format=lambda x: f'{x:.4g}')}\n\n{self.recommendation.reason}"

    def _repr_html_(self) -> str:
        return f"{self.table.to_html(float_format=lambda x: f'{x:.4g}')}<p><b>{self.recommendation.reason}</b></p>"

    def plot(self, series: int = 0, windows: int = 5):
        """Forecasts of the first ``windows`` test windows, and the error by horizon.

        Parameters
        ----------
        series
            Which target series to draw (for a list of series).
        windows
            How many forecast windows to draw.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2, 1]})
        horizon = len(self.by_horizon)
        first = self.forecasts[self.cells[0]][series]
        shown = first[: windows * horizon]
        self.actual[series].slice_intersect(shown).plot(ax=left, label="actual", lw=2, color="black")
        for name, forecasts in self.forecasts.items():
            forecasts[series][: windows * horizon].plot(ax=left, label=name, lw=1)
        left.set_title("rolling forecasts (first seed)")
        for name in self.by_horizon:
            right.plot(self.by_horizon.index, self.by_horizon[name], label=name,
                       lw=2 if name in self.cells else 1, ls="-" if name in self.cells else "--")
        right.set_xlabel("steps ahead")
        right.set_title("MAE by horizon")
        right.legend(fontsize=7)
        fig.suptitle(self.recommendation.reason, fontsize=7, wrap=True)
        fig.tight_layout()
        return fig


def compare_cells(
    series,
    *,
    past_covariates=None,
    future_covariates=None,
    forecast_horizon: int,
    budget: Budget | dict | int = DEFAULT_BUDGET,
    input_chunk_length: int | None = None,
    test_size: float = 0.2,
    seeds: Sequence[int] = (0, 1, 2),
    season: int | None = None,
    metric: str = "mase",
    include_baselines: bool = True,
    scale: bool = True,
    device: str = "cpu",
    model_kwargs: dict | None = None,
    verbose: bool = False,
    cells: Sequence[str] = ("lstm", "gru"),
) -> CellComparison:
    """Train an LSTM and a GRU forecaster (or two other cells) under one budget, backtest both, recommend one.

    The last ``test_size`` of the series is the test period; both cells (with the
    forecasters' defaults, plus ``model_kwargs``) train on the steps before it (scaled
    with statistics of those steps when ``scale=True``) and forecast the test period in
    non-overlapping ``forecast_horizon``-step windows with Darts'
    ``historical_forecasts`` (no retraining), once per seed. Accuracy decides when it
    differs beyond noise (Welch's t-test over seeds, p < 0.05); otherwise the faster
    cell wins if it is faster beyond noise; otherwise it is a tie. When the baselines
    run and neither cell beats the best of them beyond noise, the recommendation is
    that baseline, and the reason says so.

    Parameters
    ----------
    series
        A ``TimeSeries`` or pandas ``Series``/``DataFrame`` (or a list of them, ending
        at the same time, for one global model).
    past_covariates, future_covariates
        Covariates, used by both cells.
    forecast_horizon
        Steps forecast at once (the model's ``output_chunk_length``).
    budget
        Per cell and seed: ``Budget(epochs=...)``, ``Budget(seconds=...)`` (the same
        wall-clock time for each cell: the faster cell does more epochs) or both; a dict
        or an int (epochs) work too.
    input_chunk_length
        Lookback; default ``max(2 * forecast_horizon, season)``, at least one season.
    test_size
        Fraction of the series (in ``(0, 1)``) or number of steps held out.
    seeds
        One training run per seed; at least 2 (3 or more recommended) to tell a
        difference from noise.
    season
        Seasonal period ``m`` of MASE and of the seasonal-naive baseline (1: none).
        ``None`` (default): found on the training part of the (first) series by the
        rule the forecasters use (:mod:`rnn_forecast.adapter.seasonality`: the frequency's
        calendar, confirmed by the data; at most ``input_chunk_length`` when given).
    metric
        Deciding metric: ``"mse"``, ``"mae"``, ``"mase"`` or ``"smape"``.
    include_baselines
        Also score the naive, seasonal-naive and drift forecasts for context.
    scale
        Standardize with statistics of the training part (forecasts are scored in
        original units either way); covariate columns of only 0s and 1s stay 0/1.
    device
        ``"cpu"`` or ``"gpu"``.
    model_kwargs
        Further :class:`~rnn_forecast.RNNForecaster` parameters shared by both cells
        (``hidden_dim``, ``n_rnn_layers``, ``batch_size``, ``optimizer_kwargs``,
        ``pl_trainer_kwargs``, ...).
    verbose
        Print progress.
    cells
        The two registered cells to compare (:mod:`rnn_forecast.nn.cells`); the results
        name them by their display names (``"LSTM"``, ``"GRU"``).

    Returns
    -------
    CellComparison
        Table, per-seed runs, forecasts, ``plot()`` and the ``recommendation``.

    Raises
    ------
    ValueError
        For an impossible budget, a horizon longer than the test period, a series too
        short for the backtest, or an unknown metric.

    Examples
    --------
    >>> result = compare_cells(series, forecast_horizon=24, budget=Budget(seconds=30))  # doctest: +SKIP
    >>> result.recommendation.choice, result.recommendation.reason  # doctest: +SKIP
    ('GRU', 'GRU: equal MASE within noise (...); GRU 1.40x faster (...).')
    """
    budget = Budget.coerce(budget)
    cells = tuple(cells)
    if len(cells) != 2 or cells[0] == cells[1]:
        raise ValueError(f"`cells` must name two different registered cells, got {cells!r}.")
    names = tuple(get_cell(cell).display for cell in cells)  # an UnknownCellError names the registered ones
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {METRICS}, got {metric!r}.")
    forecast_horizon = check_positive_int(forecast_horizon, "forecast_horizon")
    seeds = tuple(seeds)
    if len(seeds) < 2:
        raise ValueError("compare_cells needs at least 2 seeds to tell a difference from noise (3+ recommended).")
    model_kwargs = dict(model_kwargs or {})
    reserved = sorted(set(model_kwargs) & set(_RESERVED))
    if reserved:
        raise ValueError(f"`model_kwargs` may not set {reserved}: compare_cells sets them itself.")
    if season is None:
        season = detect_season(series, test_size, forecast_horizon, input_chunk_length)
    else:
        season = check_positive_int(season, "season", alternatives=" or None (detect it)")
    lookback = input_chunk_length or max(2 * forecast_horizon, season)
    setup = Setup("custom", "user series", lookback=lookback, horizon=forecast_horizon, season=season,
                  naive_seasons=(1, season) if season > 1 else (1,), epochs=budget.n_epochs, seeds=seeds)
    task = custom_task(series, setup, past_covariates, future_covariates, test_size=test_size, scale=scale)
    user_trainer = model_kwargs.pop("pl_trainer_kwargs", None) or {}

    def build_for(cell: str):
        def build(setup: Setup, seed: int, trainer: dict):
            return RNNForecaster(
                input_chunk_length=lookback, output_chunk_length=forecast_horizon, cell=cell,
                n_epochs=setup.epochs, random_state=seed,
                pl_trainer_kwargs={**trainer, **budget.trainer_kwargs(), **user_trainer}, **model_kwargs)
        return build

    contenders = [DartsTorchContender(name, "ours", cell, build=build_for(cell), past=True, future=True)
                  for cell, name in zip(cells, names)]
    if include_baselines:
        contenders += baselines(setup)
    result = evaluate(task, contenders, device=device, log=print if verbose else None)
    runs = pd.DataFrame(result.rows)
    costs = runs["train_s"] if budget.seconds is None else 1000 / runs["windows_per_s"]
    runs = runs.assign(_cost=costs)
    per = [runs[runs["model"] == name] for name in names]
    rec = recommend(names, (per[0][metric].tolist(), per[1][metric].tolist()),
                    (per[0]["_cost"].tolist(), per[1]["_cost"].tolist()), metric=metric.upper(),
                    cost_name="train time" if budget.seconds is None else "time per 1000 windows")
    if include_baselines:
        rec = _against_baselines(rec, runs, metric, names)
    columns = [c for c in (*METRICS, *COSTS) if c in runs]
    grouped = runs.groupby("model", sort=False)[columns]
    table = grouped.mean().join(grouped.std(ddof=1).add_suffix("_std"))
    by_horizon = pd.DataFrame(result.by_horizon).groupby(["step", "model"], sort=False)["mae"].mean().unstack("model")
    return CellComparison(rec, table, runs.drop(columns="_cost"), by_horizon, result.forecasts,
                          task.original, budget, metric, season, names)


def _against_baselines(rec: Recommendation, runs: pd.DataFrame, metric: str, cells: tuple[str, str]) -> Recommendation:
    """``rec``, or the best baseline when neither cell beats it beyond noise."""
    scores = {name: group[metric].tolist() for name, group in runs.groupby("model", sort=False)}
    families = runs.groupby("model", sort=False)["family"].first()
    check = versus_best_baseline(scores, cells, [m for m in scores if families[m] == "baseline"])
    if check.beats_baseline:
        return rec
    reason = (f"{check.baseline}: neither cell beats it beyond noise. {check.sentence(metric.upper())} "
              f"Use {check.baseline}, or give the cells more data or training and compare again. "
              f"Between the two cells: {rec.reason}")
    return Recommendation(check.baseline, reason, rec.accuracy, rec.cost)


def detect_season(series, test_size: float | int = 0.2, horizon: int = 1, max_season: int | None = None) -> int:
    """The season of the training part of ``series`` (its first component of its first series), or 1.

    :func:`rnn_forecast.adapter.seasonality.infer_season` on the steps before the test period:
    the frequency's calendar seasons and Darts' ``check_seasonality``'s, decided by the
    in-sample error of the seasonal-naive forecast at horizons ``1..horizon``.
    """
    from rnn_forecast.adapter.inputs import as_series
    from rnn_forecast.adapter.seasonality import infer_season

    first = as_series(series, "series")
    first = first[0] if isinstance(first, list) else first
    train = first[: max(2, len(first) - test_steps(len(first), test_size))]
    return infer_season(train, horizon=horizon, max_season=max_season)
