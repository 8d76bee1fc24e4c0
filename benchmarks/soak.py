"""Soak test: many fit/predict cycles in one process must not grow its memory.

Each cycle builds a new small forecaster (alternating LSTM and GRU, a new seed each
time), fits it on a synthetic series and predicts, as ``historical_forecasts(retrain=
True)``, ``gridsearch`` or a long-running service would. Every ``--every`` cycles it
records the resident set size (RSS) and the number of live Python objects, after a
garbage collection. From the end of ``--warmup`` to the last cycle, the RSS must grow by
less than ``--max-growth-mib`` and the live objects by less than
``--max-objects-per-cycle`` per cycle; the script exits with status 1 otherwise.
``--keep-models`` plants a leak (every model kept alive) to show that the bounds catch one.

Run from the repository root (about 2 minutes on 2 CPU cores)::

    python -m benchmarks soak --cycles 200

RSS is read from ``/proc/self/status`` (Linux) by
:func:`rnn_forecast.evaluation.costs.rss_mib`; elsewhere it cannot be read and the
script stops with an error.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import platform
import sys
import time
import warnings

import numpy as np
import torch

from rnn_forecast.evaluation.costs import rss_mib


def cycle(i: int, series, kept: list | None = None) -> float:
    """Fit a fresh small forecaster and predict; returns the forecast's mean (to use it)."""
    from rnn_forecast import GRUForecaster, LSTMForecaster
    from rnn_forecast.tools.testing import QUIET_TRAINER

    cls = LSTMForecaster if i % 2 == 0 else GRUForecaster
    model = cls(input_chunk_length=24, output_chunk_length=6, hidden_dim=16, n_epochs=1,
                batch_size=64, random_state=i, pl_trainer_kwargs=dict(QUIET_TRAINER))
    model.fit(series)
    forecast = model.predict(12)
    if kept is not None:
        kept.append(model)
    return float(forecast.values().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="record memory every N cycles")
    parser.add_argument("--warmup", type=int, default=20, help="cycles before the baseline")
    parser.add_argument("--max-growth-mib", type=float, default=16.0,
                        help="allowed RSS growth after warm-up")
    parser.add_argument("--max-objects-per-cycle", type=float, default=10.0,
                        help="allowed growth of live Python objects per cycle after warm-up")
    parser.add_argument("--length", type=int, default=500, help="series length (hourly steps)")
    parser.add_argument("--keep-models", action="store_true",
                        help="keep every fitted model alive: a deliberate leak, to see the bound catch it")
    args = parser.parse_args(argv)
    if args.warmup % args.every or args.cycles % args.every or args.warmup >= args.cycles:
        parser.error("--warmup and --cycles must be multiples of --every, warmup < cycles")
    if math.isnan(rss_mib()):
        parser.error("the resident set size cannot be read here (/proc/self/status, Linux only)")

    import pytorch_lightning  # noqa: F401 - its import sets its loggers' levels; quiet them after

    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from rnn_forecast.tools.testing import make_series

    series = make_series(length=args.length, n_components=1)
    kept = [] if args.keep_models else None
    print(f"soak: {args.cycles} fit/predict cycles{' keeping every model' if kept is not None else ''}, "
          f"series of {args.length} steps, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}")
    print(f"{'cycle':>6}{'RSS MiB':>10}{'objects':>10}{'s/cycle':>9}")
    gc.collect()
    records = [(0, rss_mib(), len(gc.get_objects()))]
    print(f"{0:>6}{records[0][1]:>10.1f}{records[0][2]:>10}{'':>9}")
    began = last = time.perf_counter()
    for i in range(1, args.cycles + 1):
        assert np.isfinite(cycle(i, series, kept))
        if i % args.every == 0:
            gc.collect()
            now = time.perf_counter()
            records.append((i, rss_mib(), len(gc.get_objects())))
            print(f"{i:>6}{records[-1][1]:>10.1f}{records[-1][2]:>10}{(now - last) / args.every:>9.2f}",
                  flush=True)
            last = now
    baseline = next(r for r in records if r[0] == args.warmup)
    growth = records[-1][1] - baseline[1]
    per_cycle = growth / (args.cycles - args.warmup) * 1024
    objects = records[-1][2] - baseline[2]
    objects_per_cycle = objects / (args.cycles - args.warmup)
    print(f"\nafter warm-up (cycle {args.warmup}) to cycle {args.cycles}: RSS {baseline[1]:.1f} -> "
          f"{records[-1][1]:.1f} MiB, growth {growth:+.1f} MiB ({per_cycle:+.1f} KiB/cycle; bound "
          f"{args.max_growth_mib:g} MiB); live objects {objects:+d} ({objects_per_cycle:+.1f}/cycle; "
          f"bound {args.max_objects_per_cycle:g}); total {time.perf_counter() - began:.0f} s.")
    failures = []
    if growth > args.max_growth_mib:
        failures.append(f"RSS grew by {growth:.1f} MiB > {args.max_growth_mib:g} MiB")
    if objects_per_cycle > args.max_objects_per_cycle:
        failures.append(f"{objects_per_cycle:.1f} new live objects per cycle > {args.max_objects_per_cycle:g}")
    if failures:
        print("FAIL: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
