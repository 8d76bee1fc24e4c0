"""Markdown tables for the benchmark commands' result files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


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


def section_files(out: Path, name: str, frame: pd.DataFrame | None, quick: bool) -> tuple[Path, str]:
    """Where a speed section (``python -m benchmarks speed``) writes, and the command it records.

    Creates ``out``, writes ``frame`` (when given) to ``out/<name>.csv`` and returns the
    path of ``out/<name>.md`` with the command that reproduces it.
    """
    out.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        frame.to_csv(out / f"{name}.csv", index=False, float_format="%.5g")
    return out / f"{name}.md", f"python -m benchmarks {name}" + (" --quick" if quick else "")
