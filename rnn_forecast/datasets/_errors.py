"""Exceptions raised by :mod:`rnn_forecast.datasets`.

Every exception derives from :class:`DatasetError`, so ``except DatasetError`` catches
all of them; each one also derives from the built-in exception that fits
(``FileNotFoundError``, ``ValueError``, ``OSError``) so generic handlers keep working.
Messages always name the file involved and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "CorruptFileError",
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "SchemaError",
    "UnknownNameError",
]


class DatasetError(Exception):
    """Base class of every error raised while locating, reading or cleaning a dataset."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """No copy of the dataset file was found where the caller said it would be."""


class ChecksumError(DatasetError, ValueError):
    """The (uncompressed) content of a dataset file does not have the published SHA-256."""


class CorruptFileError(DatasetError, ValueError):
    """A dataset file cannot be decompressed or parsed (truncated gzip, not a CSV, ...)."""


class SchemaError(DatasetError, ValueError):
    """A dataset file parsed, but its columns or time index are not the expected ones."""


class DownloadError(DatasetError, OSError):
    """The dataset could not be downloaded (and verified) from any of its sources."""


class UnknownNameError(DatasetError, ValueError):
    """An unknown ticker, column, field or option name was requested."""
