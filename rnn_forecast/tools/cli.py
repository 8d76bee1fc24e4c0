"""Command line: ``rnn-forecast forecast`` (also ``python -m rnn_forecast``).

``forecast`` trains the LSTM and GRU forecasters on a real dataset (or your own CSV,
``--csv``), scores their rolling forecasts over the held-out tail against naive
baselines in original units (MAE and RMSE), says whether each cell beats the best
baseline, prints the next ``--horizon`` steps and, with ``--plot FILE``, saves a plot
of it all.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import sys
import time
import warnings

import numpy as np

from rnn_forecast.datasets.registry import DATASETS, get

# the registered datasets `forecast` offers: those with a target column to forecast
FORECAST_DATASETS = sorted(d.name for d in DATASETS if d.forecast_target)
# --dataset's windows and budget when not given (the weather defaults)
DATASET_DEFAULTS = {"lookback": 144, "horizon": 36, "epochs": 3}
METRICS = {"mae": "MAE", "rmse": "RMSE"}

AUTOMATIC = """\
automatic settings for --csv (each flag given wins):
  test period  the last --test-fraction of the steps, cut down to whole horizons, so
               that every test step is scored by one of the non-overlapping forecasts
  --horizon    one calendar season: a day of sub-daily steps (24 hourly, 144
               ten-minute; at most 144), a week of days (7; 5 business days), 13
               weeks, 12 months, 4 quarters; 6 without a calendar season (yearly);
               at most half the test period
  --lookback   2 horizons, and at least the longest calendar season up to 336 steps
               (168 for hourly data), at most 336; shortened to leave 50 training
               windows, but not below the shortest calendar season unless fewer than
               10 windows would be left
  --epochs     about 300 batches in all, 3 to 300 epochs (300 for a series of a few
               hundred steps, 3 for tens of thousands)
  --season     the seasonal-naive baseline's period: of the calendar seasons (12 for
               months, 52 for weeks, 24 and 168 for hours, ...) and the period Darts'
               check_seasonality finds, the one whose seasonal-naive forecast has the
               lowest error on the training part, if it beats the last value by 2 %;
               else 1 (rnn_forecast.adapter.seasonality.infer_season)
A series too short for the smallest window (lookback 2, 10 training windows, two test
steps) is refused with the number of steps it has and needs.
"""


@dataclasses.dataclass
class _Data:
    """What ``forecast`` works on; ``series``/``covariates`` are pandas frames until converted."""

    name: str
    series: object
    covariates: object
    freq: str
    notes: list


def _read(args: argparse.Namespace) -> _Data:
    """``--csv`` read and checked with pandas alone (no Darts, no torch), or ``--dataset`` loaded."""
    if args.csv:
        from rnn_forecast.datasets.user_csv import load_csv

        table = load_csv(args.csv, time_column=args.time_column, columns=args.columns, covariates=args.covariates,
                         freq=args.freq, date_format=args.date_format, as_frames=True)
        data = _Data(args.csv, table.target, table.covariates, table.freq, table.notes)
    else:
        data = _load_dataset(args)
    if args.max_length:
        data.series = data.series[-args.max_length :]
        data.covariates = None if data.covariates is None else data.covariates[-args.max_length :]
    return data


def _load_dataset(args: argparse.Namespace) -> _Data:
    if args.covariates:
        raise ValueError("--covariates names columns of --csv; the bundled datasets have none to pick.")
    if args.date_format:
        raise ValueError("--date-format is for --csv; the bundled datasets are read by their own loaders.")
    from rnn_forecast import datasets

    entry = get(args.dataset)
    load = getattr(datasets, entry.loader)
    data = load(args.data_dir, columns=[entry.forecast_target]) if entry.selects_columns else load(args.data_dir)
    return _Data(args.dataset, data.target, None, data.target.freq_str, data.notes)


def _settings(args: argparse.Namespace, n: int, freq):
    """The windows and epochs: given, else automatic (``--csv``) or the dataset defaults."""
    from rnn_forecast.tools.cli_settings import choose_settings

    given = {"lookback": args.lookback, "horizon": args.horizon, "epochs": args.epochs}
    if not args.csv:
        given = {k: DATASET_DEFAULTS[k] if v is None else v for k, v in given.items()}
    return choose_settings(n, freq, args.test_fraction, batch_size=args.batch_size,
                           max_train_windows=args.max_train_windows, **given)


def _to_series(data: _Data) -> None:
    """Convert ``--csv``'s frames to float32 ``TimeSeries`` (imports Darts)."""
    from rnn_forecast.datasets._common import to_series

    if not hasattr(data.series, "to_numpy"):  # a dataset: TimeSeries already
        return
    data.series = to_series(data.series, freq=data.freq)
    data.covariates = None if data.covariates is None else to_series(data.covariates, freq=data.freq)


