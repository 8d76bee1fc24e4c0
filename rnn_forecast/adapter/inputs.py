"""Input conversion and validation at the forecasters' boundary.

Everything a user hands to ``fit``/``predict``/``historical_forecasts`` passes through
:func:`fit_inputs` or :func:`inference_inputs` first: pandas objects become Darts
``TimeSeries`` (with Darts' own constructors), values are cast to the model's dtype, and
problems are reported with the argument's name, before any tensor is built.

Dtypes: float32 and float64 series are accepted. A model trains in the dtype of its
(first) target series, as in Darts (float64 series train a float64 model); every other
input (covariates, validation and prediction series) is cast to that dtype. Pandas
inputs are converted to that dtype (float32 by default). Integer and float16 values are
refused: cast them explicitly. A cast that would turn finite values into inf (float64
values beyond float32's range) is refused too. docs/reliability.md ("Where we differ
from Darts") gives the reasons.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries

from rnn_forecast._checks import check_positive_int

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_series(obj, name: str, dtype=np.float32) -> TimeSeries | list[TimeSeries] | None:
    """Convert ``obj`` (one series-like or a sequence of them) to Darts ``TimeSeries``.

    Parameters
    ----------
    obj
        ``None``, a ``TimeSeries``, a pandas ``Series``/``DataFrame`` with a
        ``DatetimeIndex`` (or a ``RangeIndex``), or a list/tuple of those.
    name
        The argument's name, used in error messages.
    dtype
        The dtype pandas objects are converted to (``TimeSeries`` keep theirs).

    Returns
    -------
    TimeSeries | list[TimeSeries] | None
        ``None`` stays ``None``; a sequence becomes a list.

    Raises
    ------
    TypeError
        For objects that are not series, non-numeric, integer or float16 values.
    ValueError
        For empty inputs, duplicate or irregular timestamps, duplicate column names.
    """
    if obj is None:
        return None
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        if len(obj) == 0:
            raise ValueError(f"`{name}` is an empty sequence: pass at least one series.")
        return [_one_series(item, f"{name}[{i}]", dtype) for i, item in enumerate(obj)]
    return _one_series(obj, name, dtype)


def _one_series(obj, name: str, dtype) -> TimeSeries:
    if isinstance(obj, TimeSeries):
        check_dtype(obj, name)
        return obj
    if isinstance(obj, (pd.Series, pd.DataFrame)):
        return _from_pandas(obj, name, dtype)
    raise TypeError(
        f"`{name}` must be a darts TimeSeries or a pandas Series/DataFrame with a "
        f"DatetimeIndex, got {type(obj).__name__}."
    )


def _from_pandas(obj: pd.Series | pd.DataFrame, name: str, dtype) -> TimeSeries:
    """Pandas -> ``TimeSeries`` of ``dtype``; the caller's object is never modified."""
    if len(obj) == 0 or (isinstance(obj, pd.DataFrame) and obj.shape[1] == 0):
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
    if frame.columns.has_duplicates:
        dup = [str(c) for c in frame.columns[frame.columns.duplicated()]]
        raise ValueError(f"`{name}` has duplicate column names {dup}; rename them.")
    kinds = {str(c): dt for c, dt in frame.dtypes.items()}
    bad = [c for c, dt in kinds.items()
           if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)]
    if bad:
        raise TypeError(f"`{name}` has non-numeric columns {bad}; encode or drop them.")
    ints = [c for c, dt in kinds.items() if pd.api.types.is_integer_dtype(dt)]
    halves = [c for c, dt in kinds.items() if np.dtype(getattr(dt, "numpy_dtype", dt)) == np.float16]
    if ints or halves:
        what = "integer" if ints else "float16"
        raise TypeError(
            f"`{name}` has {what} columns {ints or halves}; forecasters train on float values: "
            f"cast them explicitly, e.g. `{name}.astype('float32')`."
        )
    irregular = (isinstance(index, pd.DatetimeIndex) and index.freq is None and len(index) > 2
                 and pd.infer_freq(index.sort_values()) is None)
    if irregular:
        steps = pd.Series(index.sort_values()).diff().value_counts()
        raise ValueError(
            f"`{name}` has an irregular time index (missing timestamps or mixed "
            f"steps; most common steps: {dict(steps.head(3))}). Regularize it, e.g. "
            "`df.asfreq(freq)` and fill the gaps, before forecasting."
        )
    if isinstance(index, pd.DatetimeIndex) and index.freq is None and len(index) <= 2:
        raise ValueError(
            f"`{name}` has only {len(index)} timestamp(s) and its index has no `freq`: a "
            f"frequency cannot be inferred from fewer than 3. Set it, e.g. `{name}.asfreq('h')` "
            "(with your series' frequency), or pass a longer series."
        )
    check_time_zone(index, name)
    values = frame.astype(dtype)
    if not np.isfinite(values.to_numpy()).all():  # NaN/inf, or finite values the cast overflowed
        check_range(frame.to_numpy(dtype=np.float64, na_value=np.nan), dtype, name)
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        # Darts drops the zone too, but loses the index's freq with it (fatal under 3 rows).
        warnings.warn(f"`{name}` has a time-zone-aware index ({index.tz}); forecasting on its "
                      "wall-clock times, the forecasts' index has no zone.", UserWarning, stacklevel=4)
        values = values.set_axis(pd.DatetimeIndex(index.tz_localize(None), freq=index.freq), axis=0)
    return TimeSeries.from_dataframe(values, copy=True)


