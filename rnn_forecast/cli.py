"""Command line: ``rnn-forecast forecast`` and ``rnn-forecast benchmark`` (also ``python -m rnn_forecast``).

``forecast`` trains the LSTM and GRU forecasters on a real dataset (or your own CSV,
``--csv``), scores their rolling forecasts over the held-out tail against naive
baselines in original units, says whether each cell beats the best baseline, prints
the next ``--horizon`` steps and, with ``--plot FILE``, saves a plot of it all.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import time
import warnings

import numpy as np

from rnn_forecast.dataset_registry import DATASETS, get

# the registered datasets `forecast` offers: those with a target column to forecast
FORECAST_DATASETS = sorted(d.name for d in DATASETS if d.forecast_target)


def _load(args: argparse.Namespace):
    """(series, past covariates or None, season, notes) of ``--csv`` or ``--dataset``."""
    from rnn_forecast import datasets

    if args.csv:
        data = datasets.load_csv(args.csv, time_column=args.time_column, columns=args.columns,
                                 covariates=args.covariates, freq=args.freq)
        from rnn_forecast.compare import detect_season

        season = args.season or detect_season(data.target, args.test_fraction)
        return data.target, data.past_covariates, season, data.notes
    if args.covariates:
        raise ValueError("--covariates names columns of --csv; the bundled datasets have none to pick.")
    entry, data_dir = get(args.dataset), args.data_dir
    column = entry.forecast_target
    season = entry.forecast_season if args.season is None else args.season
    load = getattr(datasets, entry.loader)
    data = load(data_dir, columns=[column]) if entry.selects_columns else load(data_dir)
    return data.target, None, season, data.notes


def forecast(args: argparse.Namespace) -> list[dict]:
    """Fit each requested cell, backtest over the test tail, forecast past the end, print.

    Returns one row per model: ``model``, ``mae``, ``rmse``, ``fit_s`` (in original units).
    """
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise ValueError("--plot needs matplotlib: pip install matplotlib (or the [examples] extra).")
    from darts import concatenate
    from darts.dataprocessing.transformers import Scaler
    from darts.metrics import mae, rmse
    from darts.models import NaiveSeasonal

    from rnn_forecast import RNNForecaster

    series, covariates, season, notes = _load(args)
    if args.max_length:
        series = series[-args.max_length :]
        covariates = None if covariates is None else covariates[-args.max_length :]
    train, test = series.split_after(1 - args.test_fraction)
    start = len(train)
    scaler = Scaler().fit(train)
    scaled = scaler.transform(series)
    past = None if covariates is None else Scaler().fit(covariates[:start]).transform(covariates)
    print(f"{args.csv or args.dataset}: {list(series.components)}, {len(series)} steps ({series.freq_str}), "
          f"train {len(train)}, test {len(test)}, horizon {args.horizon}, lookback {args.lookback}"
          + (f", past covariates {list(covariates.components)}" if covariates is not None else ""))
    for note in notes:
        print(f"  data: {note}")

    rows: list[dict] = []
    backtests, futures = {}, {}

    def score(name, forecasts, seconds):
        backtests[name] = scaler.inverse_transform(concatenate(forecasts))  # non-overlapping
        row = {"model": name, "mae": mae(series, backtests[name], series_reduction=np.mean),
               "rmse": rmse(series, backtests[name], series_reduction=np.mean), "fit_s": seconds}
        rows.append({k: float(np.mean(v)) if k != "model" else v for k, v in row.items()})

    rolling = {"start": start, "forecast_horizon": args.horizon, "stride": args.horizon,
               "last_points_only": False}
    for cell in args.cells:
        model = RNNForecaster(
            input_chunk_length=args.lookback, output_chunk_length=args.horizon, cell=cell,
            hidden_dim=args.hidden_dim, n_epochs=args.epochs, batch_size=args.batch_size,
            optimizer_kwargs={"lr": args.lr}, random_state=args.seed,
            pl_trainer_kwargs={"accelerator": args.accelerator, "enable_progress_bar": args.progress,
                               "enable_model_summary": False, "logger": False},
        )
        began = time.perf_counter()
        model.fit(scaled[:start], past_covariates=past, max_samples_per_ts=args.max_train_windows)
        seconds = time.perf_counter() - began
        name = f"{cell.upper()}Forecaster"
        forecasts = model.historical_forecasts(scaled, past_covariates=past, retrain=False, verbose=False,
                                               **rolling)
        score(name, forecasts, seconds)
        futures[name] = scaler.inverse_transform(model.predict(args.horizon, series=scaled, past_covariates=past,
                                                               verbose=False))
    for name, k in [(f"NaiveSeasonal(K={season})", season), ("Naive (repeat last)", 1)]:
        score(name, NaiveSeasonal(K=k).historical_forecasts(scaled, retrain=True, **rolling), 0.0)

    print(f"\n{'model':<24}{'MAE':>10}{'RMSE':>10}{'fit s':>8}")
    for row in rows:
        print(f"{row['model']:<24}{row['mae']:>10.4f}{row['rmse']:>10.4f}{row['fit_s']:>8.1f}")
    baseline = min((r for r in rows if not r["model"].endswith("Forecaster")), key=lambda r: r["mae"])
    for row in rows[: len(args.cells)]:
        verdict = "beats" if row["mae"] < baseline["mae"] else "LOSES TO"
        print(f"{row['model']} {verdict} {baseline['model']} on MAE "
              f"({row['mae']:.4f} vs {baseline['mae']:.4f}).")
    print(f"\nseed {args.seed}; errors in original units over {len(test)} test steps, "
          f"non-overlapping {args.horizon}-step forecasts.")
    _print_forecasts(futures, start)
    if args.plot:
        _plot(args.plot, series, start, backtests, futures, args.lookback)
        print(f"plot: {args.plot}")
    return rows


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
                             description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    data.add_argument("--max-length", type=int, default=None, help="use only the last N steps")
    data.add_argument("--test-fraction", type=float, default=0.2,
                      help="share of the steps held out for the backtest (default: 0.2)")
    model = fc.add_argument_group("model and training")
    model.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"],
                       help="cells to train (default: both)")
    model.add_argument("--lookback", type=int, default=144, help="input_chunk_length (default: 144)")
    model.add_argument("--horizon", type=int, default=36,
                       help="output_chunk_length, and the backtest's and forecast's horizon (default: 36)")
    model.add_argument("--hidden-dim", type=int, default=64, help="hidden units (default: 64)")
    model.add_argument("--epochs", type=int, default=3, help="training epochs (default: 3)")
    model.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    model.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 3e-3)")
    model.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    model.add_argument("--max-train-windows", type=int, default=None,
                       help="train on at most this many windows (max_samples_per_ts)")
    model.add_argument("--accelerator", default="auto", help="Lightning accelerator (default: auto)")
    out = fc.add_argument_group("output")
    out.add_argument("--season", type=int, default=None,
                     help="seasonal-naive period in steps (default: the dataset's; detected for --csv)")
    out.add_argument("--plot", default=None, metavar="FILE",
                     help="save a plot of the backtest and the forecast (PNG, PDF, SVG; needs matplotlib)")
    out.add_argument("--progress", action="store_true", help="show Lightning progress bars")
    fc.set_defaults(func=forecast)
    from rnn_forecast.benchmark.cli import add_parser as add_benchmark

    add_benchmark(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a refused input prints ``rnn-forecast: error: ...`` and returns 2."""
    args = build_parser().parse_args(argv)  # before the heavy imports: --help stays fast
    from rnn_forecast.datasets import DatasetError

    warnings.filterwarnings("ignore", module="pytorch_lightning|lightning_fabric|torch")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    try:
        args.func(args)
    except (DatasetError, ValueError, TypeError) as exc:  # the documented input errors
        print(f"rnn-forecast: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
