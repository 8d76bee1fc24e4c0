"""S&P 500 daily OHLCV, 2013-02-08 .. 2018-02-07, 505 tickers (Kaggle "sandp500")."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from darts import TimeSeries

from ._common import DTYPE, check_names, fmt, parse_dates
from ._container import ForecastData
from ._errors import SchemaError
from ._files import read_csv

__all__ = ["STOCK_FIELDS", "load_stocks"]

STOCK_FIELDS = ("open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")


def load_stocks(
    tickers: Sequence[str] | str | None = None,
    fields: Sequence[str] | str = ("close",),
    log_returns: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> ForecastData:
    """Load daily prices of S&P 500 stocks, one ``TimeSeries`` per ticker.

    Policy for days without a row (reported with counts in ``notes``):

    * Each series runs on a business-day index (``freq="B"``, Monday to Friday) from
      the ticker's first row to its last; tickers listed after 2013-02-08 start later
      (nothing is back-filled).
    * A business day without a row -- an exchange holiday (no ticker has a row that
      day) or a day missing for that ticker only -- is filled as a day without
      trading: open, high, low and close all equal the previous close, volume is 0.
    * Rows whose open/high/low are missing (11 in the file, 4 of them zero-volume days)
      get that day's close for them.

    Parameters
    ----------
    tickers
        Ticker symbols (case-insensitive, e.g. ``["AAPL", "MSFT"]``) in the order
        wanted; default all 505 in alphabetical order. An unknown symbol raises
        :class:`UnknownNameError` listing close matches.
    fields
        Any of ``"open"``, ``"high"``, ``"low"``, ``"close"``, ``"volume"``; they
        become the components of every series, in this order.
    log_returns
        Replace each price field by its daily log return ``log(p_t / p_{t-1})``
        (the first day of every series is dropped; a filled day has return 0).
        ``volume`` is left as is (shares traded), only aligned.
    data_dir
        Folder holding ``stocks/all_stocks_5yr.csv[.gz]``; see
        :mod:`rnn_forecast.datasets`.
    verify
        Check the SHA-256 of the raw file.

    Returns
    -------
    ForecastData
        ``target``: list of float32 ``TimeSeries``, one per ticker, components =
        ``fields``; each carries its symbol in ``series.metadata["ticker"]`` and
        ``series_names`` lists the symbols in the same order. No covariates.
    """
    fields = list(dict.fromkeys(check_names(fields, STOCK_FIELDS, "field")))
    raw, path = read_csv(
        "stocks",
        data_dir,
        required_columns=["date", *STOCK_FIELDS, "Name"],
        verify=verify,
        dtype={"Name": str},
    )
    non_numeric = [c for c in STOCK_FIELDS if not pd.api.types.is_numeric_dtype(raw[c])]
    if non_numeric:
        raise SchemaError(f"{path}: non-numeric values in column(s) {non_numeric}.")
    dates = parse_dates(raw, "date", "%Y-%m-%d", path)
    if (dates.day_of_week >= 5).any():
        raise SchemaError(f"{path}: rows dated on a weekend; this is not the expected file.")

    if raw["Name"].isna().any():
        row = int(np.flatnonzero(raw["Name"].isna())[0])
        raise SchemaError(f"{path}: {int(raw['Name'].isna().sum())} row(s) without a ticker "
                          f"'Name', first at data row {row + 1}.")
    known = sorted(raw["Name"].unique())
    if tickers is None:
        names = known
    else:
        wanted = [tickers] if isinstance(tickers, str) else list(tickers)
        names = list(
            dict.fromkeys(check_names([t.strip().upper() for t in wanted], known, "ticker"))
        )

    market_days = dates.unique()
    calendar = pd.bdate_range(market_days.min(), market_days.max())
    holidays = ~calendar.isin(market_days)
    notes = [
        f"Read {fmt(len(raw))} rows from {path.name}: {len(known)} tickers, "
        f"{calendar[0].date()} .. {calendar[-1].date()} ({fmt(len(market_days))} trading "
        f"days, {int(holidays.sum())} exchange holidays among the {fmt(len(calendar))} "
        f"business days)."
    ]

    selected = raw["Name"].isin(names).to_numpy()
    rows = raw.loc[selected, list(STOCK_FIELDS)]
    row_pos = calendar.get_indexer(dates[selected])
    col_pos = pd.Index(names).get_indexer(raw.loc[selected, "Name"])
    duplicated = pd.Series(row_pos * len(names) + col_pos).duplicated().to_numpy()
    if duplicated.any():
        notes.append(
            f"{int(duplicated.sum())} duplicated (date, ticker) rows dropped (first kept)."
        )
        rows, row_pos, col_pos = rows[~duplicated], row_pos[~duplicated], col_pos[~duplicated]

    no_ohl = rows[["open", "high", "low"]].isna().any(axis=1)
    rows = rows.assign(**{f: rows[f].fillna(rows["close"]) for f in ("open", "high", "low")})
    if rows["close"].isna().any():
        raise SchemaError(f"{path}: {int(rows['close'].isna().sum())} rows have no close price.")
    notes.append(
        f"{int(no_ohl.sum())} rows with missing open/high/low set to that day's close "
        f"({int((no_ohl & (rows['volume'] == 0)).sum())} of them have volume 0)."
    )

    # Dense (business day x ticker) grids, NaN where the file has no row.
    grids = {}
    for name in fields if "close" in fields else [*fields, "close"]:
        grid = np.full((len(calendar), len(names)), np.nan)
        grid[row_pos, col_pos] = rows[name].to_numpy(dtype=float)
        grids[name] = grid
    present = ~np.isnan(grids["close"])
    previous_close = pd.DataFrame(grids["close"]).ffill().to_numpy()
    for name in fields:
        grids[name] = np.where(present, grids[name], 0.0 if name == "volume" else previous_close)

    first = present.argmax(axis=0)
    last = len(calendar) - 1 - present[::-1].argmax(axis=0)
    span = (np.arange(len(calendar))[:, None] >= first) & (
        np.arange(len(calendar))[:, None] <= last
    )
    filled = span & ~present
    filled_holiday = int((filled & holidays[:, None]).sum())
    notes.append(
        f"Business-day index per ticker, first to last row. Filled as no-trade days "
        f"(open/high/low/close = previous close, volume = 0): {fmt(filled_holiday)} "
        f"ticker-days on exchange holidays and {fmt(int(filled.sum()) - filled_holiday)} "
        f"ticker-days missing for that ticker only."
    )
    late = int((first > 0).sum())
    notes.append(
        f"{len(names)} tickers returned; {late} start after {calendar[0].date()} and "
        f"{int((last < len(calendar) - 1).sum())} end before {calendar[-1].date()} (not "
        f"back- or forward-filled)."
    )

    values = np.stack([grids[name] for name in fields], axis=-1)
    if log_returns:
        price_idx = [i for i, name in enumerate(fields) if name in _PRICES]
        if (values[..., price_idx][span] <= 0).any():
            raise SchemaError(f"{path}: non-positive prices; log returns are undefined.")
        returns = values[1:].copy()
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN outside spans only
            returns[..., price_idx] = np.diff(np.log(values[..., price_idx]), axis=0)
        # Row r of `returns` is day r + 1, so after dropping day 0 from the calendar
        # ticker j's returns occupy rows first[j] .. last[j] - 1: `last` is the stop.
        values, calendar = returns, calendar[1:]
        notes.append(
            "log_returns=True: price fields are log(p_t / p_t-1); the first day of every "
            "series is dropped" + ("; volume is not transformed." if "volume" in fields else ".")
        )
    else:
        last = last + 1  # half-open stop index
    values = values.astype(DTYPE)

    target = [
        TimeSeries.from_times_and_values(
            calendar[first[j] : last[j]],
            values[first[j] : last[j], j, :],
            freq="B",
            columns=fields,
            metadata={"ticker": name},
        )
        for j, name in enumerate(names)
    ]
    lengths = [len(s) for s in target]
    notes.append(f"Series lengths {min(lengths)} .. {max(lengths)} business days.")
    return ForecastData("stocks", target, None, None, notes, series_names=list(names))