def check_time_zone(index: pd.Index, name: str) -> None:
    """Refuse a time-zone-aware index that crosses a daylight-saving change.

    Darts keeps the wall-clock times of a zone-aware index and drops the zone; across a
    DST change those repeat an hour (autumn) or skip one (spring), and Darts then fails
    with an unrelated message about missing frequencies. Called on an index already
    known to be regular in absolute time.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None or len(index) < 3:
        return
    wall = index[np.argsort(index.asi8)].tz_localize(None)  # wall-clock times in time order
    if wall.has_duplicates or not wall.is_monotonic_increasing or pd.infer_freq(wall) is None:
        raise ValueError(
            f"`{name}` has a time-zone-aware index ({index.tz}) that crosses a daylight-saving "
            f"change: Darts drops the zone and keeps wall-clock times, which repeat or skip an "
            f"hour there. Convert it to UTC first, e.g. `{name}.tz_convert('UTC')`."
        )


def check_dtype(series: TimeSeries, name: str) -> None:
    """Raise a ``TypeError`` unless ``series`` holds float32 or float64 values."""
    if series.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"`{name}` has dtype {series.dtype}; forecasters train on float32 (or float64) "
            f"values: cast it, e.g. `{name}.astype(np.float32)`. (With float16 data Darts "
            "would train a bfloat16 model, which is numerically fragile; for mixed precision "
            "use `pl_trainer_kwargs={'precision': 'bf16-mixed'}` with float32 data.)"
        )


def cast(series, dtype, name: str):
    """``series`` (one, a list, or ``None``) with values of ``dtype``.

    Unlike Darts, which refuses a float64 series for a float32 model, values are cast:
    the model computes in its own dtype anyway. A cast is refused only where it would
    change values beyond rounding, i.e. finite values outside ``dtype``'s range.
    """
    if series is None:
        return None
    if isinstance(series, TimeSeries):
        if series.dtype == dtype:
            return series
        narrowed = series.astype(dtype)
        if not np.isfinite(narrowed.values(copy=False)).all():  # NaN/inf, or an overflow
            check_range(series.values(copy=False), dtype, name)
        return narrowed
    return [cast(ts, dtype, label) for label, ts in _labelled(series, name)]


def check_range(values: np.ndarray, dtype, name: str) -> None:
    """Raise a ``ValueError`` if finite ``values`` would overflow to inf in ``dtype``."""
    limit = np.finfo(dtype).max
    with np.errstate(invalid="ignore"):
        beyond = np.isfinite(values) & (np.abs(values) > limit)
    if beyond.any():
        raise ValueError(
            f"`{name}` holds {int(beyond.sum())} value(s) beyond the {np.dtype(dtype)} range "
            f"(|x| > {limit:.3g}), the largest {np.abs(values[beyond]).max():.3g}: the model "
            f"computes in {np.dtype(dtype)}, where they would be inf. Scale the series first "
            "(e.g. darts' `Scaler`), or train on float64 series."
        )


def first(series) -> TimeSeries:
    return series if isinstance(series, TimeSeries) else series[0]


def _labelled(series, name: str) -> list[tuple[str, TimeSeries]]:
    if isinstance(series, TimeSeries):
        return [(name, series)]
    return [(f"{name}[{i}]", ts) for i, ts in enumerate(series)]


def check_finite(series: TimeSeries | Sequence[TimeSeries] | None, name: str) -> None:
    """Raise a ``ValueError`` naming the first non-finite value (or static covariate)."""
    if series is None:
        return
    for label, ts in _labelled(series, name):
        values = ts.all_values(copy=False)
        finite = np.isfinite(values)
        if not finite.all():
            where = int(np.argwhere(~finite)[0][0])
            raise ValueError(
                f"`{label}` contains {int((~finite).sum())} NaN/inf value(s), the first at "
                f"{ts.time_index[where]}; fill or drop them (e.g. darts "
                "`MissingValuesFiller`) before forecasting."
            )
        static = ts.static_covariates
        if static is not None:
            bad = [str(c) for c, dt in static.dtypes.items()
                   if not pd.api.types.is_numeric_dtype(dt)]
            if bad:
                raise TypeError(
                    f"`{label}` has non-numeric static covariates {bad}; encode them, e.g. "
                    "with darts' `StaticCovariatesTransformer`."
                )
            if not np.isfinite(static.to_numpy(dtype=np.float64)).all():
                raise ValueError(f"`{label}` has NaN/inf static covariates; fill them.")


def check_length(
    series: TimeSeries | Sequence[TimeSeries], min_length: int, name: str, why: str
) -> None:
    """Raise a ``ValueError`` if any series is shorter than ``min_length`` steps."""
    for label, ts in _labelled(series, name):
        if len(ts) < min_length:
            raise ValueError(
                f"`{label}` has {len(ts)} time steps but {why} needs at least {min_length}."
            )




def check_pairs(series, covariates, name: str, target_name: str = "series") -> None:
    """One covariate series per target series, each on the same kind of time axis and step."""
    if covariates is None or series is None:
        return
    if _list_length(series) != _list_length(covariates):
        raise ValueError(
            f"`{name}` must hold one covariate series per target series: `{target_name}` is "
            f"{_count(series)}, `{name}` is {_count(covariates)}."
        )
    pairs = zip(_labelled(series, target_name), _labelled(covariates, name))
    for (target_label, target), (label, cov) in pairs:
        if target.has_datetime_index != cov.has_datetime_index:
            raise ValueError(
                f"`{label}` has {_index_kind(cov)} but `{target_label}` has {_index_kind(target)}."
            )
        if target.freq != cov.freq:
            raise ValueError(
                f"`{label}` has frequency {cov.freq_str!r} but `{target_label}` has "
                f"{target.freq_str!r}; resample one of them (e.g. `resample(freq)`) first."
            )


def check_widths(groups: dict[str, object]) -> None:
    """Every series within a group (e.g. the target and validation series) has the same width."""
    for group_name, members in groups.items():
        labelled = []
        for name, value in members:
            if value is not None:
                labelled += _labelled(value, name)
        if not labelled:
            continue
        ref_label, ref = labelled[0]
        for label, ts in labelled[1:]:
            if ts.width != ref.width:
                raise ValueError(
                    f"`{label}` has {_components(ts.width)} but `{ref_label}` has {ref.width}: "
                    f"all {group_name} of one model need the same components."
                )


def check_static_covariates(series, name: str, val_series=None) -> None:
    """All target series (and validation series) have static covariates of the same shape, or none has any."""
    labelled = _labelled(series, name) + ([] if val_series is None else _labelled(val_series, "val_series"))
    ref_label, ref = labelled[0]
    for label, ts in labelled[1:]:
        if _static_shape(ts) != _static_shape(ref):
            raise ValueError(
                f"`{label}` has {_describe_static(ts)} but `{ref_label}` has "
                f"{_describe_static(ref)}; give every series the same static covariate columns."
            )


def check_training_coverage(series, covariates, name: str, future: bool, *, input_chunk_length: int,
                            output_chunk_length: int, output_chunk_shift: int, stride: int = 1,
                            max_samples_per_ts: int | None = None, target_name: str = "series") -> None:
    """Covariates span every training window of their target series.

    Past covariates are read over each window's input chunk, future covariates over the
    whole window. Darts takes the last ``max_samples_per_ts`` windows (every ``stride``-th)
    of each series.
    """
    if covariates is None:
        return
    window = input_chunk_length + output_chunk_shift + output_chunk_length
    pairs = zip(_labelled(series, target_name), _labelled(covariates, name))
    for (target_label, target), (label, cov) in pairs:
        n_windows = (len(target) - window) // stride + 1
        used = min(n_windows, max_samples_per_ts or n_windows)
        start = target.time_index[len(target) - window - (used - 1) * stride]
        last_input = len(target) - window + input_chunk_length - 1
        end = target.end_time() if future else target.time_index[last_input]
        if cov.start_time() > start or cov.end_time() < end:
            raise ValueError(
                f"`{label}` spans {cov.start_time()} to {cov.end_time()}, but training on "
                f"`{target_label}` reads {'future' if future else 'past'} covariates from {start} "
                f"to {end}; extend the covariates (or trim the target series)."
            )


def fit_inputs(series, past_covariates, future_covariates, val_series, val_past_covariates,
               val_future_covariates, *, input_chunk_length: int, output_chunk_length: int,
               output_chunk_shift: int, stride: int = 1, max_samples_per_ts: int | None = None) -> dict:
    """Convert and check the series arguments of ``fit``.

    With a single ``series`` and ``val_series``, missing validation covariates default to
    the training covariates (Darts slices them by time).

    Returns
    -------
    dict
        The six arguments by name, as ``TimeSeries`` (or lists) of the target's dtype.

    Raises
    ------
    TypeError
        If ``series`` is ``None`` or not series-like (see :func:`as_series`).
    """
    if series is None:
        raise TypeError(
            "`series` is required: `fit` trains on it (a darts TimeSeries, a pandas "
            "Series/DataFrame with a DatetimeIndex, or a list of them), got None."
        )
    stride = check_positive_int(stride, "stride")
    if max_samples_per_ts is not None:
        check_positive_int(max_samples_per_ts, "max_samples_per_ts")
    series = as_series(series, "series")
    dtype = first(series).dtype
    converted = {"series": cast(series, dtype, "series")}
    for name, value in [("past_covariates", past_covariates), ("future_covariates", future_covariates),
                        ("val_series", val_series), ("val_past_covariates", val_past_covariates),
                        ("val_future_covariates", val_future_covariates)]:
        converted[name] = cast(as_series(value, name, dtype), dtype, name)
    series, val_series = converted["series"], converted["val_series"]
    labels = {name: name for name in converted}
    if isinstance(series, TimeSeries) and isinstance(val_series, TimeSeries):
        for kind in ("past_covariates", "future_covariates"):
            if converted[f"val_{kind}"] is None and converted[kind] is not None:
                converted[f"val_{kind}"] = converted[kind]
                labels[f"val_{kind}"] = f"{kind} (used for val_series)"
    for name, value in converted.items():
        check_finite(value, name)
    window = input_chunk_length + output_chunk_shift + output_chunk_length
    why = "training (input_chunk_length + output_chunk_shift + output_chunk_length)"
    check_length(series, window, "series", why)
    if val_series is not None:
        check_length(val_series, window, "val_series", why)
    check_widths({
        "target series": [("series", series), ("val_series", val_series)],
        "past covariates": [("past_covariates", converted["past_covariates"]),
                            ("val_past_covariates", converted["val_past_covariates"])],
        "future covariates": [("future_covariates", converted["future_covariates"]),
                              ("val_future_covariates", converted["val_future_covariates"])],
    })
    # after the widths: a validation series with other components is reported as that
    check_static_covariates(series, "series", val_series)
    chunks = {"input_chunk_length": input_chunk_length, "output_chunk_length": output_chunk_length,
                  "output_chunk_shift": output_chunk_shift}
    for target_name, target, prefix in [("series", series, ""), ("val_series", val_series, "val_")]:
        for kind, future in [("past_covariates", False), ("future_covariates", True)]:
            cov, label = converted[prefix + kind], labels[prefix + kind]
            check_pairs(target, cov, label, target_name)
            check_training_coverage(target, cov, label, future, **chunks, stride=stride,
                                    max_samples_per_ts=max_samples_per_ts, target_name=target_name)
    return converted


def inference_inputs(series, past_covariates, future_covariates, *, dtype=None, training=None,
                     min_length: int | None = None, why: str = "") -> tuple:
    """Convert and check the series arguments of ``predict``/``historical_forecasts``.

    Parameters
    ----------
    series, past_covariates, future_covariates
        As passed by the user.
    dtype
        The dtype the model was trained in (``None`` before training: the target's).
    training
        ``(series, past_covariates, future_covariates)`` the model was fitted on. Darts
        reuses the training covariates when ``series`` is omitted; they are also reused
        when ``series`` *is* the training series, so ``fit(s, past_covariates=c)``
        followed by ``backtest(s)`` or ``predict(n, series=s)`` works as it reads.
    min_length, why
        Minimum length of each target series, and what needs it (for the message).

    Covariates that do not reach far enough are reported by Darts, which knows the horizon.
    """
    series = as_series(series, "series", dtype or np.float32)
    if training is not None and isinstance(series, TimeSeries) and series == training[0]:
        past_covariates = training[1] if past_covariates is None else past_covariates
        future_covariates = training[2] if future_covariates is None else future_covariates
    if dtype is None and series is not None:
        dtype = first(series).dtype
    dtype = dtype or np.float32
    series = cast(series, dtype, "series")
    past_covariates = cast(as_series(past_covariates, "past_covariates", dtype), dtype, "past_covariates")
    future_covariates = cast(as_series(future_covariates, "future_covariates", dtype), dtype,
                             "future_covariates")
    converted = (series, past_covariates, future_covariates)
    for name, value in zip(("series", "past_covariates", "future_covariates"), converted):
        check_finite(value, name)
    if series is not None:
        if min_length:
            check_length(series, min_length, "series", why)
        check_static_covariates(series, "series")
        check_widths({"target series": [("series", series)],
                      "past covariates": [("past_covariates", past_covariates)],
                      "future covariates": [("future_covariates", future_covariates)]})
        check_pairs(series, past_covariates, "past_covariates")
        check_pairs(series, future_covariates, "future_covariates")
    return converted


def _as_list(series) -> list[TimeSeries]:
    return [series] if isinstance(series, TimeSeries) else list(series)


def _components(width: int) -> str:
    return f"{width} component" + ("" if width == 1 else "s")


def _list_length(series) -> int | None:
    """``None`` for one series, else the list's length (a list of one is not one series)."""
    return None if isinstance(series, TimeSeries) else len(series)


def _count(series) -> str:
    return "one series" if isinstance(series, TimeSeries) else f"a list of {len(series)}"


def _index_kind(series: TimeSeries) -> str:
    return "a DatetimeIndex" if series.has_datetime_index else "an integer (Range) index"


def _static_shape(series: TimeSeries):
    return None if series.static_covariates is None else series.static_covariates.shape


def _describe_static(series: TimeSeries) -> str:
    shape = _static_shape(series)
    return "no static covariates" if shape is None else f"static covariates of shape {shape}"
