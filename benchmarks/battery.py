"""Out of the box: the default forecasters on raw series of many kinds, against naive.

Every case is a real series in its own units (no ``Scaler``), and every trained model
is built with only ``input_chunk_length``, ``output_chunk_length``, ``n_epochs`` and a
seed, as a new user would: our ``LSTMForecaster``/``GRUForecaster`` and Darts'
``BlockRNNModel`` (LSTM and GRU) with the same settings. The last ``test_size`` of each
series is forecast in non-overlapping ``horizon``-step windows by Darts'
``historical_forecasts`` (trained models fitted once; the naive baselines refitted at
every origin), and scored by MASE (scale: the in-sample seasonal naive error with the
case's season ``m``). The data come from ``../shared/datasets`` (also resampled and
sliced) and from ``statsmodels.datasets``, which ships with Darts' dependencies; nothing
is downloaded and nothing is written but the results.

A case *passes* when the better of our two cells beats the best naive forecast
(seasonal naive or naive) by MASE over the seeds (Welch's p < 0.05 against the
deterministic baseline); on a random walk, where no model can beat the naive forecast
on average, it passes when it ties it: within 2 % of its MASE, and it is reported as
a tie, or as a loss when worse.

Commands (2 CPU cores; ``--cases`` picks a subset, ``--seeds`` the seeds)::

    RNN_FORECAST_DATA=../shared/datasets python benchmarks/battery.py
    RNN_FORECAST_DATA=../shared/datasets python benchmarks/battery.py --cases co2-weekly --seeds 0

Writes ``benchmarks/results/battery.csv`` (one row per case, model and seed; a rerun of
some cases replaces their rows) and ``benchmarks/results/battery.md``. With
``--normalization level`` (or ``mean_scale``, ``none``) our forecasters get that
normalization instead of the default, and the results go to ``battery_level.csv``/``.md``
(``battery_mean_scale``...): the raw-data side of the normalization comparison in
docs/defaults.md::

    python benchmarks/battery.py --normalization level --no-block-rnn \
        --cases elnino-monthly sunspots-yearly-short gdp-quarterly-short

``--global-level on`` (or ``off``) forces our forecasters' ``global_level`` instead of
the default ``"auto"``; results in ``battery_global_level_on.csv``/``.md`` (``_off``).
``--hidden-dim N`` and ``--lr X`` change our forecasters' capacity and learning rate
(results in ``battery_hidden_N``/``battery_lr_X``): does a default overfit the short
series?
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from darts import TimeSeries

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel  # noqa: E402

from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.evaluation.contenders import DartsTorchContender, baselines  # noqa: E402
from rnn_forecast.evaluation.scoring import evaluate, quiet  # noqa: E402
from rnn_forecast.evaluation.task import Setup, custom_task  # noqa: E402
from rnn_forecast.evaluation.verdict import mean_std, versus_best_baseline  # noqa: E402
from rnn_forecast.global_level import stationary_components  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: A random-walk case ties the naive forecast when its MASE is within this factor of it.
TIE_TOLERANCE = 1.02


@dataclass(frozen=True)
class Case:
    """One raw series and how it is forecast.

    Attributes
    ----------
    name
        Row label.
    kind
        What the series is, in words.
    load
        ``data_dir -> TimeSeries`` in the data's own units.
    lookback, horizon
        ``input_chunk_length`` and ``output_chunk_length``.
    season
        ``m`` of MASE and of the seasonal naive baseline (1: naive only).
    epochs
        ``n_epochs``.
    test_size
        Fraction of the series forecast (non-overlapping windows).
    random_walk
        A series where the naive forecast is the honest best (a tie passes).
    """

    name: str
    kind: str
    load: Callable[[str | None], TimeSeries]
    lookback: int
    horizon: int
    season: int
    epochs: int
    test_size: float = 0.2
    random_walk: bool = False


def _ts(values: pd.Series, freq: str | None = None) -> TimeSeries:
    values = values.astype("float32")
    return TimeSeries.from_series(values, freq=freq)


def _etth1_load(data_dir, rule=None, last=None):
    from rnn_forecast.datasets import load_etth1

    hufl = load_etth1(data_dir).target["HUFL"].to_series()
    if rule:
        hufl = hufl.resample(rule).mean()
    return _ts(hufl.iloc[-last:] if last else hufl)


def _traffic(data_dir, rule=None, last=None):
    from rnn_forecast.datasets import load_traffic

    volume = load_traffic(data_dir).target.to_series()
    if rule:
        counts = volume.resample(rule).count()
        volume = volume.resample(rule).sum()[counts == counts.max()]  # whole periods only
        volume = volume.asfreq(rule)
    return _ts(volume.iloc[-last:] if last else volume)


def _temperature(data_dir, rule, last):
    from rnn_forecast.datasets import load_weather

    t = load_weather(data_dir, columns=["T (degC)"]).target.to_series()
    return _ts(t.resample(rule).mean().iloc[-last:])


def _stock(data_dir, ticker, rule=None):
    from rnn_forecast.datasets import load_stocks

    close = load_stocks(tickers=[ticker], fields=("close",), data_dir=data_dir).target[0].to_series()
    if rule:
        close = close.resample(rule).last()
    return _ts(close)


def _statsmodels(name):
    import statsmodels.api as sm

    if name == "co2":  # weekly, Saturdays, with a few missing weeks: linear interpolation
        data = sm.datasets.co2.load_pandas().data["co2"]
        return _ts(data.asfreq("W-SAT").interpolate())
    if name == "elnino":  # one row per year, one column per month
        wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
        values = wide.to_numpy().ravel()
        index = pd.date_range(f"{int(wide.index[0])}-01-01", periods=values.size, freq="MS")
        return _ts(pd.Series(values, index=index))
    if name == "sunspots":
        data = sm.datasets.sunspots.load_pandas().data
        index = pd.date_range(f"{int(data.YEAR.iloc[0])}-01-01", periods=len(data), freq="YS")
        return _ts(pd.Series(data.SUNACTIVITY.to_numpy(), index=index))
    if name == "realgdp":
        data = sm.datasets.macrodata.load_pandas().data
        index = pd.date_range("1959-01-01", periods=len(data), freq="QS")
        return _ts(pd.Series(data.realgdp.to_numpy(), index=index))
    raise ValueError(name)


CASES = [
    Case("load-hourly", "ETTh1 high useful load (HUFL, MW), hourly, last 24 weeks",
         lambda d: _etth1_load(d, last=24 * 7 * 24), lookback=168, horizon=24, season=24, epochs=10),
    Case("traffic-hourly", "I-94 traffic volume (vehicles/h), hourly, last 24 weeks",
         lambda d: _traffic(d, last=24 * 7 * 24), lookback=168, horizon=24, season=168, epochs=10),
    Case("temperature-30min", "Jena air temperature (degC), half-hourly means, last 12 weeks",
         lambda d: _temperature(d, "30min", 12 * 7 * 48), lookback=96, horizon=48, season=48, epochs=10),
    Case("traffic-daily", "I-94 traffic volume (vehicles/day), daily totals",
         lambda d: _traffic(d, "D"), lookback=28, horizon=7, season=7, epochs=20),
    Case("load-daily-short", "ETTh1 high useful load (MW), daily means, last 250 days",
         lambda d: _etth1_load(d, "D", last=250), lookback=28, horizon=7, season=7, epochs=30),
    Case("traffic-weekly-short", "I-94 traffic volume (vehicles/week), weekly totals, 172 weeks",
         lambda d: _traffic(d, "W-SUN"), lookback=12, horizon=4, season=1, epochs=50, test_size=0.25),
    Case("co2-weekly", "Mauna Loa CO2 (ppm), weekly, statsmodels.datasets.co2",
         lambda d: _statsmodels("co2"), lookback=104, horizon=13, season=52, epochs=20),
    Case("elnino-monthly", "El Nino sea surface temperature (degC), monthly, statsmodels.datasets.elnino",
         lambda d: _statsmodels("elnino"), lookback=36, horizon=12, season=12, epochs=30),
    Case("sunspots-yearly-short", "yearly sunspot numbers, 309 years, statsmodels.datasets.sunspots",
         lambda d: _statsmodels("sunspots"), lookback=22, horizon=5, season=11, epochs=50),
    Case("gdp-quarterly-short", "US real GDP (billions of 2005 USD), 203 quarters, statsmodels macrodata",
         lambda d: _statsmodels("realgdp"), lookback=16, horizon=4, season=4, epochs=50),
    Case("stock-daily-rw", "AAPL daily close (USD), 1,259 trading days",
         lambda d: _stock(d, "AAPL"), lookback=30, horizon=5, season=1, epochs=10, random_walk=True),
    Case("stock-weekly-rw", "JPM weekly close (USD), 261 weeks",
         lambda d: _stock(d, "JPM", "W-FRI"), lookback=12, horizon=4, season=1, epochs=50,
         random_walk=True),
]
CASES_BY_NAME = {c.name: c for c in CASES}


def _default_model(cls, **options) -> Callable:
    """``cls`` built as a new user would: only the window lengths, epochs and a seed."""

    def build(setup: Setup, seed: int, trainer: dict):
        return cls(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                   n_epochs=setup.epochs, random_state=seed, pl_trainer_kwargs=trainer, **options)

    return build


def _block_rnn(cell: str) -> Callable:
    def build(setup: Setup, seed: int, trainer: dict):
        return BlockRNNModel(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                             model=cell, n_epochs=setup.epochs, random_state=seed,
                             pl_trainer_kwargs=trainer)

    return build


def contenders(setup: Setup, block_rnn: bool = True, **options) -> list:
    """Ours (LSTM, GRU) with their defaults (plus ``options``), optionally Darts' BlockRNNModel,
    and the naive baselines."""
    models = [DartsTorchContender("LSTMForecaster", "ours", "lstm", build=_default_model(LSTMForecaster, **options)),
              DartsTorchContender("GRUForecaster", "ours", "gru", build=_default_model(GRUForecaster, **options))]
    if block_rnn:
        models += [DartsTorchContender(f"Darts BlockRNNModel-{c}", "peer", c.lower(), build=_block_rnn(c))
                   for c in ("LSTM", "GRU")]
    return models + [b for b in baselines(setup) if b.name != "Drift"]


def run_case(case: Case, seeds, data_dir=None, block_rnn: bool = True, log=print, **options) -> pd.DataFrame:
    """Every contender on one case; one row per model and seed (baselines once).

    ``options`` go to our forecasters (e.g. ``normalization="level"``).
    """
    series = case.load(data_dir)
    setup = case_setup(case, seeds)
    task = custom_task(series, setup, test_size=case.test_size, scale=False)
    began = time.perf_counter()
    result = evaluate(task, contenders(setup, block_rnn, **options), warm_up=False,
                      log=(lambda m: log(f"  {m}")) if log else None)
    rows = pd.DataFrame(result.rows)
    rows.insert(0, "case", case.name)
    rows["length"] = len(series)
    rows["freq"] = series.freq_str
    rows["case_wall_s"] = time.perf_counter() - began
    rows["global_level"] = global_level_used(task, options.get("global_level", "auto"))
    return rows


def case_setup(case: Case, seeds) -> Setup:
    return Setup(case.name, case.kind, lookback=case.lookback, horizon=case.horizon, season=case.season,
                 naive_seasons=(1, case.season) if case.season > 1 else (1,), epochs=case.epochs,
                 seeds=tuple(seeds))


def global_level_used(task, global_level) -> bool:
    """Whether our forecasters' ``global_level`` was on ("auto": tested on the training part)."""
    return bool(stationary_components(task.train).any()) if global_level == "auto" else bool(global_level)


def verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per case: ours vs the best naive forecast, Darts' BlockRNNModel, pass or fail."""
    out = []
    for name, part in rows.groupby("case", sort=False):
        case = CASES_BY_NAME[name]
        mase = {m: g["mase"].tolist() for m, g in part.groupby("model", sort=False)}
        naive = [m for m in mase if m == "Naive" or m.startswith("SeasonalNaive")]
        check = versus_best_baseline(mase, ("LSTMForecaster", "GRUForecaster"), naive)
        ours, best_naive, diff = check.model, check.baseline, check.difference
        ratio = float(diff.mean_a / diff.mean_b)
        outcome = {"better than": "beats", "within noise of": "ties", "worse than": "loses to"}[check.relation]
        if case.random_walk:  # a tie within the tolerance is the honest best
            if not check.beats_baseline:
                outcome = "ties" if ratio <= TIE_TOLERANCE else "loses to"
            passed = ratio <= TIE_TOLERANCE
        else:
            passed = check.beats_baseline
        row = {"case": name, "kind": case.kind, "freq": part["freq"].iloc[0], "length": int(part["length"].iloc[0]),
               "L/H/m": f"{case.lookback}/{case.horizon}/{case.season}", "epochs": case.epochs,
               "seeds": part["seed"].dropna().nunique(),
               "global_level": part["global_level"].iloc[0] if "global_level" in part else None}
        for m in mase:
            row[m] = mean_std(mase[m])
        row.update({"best naive": best_naive, "ours": ours, "ratio": ratio, "p": diff.p_value,
                    "outcome": outcome, "pass": passed})
        out.append(row)
    return pd.DataFrame(out)


