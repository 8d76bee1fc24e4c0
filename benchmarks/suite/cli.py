"""The LSTM-or-GRU benchmark on the four real datasets: results, REPORT.md and the README summary.

Runs every contender on one or all datasets, then rebuilds the report from all the
result files. By default this is the repository's run: the results go to
``benchmarks/results/``, the report to ``benchmarks/REPORT.md`` with its
``benchmarks/plots/``, and the summary blocks of ``README.md`` and
``docs/benchmarks.md`` (between their ``<!-- benchmark-summary:begin/end -->``
markers) are refreshed. With ``--out DIR`` everything goes under ``DIR`` (the result
files, ``REPORT.md`` and ``plots/``) and nothing else is written. Paths are relative to
the repository root, wherever the command is run from::

    python -m benchmarks suite --dataset all --quick   # under 10 minutes on 2 CPU cores
    python -m benchmarks suite --report-only           # rebuild the report and summaries
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from rnn_forecast.datasets.registry import NAMES

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
REPORT = ROOT / "benchmarks" / "REPORT.md"
# files whose summary blocks show the last run -> whether theirs is the short table
SUMMARIES = {ROOT / "README.md": True, ROOT / "docs" / "benchmarks.md": False}
PROGRAM = "python -m benchmarks suite"
BEGIN = "<!-- benchmark-summary:begin -->"
END = "<!-- benchmark-summary:end -->"


def build_parser() -> argparse.ArgumentParser:
    """The suite's options."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=[*NAMES, "all"], default="all")
    parser.add_argument("--quick", action="store_true",
                        help="small budget (about 10 minutes for all datasets on 2 CPU cores)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="override the seeds of the protocol (at least 3 for noise estimates)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--cells", nargs=2, default=["lstm", "gru"], metavar=("A", "B"),
                        help="the two registered cells of ours to compare (default: lstm gru)")
    parser.add_argument("--no-neuralforecast", action="store_true",
                        help="leave NeuralForecast's models out even when installed")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the results, REPORT.md and plots/ under this folder only "
                             "(default: the repository's benchmarks/ and README summaries)")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the report from the result files without running anything")
    parser.add_argument("--data-dir", default=None, help="default: $RNN_FORECAST_DATA or download")
    return parser


def update_summary(path: str | Path, block: str) -> bool:
    """Replace the text between ``path``'s summary markers by ``block``; False if it has none."""
    path = Path(path)
    text = path.read_text()
    if BEGIN not in text or END not in text:
        return False
    new = "\n".join([BEGIN, block, END])
    path.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: new, text, flags=re.DOTALL))
    return True


def run_suite(args: argparse.Namespace, out: str | Path, command: str) -> None:
    """Run the requested datasets (unless ``--report-only``), writing their results in ``out``."""
    if args.report_only:
        return
    from benchmarks.suite.runner import run_dataset
    from benchmarks.suite.setups import setup_for

    for dataset in NAMES if args.dataset == "all" else [args.dataset]:
        setup = setup_for(dataset, args.quick)
        if args.seeds:
            setup = replace(setup, seeds=tuple(args.seeds))
        run_dataset(setup, out, data_dir=args.data_dir, device=args.device, threads=args.threads,
                    neuralforecast=not args.no_neuralforecast, command=command, cells=args.cells)


def main(argv: list[str] | None = None) -> int:
    """Run the suite, then write the report (and, without ``--out``, the README summaries)."""
    from benchmarks.suite.report import summary, write_report

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    began = time.perf_counter()
    command = f"{PROGRAM} {shlex.join(argv)}".rstrip()
    if args.out is not None:
        run_suite(args, args.out, command)
        path = write_report(args.out, args.out / "REPORT.md", data_dir=args.data_dir)
        print(f"report: {path} ({time.perf_counter() - began:.0f} s in all)")
        return 0
    run_suite(args, RESULTS, command)
    path = write_report(RESULTS, REPORT, data_dir=args.data_dir, source=RESULTS.relative_to(ROOT).as_posix())
    updated = [str(p.relative_to(ROOT)) for p, short in SUMMARIES.items()
               if p.exists() and update_summary(p, summary(RESULTS, short))]
    print(f"report: {path}; summaries: {', '.join(updated) or 'none'} "
          f"({time.perf_counter() - began:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
