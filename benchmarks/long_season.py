"""Long horizons keep the season: Jena weather in hours, a 720-step horizon, every component.

The 21 Jena variables of 2020 (``../shared/datasets/weather``), averaged to hours and
left in their own units, are forecast 720 hours (30 days) ahead by one global default
forecaster (only ``input_chunk_length``, ``output_chunk_length``, ``n_epochs`` and a
seed set): the review that opened issue #35 found the solar-radiation components
(SWDR, PAR, max. PAR) forecast as a damped, nearly flat level, MASE 1.48-1.58 against
0.29-0.33 for seasonal naive. Here each component is scored by MASE (in-sample scale:
the seasonal naive error with m = 24) over rolling 720-hour forecasts that start every
``--stride`` hours in the last 20 % of the year, against the seasonal-naive (m = 24)
and naive forecasts; a component *loses* when the better cell's MASE over the seeds is
above the better baseline's beyond noise (one-sample t-test, p < 0.05).

Commands (2 CPU cores)::

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks long_season                  # 3 seeds, both cells
    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks long_season --seeds 0 --cells gru --epochs 1

Writes ``benchmarks/results/long_season.csv`` (one row per model, seed and component)
and ``long_season.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from darts.models import NaiveSeasonal  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks import quiet  # noqa: E402
from rnn_forecast import RNNForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather  # noqa: E402
from rnn_forecast.tools.testing import QUIET_TRAINER  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HORIZON, SEASON = 720, 24


def hourly_weather(data_dir=None):
    """The 21 Jena variables of 2020, hourly means, whole hours only."""
    ten_minute = load_weather(data_dir).target
    hourly = ten_minute.resample("h", method="mean")
    return hourly[1:-1].astype(np.float32)  # the first and last hours are partial


def score(forecasts, series, train_end: int) -> pd.Series:
    """Per-component MASE over all forecast windows; scale: the training part's seasonal naive error."""
    train = series.values(copy=False)[:train_end].astype(np.float64)
    scale = np.abs(train[SEASON:] - train[:-SEASON]).mean(axis=0)
    errors = [np.abs(f.values(copy=False) - series.slice_intersect(f).values(copy=False)).mean(axis=0)
              for f in forecasts]
    return pd.Series(np.mean(errors, axis=0) / scale, index=series.components)


def run(args) -> pd.DataFrame:
    series = hourly_weather(args.data_dir)
    train_end = int(len(series) * 0.8)
    start = series.time_index[train_end]
    kwargs = dict(start=start, forecast_horizon=HORIZON, stride=args.stride, last_points_only=False,
                  overlap_end=False, verbose=False)
    frames = []
    for name, model in [("SeasonalNaive(24)", NaiveSeasonal(K=SEASON)), ("Naive", NaiveSeasonal(K=1))]:
        forecasts = model.historical_forecasts(series, retrain=True, **kwargs)
        frames.append(pd.DataFrame({"model": name, "seed": np.nan, "component": series.components,
                                    "mase": score(forecasts, series, train_end).values}))
        print(f"{name}: {len(forecasts)} windows", flush=True)
    for cell in args.cells:
        for seed in args.seeds:
            began = time.perf_counter()
            model = RNNForecaster(input_chunk_length=args.lookback, output_chunk_length=HORIZON, cell=cell,
                                  n_epochs=args.epochs, random_state=seed, pl_trainer_kwargs=QUIET_TRAINER,
                                  **args.options)
            model.fit(series[:train_end])
            fit_s = time.perf_counter() - began
            forecasts = model.historical_forecasts(series, retrain=False, **kwargs)
            mases = score(forecasts, series, train_end)
            frames.append(pd.DataFrame({"model": f"{cell.upper()}Forecaster", "seed": seed,
                                        "component": series.components, "mase": mases.values, "fit_s": fit_s,
                                        "season": model.model.season or [None] * series.width}))
            print(f"{cell} seed {seed}: fit {fit_s:.0f} s, mean MASE {mases.mean():.3f}", flush=True)
    return pd.concat(frames, ignore_index=True)


def verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for component, part in rows.groupby("component", sort=False):
        base = part[part["seed"].isna()].set_index("model")["mase"]
        best_base = base.idxmin()
        ours = part[part["seed"].notna()]
        means = ours.groupby("model")["mase"].mean()
        best = means.idxmin()
        values = ours[ours["model"] == best]["mase"].to_numpy()
        p = stats.ttest_1samp(values, base[best_base]).pvalue if len(values) > 1 and values.std() > 0 else np.nan
        diff = means[best] - base[best_base]
        worse = diff > 0 and (p < 0.05 or (np.isnan(p) and len(values) == 1))
        better = diff < 0 and p < 0.05
        seasons = ours[ours["model"] == best]["season"].iloc[0]
        out.append({"component": component, "season (ours)": seasons, **{m: means[m] for m in means.index},
                    **{m: base[m] for m in base.index}, "best baseline": best_base, "ours": best,
                    "ratio": means[best] / base[best_base], "p": p,
                    "verdict": "beats" if better else ("LOSES to" if worse else "ties")})
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, args, seconds: float) -> str:
    models = [c for c in table.columns if c.endswith("Forecaster")] + ["SeasonalNaive(24)", "Naive"]
    lines = ["# Long horizons keep the season: Jena weather, hourly, horizon 720", "",
             f"Produced by `python -m benchmarks long_season {' '.join(args.argv)}` ({seconds:.0f} s; "
             f"lookback {args.lookback}, {args.epochs} epochs, seeds {args.seeds}, a forecast every "
             f"{args.stride} hours over the last 20 % of 2020; raw units). MASE per component "
             "(scale: the seasonal naive error, m = 24, over the training part), mean over seeds; the "
             "verdict compares the better cell with the better baseline (one-sample t-test over seeds, "
             "p < 0.05).", "",
             "| component | season (ours) | " + " | ".join(models) + " | ratio | verdict |",
             "|---|---|" + "---|" * len(models) + "---|---|"]
    for _, r in table.iterrows():
        cells = " | ".join(f"{r[m]:.3f}" for m in models)
        p = "" if np.isnan(r["p"]) else f" (p={r['p']:.2g})"
        lines.append(f"| {r['component']} | {r['season (ours)']} | {cells} | {r['ratio']:.3f} | "
                     f"{r['verdict']} {r['best baseline']}{p} |")
    counts = table["verdict"].value_counts()
    lines += ["", f"Components: {counts.get('beats', 0)} beat the better baseline beyond noise, "
              f"{counts.get('ties', 0)} tie, {counts.get('LOSES to', 0)} lose.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--lookback", type=int, default=336)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--stride", type=int, default=24, help="hours between forecast origins")
    parser.add_argument("--season", default="auto", help="our forecasters' season ('auto', an int or 'none')")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.options = {} if args.season == "auto" else {"season": None if args.season == "none" else int(args.season)}
    quiet()
    import torch

    torch.set_num_threads(1)
    began = time.perf_counter()
    rows = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "long_season" if not args.options else f"long_season_season_{args.season}"
    rows.to_csv(out / f"{stem}.csv", index=False, float_format="%.6g")
    text = markdown(verdicts(rows), args, time.perf_counter() - began)
    (out / f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
