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
import logging
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel  # noqa: E402

from benchmarks.tables import markdown_table, section  # noqa: E402
from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather, ltsf_split  # noqa: E402
from rnn_forecast.evaluation.costs import measure  # noqa: E402

for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
    logging.getLogger(name).setLevel(logging.ERROR)

LOOKBACK, HORIZON, HIDDEN, BATCH = 96, 96, 64, 64
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False, "enable_checkpointing": False}
RESULTS = Path(__file__).resolve().parent / "results"


def models(cell: str, seed: int) -> dict:
    """Darts' BlockRNNModel and ours at the same sizes (ours also with plain torch.nn).

    Ours run the point-wise architecture (``**POINTWISE``, Darts' MSE loss), the one
    BlockRNNModel has, so that the ratio measures the kernels, not the design.
    """
    common = dict(input_chunk_length=LOOKBACK, output_chunk_length=HORIZON, hidden_dim=HIDDEN,
                  batch_size=BATCH, n_epochs=1, random_state=seed, pl_trainer_kwargs=TRAINER)
    ours = LSTMForecaster if cell == "lstm" else GRUForecaster
    same = dict(POINTWISE, loss_fn=torch.nn.MSELoss())
    return {
        f"darts BlockRNN {cell.upper()}": lambda: BlockRNNModel(model=cell.upper(), **common),
        f"ours {cell.upper()}": lambda: ours(**same, **common),
        f"ours {cell.upper()} (torch.nn)": lambda: ours(rnn_backend="torch", **same, **common),
    }


def timed(fn, repeats: int = 1):
    """Wall seconds of each call, and the peak memory the calls added.

    One memory measurement spans all the calls: its set-up (a full garbage collection,
    a third of a second) must not come before every call of a millisecond.
    """
    seconds = []
    with measure("cpu") as mem:
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            seconds.append(time.perf_counter() - start)
    return seconds, mem.peak_mb, out


def training(train, windows: int, repeats: int) -> tuple[list[dict], dict]:
    """Rows of training throughput, and the models of the last repeat, fitted."""
    rows, factories, fitted = [], {**models("lstm", 0), **models("gru", 0)}, {}
    for make in factories.values():  # warm-up: imports, kernel compilation caches
        make().fit(train, max_samples_per_ts=2 * BATCH)
    runs = {name: [] for name in factories}
    memory = {}
    for _ in range(repeats):
        for name, make in factories.items():  # interleaved, so drifts hit all models alike
            model = fitted[name] = make()
            seconds, memory[name], _ = timed(lambda: model.fit(train, max_samples_per_ts=windows))
            runs[name] += seconds
    for name, seconds in runs.items():
        best = min(seconds)
        rows.append({"measure": "train windows/s", "model": name, "value": windows / best,
                     "seconds": best, "median_s": statistics.median(seconds),
                     "repeats": len(seconds), "peak_added_mb": memory[name]})
    return rows, fitted


def prediction(fitted: dict, series, calls: int) -> list[dict]:
    rows = []
    for name, model in fitted.items():
        model.predict(HORIZON, series=series)  # warm-up
        seconds, mem, _ = timed(lambda: model.predict(HORIZON, series=series), calls)
        rows.append({"measure": "predict ms (1 series, n=96)", "model": name,
                     "value": 1e3 * statistics.median(seconds), "seconds": statistics.median(seconds),
                     "median_s": statistics.median(seconds), "repeats": calls, "peak_added_mb": mem})
    return rows


def rolling(fitted: dict, test) -> list[dict]:
    """Time ``historical_forecasts`` over every window of ``test``, both output layouts."""
    rows, outputs = [], {}
    kwargs = dict(start=LOOKBACK, start_format="position", forecast_horizon=HORIZON, stride=1, retrain=False,
                  verbose=False)
    models = {name: model for name, model in fitted.items() if "(torch.nn)" not in name}
    for model in models.values():  # the first rolling call pays one-off set-up costs
        model.historical_forecasts(test[: LOOKBACK + 2 * HORIZON], **kwargs)
    for last_points_only in (True, False):
        for name, model in models.items():
            seconds, mem, out = timed(lambda: model.historical_forecasts(
                test, last_points_only=last_points_only, **kwargs))
            count = len(out) if isinstance(out, list) else len(out)
            rows.append({"measure": f"historical_forecasts s (last_points_only={last_points_only})",
                         "model": name, "value": seconds[0], "seconds": seconds[0],
                         "median_s": seconds[0], "repeats": 1, "peak_added_mb": mem,
                         "forecasts": count})
            outputs[(name, last_points_only)] = out
    return rows


def check_identical(model, test) -> float:
    """Max |difference| between our trainer-free rolling forecasts and Lightning's."""
    import pytorch_lightning as pl

    kwargs = dict(start=LOOKBACK, start_format="position", forecast_horizon=HORIZON, stride=1,
                  retrain=False, verbose=False)
    fast = model.historical_forecasts(test, **kwargs)
    slow = model.historical_forecasts(
        test, **kwargs, predict_kwargs={"trainer": pl.Trainer(**TRAINER)})
    return float(np.abs(fast.values() - slow.values()).max())


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
    rows += rolling(fitted, test)
    differences = {cell: check_identical(fitted[f"ours {cell}"], test) for cell in ("LSTM", "GRU")}

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