def _fmt(value) -> str:
    if isinstance(value, tuple):
        mean, std = value
        return f"{mean:.3f}" if std == 0 or math.isnan(std) else f"{mean:.3f} ± {std:.3f}"
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def markdown(table: pd.DataFrame, rows: pd.DataFrame) -> str:
    models = ["LSTMForecaster", "GRUForecaster", "Darts BlockRNNModel-LSTM", "Darts BlockRNNModel-GRU"]
    level = rows.attrs.get("global_level", "auto")
    lines = ["# Out of the box: default forecasters on raw series", "",
             "Produced by `python benchmarks/battery.py` (see its docstring). MASE (mean ± sd over "
             "seeds; < 1 beats the in-sample seasonal naive forecast), every model built with only "
             "`input_chunk_length`, `output_chunk_length`, `n_epochs` and a seed, on raw values. "
             f"*ratio*: our better cell's MASE over the best naive forecast's. Random walks pass "
             f"with a tie (ratio <= {TIE_TOLERANCE}). Our forecasters' normalization: "
             f"`{rows.attrs.get('normalization', 'level_scale')}`"
             f"{' (the default)' if rows.attrs.get('normalization', 'level_scale') == 'level_scale' else ''}"
             f"; `global_level`: `{level}`"
             f"{' (the default; *level* says where its stationarity tests turned it on)' if level == 'auto' else ''}."
             + "".join(f" Our forecasters also get `{k}={v}` (not their default)."
                       for k, v in rows.attrs.get("overrides", {}).items()),
             "",
             "| case | series | freq | length | L/H/m | epochs | seeds | LSTM (ours) | GRU (ours) | "
             "BlockRNN LSTM | BlockRNN GRU | Naive | Seasonal naive | level | ratio | outcome |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        season = [k for k in r.index if str(k).startswith("SeasonalNaive")]
        snaive = next((_fmt(r[k]) for k in season if isinstance(r[k], tuple)), "–")
        cells = [_fmt(r[m]) if isinstance(r.get(m), tuple) else "–" for m in models]
        verdict = f"{'**pass**' if r['pass'] else '**FAIL**'}: {r['ours']} {r['outcome']} {r['best naive']}"
        if r["outcome"] != "ties":
            verdict += f" (p={r['p']:.2g})"
        lines.append(f"| {r['case']} | {r['kind']} | {r['freq']} | {r['length']} | {r['L/H/m']} | "
                     f"{r['epochs']} | {r['seeds']} | " + " | ".join(cells) +
                     f" | {_fmt(r['Naive'])} | {snaive} | {_on_off(r['global_level'])} | {r['ratio']:.3f} "
                     f"| {verdict} |")
    n_pass = int(table["pass"].sum())
    lines += ["", f"**{n_pass} of {len(table)} cases pass.**", ""]
    trained = rows[rows["family"] != "baseline"]
    timing = trained.groupby("model")["train_s"].median()
    lines += ["Median `fit` wall time per model over all cases and seeds (s): " +
              ", ".join(f"{m} {timing[m]:.1f}" for m in models if m in timing) + ".", ""]
    env = rows.attrs.get("environment")
    if env:
        lines += [f"Hardware: {env}.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES_BY_NAME), default=list(CASES_BY_NAME))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--no-block-rnn", action="store_true", help="leave Darts' BlockRNNModel out")
    parser.add_argument("--normalization", choices=["level_scale", "mean_scale", "level", "none"],
                        default="level_scale", help="our forecasters' normalization (default: theirs, level_scale)")
    parser.add_argument("--global-level", choices=["auto", "on", "off"], default="auto",
                        help="our forecasters' global_level (default: theirs, auto)")
    parser.add_argument("--hidden-dim", type=int, default=None,
                        help="our forecasters' hidden_dim (default: theirs, 64)")
    parser.add_argument("--lr", type=float, default=None, help="our forecasters' learning rate (default: Darts', 1e-3)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: rewrite the .md from the .csv (a missing `global_level` column is "
                             "filled in from the cases' training parts)")
    args = parser.parse_args(argv)
    quiet()
    import torch

    torch.set_num_threads(1)  # as the benchmark runner: stable timings on a shared machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options, stem = {}, "battery"
    if args.normalization != "level_scale":
        options = {"normalization": None if args.normalization == "none" else args.normalization}
        stem = f"battery_{args.normalization}"
    if args.global_level != "auto":
        options["global_level"] = args.global_level == "on"
        stem += f"_global_level_{args.global_level}"
    if args.hidden_dim is not None:
        options["hidden_dim"] = args.hidden_dim
        stem += f"_hidden_{args.hidden_dim}"
    if args.lr is not None:
        options["optimizer_kwargs"] = {"lr": args.lr}
        stem += f"_lr_{args.lr:g}"
    path = out / f"{stem}.csv"
    if args.report_only:
        new = pd.read_csv(path)
        if "global_level" not in new:
            new["global_level"] = new["case"].map({name: _case_global_level(name, args.data_dir, options)
                                                   for name in new["case"].unique()})
    else:
        frames = []
        for name in args.cases:
            print(f"[{name}]", flush=True)
            frames.append(run_case(CASES_BY_NAME[name], args.seeds, args.data_dir, not args.no_block_rnn,
                                   **options))
        new = pd.concat(frames, ignore_index=True)
    if path.exists() and not args.report_only:  # a rerun of some cases replaces their rows
        old = pd.read_csv(path)
        new = pd.concat([old[~old["case"].isin(args.cases)], new], ignore_index=True)
    order = {c.name: i for i, c in enumerate(CASES)}
    new = new.sort_values("case", key=lambda s: s.map(order), kind="stable")
    new.to_csv(path, index=False, float_format="%.6g")
    new.attrs["environment"] = _environment()
    new.attrs["normalization"] = args.normalization
    new.attrs["global_level"] = args.global_level
    new.attrs["overrides"] = {k: v for k, v in (("hidden_dim", args.hidden_dim), ("lr", args.lr)) if v is not None}
    (out / f"{stem}.md").write_text(markdown(verdicts(new), new))
    print((out / f"{stem}.md").read_text())


def _case_global_level(name: str, data_dir, options: dict) -> bool:
    case = CASES_BY_NAME[name]
    task = custom_task(case.load(data_dir), case_setup(case, (0,)), test_size=case.test_size, scale=False)
    return global_level_used(task, options.get("global_level", "auto"))


def _on_off(flag) -> str:
    return "–" if flag is None or pd.isna(flag) else ("on" if bool(flag) else "off")


def _environment() -> str:
    from rnn_forecast.evaluation.costs import environment

    env = environment(threads=1, device="cpu")
    return (f"{env['cpu']}, {env['cpu_cores']} cores, torch threads 1; torch {env['torch']}, "
            f"Darts {env['darts']}, Python {env['python']}")


if __name__ == "__main__":
    sys.exit(main())