def _season(args: argparse.Namespace, train, horizon: int) -> tuple[int, str]:
    """The seasonal-naive baseline's period and where it comes from."""
    if args.season is not None:
        if not 1 <= args.season <= len(train):
            raise ValueError(f"--season must lie between 1 and the {len(train)} training steps, not {args.season}.")
        return args.season, "--season"
    if not args.csv:
        return get(args.dataset).forecast_season, f"the {args.dataset} dataset's"
    from rnn_forecast.adapter.seasonality import infer_season

    return infer_season(train, horizon=horizon, max_season=None), "calendar, checked on the training part"


def _cells(requested: list[str] | None) -> list[str]:
    """The cells to train: ``--cells``, checked against the registry (imports torch), or every registered one."""
    from rnn_forecast.nn.cells import cell_names, get_cell

    if requested is None:
        return list(cell_names())
    for cell in requested:
        get_cell(cell)  # an UnknownCellError (a ValueError) naming the registered cells
    return list(dict.fromkeys(requested))


def forecast(args: argparse.Namespace) -> list[dict]:
    """Fit each requested cell, backtest over the test tail, forecast past the end, print.

    The input and the windows are checked before torch is imported, so that a bad
    file or a series too short for the windows fails at once.

    Returns one row per model, the cells first, then the baselines: ``model``,
    ``mae``, ``rmse`` (in original units), ``steps`` (test steps scored), ``fit_s``
    and ``epochs`` (trained).
    """
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise ValueError("--plot needs matplotlib: pip install matplotlib (or the [examples] extra).")
    data = _read(args)
    plan = _settings(args, len(data.series), data.freq)
    _to_series(data)
    season, season_source = _season(args, data.series[: plan.n_train], plan.horizon)
    _print_header(data, plan, f"baseline season {season} ({season_source})")

    fit = _Fitter(args, data, plan)  # torch, Lightning and Darts from here on
    cells = _cells(args.cells)
    rows, backtests, futures = [], {}, {}
    for cell in cells:
        name, model, seconds = fit(cell)
        backtests[name], futures[name] = fit.backtest(model), fit.future(model)
        rows.append(_score(name, data.series, backtests[name], seconds, model.epochs_trained))
    for name, k in [(f"NaiveSeasonal(K={season})", season), ("Naive (repeat last)", 1)][season == 1:]:
        backtests[name] = fit.baseline(k)
        rows.append(_score(name, data.series, backtests[name], 0.0, 0))

    _print_scores(rows, len(cells))
    scored = _scored_steps(rows, plan)
    print(f"\nseed {args.seed}; errors in original units over the last {scored} steps, every test step: "
          f"{scored // plan.horizon} non-overlapping {plan.horizon}-step forecasts by models trained on the "
          f"first {plan.n_train} steps.")
    _print_forecasts(futures, plan.n_train)
    if args.plot:
        _plot(args.plot, data.series, plan.n_train, backtests, futures, plan.lookback)
        print(f"plot: {args.plot}")
    return rows


