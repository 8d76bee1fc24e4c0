"""Small helpers shared by the dataset loaders."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._errors import SchemaError, UnknownNameError

if TYPE_CHECKING:
    from darts import TimeSeries

DTYPE = np.float32


def to_series(frame: pd.DataFrame, freq: str | int | None = None, **kwargs) -> TimeSeries:
    """Build a float32 ``TimeSeries`` from a frame whose index is the time axis."""
    from darts import TimeSeries  # here, not above: load_csv checks a file without Darts

    return TimeSeries.from_times_and_values(
        frame.index,
        frame.to_numpy(dtype=DTYPE),
        freq=freq,
        columns=list(frame.columns),
        **kwargs,
    )


def parse_dates(raw: pd.DataFrame, column: str, format: str, path) -> pd.DatetimeIndex:
    """``raw[column]`` as a DatetimeIndex; :class:`SchemaError` for unparsable or empty dates."""
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(raw[column], format=format))
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{path}: column {column!r} has unparsable dates ({exc})") from exc
    if stamps.hasnans:
        row = int(np.flatnonzero(stamps.isna())[0])
        raise SchemaError(
            f"{path}: column {column!r} has {int(stamps.isna().sum())} empty date(s), first at "
            f"data row {row + 1}; every row needs its timestamp."
        )
    return stamps


def run_lengths(missing: np.ndarray) -> np.ndarray:
    """Length of the run of consecutive ``True`` each position belongs to (0 if False).

    >>> run_lengths(np.array([False, True, True, False, True]))
    array([0, 2, 2, 0, 1])
    """
    missing = np.asarray(missing, dtype=bool)
    out = np.zeros(len(missing), dtype=np.int64)
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    out[missing] = np.repeat(lengths, lengths)
    return out


def gap_summary(missing: np.ndarray) -> tuple[int, int, int]:
    """Return ``(number of gaps, missing steps, longest gap)`` of a missing-value mask."""
    missing = np.asarray(missing, dtype=bool)
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return len(lengths), int(lengths.sum()), int(lengths.max(initial=0))


def regularize(frame: pd.DataFrame, freq: str, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop duplicated timestamps, reindex to ``freq`` and interpolate the holes.

    ``frame`` has a DatetimeIndex in file order. Duplicated timestamps keep their
    first row; missing steps and NaN cells are filled by linear interpolation in
    time (edges, which cannot be interpolated, by the nearest value).

    Returns
    -------
    (pandas.DataFrame, list[str])
        The regular frame and notes describing what was done, with counts.
    """
    notes = []
    dup = frame.index.duplicated(keep="first")
    if dup.any():
        stamps = frame.index[dup]
        identical = int(frame.reset_index().duplicated().sum())
        notes.append(
            f"{what}: {fmt(int(dup.sum()))} duplicated timestamp(s) removed, keeping the "
            f"first row (exact copies of it: {identical}; first at {stamps[0]})."
        )
        frame = frame[~dup]
    else:
        notes.append(f"{what}: no duplicated timestamps.")
    if not frame.index.is_monotonic_increasing:
        notes.append(f"{what}: rows sorted by time (the file was not in time order).")
        frame = frame.sort_index()
    full = pd.date_range(frame.index[0], frame.index[-1], freq=freq)
    if not frame.index.isin(full).all():
        off_grid = frame.index[~frame.index.isin(full)]
        raise SchemaError(
            f"{what}: {len(off_grid)} timestamp(s) are not on the {freq} grid starting "
            f"at {full[0]} (first: {off_grid[0]}); this is not the expected file."
        )
    inserted = len(full) - len(frame)
    frame = frame.reindex(full)
    row_missing = frame.isna().all(axis=1).to_numpy()
    n_gaps, n_steps, longest = gap_summary(row_missing)
    if inserted:
        notes.append(
            f"{what}: regularized to {freq}: {fmt(n_steps)} missing step(s) in {n_gaps} "
            f"gap(s) (longest {longest} steps) inserted and linearly interpolated."
        )
    else:
        notes.append(f"{what}: no gaps in the {freq} time index.")
    cell_missing = frame.isna().to_numpy() & ~row_missing[:, None]
    if cell_missing.any():
        runs = {col: gap_summary(cell_missing[:, j])[2] for j, col in enumerate(frame.columns)}
        worst = max(runs, key=runs.get)
        notes.append(
            f"{what}: {fmt(int(cell_missing.sum()))} missing cell(s) in observed rows "
            f"linearly interpolated (longest run {runs[worst]} steps, in {worst!r})."
        )
    frame = frame.interpolate(method="linear", limit_area="inside").ffill().bfill()
    empty = [str(c) for c in frame.columns[frame.isna().any()]]  # nothing to fill from
    if empty:
        raise SchemaError(f"{what}: column(s) {empty} hold no values at all.")
    return frame, notes


def check_names(requested: Iterable[str], known: Sequence[str], what: str) -> list[str]:
    """Return ``requested`` as a list, or raise listing close matches for unknown names."""
    requested = [requested] if isinstance(requested, str) else list(requested)
    if not requested:
        raise UnknownNameError(f"No {what} requested: give at least one.")
    unknown = [name for name in requested if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
            hints.append(f"{name!r} (close matches: {close or 'none'})")
        raise UnknownNameError(
            f"Unknown {what}: {'; '.join(hints)}. {len(known)} are available, e.g. "
            f"{list(known[:8])}."
        )
    return requested


def fmt(n: int) -> str:
    """Format a count with thousands separators for the notes (``7629 -> '7,629'``)."""
    return f"{n:,}"
