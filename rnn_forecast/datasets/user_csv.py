"""A user's own CSV file as a forecasting-ready ``TimeSeries`` (``rnn-forecast forecast --csv``).

Unlike the benchmark loaders, nothing is repaired here: the file is the user's data,
and a guess (which duplicate to keep, how to fill a gap) belongs to its owner. A
duplicated timestamp, a gap, an empty or non-numeric cell is a :class:`SchemaError`
that names the column, the row and the fix.

:func:`load_csv` does all the reading and checking with pandas alone, then turns the
result into Darts ``TimeSeries``; with ``as_frames=True`` it stops before Darts and
returns the checked pandas frames (:class:`CsvTable`). The command line reads that way
before it imports Darts or torch, so a bad file is refused at once.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._common import DTYPE, check_names, fmt, to_series
from ._errors import CorruptFileError, DatasetNotFoundError, SchemaError
from ._files import _decompress

if TYPE_CHECKING:
    from ._container import ForecastData

__all__ = ["CsvTable", "load_csv"]

#: An example format for the error messages: the US month/day/year order.
US_DATE_FORMAT = "%m/%d/%Y"


@dataclass(frozen=True)
class CsvTable:
    """A user's CSV file, read and checked: the values as pandas frames (no Darts yet).

    Attributes
    ----------
    name
        The file's name without its suffix.
    target
        The value columns to forecast, indexed by the parsed, sorted timestamps.
    covariates
        The past covariate columns, with the same index, or ``None``.
    freq
        The pandas frequency of the rows, given or inferred.
    notes
        What was read and what was done (rows sorted), one line each.
    """

    name: str
    target: pd.DataFrame
    covariates: pd.DataFrame | None
    freq: str
    notes: list[str] = field(default_factory=list)

    def to_forecast_data(self) -> ForecastData:
        """The float32 ``TimeSeries`` :func:`load_csv` returns (imports Darts)."""
        from ._container import ForecastData

        past = None if self.covariates is None else to_series(self.covariates, freq=self.freq)
        return ForecastData(self.name, to_series(self.target, freq=self.freq), past, None, list(self.notes))


def load_csv(
    path: str | os.PathLike[str],
    *,
    time_column: str | None = None,
    columns: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    freq: str | None = None,
    date_format: str | None = None,
    as_frames: bool = False,
) -> ForecastData | CsvTable:
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
    date_format
        ``strftime`` format of the timestamps, e.g. ``"%m/%d/%Y"`` for ``04/30/2021``
        or ``"%d.%m.%Y %H:%M"``; default ISO 8601 (``2021-04-30``, ``2021-04-30
        13:00``, with or without a zone).
    as_frames
        Return the checked pandas frames (a :class:`CsvTable`) instead of Darts
        ``TimeSeries``, without importing Darts (scikit-learn's ``as_frame``): what the
        command line reads first, so that a bad file fails before torch is imported.

    Returns
    -------
    ForecastData or CsvTable
        ``target``: a float32 ``TimeSeries`` of shape ``(rows, len(columns), 1)`` with
        a regular ``DatetimeIndex``, rows in time order; ``past_covariates`` the same
        for ``covariates``, or ``None``. With ``as_frames``, the same as pandas frames,
        with the frequency and the notes.

    Raises
    ------
    DatasetNotFoundError, CorruptFileError, SchemaError
        A missing or unreadable file, or contents that are not a regular, complete,
        numeric time series; the message names the column and first offending row.

    Examples
    --------
    ``load_csv("sales.csv", columns=["units"], date_format="%m/%d/%Y")`` reads a file
    whose first column holds dates such as ``04/30/2021``.
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
    if _is_timestamp(frame.columns[0], date_format):
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
    stamps = _timestamps(frame[time_column], path, time_column, date_format)
    values = frame[names + extra].set_axis(stamps, axis=0)
    _check_values(values, path)

    notes = [f"Read {fmt(len(frame))} rows from {path.name}: {stamps.min()} .. {stamps.max()}."]
    if not stamps.is_monotonic_increasing:
        values = values.sort_index()
        notes.append("Rows sorted by time (the file was not in time order).")
    freq = _frequency(values.index, freq, path)
    table = CsvTable(path.stem, values[names], values[extra] if extra else None, freq, notes)
    return table if as_frames else table.to_forecast_data()


def _is_timestamp(text: str, date_format: str | None) -> bool:
    try:
        pd.to_datetime(text, format=date_format or "ISO8601")
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _as_text(column: pd.Series) -> pd.Series:
    """The time column as strings (NaN where empty): pandas reads ``20210430`` as a number."""
    if pd.api.types.is_float_dtype(column):  # whole numbers with an empty cell
        whole = column.dropna()
        if np.isfinite(whole).all() and (whole == np.round(whole)).all():
            column = column.astype("Int64")
    text = column.astype("string").str.strip()
    return text.mask(text == "")


def _parse(text: pd.Series, date_format: str | None) -> pd.Series:
    """``text`` as UTC timestamps (zone-less ones taken as UTC), NaT where a value does not
    parse or lies outside pandas' range (years 1677-2262)."""
    try:
        return pd.to_datetime(text, format=date_format or "ISO8601", utc=True, errors="coerce")
    except (ValueError, TypeError) as exc:  # a malformed format, e.g. "%Q"
        raise ValueError(f"date_format {date_format!r} (--date-format) is not a strftime format: {exc}") from exc


def _timestamps(column: pd.Series, path: Path, name: str, date_format: str | None) -> pd.DatetimeIndex:
    text = _as_text(column)
    parsed = _parse(text, date_format)
    bad = parsed.isna() & text.notna()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(_unparsable(path, name, text.iloc[row], row, int(bad.sum()), date_format))
    stamps = pd.DatetimeIndex(parsed).tz_localize(None)
    if stamps.hasnans:
        row = int(np.flatnonzero(stamps.isna())[0])
        raise SchemaError(f"{path}: column {name!r} has an empty timestamp at data row {row + 1}.")
    if stamps.has_duplicates:
        first = stamps[stamps.duplicated()][0]
        raise SchemaError(
            f"{path}: {int(stamps.duplicated().sum())} duplicated timestamp(s) in {name!r} "
            f"(first: {first}); aggregate or drop them first."
        )
    return stamps


def _unparsable(path: Path, name: str, value: str, row: int, count: int, date_format: str | None) -> str:
    """The message for timestamps that do not parse: how many, the first and its row, the fix."""
    first = f"the first {value!r} at data row {row + 1}"
    if date_format is None:
        return (
            f"{path}: column {name!r} has {count} value(s) that are not ISO 8601 timestamps "
            f"within the years 1677-2262, {first}. Write them as e.g. 2024-01-31 or "
            "2024-01-31 13:00, or give their format with date_format= (--date-format), e.g. "
            f"{US_DATE_FORMAT!r} for 01/31/2024, or pick the time column with time_column= "
            "(--time-column)."
        )
    return (
        f"{path}: column {name!r} has {count} value(s) that do not match date_format "
        f"{date_format!r} (--date-format) or lie outside the years 1677-2262, {first}. Give "
        f"the strftime format the timestamps are written in (e.g. {US_DATE_FORMAT!r} for "
        "01/31/2024, '%Y-%m-%d %H:%M' for 2024-01-31 13:00), or pick the time column with "
        "time_column= (--time-column)."
    )


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
