"""Which kernel ``rnn_backend="auto"`` should run on CPU: an interleaved A/B per cell.

The same forecaster with its defaults (``input_chunk_length``, ``output_chunk_length=96``,
``n_epochs=1``, ``random_state=0``) is timed with ``rnn_backend="fused"`` (our numba
kernels, :mod:`rnn_forecast.nn.recurrence`) and ``rnn_backend="torch"`` (``torch.nn``, that
is oneDNN's kernels on CPU), the two taking turns so that a drift of the machine hits
both alike. Weather data, lookbacks 96, 336 and 720:

* ``fit``: one epoch over the most recent ``--windows`` training windows, ``--repeats``
  pairs;
* ``historical_forecasts(retrain=False, stride=1)`` over the first ``--rolling`` test
  windows, ``--repeats`` pairs;
* ``predict(96)`` of one series: ``--repeats`` pairs of blocks of 50 calls, the median
  of each block.

For each pair the time ratio torch.nn / fused is taken (above 1: the fused kernel is
faster); the table gives the median ratio over the pairs and its range. A backend is
called faster only where every pair agrees.

Run: ``python -m benchmarks backend_ab`` (about 2 minutes on 2 CPU cores; ``--quick``: 256
windows, 300 rolling forecasts, 2 pairs), or as one section of ``python -m
benchmarks speed``. Results:
``benchmarks/results/backend_ab.csv`` and ``backend_ab.md``; docs/speed.md explains them.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")

from benchmarks.default_speed import HORIZON  # noqa: E402
from benchmarks.tables import markdown_table, section  # noqa: E402
from benchmarks.versus_darts import TRAINER, timed  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather, ltsf_split  # noqa: E402

BACKENDS = ("fused", "torch")
RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = {"LSTM": LSTMForecaster, "GRU": GRUForecaster}


def seconds(fn) -> float:
    return timed(fn)[0][0]


def measure(cell: str, lookback: int, data, windows: int, rolling: int, repeats: int) -> list[dict]:
    """``[{cell, lookback, measure, backend, pair, seconds}]`` for both backends, interleaved."""
    split = ltsf_split(data.target, "weather", lookback=lookback)
    test = split.test[: lookback + rolling + HORIZON - 1]

    def make(backend):
        return CLASSES[cell](input_chunk_length=lookback, output_chunk_length=HORIZON, n_epochs=1,
                             random_state=0, rnn_backend=backend, pl_trainer_kwargs=dict(TRAINER))

    models = {}
    for backend in BACKENDS:  # warm-up: numba caches, oneDNN primitives
        models[backend] = make(backend).fit(split.train, max_samples_per_ts=64)
        models[backend].predict(HORIZON, series=split.val)
    rows = []

    def record(measure_name, pair, backend, value):
        rows.append({"cell": cell, "lookback": lookback, "measure": measure_name, "backend": backend,
                     "pair": pair, "seconds": value})

    for pair in range(repeats):
        order = BACKENDS if pair % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            model = make(backend)
            record("fit (1 epoch)", pair, backend,
                   seconds(lambda: model.fit(split.train, max_samples_per_ts=windows)))
            models[backend] = model
        for backend in order:
            model = models[backend]
            record("historical_forecasts", pair, backend, seconds(lambda: model.historical_forecasts(
                test, start=lookback, start_format="position", forecast_horizon=HORIZON, stride=1,
                retrain=False, verbose=False)))
        for backend in order:
            model = models[backend]
            calls = [seconds(lambda: model.predict(HORIZON, series=split.val)) for _ in range(50)]
            record("predict(96), 1 series", pair, backend, statistics.median(calls))
    return rows


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell, lookback and measure: median seconds of each backend, ratio over pairs."""
    out = []
    for (cell, lookback, measure_name), group in frame.groupby(["cell", "lookback", "measure"], sort=False):
        wide = group.pivot(index="pair", columns="backend", values="seconds")
        ratio = wide["torch"] / wide["fused"]
        faster = "fused" if (ratio > 1).all() else "torch.nn" if (ratio < 1).all() else "neither (pairs disagree)"
        scale, unit = (1e3, "ms") if measure_name.startswith("predict") else (1.0, "s")
        out.append({"cell": cell, "lookback": lookback, "measure": f"{measure_name}, {unit}",
                    "fused": scale * wide["fused"].median(), "torch.nn": scale * wide["torch"].median(),
                    "torch.nn / fused, median": ratio.median(),
                    "range over pairs": f"{ratio.min():.2f}-{ratio.max():.2f}",
                    "faster in every pair": faster})
    return pd.DataFrame(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CLASSES), choices=list(CLASSES))
    parser.add_argument("--lookbacks", type=int, nargs="+", default=[96, 336, 720])
    parser.add_argument("--windows", type=int, default=2048)
    parser.add_argument("--rolling", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="256 windows, 300 rolling forecasts, 2 pairs")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.windows, args.rolling, args.repeats = 256, 300, 2

    data = load_weather(args.data_dir, raw_order=True)
    started, rows = time.perf_counter(), []
    for lookback in args.lookbacks:
        for cell in args.cells:
            rows += measure(cell, lookback, data, args.windows, args.rolling, args.repeats)
            print(summarize(pd.DataFrame(rows)).tail(3).to_string(index=False), flush=True)
    frame = pd.DataFrame(rows)
    summary = summarize(frame)
    print("\n" + summary.to_string(index=False))
    details = (f"defaults, Weather, horizon 96, fit over {args.windows} windows, "
               f"historical_forecasts over {args.rolling} windows, predict: median of 50 calls; "
               f"{args.repeats} interleaved pairs each; seed 0; {time.perf_counter() - started:.0f} s in all")
    with section(args.out, "backend_ab", args.quick, "`rnn_backend`, fused against torch.nn", details, frame) as f:
        f.write("torch.nn time / fused time per pair (above 1: the fused kernel is faster):\n\n"
                + markdown_table(summary) + "\n")


if __name__ == "__main__":
    main()
