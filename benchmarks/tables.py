"""Markdown tables for the benchmark commands' result files."""

from __future__ import annotations

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
