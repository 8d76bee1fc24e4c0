"""What a user waits for: our forecasters with their defaults against BlockRNNModel with its.

Both sides get only what a user would write: ``input_chunk_length``,
``output_chunk_length=96``, ``n_epochs=1``, ``random_state`` and a quiet trainer. Darts'
side is ``BlockRNNModel(model="LSTM")`` or ``model="GRU"`` (its other defaults: hidden 25,
point-wise over every input step, batch 32, MSE). Ours are ``LSTMForecaster`` and
``GRUForecaster`` as shipped (segment-wise, parallel decoder, channel independence,
level/scale normalization, hidden 64, L1). The accuracy of these defaults is measured
elsewhere (README, docs/defaults.md); this script measures time only, in one process,
the contenders interleaved, as ratios against Darts in the same run:

* ``fit``: one epoch over the same training windows of the Weather training part
  (``max_samples_per_ts`` windows, the most recent ones, for both), median of repeats;
* ``historical_forecasts(retrain=False, stride=1)`` over the whole Weather test part
  (10,444 forecasts of 96 steps x 21 components); ours is also run through a Lightning
  ``Trainer`` (Darts' own prediction path) and the two must agree;
* ``predict(96)`` of one series, median of many calls.

Each is measured at lookbacks 96, 336 and 720. Ours also runs with ``rnn_backend="torch"``
(torch.nn's oneDNN kernels instead of our fused numba ones): the "torch.nn / fused"
column is the time ratio of the two (above 1: the fused kernels are faster).

Run: ``python -m benchmarks default_speed`` (about 5-8 minutes on 2 CPU cores; ``--quick``:
fewer windows, repeats and calls, the first 1,000 rolling forecasts), or as one section of
``python -m benchmarks speed``. Results: ``benchmarks/results/default_speed.csv`` and ``default_speed.md``;
docs/speed.md explains them.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel  # noqa: E402

from benchmarks import versus_darts as vs  # noqa: E402
from benchmarks.tables import markdown_table, section  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather, ltsf_split  # noqa: E402

vs.quiet_loggers()

HORIZON = 96
RESULTS = Path(__file__).resolve().parent / "results"
OURS = {"LSTM": LSTMForecaster, "GRU": GRUForecaster}


def contenders(cell: str, lookback: int) -> dict:
    """Constructors of both sides for one cell, with nothing but the user's arguments."""
    common = dict(input_chunk_length=lookback, output_chunk_length=HORIZON, n_epochs=1, random_state=0,
                  pl_trainer_kwargs=dict(vs.TRAINER))
    return {
        f"darts BlockRNN {cell}": lambda: BlockRNNModel(model=cell, **common),
        f"ours {cell}": lambda: OURS[cell](**common),
        # the same model on torch.nn's kernels (oneDNN), to choose the "auto" backend
        f"ours {cell} (torch.nn)": lambda: OURS[cell](rnn_backend="torch", **common),
    }


def measure(lookback: int, windows: int, repeats: int, calls: int, data,
            forecasts: int | None = None) -> tuple[list[dict], dict]:
    """Rows of timings at one lookback, and the max |difference| of the two rolling paths.

    ``forecasts``: the number of rolling forecasts, from the start of the test part
    (``None``: all of them).
    """
    split = ltsf_split(data.target, "weather", lookback=lookback)
    test = split.test if forecasts is None else split.test[: lookback + HORIZON - 1 + forecasts]
    makers = {**contenders("LSTM", lookback), **contenders("GRU", lookback)}
    fit_s, _, fitted = vs.fit_in_turns(makers, split.train, windows, repeats, warm_up_windows=64)
    rows = [{"lookback": lookback, "measure": "fit s (1 epoch)", "model": name,
             "value": statistics.median(s), "repeats": len(s), "windows": windows}
            for name, s in fit_s.items()]

    agreement = {}
    rolled = {name: model for name, model in fitted.items() if not name.endswith("(torch.nn)")}
    vs.warm_up_rolling(rolled, split.test, lookback, HORIZON)
    for name, model in rolled.items():
        (seconds,), _, out = vs.timed(lambda model=model: model.historical_forecasts(
            test, **vs.rolling_kwargs(lookback, HORIZON)))
        rows.append({"lookback": lookback, "measure": "historical_forecasts s", "model": name,
                     "value": seconds, "repeats": 1, "windows": len(out)})
        if name.startswith("ours"):  # the same forecasts through Darts' Lightning path
            slow_s, count, agreement[name] = vs.through_lightning(model, test, lookback, HORIZON, out)
            rows.append({"lookback": lookback, "measure": "historical_forecasts s",
                         "model": name + " (Lightning trainer)", "value": slow_s, "repeats": 1, "windows": count})

    for name, (median, _) in vs.predict_latency(fitted, split.val, HORIZON, calls).items():
        rows.append({"lookback": lookback, "measure": "predict ms (1 series, n=96)", "model": name,
                     "value": 1e3 * median, "repeats": calls, "windows": 1})
    return rows, agreement


def ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """Darts' time over ours, per lookback, cell and measure (above 1: ours is faster)."""
    out = []
    for (lookback, measure), group in frame.groupby(["lookback", "measure"], sort=False):
        value = dict(zip(group["model"], group["value"]))
        for cell in ("LSTM", "GRU"):
            out.append({"lookback": lookback, "measure": measure, "cell": cell,
                        "darts": value[f"darts BlockRNN {cell}"], "ours": value[f"ours {cell}"],
                        "darts / ours": value[f"darts BlockRNN {cell}"] / value[f"ours {cell}"],
                        "torch.nn / fused": value.get(f"ours {cell} (torch.nn)", np.nan) / value[f"ours {cell}"]})
    return pd.DataFrame(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer windows, repeats and calls")
    parser.add_argument("--lookbacks", type=int, nargs="+", default=[96, 336, 720])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    windows, repeats, calls, forecasts = (256, 1, 10, 1000) if args.quick else (4096, 3, 100, None)

    data = load_weather(args.data_dir, raw_order=True)
    rows, agreement = [], {}
    started = time.perf_counter()
    for lookback in args.lookbacks:
        new_rows, new_agreement = measure(lookback, windows, repeats, calls, data, forecasts)
        rows += new_rows
        agreement.update({(lookback, k): v for k, v in new_agreement.items()})
        print(pd.DataFrame(new_rows).to_string(index=False), flush=True)
    frame = pd.DataFrame(rows)
    summary = ratios(frame)

    print("\n" + summary.to_string(index=False))
    print("agreement:", agreement)
    details = (f"{'quick' if args.quick else 'full'} run: fit over {windows} training windows x {repeats} "
               f"repeats (median), {calls} predict calls (median), "
               f"{'the first ' + str(forecasts) if forecasts else 'all'} rolling forecasts of the test part, "
               f"seed 0; {time.perf_counter() - started:.0f} s in all")
    with section(args.out, "default_speed", args.quick, "Default against default", details, frame) as f:
        f.write("Darts' time over ours (above 1: ours is faster):\n\n")
        f.write(markdown_table(summary) + "\n\n")
        f.write("Our trainer-free rolling forecasts against the same model through a Lightning "
                "trainer, max |difference|: "
                + ", ".join(f"L={lb} {name} {d:.1e}" for (lb, name), d in agreement.items()) + "\n\n")
        f.write("All measurements:\n\n" + markdown_table(frame) + "\n")


if __name__ == "__main__":
    main()
