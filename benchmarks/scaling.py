"""How the cost of ``fit`` grows: series count, series length and lookback, on log-log axes.

Each sweep fits a default ``LSTMForecaster`` and ``GRUForecaster`` (``output_chunk_length``
24, one epoch, batch 32) and records the wall seconds of ``fit`` and the peak resident
memory it added (Linux ``VmHWM`` above the start,
:func:`rnn_forecast.evaluation.costs.measure`). The slope of log(cost) against log(size) is fitted
by least squares: 1 means linear, 0 means flat.

- **series**: 1, 10, 100 and 1,000 stock series as one global model (the daily closes
  of the 501 tickers with at least 200 days, each split into its two halves for 1,000),
  lookback 30, the most recent 128 windows of every series.
- **length**: one univariate series of 10k, 50k and 200k ten-minute steps (the Weather
  components laid end to end), lookback 96, every window.
- **lookback**: 96 to 2,880 steps of Weather's temperature, the most recent 2,048
  training windows; Darts' ``BlockRNNModel(model="LSTM")`` with its defaults alongside
  for reference (it steps through every input step; ours through segments).

Run: ``python -m benchmarks scaling`` (about 3-5 minutes on 2 CPU cores; ``--quick``:
up to 100 series of 32 windows, lengths 4k and 10k, lookbacks up to 720 with 512
windows), or as one section of ``python -m benchmarks speed``.
Results: ``benchmarks/results/scaling.csv``/``.md`` and ``benchmarks/plots/scaling.png``.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from darts import TimeSeries  # noqa: E402
from darts.models import BlockRNNModel  # noqa: E402

from benchmarks.tables import markdown_table, section  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_stocks, load_weather  # noqa: E402
from rnn_forecast.evaluation.costs import measure  # noqa: E402

for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
    logging.getLogger(name).setLevel(logging.ERROR)

HORIZON, BATCH = 24, 32
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False, "enable_checkpointing": False}
HERE = Path(__file__).resolve().parent
MODELS = {
    "ours LSTM": lambda **kw: LSTMForecaster(**kw),
    "ours GRU": lambda **kw: GRUForecaster(**kw),
    "darts BlockRNN LSTM": lambda **kw: BlockRNNModel(model="LSTM", **kw),
}


def fit_cost(name: str, series, lookback: int, max_samples: int | None) -> dict:
    model = MODELS[name](input_chunk_length=lookback, output_chunk_length=HORIZON, n_epochs=1,
                         batch_size=BATCH, random_state=0, pl_trainer_kwargs=dict(TRAINER))
    with measure("cpu") as cost:
        model.fit(series, max_samples_per_ts=max_samples)
    windows = model.trainer.global_step * BATCH
    return {"model": name, "fit_s": cost.seconds, "peak_added_mb": cost.peak_mb, "windows": windows}


def stock_series(data_dir, count: int) -> list[TimeSeries]:
    tickers = [s for s in load_stocks(data_dir=data_dir).target if len(s) >= 200]
    halves = [half for s in tickers for half in (s[: len(s) // 2], s[len(s) // 2:])]
    chosen = tickers[:count] if count <= len(tickers) else halves[:count]
    return [s.astype(np.float32) for s in chosen]


def long_series(data_dir, length: int) -> TimeSeries:
    weather = load_weather(data_dir).target
    values = weather.values(copy=False).T.reshape(-1)[:length]  # components end to end
    index = pd.date_range("2000-01-01", periods=len(values), freq="10min")
    return TimeSeries.from_times_and_values(index, values.astype(np.float32), columns=["value"])


def sweeps(data_dir, quick: bool) -> list[dict]:
    rows = []
    counts = [1, 10, 100] if quick else [1, 10, 100, 1000]
    per_series = 32 if quick else 128
    lengths = [4_000, 10_000] if quick else [10_000, 50_000, 200_000]
    lookbacks = [96, 288, 720] if quick else [96, 288, 720, 1440, 2880]
    per_lookback = 512 if quick else 2048
    warm = stock_series(data_dir, 2)
    for name in MODELS:  # warm-up: numba caches, oneDNN primitives
        fit_cost(name, warm, 30, 8)
    for count in counts:
        series = stock_series(data_dir, count)
        for name in ("ours LSTM", "ours GRU"):
            rows.append({"sweep": "series", "size": count, **fit_cost(name, series, 30, per_series)})
            print(rows[-1], flush=True)
    for length in lengths:
        series = long_series(data_dir, length)
        for name in ("ours LSTM", "ours GRU"):
            rows.append({"sweep": "length", "size": length, **fit_cost(name, series, 96, None)})
            print(rows[-1], flush=True)
    temperature = load_weather(data_dir).target["T (degC)"].astype(np.float32)
    for lookback in lookbacks:
        for name in MODELS:
            rows.append({"sweep": "lookback", "size": lookback, **fit_cost(name, temperature, lookback, per_lookback)})
            print(rows[-1], flush=True)
    return rows


def slopes(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (sweep, name), group in frame.groupby(["sweep", "model"], sort=False):
        x = np.log(group["size"].to_numpy(float))
        time_slope = np.polyfit(x, np.log(group["fit_s"]), 1)[0]
        per_window = group["fit_s"] / group["windows"]
        memory = group["peak_added_mb"].clip(lower=1.0)  # below 1 MB is sampling noise
        out.append({"sweep": sweep, "model": name, "sizes": ", ".join(str(s) for s in group["size"]),
                    "time slope": time_slope, "memory slope": np.polyfit(x, np.log(memory), 1)[0],
                    "µs per window": ", ".join(f"{1e6 * v:.0f}" for v in per_window),
                    "peak MB": ", ".join(f"{v:.0f}" for v in group["peak_added_mb"])})
    return pd.DataFrame(out)


def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    titles = {"series": "number of series", "length": "series length (steps)", "lookback": "lookback (steps)"}
    for column, sweep in enumerate(titles):
        part = frame[frame["sweep"] == sweep]
        for name, group in part.groupby("model", sort=False):
            axes[0, column].loglog(group["size"], group["fit_s"], marker="o", label=name)
            axes[1, column].loglog(group["size"], group["peak_added_mb"].clip(lower=0.5), marker="o", label=name)
        axes[0, column].set_title(titles[sweep])
        axes[1, column].set_xlabel(titles[sweep])
    axes[0, 0].set_ylabel("fit seconds (1 epoch)")
    axes[1, 0].set_ylabel("peak memory added (MB)")
    axes[0, 2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--plots", type=Path, default=HERE / "plots")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = pd.DataFrame(sweeps(args.data_dir, args.quick))
    table = slopes(frame)
    print(table.to_string(index=False))
    args.plots.mkdir(parents=True, exist_ok=True)
    plot(frame, args.plots / "scaling.png")
    details = f"seed 0, one epoch, batch {BATCH}, horizon {HORIZON}; {time.perf_counter() - started:.0f} s in all"
    with section(args.out, "scaling", args.quick, "How cost grows", details, frame) as f:
        f.write("Slopes of log(cost) against log(size), least squares (1 = linear):\n\n")
        f.write(markdown_table(table) + "\n\n"
                f"![scaling]({os.path.relpath(args.plots / 'scaling.png', args.out)})\n\n")
        f.write("All measurements:\n\n" + markdown_table(frame) + "\n")


if __name__ == "__main__":
    main()
