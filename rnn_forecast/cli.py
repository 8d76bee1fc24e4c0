"""Command line: ``rnn-forecast forecast`` and ``rnn-forecast benchmark`` (also ``python -m rnn_forecast``).

``forecast`` trains the LSTM and GRU forecasters on a real dataset (or the user's own
CSV, ``--csv``) and scores their rolling forecasts over the held-out tail against naive
baselines, in original units.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

import numpy as np

DATASET_DEFAULTS = {
    # dataset: (target column, seasonal period in steps)
    "weather": ("T (degC)", 144),  # 10-minute steps: one day
    "etth1": ("OT", 24),
    "traffic": ("traffic_volume", 24),
}


def _load(args: argparse.Namespace):
    """(series, season, notes) of ``--csv`` or ``--dataset``."""
    from rnn_forecast import datasets

    if args.csv:
        data = datasets.load_csv(args.csv, time_column=args.time_column, columns=args.columns,
                                 freq=args.freq)
        from rnn_forecast.compare import detect_season

        season = args.season or detect_season(data.target, args.test_fraction)
        return data.target, season, data.notes
    dataset, data_dir = args.dataset, args.data_dir
    column, season = DATASET_DEFAULTS[dataset]
    season = season if args.season is None else args.season
    if dataset == "weather":
        data = datasets.load_weather(data_dir, columns=[column])
    elif dataset == "etth1":
        data = datasets.load_etth1(data_dir, columns=[column])
    else:
        data = datasets.load_traffic(data_dir)
    return data.target, season, data.notes


def forecast(args: argparse.Namespace) -> list[dict]:
    """Fit each requested cell, backtest over the test tail, print a table."""
    from darts import concatenate
    from darts.dataprocessing.transformers import Scaler
    from darts.metrics import mae, rmse
    from darts.models import NaiveSeasonal

    from rnn_forecast import RNNForecaster

    series, season, notes = _load(args)
    if args.max_length:
        series = series[-args.max_length :]
    train, test = series.split_after(1 - args.test_fraction)
    scaler = Scaler().fit(train)
    scaled = scaler.transform(series)
    start = len(train)
    print(f"{args.csv or args.dataset}: {list(series.components)}, {len(series)} steps ({series.freq_str}), "
          f"train {len(train)}, test {len(test)}, horizon {args.horizon}, lookback {args.lookback}")
    for note in notes:
        print(f"  data: {note}")

    def score(name, forecasts, seconds):
        forecasts = scaler.inverse_transform(concatenate(forecasts))  # non-overlapping
        row = {"model": name, "mae": mae(series, forecasts, series_reduction=np.mean),
               "rmse": rmse(series, forecasts, series_reduction=np.mean), "fit_s": seconds}
        rows.append({k: float(np.mean(v)) if k != "model" else v for k, v in row.items()})

    rows: list[dict] = []
    for cell in args.cells:
        model = RNNForecaster(
            input_chunk_length=args.lookback, output_chunk_length=args.horizon, cell=cell,
            hidden_dim=args.hidden_dim, n_epochs=args.epochs, batch_size=args.batch_size,
            optimizer_kwargs={"lr": args.lr}, random_state=args.seed,
            pl_trainer_kwargs={"accelerator": args.accelerator, "enable_progress_bar": args.progress,
                               "enable_model_summary": False, "logger": False},
        )
        began = time.perf_counter()
        model.fit(scaled[:start], max_samples_per_ts=args.max_train_windows)
        seconds = time.perf_counter() - began
        forecasts = model.historical_forecasts(
            scaled, start=start, forecast_horizon=args.horizon, stride=args.horizon,
            retrain=False, last_points_only=False, verbose=False,
        )
        score(f"{cell.upper()}Forecaster", forecasts, seconds)
    for name, k in [("NaiveSeasonal(K=%d)" % season, season), ("Naive (repeat last)", 1)]:
        baseline = NaiveSeasonal(K=k)
        forecasts = baseline.historical_forecasts(
            scaled, start=start, forecast_horizon=args.horizon, stride=args.horizon,
            retrain=True, last_points_only=False,
        )
        score(name, forecasts, 0.0)

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
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-forecast", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fc = commands.add_parser("forecast", help="train LSTM/GRU on real data and backtest")
    fc.add_argument("--dataset", choices=sorted(DATASET_DEFAULTS), default="weather")
    fc.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"])
    fc.add_argument("--lookback", type=int, default=144)
    fc.add_argument("--horizon", type=int, default=36)
    fc.add_argument("--hidden-dim", type=int, default=64)
    fc.add_argument("--epochs", type=int, default=3)
    fc.add_argument("--batch-size", type=int, default=128)
    fc.add_argument("--lr", type=float, default=3e-3)
    fc.add_argument("--seed", type=int, default=0)
    fc.add_argument("--test-fraction", type=float, default=0.2)
    fc.add_argument("--max-length", type=int, default=None, help="use only the last N steps")
    fc.add_argument("--max-train-windows", type=int, default=None)
    fc.add_argument("--accelerator", default="auto")
    fc.add_argument("--progress", action="store_true", help="show Lightning progress bars")
    fc.add_argument("--data-dir", default=None, help="default: $RNN_FORECAST_DATA or download")
    fc.add_argument("--csv", default=None, help="forecast your own CSV instead of --dataset")
    fc.add_argument("--time-column", default=None, help="CSV time column (default: the first)")
    fc.add_argument("--columns", nargs="+", default=None, help="CSV value columns (default: all others)")
    fc.add_argument("--freq", default=None, help="CSV row frequency, e.g. h or D (default: inferred)")
    fc.add_argument("--season", type=int, default=None,
                    help="seasonal-naive period in steps (default: the dataset's, detected for --csv)")
    fc.set_defaults(func=forecast)
    from rnn_forecast.benchmark.cli import add_parser as add_benchmark

    add_benchmark(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a refused input prints ``rnn-forecast: error: ...`` and returns 2."""
    from rnn_forecast.datasets import DatasetError

    args = build_parser().parse_args(argv)
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
