"""Jena "Weather" long-horizon benchmark (MPI-BGC roof station, 2020, 10-minute)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from ._common import check_names, fmt, parse_dates, regularize, to_series
from ._container import ForecastData
from ._errors import SchemaError
from ._files import read_csv

__all__ = ["WEATHER_COLUMNS", "load_weather"]

#: The 21 variables, in file order, with clean unit names. The file's header has
#: U+FFFD replacement characters where the squared and micro signs were.
#: ``OT`` is the benchmark target (the station's CO2 column, renamed by the
#: Autoformer authors).
WEATHER_COLUMNS = [
    "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)",
    "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)",
    "wv (m/s)", "max. wv (m/s)", "wd (deg)", "rain (mm)", "raining (s)",
    "SWDR (W/m\u00b2)", "PAR (\u00b5mol/m\u00b2/s)", "max. PAR (\u00b5mol/m\u00b2/s)",
    "Tlog (degC)", "OT",
]
MISSING_CODE = -9999.0
FREQ = "10min"


def _ascii(name: str) -> str:
    return "".join(ch for ch in name if ord(ch) < 128)


def load_weather(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    raw_order: bool = False,
    columns: Sequence[str] | None = None,
    verify: bool = True,
) -> ForecastData:
    """Load the 21-variable Jena 2020 weather benchmark.

    Two versions, for two uses:

    * ``raw_order=False`` (default), for forecasting: a regular 10-minute
      ``DatetimeIndex`` from 2020-01-01 00:10 to 2021-01-01 00:00 (52,704 steps). The
      duplicated timestamp (2020-05-12 06:00, two identical rows) is dropped, the
      100-minute gap after 2020-05-29 09:30 is filled by linear interpolation
      (9 steps), and the ``-9999`` missing-value codes (81 cells) are replaced by
      linear interpolation.
    * ``raw_order=True``, for paper-comparable numbers: the 52,696 rows exactly as in
      the file (duplicate, gap and ``-9999`` codes included, as in the published
      tables), indexed by row number (``RangeIndex``). The timestamps are kept in
      ``target.metadata["timestamps"]``. Use this with :func:`ltsf_split`.

    Parameters
    ----------
    data_dir
        Folder holding ``weather/weather.csv[.gz]``; see :mod:`rnn_forecast.datasets`.
    raw_order
        Return the raw rows (see above) instead of the regularized series.
    columns
        Subset of :data:`WEATHER_COLUMNS` to return, e.g. ``["OT"]``; default all 21.
    verify
        Check the SHA-256 of the raw file.

    Returns
    -------
    ForecastData
        ``target``: multivariate float32 series, ``len(columns)`` components
        (default 21). No covariates.
    """
    names = (
        WEATHER_COLUMNS
        if columns is None
        else check_names(columns, WEATHER_COLUMNS, "weather column")
    )

    # latin-1 maps every byte to a character, so any header encoding parses; columns
    # are then matched on their ASCII part.
    raw, path = read_csv(
        "weather", data_dir, required_columns=["date"], verify=verify, encoding="latin-1"
    )
    by_ascii = {_ascii(c).strip(): c for c in raw.columns}
    missing = [c for c in WEATHER_COLUMNS if _ascii(c) not in by_ascii]
    if missing:
        raise SchemaError(
            f"{path} lacks the expected weather column(s) {missing}; its columns are "
            f"{list(raw.columns)}. Is it the Autoformer weather.csv?"
        )
    values = raw[[by_ascii[_ascii(c)] for c in WEATHER_COLUMNS]].set_axis(WEATHER_COLUMNS, axis=1)
    non_numeric = [c for c in WEATHER_COLUMNS if not pd.api.types.is_numeric_dtype(values[c])]
    if non_numeric:
        raise SchemaError(f"{path}: non-numeric values in column(s) {non_numeric}.")
    stamps = parse_dates(raw, "date", "%Y-%m-%d %H:%M:%S", path)

    codes = values == MISSING_CODE
    code_counts = {c: int(n) for c, n in codes.sum().items() if n}
    notes = [f"Read {fmt(len(raw))} rows from {path.name}: {stamps[0]} .. {stamps[-1]}."]

    if raw_order:
        steps = stamps.to_series().diff().iloc[1:]
        notes.append(
            f"raw_order=True: all {fmt(len(raw))} rows kept in file order, indexed by row "
            f"number (timestamps in target.metadata['timestamps']). Not cleaned: "
            f"{int((steps == pd.Timedelta(0)).sum())} duplicated timestamp(s), "
            f"{int((steps > pd.Timedelta(FREQ)).sum())} gap(s) in the {FREQ} grid, "
            f"{int(codes.to_numpy().sum())} cells holding the {MISSING_CODE:g} missing-value "
            f"code {code_counts}."
        )
        frame = values[names].set_axis(pd.RangeIndex(len(values)), axis=0)
        target = to_series(frame, metadata={"timestamps": stamps})
        return ForecastData("weather", target, None, None, notes)

    notes.append(
        f"{int(codes.to_numpy().sum())} cells holding the {MISSING_CODE:g} missing-value "
        f"code set to missing: {code_counts}."
    )
    frame = values.mask(codes).set_axis(stamps, axis=0)
    frame, regular_notes = regularize(frame, FREQ, "weather")
    notes += regular_notes
    target = to_series(frame[names], freq=FREQ)
    return ForecastData("weather", target, None, None, notes)