def _print_header(data: _Data, plan, baseline: str) -> None:
    series, covariates = data.series, data.covariates
    print(f"{data.name}: {list(series.components)}, {len(series)} steps ({series.freq_str}), "
          f"train {plan.n_train}, test {plan.n_test} ({plan.n_test // plan.horizon} forecasts of "
          f"{plan.horizon} steps)"
          + (f", past covariates {list(covariates.components)}" if covariates is not None else ""))
    print(f"  settings: {plan.describe()}; {baseline}")
    for note in data.notes:
        print(f"  data: {note}")


class _Fitter:
    """Trains a cell and makes its backtest and forecast on the scaled series; scores baselines."""

    def __init__(self, args: argparse.Namespace, data: _Data, plan) -> None:
        from darts.dataprocessing.transformers import Scaler

        import rnn_forecast.adapter.forecaster  # noqa: F401  (Lightning sets its loggers' levels on import)

        for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric"):
            logging.getLogger(name).setLevel(logging.ERROR)  # "GPU available: False" and tips

        self.args, self.plan = args, plan
        start = plan.n_train
        self.scaler = Scaler().fit(data.series[:start])
        self.scaled = self.scaler.transform(data.series)
        covariates = data.covariates
        self.past = None if covariates is None else Scaler().fit(covariates[:start]).transform(covariates)
        self.rolling = {"start": start, "forecast_horizon": plan.horizon, "stride": plan.horizon,
                        "last_points_only": False}

    def __call__(self, cell: str):
        from rnn_forecast import RNNForecaster
        from rnn_forecast.nn.cells import get_cell

        args, plan = self.args, self.plan
        model = RNNForecaster(
            input_chunk_length=plan.lookback, output_chunk_length=plan.horizon, cell=cell,
            hidden_dim=args.hidden_dim, n_epochs=plan.epochs, batch_size=args.batch_size,
            optimizer_kwargs={"lr": args.lr}, random_state=args.seed,
            pl_trainer_kwargs={"accelerator": args.accelerator, "enable_progress_bar": args.progress,
                               "enable_model_summary": False, "logger": False},
        )
        began = time.perf_counter()
        model.fit(self.scaled[: plan.n_train], past_covariates=self.past, max_samples_per_ts=args.max_train_windows)
        return f"{get_cell(cell).display}Forecaster", model, time.perf_counter() - began

    def backtest(self, model):
        """Non-overlapping forecasts over the test period, in original units."""
        from darts import concatenate

        forecasts = model.historical_forecasts(self.scaled, past_covariates=self.past, retrain=False,
                                               verbose=False, **self.rolling)
        return self.scaler.inverse_transform(concatenate(forecasts))

    def future(self, model):
        """The next ``horizon`` steps after the series, in original units."""
        return self.scaler.inverse_transform(model.predict(self.plan.horizon, series=self.scaled,
                                                           past_covariates=self.past, verbose=False))

    def baseline(self, season: int):
        """The seasonal-naive (``season`` 1: last value) backtest, in original units."""
        from darts import concatenate
        from darts.models import NaiveSeasonal

        forecasts = NaiveSeasonal(K=season).historical_forecasts(self.scaled, retrain=True, verbose=False,
                                                                 **self.rolling)
        return self.scaler.inverse_transform(concatenate(forecasts))


def _score(name: str, series, backtest, seconds: float, epochs: int) -> dict:
    from darts.metrics import mae, rmse

    errors = {metric: float(np.mean(f(series, backtest, series_reduction=np.mean)))
              for metric, f in (("mae", mae), ("rmse", rmse))}
    return {"model": name, **errors, "steps": len(backtest), "fit_s": seconds, "epochs": int(epochs)}


def _scored_steps(rows: list[dict], plan) -> int:
    """Steps every model forecast in the backtest: the whole test period, checked."""
    steps = {row["model"]: row["steps"] for row in rows}
    if set(steps.values()) != {plan.n_test}:
        raise RuntimeError(f"the backtests cover {steps} steps, not the {plan.n_test} test steps")
    return plan.n_test


