"""Benchmark datasets as Darts ``TimeSeries``, cleaned explicitly and ready to forecast.

Every loader returns a :class:`ForecastData` ``(name, target, past_covariates,
future_covariates, notes)``; ``notes`` lists each cleaning step with counts. Values
are ``float32`` and returned series contain no NaN.

==========================  ==========================================================
:func:`load_traffic`        UCI Metro Interstate Traffic Volume, hourly, with weather
                            (past) and calendar/holiday (future) covariates
:func:`load_weather`        Jena 2020 weather, 21 variables, 10-minute; ``raw_order=True``
                            for the paper row order
:func:`load_stocks`         S&P 500 daily OHLCV, one series per ticker (505)
:func:`load_etth1`          ETTh1, 7 variables, hourly
:func:`ltsf_split`          standard long-horizon train/val/test split + train-only scaler
:func:`load_csv`            a user's own CSV (time column + numeric columns), checked,
                            never repaired
==========================  ==========================================================

Where the raw files come from (first rule that applies):

1. ``data_dir=`` argument: ``<data_dir>/<dataset>/<file>[.gz]`` or
   ``<data_dir>/<file>[.gz]``;
2. the ``RNN_FORECAST_DATA`` environment variable, same layout;
3. the user cache ``$XDG_CACHE_HOME/rnn_forecast`` (default ``~/.cache/rnn_forecast``),
   downloading the file there from its public source on first use (SHA-256 checked,
   written atomically).

Rules 1 and 2 never download. Every read checks the SHA-256 of the uncompressed content
unless ``verify=False``. Problems raise subclasses of :class:`DatasetError` whose
message names the file and the fix.
"""

from typing import TYPE_CHECKING

from rnn_forecast._lazy import lazy_attributes

from ._errors import (
    ChecksumError,
    CorruptFileError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    SchemaError,
    UnknownNameError,
)

# pandas, pooch, Darts and scikit-learn load with the first of these names used, so that
# the errors and the registry (``rnn-forecast --help``) do not wait for them.
# ``load_csv`` reads and checks a file with pandas alone and imports Darts only to
# return it: a bad CSV file is refused before Darts or torch is imported.
_LAZY = {
    "DATA_ENV_VAR": "rnn_forecast.datasets._files",
    "FILES": "rnn_forecast.datasets._files",
    "DatasetFile": "rnn_forecast.datasets._files",
    "Source": "rnn_forecast.datasets._files",
    "cache_dir": "rnn_forecast.datasets._files",
    "load_csv": "rnn_forecast.datasets.user_csv",
    "ForecastData": "rnn_forecast.datasets._container",
    "ETTH1_COLUMNS": "rnn_forecast.datasets.etth1",
    "load_etth1": "rnn_forecast.datasets.etth1",
    "LTSFSplit": "rnn_forecast.datasets.split",
    "ltsf_borders": "rnn_forecast.datasets.split",
    "ltsf_split": "rnn_forecast.datasets.split",
    "STOCK_FIELDS": "rnn_forecast.datasets.stocks",
    "load_stocks": "rnn_forecast.datasets.stocks",
    "load_traffic": "rnn_forecast.datasets.traffic",
    "WEATHER_COLUMNS": "rnn_forecast.datasets.weather",
    "load_weather": "rnn_forecast.datasets.weather",
}
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)

if TYPE_CHECKING:  # what _LAZY loads, for type checkers and the API pages (griffe)
    from ._container import ForecastData
    from ._files import DATA_ENV_VAR, FILES, DatasetFile, Source, cache_dir
    from .etth1 import ETTH1_COLUMNS, load_etth1
    from .split import LTSFSplit, ltsf_borders, ltsf_split
    from .stocks import STOCK_FIELDS, load_stocks
    from .traffic import load_traffic
    from .user_csv import load_csv
    from .weather import WEATHER_COLUMNS, load_weather

__all__ = [
    "DATA_ENV_VAR",
    "ETTH1_COLUMNS",
    "FILES",
    "STOCK_FIELDS",
    "WEATHER_COLUMNS",
    "ChecksumError",
    "CorruptFileError",
    "DatasetError",
    "DatasetFile",
    "DatasetNotFoundError",
    "DownloadError",
    "ForecastData",
    "LTSFSplit",
    "SchemaError",
    "Source",
    "UnknownNameError",
    "cache_dir",
    "load_csv",
    "load_etth1",
    "load_stocks",
    "load_traffic",
    "load_weather",
    "ltsf_borders",
    "ltsf_split",
]
