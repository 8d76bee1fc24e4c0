"""ETTh1: Electricity Transformer Temperature, hourly (Zhou et al., Informer, AAAI 2021)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from ._common import check_names, fmt, parse_dates, regularize, to_series
from ._container import ForecastData
from ._errors import SchemaError
from ._files import read_csv

__all__ = ["ETTH1_COLUMNS", "load_etth1"]

#: High/Middle/Low UseFul/UseLess Load and the oil temperature ``OT`` (the usual target).
ETTH1_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def load_etth1(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    verify: bool = True,
) -> ForecastData:
    """Load ETTh1: 7 variables of one electricity transformer, hourly.

    The published file is already clean: 17,420 hourly rows from 2016-07-01 00:00 to
    2018-06-26 19:00, no duplicated timestamp, no gap, no missing value, so row order
    equals time order and the series can go straight into :func:`ltsf_split`. (Should
    a modified file have duplicates or gaps, they are removed / interpolated and
    reported in ``notes``.)

    Parameters
    ----------
    data_dir
        Folder holding ``etth1/ETTh1.csv[.gz]``; see :mod:`rnn_forecast.datasets`.
    columns
        Subset of :data:`ETTH1_COLUMNS`, e.g. ``["OT"]``; default all 7.
    verify
        Check the SHA-256 of the raw file.

    Returns
    -------
    ForecastData
        ``target``: float32 series, hourly (``freq="h"``), ``len(columns)`` components
        (default 7). No covariates.
    """
    names = (
        ETTH1_COLUMNS if columns is None else check_names(columns, ETTH1_COLUMNS, "ETTh1 column")
    )
    raw, path = read_csv(
        "etth1", data_dir, required_columns=["date"] + ETTH1_COLUMNS, verify=verify
    )
    non_numeric = [c for c in ETTH1_COLUMNS if not pd.api.types.is_numeric_dtype(raw[c])]
    if non_numeric:
        raise SchemaError(f"{path}: non-numeric values in column(s) {non_numeric}.")
    stamps = parse_dates(raw, "date", "%Y-%m-%d %H:%M:%S", path)

    notes = [f"Read {fmt(len(raw))} rows from {path.name}: {stamps[0]} .. {stamps[-1]}."]
    frame, regular_notes = regularize(raw[ETTH1_COLUMNS].set_axis(stamps, axis=0), "h", "etth1")
    notes += regular_notes
    return ForecastData("etth1", to_series(frame[names], freq="h"), None, None, notes)