def _print_scores(rows: list[dict], n_cells: int) -> None:
    """The table, each cell's verdict against the best baseline, and where MAE and RMSE disagree."""
    print(f"\n{'model':<24}{'MAE':>10}{'RMSE':>10}{'fit s':>8}{'epochs':>8}")
    for row in rows:
        epochs = row["epochs"] or "-"
        print(f"{row['model']:<24}{row['mae']:>10.4f}{row['rmse']:>10.4f}{row['fit_s']:>8.1f}{epochs:>8}")
    for line in verdicts(rows[:n_cells], rows[n_cells:]):
        print(line)


def verdicts(models: list[dict], baselines: list[dict]) -> list[str]:
    """One line per model against the best baseline on each metric, and where the metrics disagree.

    Parameters
    ----------
    models, baselines
        Rows with ``model``, ``mae`` and ``rmse``.

    Returns
    -------
    list of str
        The best baseline on MAE and on RMSE when they differ; per model, ``"<model>
        beats ..."`` or ``"<model> LOSES TO ..."`` on MAE then RMSE, with ``the two
        metrics disagree`` when they do; with two models, which is better on each metric.
    """
    best = {m: min(baselines, key=lambda r, m=m: r[m]) for m in METRICS}
    lines = []
    if best["mae"] is not best["rmse"]:
        lines.append(f"The best baseline is {best['mae']['model']} on MAE but {best['rmse']['model']} on "
                     "RMSE: the two metrics disagree.")
    for row in models:
        lines.append(_verdict(row, best))
    if len(models) == 2:
        better = {m: min(models, key=lambda r, m=m: r[m])["model"] for m in METRICS}
        if better["mae"] == better["rmse"]:
            lines.append(f"The better cell: {better['mae']} on both MAE and RMSE.")
        else:
            lines.append(f"The better cell: {better['mae']} on MAE but {better['rmse']} on RMSE: "
                         "the two metrics disagree.")
    return lines


def _verdict(row: dict, best: dict) -> str:
    """``"<model> beats X on MAE (a vs b) and on RMSE (c vs d)."``, or how the metrics differ."""
    (mae_base, rmse_base), (mae, rmse) = (best[m] for m in METRICS), (row[m] for m in METRICS)
    wins = mae < mae_base["mae"], rmse < rmse_base["rmse"]
    verbs = ["beats" if win else "LOSES TO" for win in wins]
    first = f"{verbs[0]} {mae_base['model']} on MAE ({mae:.4f} vs {mae_base['mae']:.4f})"
    if rmse_base is not mae_base:
        second = f"{verbs[1]} {rmse_base['model']} on RMSE"
    else:
        second = "on RMSE" if wins[0] == wins[1] else f"{verbs[1]} it on RMSE"
    second += f" ({rmse:.4f} vs {rmse_base['rmse']:.4f})"
    if wins[0] == wins[1]:
        return f"{row['model']} {first} and {second}."
    return f"{row['model']} {first} but {second}: the two metrics disagree (RMSE weighs the large errors more)."


def _print_forecasts(futures: dict, trained_on: int) -> None:
    """The next ``horizon`` steps after the series, one column per cell and component."""
    import pandas as pd

    table = pd.concat({name: f.to_dataframe() for name, f in futures.items()}, axis=1)
    table.columns = [f"{name}:{component}" for name, component in table.columns]
    print(f"\nForecast of the next {len(table)} steps (models trained on the first {trained_on} steps):")
    print(table.to_string(float_format=lambda x: f"{x:.4g}"))


