"""Print what every loader returns and the cleaning it applied.

Usage::

    python -m rnn_forecast.datasets [--data-dir DIR]

Without ``--data-dir`` the usual rules apply ($RNN_FORECAST_DATA, else the user cache,
downloading if needed). The numbers in docs/datasets.md come from this command.
"""

from __future__ import annotations

import argparse
import time

from rnn_forecast import datasets
from rnn_forecast.datasets.registry import DATASETS

from . import ForecastData, load_traffic, load_weather, ltsf_split


def _summary(label: str, data: ForecastData, seconds: float) -> str:
    lines = [f"== {label}: loaded in {seconds:.2f} s", f"   {data!r}"]
    if isinstance(data.target, list):
        lengths = [len(s) for s in data.target]
        lines.append(f"   {len(lengths)} series, {min(lengths)} .. {max(lengths)} steps")
    else:
        lines.append(f"   target components: {data.target.components.tolist()}")
    for cov in ("past_covariates", "future_covariates"):
        series = getattr(data, cov)
        if series is not None and not isinstance(series, list):
            lines.append(f"   {cov}: {series.components.tolist()}")
    lines += [f"   - {note}" for note in data.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rnn_forecast.datasets", description=__doc__)
    parser.add_argument("--data-dir", default=None, help="folder holding the raw files")
    args = parser.parse_args(argv)
    registered = {d.name: d.loader for d in DATASETS}
    variants = {  # after their dataset: other options of the same loader
        "traffic": {"traffic_all": lambda: load_traffic(args.data_dir, segment="all"),
                    "traffic_strict": lambda: load_traffic(args.data_dir, seasonal_fill_limit=3)},
        "weather": {"weather_raw": lambda: load_weather(args.data_dir, raw_order=True)},
    }
    loaders = {}
    for name, loader in registered.items():
        load = getattr(datasets, loader)
        loaders[name] = lambda load=load: load(data_dir=args.data_dir)
        loaders.update(variants.get(name, {}))
    loaded = {}
    for key, loader in loaders.items():
        start = time.perf_counter()
        loaded[key] = loader()
        print(_summary(key, loaded[key], time.perf_counter() - start), flush=True)
    for name, data in (("weather", loaded["weather_raw"]), ("etth1", loaded["etth1"])):
        for lookback in (96, 336):
            split = ltsf_split(data, name, lookback)
            sizes = {k: f"{len(getattr(split, k))} rows {v}" for k, v in split.borders.items()}
            print(f"== ltsf_split({name}, lookback={lookback}): {sizes}")


if __name__ == "__main__":
    main()
