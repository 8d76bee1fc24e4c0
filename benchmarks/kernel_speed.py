"""Speed of rnn_forecast's LSTM/GRU forecasters against Darts' BlockRNNModel, side by side.

One process, same data, same architecture sizes, measured in turns (ours and Darts'
interleaved, best/median of repeats), reported as ratios against Darts in the same run:

* training throughput: windows/s of a whole ``fit`` (data pipeline, Lightning loop,
  optimizer) on the Weather training split, lookback 96, horizon 96, hidden 64, batch 64;
* our GRU against our LSTM, per epoch;
* ``predict`` latency of one series, 96 steps;
* ``historical_forecasts(retrain=False)`` over the Weather test split, stride 1,
  horizon 96 (10,444 forecasts), with identical forecasts checked;
* the peak resident memory each measured call added (Linux ``VmHWM`` above the start,
  :func:`rnn_forecast.evaluation.costs.measure`).

Run: ``python -m benchmarks kernel_speed`` (about 3 minutes on 2 CPU cores; ``--quick``:
fewer windows, repeats and rolling forecasts), or as one section of ``python -m
benchmarks speed``. Results: ``benchmarks/results/kernel_speed.csv`` and ``kernel_speed.md``;
docs/speed.md explains them.
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from pathlib import Path

import pandas as pd
import torch

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel  # noqa: E402

from benchmarks import versus_darts as vs  # noqa: E402
from benchmarks.tables import markdown_table, section  # noqa: E402
from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather, ltsf_split  # noqa: E402

vs.quiet_loggers()

LOOKBACK, HORIZON, HIDDEN, BATCH = 96, 96, 64, 64
RESULTS = Path(__file__).resolve().parent / "results"


def models(cell: str, seed: int) -> dict:
    """Darts' BlockRNNModel and ours at the same sizes (ours also with plain torch.nn).

    Ours run the point-wise architecture (``**POINTWISE``, Darts' MSE loss), the one
    BlockRNNModel has, so that the ratio measures the kernels, not the design.
    """
    common = dict(input_chunk_length=LOOKBACK, output_chunk_length=HORIZON, hidden_dim=HIDDEN,
                  batch_size=BATCH, n_epochs=1, random_state=seed, pl_trainer_kwargs=vs.TRAINER)
    ours = LSTMForecaster if cell == "lstm" else GRUForecaster
    same = dict(POINTWISE, loss_fn=torch.nn.MSELoss())
    return {
        f"darts BlockRNN {cell.upper()}": lambda: BlockRNNModel(model=cell.upper(), **common),
        f"ours {cell.upper()}": lambda: ours(**same, **common),
        f"ours {cell.upper()} (torch.nn)": lambda: ours(rnn_backend="torch", **same, **common),
    }


def training(train, windows: int, repeats: int) -> tuple[list[dict], dict]:
    """Rows of training throughput, and the models of the last repeat, fitted."""
    factories = {**models("lstm", 0), **models("gru", 0)}
    runs, memory, fitted = vs.fit_in_turns(factories, train, windows, repeats, warm_up_windows=2 * BATCH, memory=True)
    rows = []
    for name, seconds in runs.items():
        best = min(seconds)
        rows.append({"measure": "train windows/s", "model": name, "value": windows / best,
                     "seconds": best, "median_s": statistics.median(seconds),
                     "repeats": len(seconds), "peak_added_mb": memory[name]})
    return rows, fitted


def prediction(fitted: dict, series, calls: int) -> list[dict]:
    return [{"measure": "predict ms (1 series, n=96)", "model": name, "value": 1e3 * median,
             "seconds": median, "median_s": median, "repeats": calls, "peak_added_mb": mem}
            for name, (median, mem) in vs.predict_latency(fitted, series, HORIZON, calls, memory=True).items()]


def rolling(fitted: dict, test) -> tuple[list[dict], dict]:
    """Time ``historical_forecasts`` over every window of ``test``, both output layouts.

    Returns the rows and, per cell, the max |difference| between our trainer-free rolling
    forecasts and the same model's through a Lightning trainer.
    """
    rows, last_points = [], {}
    models = {name: model for name, model in fitted.items() if "(torch.nn)" not in name}
    vs.warm_up_rolling(models, test, LOOKBACK, HORIZON)
    for last_points_only in (True, False):
        for name, model in models.items():
            seconds, mem, out = vs.timed(lambda model=model: model.historical_forecasts(
                test, last_points_only=last_points_only, **vs.rolling_kwargs(LOOKBACK, HORIZON)), memory=True)
            rows.append({"measure": f"historical_forecasts s (last_points_only={last_points_only})",
                         "model": name, "value": seconds[0], "seconds": seconds[0],
                         "median_s": seconds[0], "repeats": 1, "peak_added_mb": mem,
                         "forecasts": len(out)})
            if last_points_only and name.startswith("ours"):
                last_points[name] = out
    # after every timing, so that no Lightning run comes between two timed calls
    differences = {name.split()[1]: vs.through_lightning(models[name], test, LOOKBACK, HORIZON, out)[2]
                   for name, out in last_points.items()}
    return rows, differences


def ratios(rows: list[dict]) -> list[str]:
    value = {(r["measure"], r["model"]): r["value"] for r in rows}
    lines = []
    for cell in ("LSTM", "GRU"):
        darts_name, ours = f"darts BlockRNN {cell}", f"ours {cell}"
        train = {name: value["train windows/s", name] for name in (ours, ours + " (torch.nn)", darts_name)}
        predict = {name: value["predict ms (1 series, n=96)", name] for name in (ours, darts_name)}
        lines.append(f"training {cell}: ours / Darts = {train[ours] / train[darts_name]:.2f}x "
                     f"(torch.nn backend: {train[ours + ' (torch.nn)'] / train[darts_name]:.2f}x)")
        lines.append(f"predict {cell}: Darts / ours = {predict[darts_name] / predict[ours]:.1f}x "
                     f"(ours {predict[ours]:.2f} ms)")
        for lpo in (True, False):
            key = f"historical_forecasts s (last_points_only={lpo})"
            if (key, ours) in value:
                lines.append(f"historical_forecasts {cell} (last_points_only={lpo}): Darts / ours = "
                             f"{value[key, darts_name] / value[key, ours]:.1f}x")
    lines.append("our GRU / our LSTM training speed = "
                 f"{value['train windows/s', 'ours GRU'] / value['train windows/s', 'ours LSTM']:.2f}x")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer windows, repeats and rolling forecasts")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    windows, repeats, calls, forecasts = (800, 1, 10, 500) if args.quick else (12800, 3, 50, None)

    data = load_weather(args.data_dir, raw_order=True)
    split = ltsf_split(data.target, "weather", lookback=LOOKBACK)
    print(f"Weather: {split.train.width} components; train {len(split.train)} rows, "
          f"test {len(split.test)} rows; lookback {LOOKBACK}, horizon {HORIZON}, hidden {HIDDEN}, "
          f"batch {BATCH}; torch threads {torch.get_num_threads()}")

    rows, fitted = training(split.train, windows, repeats)
    rows += prediction(fitted, split.val, calls)
    test = split.test if forecasts is None else split.test[: LOOKBACK + HORIZON - 1 + forecasts]
    rolled, differences = rolling(fitted, test)
    rows += rolled

    frame = pd.DataFrame(rows)
    summary = ratios(rows)
    print(frame.to_string(index=False))
    print("\n" + "\n".join(summary))
    print("trainer-free vs Lightning rolling forecasts, max |difference|:", differences)
    details = (f"{'quick' if args.quick else 'full'} run: {windows} training windows x {repeats} repeats, "
               f"{calls} predict calls, {len(test) - LOOKBACK - HORIZON + 1} rolling forecasts; seed 0")
    with section(args.out, "kernel_speed", args.quick, "Kernels", details, frame) as f:
        f.write(markdown_table(frame) + "\n\n")
        f.write("\n".join(f"- {line}" for line in summary) + "\n")
        f.write("- trainer-free rolling forecasts vs Lightning's, max |difference|: "
                + ", ".join(f"{cell} {d:.1e}" for cell, d in differences.items()) + "\n")


if __name__ == "__main__":
    main()