def _plot(path: str, series, start: int, backtests: dict, futures: dict, lookback: int) -> None:
    """The test period's actual values, each model's backtest and the cells' forecast."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    import matplotlib.pyplot as plt

    shown = series[max(0, start - lookback):]
    fig, axes = plt.subplots(shown.width, 1, figsize=(11, 3.2 * shown.width), squeeze=False)
    for i, component in enumerate(shown.components):
        ax = axes[i, 0]
        shown[component].plot(ax=ax, label="actual", color="black", lw=1)
        for name, backtest in backtests.items():
            backtest[component].plot(ax=ax, label=f"{name} (backtest)", lw=1, alpha=0.8)
        for name, future in futures.items():
            future[component].plot(ax=ax, label=f"{name} (forecast)", lw=1.5, ls="--")
        ax.axvline(series.time_index[start], color="grey", ls=":", lw=1)
        ax.set_title(component)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    """The ``rnn-forecast`` parser; builds without importing torch or Darts."""
    from rnn_forecast._version import __version__

    parser = argparse.ArgumentParser(prog="rnn-forecast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    fc = commands.add_parser("forecast", help="train LSTM/GRU on a dataset or your CSV, backtest, forecast",
                             description=__doc__, epilog=AUTOMATIC,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    data = fc.add_argument_group("data")
    data.add_argument("--dataset", choices=FORECAST_DATASETS, default="weather",
                      help="bundled dataset (default: weather); ignored with --csv")
    data.add_argument("--data-dir", default=None,
                      help="folder of the bundled datasets (default: $RNN_FORECAST_DATA, else download)")
    data.add_argument("--csv", default=None, help="forecast your own CSV instead of --dataset")
    data.add_argument("--time-column", "--time-col", dest="time_column", default=None,
                      help="CSV time column (default: the first)")
    data.add_argument("--columns", "--target", dest="columns", nargs="+", default=None,
                      help="CSV column(s) to forecast (default: all but the time and covariate columns)")
    data.add_argument("--covariates", nargs="+", default=None,
                      help="CSV columns used as past covariates (observed up to the forecast start)")
    data.add_argument("--freq", default=None, help="CSV row frequency, e.g. h or D (default: inferred)")
    data.add_argument("--date-format", default=None, metavar="FORMAT",
                      help="strftime format of the CSV timestamps, e.g. '%%m/%%d/%%Y' for 04/30/2021 "
                           "(default: ISO 8601, e.g. 2021-04-30 or 2021-04-30 13:00)")
    data.add_argument("--max-length", type=int, default=None, help="use only the last N steps")
    data.add_argument("--test-fraction", type=float, default=0.2,
                      help="share of the steps held out for the backtest, cut down to whole horizons "
                           "(default: 0.2)")
    model = fc.add_argument_group("model and training")
    model.add_argument("--cells", nargs="+", default=None, metavar="CELL",
                       help="registered cells to train (rnn_forecast.nn.cells; built in: lstm, gru; "
                            "default: every registered cell)")
    model.add_argument("--lookback", type=int, default=None,
                       help="input_chunk_length (default: automatic for --csv, see below; 144 for --dataset)")
    model.add_argument("--horizon", type=int, default=None,
                       help="output_chunk_length, and the backtest's and forecast's horizon (default: "
                            "automatic for --csv, see below; 36 for --dataset)")
    model.add_argument("--hidden-dim", type=int, default=64, help="hidden units (default: 64)")
    model.add_argument("--epochs", type=int, default=None,
                       help="most training epochs (default: automatic for --csv, see below; 3 for --dataset)")
    model.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    model.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 3e-3)")
    model.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    model.add_argument("--max-train-windows", type=int, default=None,
                       help="train on at most this many windows (max_samples_per_ts)")
    model.add_argument("--accelerator", default="auto", help="Lightning accelerator (default: auto)")
    out = fc.add_argument_group("output")
    out.add_argument("--season", type=int, default=None,
                     help="seasonal-naive period in steps (default: the dataset's; for --csv the "
                          "calendar season confirmed by the data, see below)")
    out.add_argument("--plot", default=None, metavar="FILE",
                     help="save a plot of the backtest and the forecast (PNG, PDF, SVG; needs matplotlib)")
    out.add_argument("--progress", action="store_true", help="show Lightning progress bars")
    fc.set_defaults(func=forecast)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a refused input prints ``rnn-forecast: error: ...`` and returns 2."""
    args = build_parser().parse_args(argv)  # before the heavy imports: --help stays fast
    from rnn_forecast.datasets import DatasetError

    warnings.filterwarnings("ignore", module="pytorch_lightning|lightning_fabric|torch")
    try:
        args.func(args)
    except (DatasetError, ValueError, TypeError) as exc:  # the documented input errors
        print(f"rnn-forecast: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
