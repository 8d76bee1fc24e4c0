"""Input conversion and validation at the forecasters' boundary.

Everything a user hands to ``fit``/``predict``/``historical_forecasts`` passes through
:func:`as_series` first: pandas objects become Darts ``TimeSeries`` (with Darts' own
constructors), and problems are reported with the argument's name, before any tensor
is built.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries

SeriesLike = TimeSeries | pd.Series | pd.DataFrame


def as_series(obj, name: str) -> TimeSeries | list[TimeSeries] | None:
    """Convert ``obj`` (one series-like or a sequence of them) to Darts ``TimeSeries``.

    Parameters
    ----------
    obj
        ``None``, a ``TimeSeries``, a pandas ``Series``/``DataFrame`` with a
        ``DatetimeIndex`` (or a ``RangeIndex``), or a list/tuple of those.
    name
        The argument's name, used in error messages.

    Returns
    -------
    TimeSeries | list[TimeSeries] | None
        ``None`` stays ``None``; a sequence becomes a list.
    """
    if obj is None:
        return None
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        if len(obj) == 0:
            raise ValueError(f"`{name}` is an empty sequence: pass at least one series.")
        return [_one_series(item, f"{name}[{i}]") for i, item in enumerate(obj)]
    return _one_series(obj, name)


def _one_series(obj, name: str) -> TimeSeries:
    if isinstance(obj, TimeSeries):
        return obj
    if isinstance(obj, (pd.Series, pd.DataFrame)):
        return _from_pandas(obj, name)
    raise TypeError(
        f"`{name}` must be a darts TimeSeries or a pandas Series/DataFrame with a "
        f"DatetimeIndex, got {type(obj).__name__}."
    )


def _from_pandas(obj: pd.Series | pd.DataFrame, name: str) -> TimeSeries:
    """Pandas -> float32 ``TimeSeries``; the caller's object is never modified."""
    if len(obj) == 0:
        raise ValueError(f"`{name}` is empty.")
    index = obj.index
    if not isinstance(index, (pd.DatetimeIndex, pd.RangeIndex)):
        raise TypeError(
            f"`{name}` needs a DatetimeIndex (or RangeIndex) as its time axis, got "
            f"{type(index).__name__}; set one with e.g. `df.set_index(pd.to_datetime(df['date']))`."
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise ValueError(
            f"`{name}` has {int(index.duplicated().sum())} duplicate timestamps "
            f"(first: {dup}); aggregate or drop them before forecasting."
        )
    frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
    bad = [str(c) for c, dt in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)]
    if bad:
        raise TypeError(f"`{name}` has non-numeric columns {bad}; encode or drop them.")
    if isinstance(index, pd.DatetimeIndex) and index.freq is None and len(index) > 2:
        if pd.infer_freq(index.sort_values()) is None:
            steps = pd.Series(index.sort_values()).diff().value_counts()
            raise ValueError(
                f"`{name}` has an irregular time index (missing timestamps or mixed "
                f"steps; most common steps: {dict(steps.head(3))}). Regularize it, e.g. "
                "`df.asfreq(freq)` and fill the gaps, before forecasting."
            )
    values = frame.astype(np.float32)
    return TimeSeries.from_dataframe(values, copy=True)


def check_finite(series: TimeSeries | Sequence[TimeSeries] | None, name: str) -> None:
    """Raise a ``ValueError`` naming the first non-finite value of ``series``."""
    if series is None:
        return
    many = not isinstance(series, TimeSeries)
    for i, ts in enumerate(series if many else [series]):
        values = ts.all_values(copy=False)
        finite = np.isfinite(values)
        if not finite.all():
            where = int(np.argwhere(~finite)[0][0])
            label = f"{name}[{i}]" if many else name
            raise ValueError(
                f"`{label}` contains {int((~finite).sum())} NaN/inf value(s), the first at "
                f"{ts.time_index[where]}; fill or drop them (e.g. darts "
                "`MissingValuesFiller`) before forecasting."
            )


def check_length(
    series: TimeSeries | Sequence[TimeSeries], min_length: int, name: str, why: str
) -> None:
    """Raise a ``ValueError`` if any series is shorter than ``min_length`` steps."""
    many = not isinstance(series, TimeSeries)
    for i, ts in enumerate(series if many else [series]):
        if len(ts) < min_length:
            label = f"{name}[{i}]" if many else name
            raise ValueError(
                f"`{label}` has {len(ts)} time steps but {why} needs at least {min_length}."
            )
