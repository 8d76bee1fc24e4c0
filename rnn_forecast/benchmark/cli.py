"""``rnn-forecast benchmark`` (also ``python -m rnn_forecast.benchmark``).

Runs the LSTM-vs-GRU benchmark on one or all datasets, writes
``benchmarks/results/<dataset>.csv`` (and companions), then rebuilds
``benchmarks/REPORT.md`` with its plots from all the result files present.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from rnn_forecast.benchmark.names import DATASETS

DEFAULT_OUT = "benchmarks/results"
DEFAULT_REPORT = "benchmarks/REPORT.md"
SUMMARY_FILES = ("README.md", "docs/benchmarks.md")  # their summary blocks show the last run


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--dataset", choices=[*DATASETS, "all"], default="all")
    parser.add_argument("--quick", action="store_true",
                        help="small budget (about 10 minutes for all datasets on 2 CPU cores)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="override the seeds of the protocol (at least 3 for noise estimates)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--no-neuralforecast", action="store_true",
                        help="leave NeuralForecast's models out even when installed")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--report", default=DEFAULT_REPORT, help=f"Markdown report (default {DEFAULT_REPORT})")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the report from the result files without running anything")
    parser.add_argument("--data-dir", default=None, help="default: $RNN_FORECAST_DATA or download")
    parser.set_defaults(func=run)
    return parser


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``benchmark`` on the ``rnn-forecast`` subcommands."""
    parser = commands.add_parser("benchmark", help="LSTM vs GRU vs peers and baselines on real data",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the requested datasets, then write the report.

    The summary blocks of README.md and docs/benchmarks.md (between their
    ``benchmark-summary`` markers) are refreshed only when results go to the default
    folder, run from the repository root.
    """
    from rnn_forecast.benchmark.protocol import setup_for
    from rnn_forecast.benchmark.report import write_report
    from rnn_forecast.benchmark.runner import run_dataset

    began = time.perf_counter()
    command = "rnn-forecast benchmark " + shlex.join(sys.argv[sys.argv.index("benchmark") + 1:]) \
        if "benchmark" in sys.argv else "rnn-forecast benchmark " + shlex.join(sys.argv[1:])
    if not args.report_only:
        for dataset in DATASETS if args.dataset == "all" else [args.dataset]:
            setup = setup_for(dataset, args.quick)
            if args.seeds:
                setup = replace(setup, seeds=tuple(args.seeds))
            run_dataset(setup, args.out, data_dir=args.data_dir, device=args.device, threads=args.threads,
                        neuralforecast=not args.no_neuralforecast, command=command)
    summaries = [p for p in SUMMARY_FILES if Path(p).exists()] if args.out == DEFAULT_OUT else []
    path = write_report(args.out, args.report, readme=summaries, data_dir=args.data_dir)
    print(f"report: {path} ({time.perf_counter() - began:.0f} s in all)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python -m rnn_forecast.benchmark", description=__doc__))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
