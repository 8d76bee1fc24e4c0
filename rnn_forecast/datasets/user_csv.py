"""A user's own CSV file as a forecasting-ready ``TimeSeries`` (``rnn-forecast forecast --csv``).

Unlike the benchmark loaders, nothing is repaired here: the file is the user's data,
and a guess (which duplicate to keep, how to fill a gap) belongs to its owner. A
duplicated timestamp, a gap, an empty or non-numeric cell is a :class:`SchemaError`
that names the column, the row and the fix.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import DTYPE, check_names, fmt, to_series
from ._container import ForecastData
from ._errors import CorruptFileError, DatasetNotFoundError, SchemaError
from ._files import _decompress

__all__ = ["load_csv"]


def load_csv(
    path: str | os.PathLike[str],
    *,
    time_column: str | None = None,
    columns: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    freq: str | None = None,
) -> ForecastData:
    """Read a CSV with one time column and numeric value columns (plain or gzip).

    Parameters
    ----------
    path
        The file; ``.gz`` or not is decided by its content.
    time_column
        Column of timestamps; default the first column.
    columns
        Value columns to forecast, in this order; default every column but the time and
        covariate columns (all must then be numeric).
    covariates
        Columns returned as ``past_covariates`` (observed alongside the target, known up
        to the forecast start); default none.
    freq
        Pandas frequency of the rows (``"h"``, ``"D"``, ``"MS"``, ...); default inferred
        from the timestamps. Given, it must match them: missing steps are an error.

    Returns
    -------
    ForecastData
        ``target``: a float32 ``TimeSeries`` of shape ``(rows, len(columns), 1)`` with
        a regular ``DatetimeIndex``, rows in time order; ``past_covariates`` the same
        for ``covariates``, or ``None``.

    Raises
    ------
    DatasetNotFoundError, CorruptFileError, SchemaError
        A missing or unreadable file, or contents that are not a regular, complete,
        numeric time series; the message names the column and first offending row.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file.")
    try:
        frame = pd.read_csv(io.BytesIO(_decompress(path.read_bytes(), str(path))))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CorruptFileError(f"{path} could not be parsed as CSV ({type(exc).__name__}: {exc}).") from exc
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty or frame.shape[1] < 2:
        raise SchemaError(
            f"{path} needs a header, a time column, at least one value column and one row; "
            f"it has {frame.shape[1]} column(s) and {len(frame)} row(s)."
        )
    if _is_timestamp(frame.columns[0]):
        raise SchemaError(
            f"{path}: the first line looks like data ({frame.columns[0]!r} is a timestamp), not a "
            "header; add a header line naming the columns."
        )
    time_column = frame.columns[0] if time_column is None else time_column
    check_names([time_column], list(frame.columns), f"column of {path.name}")
    others = [c for c in frame.columns if c != time_column]
    extra = [] if covariates is None else check_names(covariates, others, f"covariate column of {path.name}")
    rest = [c for c in others if c not in extra]
    names = rest if columns is None else check_names(columns, rest, f"value column of {path.name}")
    if not names:
        raise SchemaError(f"{path}: no column left to forecast after the time and covariate columns.")
    stamps = _timestamps(frame[time_column], path, time_column)
    values = frame[names + extra].set_axis(stamps, axis=0)
    _check_values(values, path)

    notes = [f"Read {fmt(len(frame))} rows from {path.name}: {stamps.min()} .. {stamps.max()}."]
    if not stamps.is_monotonic_increasing:
        values = values.sort_index()
        notes.append("Rows sorted by time (the file was not in time order).")
    freq = _frequency(values.index, freq, path)
    target = to_series(values[names], freq=freq)
    past = to_series(values[extra], freq=freq) if extra else None
    return ForecastData(path.stem, target, past, None, notes)


def _is_timestamp(text: str) -> bool:
    try:
        pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _timestamps(column: pd.Series, path: Path, name: str) -> pd.DatetimeIndex:
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601"))
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(
            f"{path}: column {name!r} has values that are not ISO 8601 timestamps ({exc}); "
            "write them as e.g. 2024-01-31 or 2024-01-31 13:00, or pick the time column "
            "with time_column= (--time-column)."
        ) from exc
    if stamps.hasnans:
        row = int(np.flatnonzero(stamps.isna())[0])
        raise SchemaError(f"{path}: column {name!r} has an empty timestamp at data row {row + 1}.")
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    if stamps.has_duplicates:
        first = stamps[stamps.duplicated()][0]
        raise SchemaError(
            f"{path}: {int(stamps.duplicated().sum())} duplicated timestamp(s) in {name!r} "
            f"(first: {first}); aggregate or drop them first."
        )
    return stamps


def _check_values(values: pd.DataFrame, path: Path) -> None:
    bad = [c for c in values.columns
           if not pd.api.types.is_numeric_dtype(values[c]) or pd.api.types.is_bool_dtype(values[c])]
    if bad:
        raise SchemaError(
            f"{path}: non-numeric values in column(s) {bad}; choose the value columns with "
            "columns= (--columns) or clean the file."
        )
    numbers = values.to_numpy(dtype=np.float64)
    for what, mask in (("empty or NaN", np.isnan(numbers)),
                       ("infinite or beyond float32's range", np.abs(numbers) > np.finfo(DTYPE).max)):
        if mask.any():
            row, col = np.argwhere(mask)[0]
            raise SchemaError(
                f"{path}: {int(mask.sum())} {what} value(s), first in column "
                f"{values.columns[col]!r} at {values.index[row]}; fill or drop them first."
            )


def _frequency(index: pd.DatetimeIndex, freq: str | None, path: Path) -> str:
    if len(index) < 3 and freq is None:
        raise SchemaError(f"{path}: {len(index)} row(s) are too few to infer a frequency; pass freq=.")
    if freq is None:
        freq = pd.infer_freq(index)
        if freq is None:
            steps = {str(k): int(v) for k, v in pd.Series(index).diff().value_counts().head(3).items()}
            raise SchemaError(
                f"{path}: the timestamps are not evenly spaced (gaps or mixed steps; most "
                f"common steps: {steps}). Fill the gaps, or pass freq= to be "
                "told the first missing timestamp."
            )
        return freq
    try:
        full = pd.date_range(index[0], index[-1], freq=freq)
    except ValueError as exc:
        raise SchemaError(f"{path}: {freq!r} is not a pandas frequency ({exc}).") from exc
    missing, extra = full.difference(index), index.difference(full)
    if len(extra):
        raise SchemaError(f"{path}: timestamp {extra[0]} is off the {freq} grid starting at {index[0]}.")
    if len(missing):
        raise SchemaError(
            f"{path}: {len(missing)} missing {freq} step(s), first {missing[0]}; fill them first."
        )
    return freq
