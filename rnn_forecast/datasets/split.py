"""The train/val/test protocol of the published long-horizon forecasting tables.

Informer, Autoformer, DLinear, PatchTST, SegRNN and most later papers cut the raw
CSV by *row number* and standardize every variable with statistics of the training
rows only; metrics are then reported on that standardized scale. With lookback
(input length) ``L`` the validation and test parts start ``L`` rows early, so that the
first validation/test window has a full input; the targets they are scored on never
overlap the previous part.

* ETT hourly files (``"etth1"``): 12 / 4 / 4 months of 30 days, later rows unused::

      train [0, 8640)   val [8640 - L, 11520)   test [11520 - L, 14400)

* Other datasets, e.g. ``"weather"``: 70 % / 10 % / 20 % of the ``n`` rows with
  ``n_train = int(0.7 n)``, ``n_test = int(0.2 n)``::

      train [0, n_train)   val [n_train - L, n - n_test)   test [n - n_test - L, n)

  For the 52,696 weather rows: train [0, 36887), val [36887 - L, 42157),
  test [42157 - L, 52696).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from darts import TimeSeries
from darts.dataprocessing.transformers import Scaler
from sklearn.preprocessing import StandardScaler

from ._container import ForecastData
from ._errors import UnknownNameError

__all__ = ["LTSFSplit", "ltsf_borders", "ltsf_split"]

_ETT_HOUR = (12 * 30 * 24, 4 * 30 * 24, 4 * 30 * 24)
_WEATHER_ROWS = 52_696
DATASETS = ("etth1", "weather", "custom")


@dataclass(frozen=True)
class LTSFSplit:
    """Result of :func:`ltsf_split`.

    Attributes
    ----------
    train, val, test
        Row slices of the input series (standardized when ``scale=True``); ``val`` and
        ``test`` include the ``lookback`` rows that precede their first target.
    scaler
        Darts ``Scaler`` wrapping a scikit-learn ``StandardScaler`` fitted on the
        ``train`` rows only (per component); ``scaler.inverse_transform`` maps
        forecasts back to the original units.
    borders
        ``{"train": (start, stop), "val": ..., "test": ...}`` half-open row ranges.
    """

    train: TimeSeries
    val: TimeSeries
    test: TimeSeries
    scaler: Scaler
    borders: dict[str, tuple[int, int]]


def ltsf_borders(n_rows: int, dataset: str, lookback: int) -> dict[str, tuple[int, int]]:
    """Half-open row ranges of the standard split (see the module docstring).

    Parameters
    ----------
    n_rows
        Number of rows of the raw file.
    dataset
        ``"etth1"`` (ETT hourly rule), ``"weather"`` or ``"custom"`` (70/10/20 rule).
    lookback
        Input length ``L`` of the model, ``0 <= L <= n_train``.

    Returns
    -------
    dict
        ``{"train": (0, a), "val": (a - L, b), "test": (b - L, c)}``.
    """
    if dataset not in DATASETS:
        raise UnknownNameError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if dataset == "etth1":
        n_train, n_val, n_test = _ETT_HOUR
        end = n_train + n_val + n_test
        if n_rows < end:
            raise ValueError(f"the ETTh1 split needs at least {end} rows, got {n_rows}")
    else:
        n_train, n_test = int(n_rows * 0.7), int(n_rows * 0.2)
        n_val, end = n_rows - n_train - n_test, n_rows
    if not isinstance(lookback, Integral) or not 0 <= lookback <= n_train:
        raise ValueError(f"lookback must be an int in [0, {n_train}], got {lookback!r}")
    lookback = int(lookback)
    return {
        "train": (0, n_train),
        "val": (n_train - lookback, n_train + n_val),
        "test": (n_train + n_val - lookback, end),
    }


def ltsf_split(
    series: TimeSeries | ForecastData,
    dataset: str,
    lookback: int,
    *,
    scale: bool = True,
) -> LTSFSplit:
    """Split a raw-order series into the standard long-horizon train/val/test parts.

    Parameters
    ----------
    series
        The whole dataset in *raw file row order*: ``load_etth1().target`` or
        ``load_weather(raw_order=True).target`` (a ``ForecastData`` is accepted too).
        The regularized weather series (52,704 rows) is refused: its rows are not the
        rows the published numbers were computed on.
    dataset
        ``"etth1"``, ``"weather"`` or ``"custom"`` (70/10/20 rule on any length).
    lookback
        Model input length ``L`` (e.g. 96, 336, 512).
    scale
        Return standardized series (default). The fitted scaler is returned either way.

    Returns
    -------
    LTSFSplit
        ``train`` (e.g. 36,887 rows for weather), ``val`` (``5,270 + L``), ``test``
        (``10,539 + L``), the scaler fitted on ``train`` and the row borders.
    """
    if isinstance(series, ForecastData):
        series = series.target
    if not isinstance(series, TimeSeries):
        raise TypeError(f"ltsf_split needs one TimeSeries, got {type(series).__name__}")
    if dataset == "weather" and len(series) != _WEATHER_ROWS:
        raise ValueError(
            f"the weather split is defined on the {_WEATHER_ROWS:,} raw rows, got "
            f"{len(series):,}; load the series with load_weather(raw_order=True)."
        )
    borders = ltsf_borders(len(series), dataset, lookback)
    parts = {name: series[start:stop] for name, (start, stop) in borders.items()}
    scaler = Scaler(StandardScaler())
    scaler.fit(parts["train"])
    if scale:
        parts = {name: scaler.transform(part) for name, part in parts.items()}
    return LTSFSplit(parts["train"], parts["val"], parts["test"], scaler, borders)
