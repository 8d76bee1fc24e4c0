"""UCI "Metro Interstate Traffic Volume" (hourly I-94 westbound traffic, 2012-2018)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.utils.timeseries_generation import datetime_attribute_timeseries
from pandas.tseries.holiday import USFederalHolidayCalendar

from ._common import DTYPE, fmt, gap_summary, parse_dates, run_lengths, to_series
from ._container import ForecastData
from ._errors import SchemaError, UnknownNameError
from ._files import read_csv

__all__ = ["load_traffic"]

RAW_COLUMNS = [
    "holiday", "temp", "rain_1h", "snow_1h", "clouds_all",
    "weather_main", "weather_description", "date_time", "traffic_volume",
]
WEATHER_NUMERIC = ["temp", "rain_1h", "snow_1h", "clouds_all"]
TARGET = "traffic_volume"
IMPUTED_FLAG = "traffic_volume_imputed"
CALENDAR = ("hour", "day_of_week", "month")

# Physically impossible readings, treated as missing. The file holds temp == 0 K
# (10 rows) and one rain_1h of 9831.3 mm (the world-record hourly rainfall is ~305 mm).
MIN_TEMP_K = 200.0
MAX_RAIN_MM_PER_H = 300.0

_SEGMENTS = ("longest", "all")


def load_traffic(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    segment: str = "longest",
    interpolate_limit: int = 3,
    seasonal_fill_limit: int = 168,
    verify: bool = True,
) -> ForecastData:
    """Load hourly I-94 westbound traffic volume with weather and calendar covariates.

    Cleaning, in order (each step is reported with counts in ``notes``):

    1. Impossible weather readings (``temp`` below 200 K, ``rain_1h`` above 300 mm)
       become missing.
    2. Duplicated timestamps (one row per weather condition reported in that hour) are
       collapsed deterministically: ``traffic_volume`` is identical within every
       duplicated hour (checked; the first row in file order wins otherwise), numeric
       weather is averaged, and the ``weather_main`` one-hot columns are OR-ed (an hour
       with rain and mist has both flags set).
    3. The ``holiday`` name, which the file only gives on the midnight row, is
       propagated to all 24 hours of that day. The file's holidays are exactly the
       observed US federal holidays plus the Minnesota State Fair day; federal holidays
       whose midnight row is missing from the file are added from pandas'
       ``USFederalHolidayCalendar``.
    4. The hourly index is regularized. Gaps of at most ``interpolate_limit`` hours are
       linearly interpolated. Gaps up to ``seasonal_fill_limit`` hours are filled with
       the traffic volume of the same hour of the week from the nearest earlier week
       that has it (from a later week at the start of a segment) -- linear
       interpolation would erase the rush-hour peaks -- while the weather covariates
       are linearly interpolated and ``weather_main`` carried forward.
    5. Longer gaps (in the raw file: 10 days in November 2013 and the 307-day hole of
       Aug 2014 -- Jun 2015) are not filled: they split the data into segments.

    Parameters
    ----------
    data_dir
        Folder holding ``traffic/Metro_Interstate_Traffic_Volume.csv[.gz]``; see
        :mod:`rnn_forecast.datasets` for the search and download rules.
    segment
        ``"longest"`` (default): the longest segment, which with the default limits is
        everything after the long 2014-2015 gap (2015-06-11 20:00 .. 2018-09-30 23:00,
        28,972 hours): the most recent, longest stretch, so it contains three full
        years of seasonality and ends where a forecaster would start. ``"all"``: every
        segment, as lists of series (usable as several series of a global model).
    interpolate_limit
        Longest gap, in hours, filled by linear interpolation.
    seasonal_fill_limit
        Longest gap, in hours, filled at all (weekly seasonal fill above
        ``interpolate_limit``). Setting it equal to ``interpolate_limit`` disables the
        seasonal fill, so ``segment="longest"`` returns the longest stretch where no
        gap exceeds ``interpolate_limit`` hours.
    verify
        Check the SHA-256 of the raw file.

    Returns
    -------
    ForecastData
        ``target``: ``traffic_volume`` (vehicles per hour), 1 component, hourly
        (``freq="h"``), float32. ``past_covariates``: ``temp`` (K), ``rain_1h`` (mm),
        ``snow_1h`` (mm), ``clouds_all`` (%), 11 ``weather_<Main>`` one-hot columns and
        ``traffic_volume_imputed`` (1 where the target was filled). ``future_covariates``:
        ``hour``, ``day_of_week`` and ``month`` as sine/cosine pairs and ``holiday``
        (0/1). Covariates span exactly the target's time range; extend the calendar
        columns yourself to forecast past 2018-09-30. With ``segment="all"`` each of
        the three is a list with one series per segment.
    """
    if segment not in _SEGMENTS:
        raise UnknownNameError(f"segment must be one of {_SEGMENTS}, got {segment!r}")
    if not 0 <= interpolate_limit <= seasonal_fill_limit:
        raise ValueError(
            "need 0 <= interpolate_limit <= seasonal_fill_limit, got "
            f"{interpolate_limit} and {seasonal_fill_limit}"
        )

    raw, path = read_csv(
        "traffic",
        data_dir,
        required_columns=RAW_COLUMNS,
        verify=verify,
        # "None" is a holiday value meaning "no holiday", not a missing value.
        keep_default_na=False,
        na_values={c: ["", "NaN", "nan"] for c in WEATHER_NUMERIC + [TARGET]},
        dtype={"holiday": str, "weather_main": str},
    )
    non_numeric = [c for c in WEATHER_NUMERIC + [TARGET] if not pd.api.types.is_numeric_dtype(raw[c])]
    if non_numeric:
        raise SchemaError(f"{path}: non-numeric values in column(s) {non_numeric}.")
    raw["date_time"] = parse_dates(raw, "date_time", "ISO8601", path)

    notes = [
        f"Read {fmt(len(raw))} rows from {path.name}: {raw['date_time'].min()} .. "
        f"{raw['date_time'].max()}."
    ]
    hourly, collapse_notes = _collapse_duplicates(raw)
    notes += collapse_notes
    off_grid = hourly.index != hourly.index.floor("h")
    if off_grid.any():
        raise SchemaError(
            f"{path}: {int(off_grid.sum())} timestamps are not on the hour (first: "
            f"{hourly.index[off_grid][0]}); this is not the expected hourly file."
        )

    volume = hourly[TARGET]
    if volume.isna().all():
        raise SchemaError(f"{path}: no row has a {TARGET} value.")
    # A series starts and ends on an observed volume: there is nothing to fill edges from.
    hourly = hourly.loc[volume.first_valid_index() : volume.last_valid_index()]
    full_index = pd.date_range(hourly.index[0], hourly.index[-1], freq="h")
    named_days = hourly.index[hourly["holiday"] > 0].normalize().unique()
    # The file's holidays are the observed US federal holidays plus the Minnesota State
    # Fair day, but a holiday whose midnight row is missing is absent from the column.
    federal = USFederalHolidayCalendar().holidays(full_index[0].normalize(), full_index[-1])
    recovered = federal.difference(named_days)
    hourly = hourly.reindex(full_index)
    hourly["holiday"] = full_index.normalize().isin(named_days.union(federal)).astype(DTYPE)
    notes.append(
        f"holiday: {len(named_days)} holidays named in the file (on their midnight row "
        f"only) propagated to all 24 hours of their day; {len(recovered)} US federal "
        f"holidays whose midnight row is missing added from pandas' "
        f"USFederalHolidayCalendar ({', '.join(str(d.date()) for d in recovered)})."
    )

    missing = hourly[TARGET].isna().to_numpy()
    gap_len = run_lengths(missing)
    n_gaps, n_missing, _ = gap_summary(missing)
    by_size = _gap_counts(gap_len, interpolate_limit, seasonal_fill_limit)
    notes.append(
        f"Regularized to hourly: {fmt(len(full_index))} hours, {fmt(n_missing)} of them "
        f"missing in {fmt(n_gaps)} gaps ({by_size})."
    )

    segments = _segments(gap_len > seasonal_fill_limit)
    by_length = sorted(segments, key=lambda ab: ab[0] - ab[1])
    described = ", ".join(
        f"{full_index[a]} .. {full_index[b - 1]} ({fmt(b - a)} h)" for a, b in by_length[:3]
    )
    more = f" and {len(segments) - 3} shorter ones" if len(segments) > 3 else ""
    notes.append(
        f"Gaps longer than {seasonal_fill_limit} h split the data into {len(segments)} "
        f"segment(s), longest first: {described}{more}."
    )
    if segment == "longest":
        segments = by_length[:1]
        a, b = segments[0]
        notes.append(
            f"segment='longest': returning {full_index[a]} .. {full_index[b - 1]} "
            f"({fmt(b - a)} hours)."
        )

    targets, pasts, futures = [], [], []
    filled = {"interp_h": 0, "interp_gaps": 0, "seasonal_h": 0, "seasonal_gaps": 0}
    for a, b in segments:
        frame = _fill_segment(hourly.iloc[a:b], gap_len[a:b], interpolate_limit, filled)
        targets.append(to_series(frame[[TARGET]], freq="h"))
        past_cols = [c for c in frame.columns if c not in (TARGET, "holiday")]
        pasts.append(to_series(frame[past_cols], freq="h"))
        futures.append(_calendar(frame.index).stack(to_series(frame[["holiday"]], freq="h")))
    seasonal_note = (
        f"{fmt(filled['seasonal_h'])} hours in {fmt(filled['seasonal_gaps'])} gaps of "
        f"{interpolate_limit + 1}..{seasonal_fill_limit} h filled with the same hour of "
        f"the nearest observed week (weather: linear, weather_main carried forward); "
        if seasonal_fill_limit > interpolate_limit
        else ""
    )
    notes.append(
        f"Filled in the returned data: {fmt(filled['interp_h'])} hours in "
        f"{fmt(filled['interp_gaps'])} gaps of <= {interpolate_limit} h linearly "
        f"interpolated; {seasonal_note}past covariate {IMPUTED_FLAG!r} marks these "
        f"{fmt(filled['interp_h'] + filled['seasonal_h'])} hours."
    )

    if len(targets) == 1:
        return ForecastData("traffic", targets[0], pasts[0], futures[0], notes)
    return ForecastData("traffic", targets, pasts, futures, notes)


def _collapse_duplicates(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per timestamp: volume (first), mean numeric weather, OR-ed one-hots."""
    notes = []
    exact_copies = int(raw.duplicated().sum())
    bad_temp = raw["temp"] < MIN_TEMP_K
    bad_rain = raw["rain_1h"] > MAX_RAIN_MM_PER_H
    raw = raw.assign(
        temp=raw["temp"].mask(bad_temp),
        rain_1h=raw["rain_1h"].mask(bad_rain),
    )
    notes.append(
        f"Impossible readings treated as missing (then interpolated): {int(bad_temp.sum())} "
        f"temp values below {MIN_TEMP_K:g} K, {int(bad_rain.sum())} rain_1h values above "
        f"{MAX_RAIN_MM_PER_H:g} mm."
    )

    conditions = pd.get_dummies(raw["weather_main"], prefix="weather", dtype=DTYPE)
    conditions = conditions.reindex(sorted(conditions.columns), axis=1)
    frame = pd.concat(
        [
            raw[["date_time", TARGET] + WEATHER_NUMERIC],
            conditions,
            (~raw["holiday"].fillna("").str.strip().isin(["None", ""]))
            .astype(DTYPE)
            .rename("holiday"),
        ],
        axis=1,
    )
    grouped = frame.groupby("date_time", sort=True)
    aggregations = {TARGET: "first", "holiday": "max"}
    aggregations |= {c: "mean" for c in WEATHER_NUMERIC}
    aggregations |= {c: "max" for c in conditions.columns}
    hourly = grouped.agg(aggregations)[
        [TARGET] + WEATHER_NUMERIC + list(conditions.columns) + ["holiday"]
    ]

    n_extra = len(raw) - len(hourly)
    conflicts = int((grouped[TARGET].nunique() > 1).sum())
    several = int((hourly[list(conditions.columns)].sum(axis=1) > 1).sum())
    notes.append(
        f"Duplicated timestamps: {fmt(n_extra)} extra rows (several weather reports for "
        f"one hour; {exact_copies} exact copies) collapsed into "
        f"{fmt(len(hourly))} hourly rows. traffic_volume differed within {conflicts} "
        f"duplicated hours (first row kept); numeric weather averaged; weather_main "
        f"one-hot OR-ed ({fmt(several)} hours report several conditions)."
    )
    return hourly, notes


