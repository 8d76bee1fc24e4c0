"""The repository's LSTM-or-GRU benchmark run: results, REPORT.md and the README summary.

Runs the installed suite (:mod:`rnn_forecast.benchmark`, the same as ``rnn-forecast
benchmark``, with the same options) into this repository's ``benchmarks/results/``,
writes ``benchmarks/REPORT.md`` with its ``benchmarks/plots/``, then refreshes the
summary blocks of ``README.md`` and ``docs/benchmarks.md`` (between their
``<!-- benchmark-summary:begin/end -->`` markers). Paths are relative to the
repository root, wherever the script is run from.

Run from the repository root::

    python benchmarks/main.py --dataset all --quick   # under 10 minutes on 2 CPU cores
    python benchmarks/main.py --report-only           # rebuild the report and summaries
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from rnn_forecast.benchmark.cli import add_arguments, command_line, run_suite
from rnn_forecast.benchmark.report import summary, write_report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REPORT = ROOT / "benchmarks" / "REPORT.md"
SUMMARIES = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")  # their summary blocks show the last run
PROGRAM = "python benchmarks/main.py"
BEGIN = "<!-- benchmark-summary:begin -->"
END = "<!-- benchmark-summary:end -->"


def update_summary(path: str | Path, block: str) -> bool:
    """Replace the text between ``path``'s summary markers by ``block``; False if it has none."""
    path = Path(path)
    text = path.read_text()
    if BEGIN not in text or END not in text:
        return False
    new = "\n".join([BEGIN, block, END])
    path.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: new, text, flags=re.DOTALL))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog=PROGRAM, description=__doc__,
                                                   formatter_class=argparse.RawDescriptionHelpFormatter),
                           out=None)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    run_suite(args, RESULTS, command_line(PROGRAM))
    path = write_report(RESULTS, REPORT, data_dir=args.data_dir, program=PROGRAM,
                        source=RESULTS.relative_to(ROOT).as_posix())
    block = summary(RESULTS)
    updated = [str(p.relative_to(ROOT)) for p in SUMMARIES if p.exists() and update_summary(p, block)]
    print(f"report: {path}; summaries: {', '.join(updated) or 'none'} "
          f"({time.perf_counter() - began:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

