"""``rnn-forecast benchmark`` (also ``python -m rnn_forecast.benchmark``).

Runs the LSTM-vs-GRU benchmark on one or all datasets and writes everything under
``--out`` (default ``rnn_forecast_benchmark/`` in the current folder): the result files
``<dataset>.csv`` (and companions), then ``REPORT.md`` with its ``plots/``, rebuilt from
all the result files there. Nothing outside ``--out`` is written.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from rnn_forecast.dataset_registry import NAMES

DEFAULT_OUT = "rnn_forecast_benchmark"
REPORT = "REPORT.md"


def add_arguments(parser: argparse.ArgumentParser, out: str | None = DEFAULT_OUT) -> argparse.ArgumentParser:
    """Add the benchmark's options to ``parser``.

    Parameters
    ----------
    parser
        The parser to extend.
    out
        Default of ``--out``; ``None`` leaves the option out (a caller that decides
        where results go, such as ``benchmarks/main.py``).
    """
    parser.add_argument("--dataset", choices=[*NAMES, "all"], default="all")
    parser.add_argument("--quick", action="store_true",
                        help="small budget (about 10 minutes for all datasets on 2 CPU cores)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="override the seeds of the protocol (at least 3 for noise estimates)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--no-neuralforecast", action="store_true",
                        help="leave NeuralForecast's models out even when installed")
    if out is not None:
        parser.add_argument("--out", default=out,
                            help=f"folder for the results, {REPORT} and plots/ (default {out}/)")
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


def command_line(program: str = "rnn-forecast benchmark") -> str:
    """This process's benchmark command, as recorded in the results."""
    argv = sys.argv[sys.argv.index("benchmark") + 1:] if "benchmark" in sys.argv else sys.argv[1:]
    return f"{program} {shlex.join(argv)}"


def run_suite(args: argparse.Namespace, out: str | Path, command: str) -> None:
    """Run the requested datasets (unless ``--report-only``), writing their results in ``out``."""
    if args.report_only:
        return
    from rnn_forecast.benchmark.runner import run_dataset
    from rnn_forecast.benchmark.setups import setup_for

    for dataset in NAMES if args.dataset == "all" else [args.dataset]:
        setup = setup_for(dataset, args.quick)
        if args.seeds:
            setup = replace(setup, seeds=tuple(args.seeds))
        run_dataset(setup, out, data_dir=args.data_dir, device=args.device, threads=args.threads,
                    neuralforecast=not args.no_neuralforecast, command=command)


def run(args: argparse.Namespace) -> int:
    """Run the requested datasets into ``--out``, then write ``--out``/REPORT.md and its plots."""
    from rnn_forecast.benchmark.report import write_report

    began = time.perf_counter()
    run_suite(args, args.out, command_line())
    path = write_report(args.out, Path(args.out) / REPORT, data_dir=args.data_dir)
    print(f"report: {path} ({time.perf_counter() - began:.0f} s in all)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python -m rnn_forecast.benchmark", description=__doc__))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
