"""Markdown tables for the benchmark commands' result files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pandas as pd

from rnn_forecast.evaluation.costs import machine_summary


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table: floats to 4 significant digits, missing values empty.

    (``DataFrame.to_markdown`` needs ``tabulate`` and pads every cell; this keeps the
    committed result files small and their diffs readable.)
    """
    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else ("" if pd.isna(v) else str(v))

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


@contextmanager
def section(out: Path, name: str, quick: bool, title: str, details: str,
            frame: pd.DataFrame | None = None) -> Iterator[TextIO]:
    """Write one speed section (``python -m benchmarks speed``): ``out/<name>.md`` and ``.csv``.

    Creates ``out``, writes ``frame`` (when given) to ``out/<name>.csv``, and opens
    ``out/<name>.md`` with its title line (``title`` and the command that reproduces the
    file) and its header (the machine, then ``details``: sizes, repeats, seeds, time);
    the caller writes the body into the file yielded. At the end the header and the
    files written are printed.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = [out / f"{name}.md"]
    if frame is not None:
        frame.to_csv(out / f"{name}.csv", index=False, float_format="%.5g")
        written.append(out / f"{name}.csv")
    command = f"python -m benchmarks {name}" + (" --quick" if quick else "")
    header = f"{machine_summary()}; {details}"
    with open(written[0], "w") as f:
        f.write(f"# {title}: `{command}`\n\n{header}\n\n")
        yield f
    print(f"\n{header}\nwritten: {', '.join(map(str, written))}")