def _gap_counts(gap_len: np.ndarray, short: int, medium: int) -> str:
    starts = np.flatnonzero(np.diff(np.concatenate(([0], (gap_len > 0).astype(np.int8)))) == 1)
    lengths = gap_len[starts]
    n_short = int((lengths <= short).sum())
    n_medium = int(((lengths > short) & (lengths <= medium)).sum())
    n_long = int((lengths > medium).sum())
    longest = int(lengths.max(initial=0))
    middle = f"{fmt(n_medium)} of {short + 1}..{medium} h, " if medium > short else ""
    return f"{fmt(n_short)} of <= {short} h, {middle}{n_long} longer; longest {fmt(longest)} h"


def _segments(cut: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` row ranges between the ``True`` runs of ``cut``."""
    keep = np.concatenate(([0], (~cut).astype(np.int8), [0]))
    edges = np.diff(keep)
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _fill_segment(
    frame: pd.DataFrame, gap_len: np.ndarray, interpolate_limit: int, filled: dict
) -> pd.DataFrame:
    frame = frame.copy()
    volume = frame[TARGET]
    missing = volume.isna().to_numpy()
    short = missing & (gap_len <= interpolate_limit)
    seasonal = missing & ~short

    hour_of_week = frame.index.day_of_week * 24 + frame.index.hour
    same_hour_earlier = volume.groupby(hour_of_week).ffill()
    same_hour_later = volume.groupby(hour_of_week).bfill()
    linear = volume.interpolate(method="linear", limit_area="inside")
    # Linear only as a last resort: an hour of the week never observed in a short segment.
    weekly = same_hour_earlier.fillna(same_hour_later).fillna(linear)
    frame[TARGET] = volume.mask(short, linear).mask(seasonal, weekly)

    frame[WEATHER_NUMERIC] = (
        frame[WEATHER_NUMERIC].interpolate(method="linear", limit_area="inside").ffill().bfill()
    )
    conditions = [c for c in frame.columns if c.startswith("weather_")]
    frame[conditions] = frame[conditions].ffill().bfill()
    frame[IMPUTED_FLAG] = missing.astype(DTYPE)

    for mask, key in ((short, "interp"), (seasonal, "seasonal")):
        n_gaps, n_hours, _ = gap_summary(mask)
        filled[f"{key}_h"] += n_hours
        filled[f"{key}_gaps"] += n_gaps
    return frame


def _calendar(index: pd.DatetimeIndex) -> TimeSeries:
    parts = [
        datetime_attribute_timeseries(index, attribute, cyclic=True, dtype=DTYPE)
        for attribute in CALENDAR
    ]
    return parts[0].stack(parts[1]).stack(parts[2])
