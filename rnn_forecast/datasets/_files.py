"""Locating, downloading and verifying the raw dataset files.

Where a file is looked for, in this order (the first rule that applies wins):

1. ``data_dir=`` passed to the loader;
2. else the environment variable ``RNN_FORECAST_DATA``;
3. else the user cache ``$XDG_CACHE_HOME/rnn_forecast`` (``~/.cache/rnn_forecast``
   when ``XDG_CACHE_HOME`` is unset), and if the file is not there yet it is downloaded
   into that cache from its public source.

Rules 1 and 2 never download: a folder the user named that lacks the file is an error
(:class:`DatasetNotFoundError`), not a reason to fetch 30 MB silently. A download is
always checked against the registry's SHA-256, whatever ``verify`` says.

Inside a folder, a dataset file is found as ``<dir>/<folder>/<file>.gz``,
``<dir>/<folder>/<file>``, ``<dir>/<file>.gz`` or ``<dir>/<file>`` (first match wins);
``.gz`` or not is decided by the content (gzip magic bytes), not by the name.

What is hashed: the SHA-256 of the *uncompressed* CSV bytes (the published checksums
are of the plain files), so a ``.csv`` and a ``.csv.gz`` of the same data both verify.
Downloads (:mod:`rnn_forecast.datasets._download`, through pooch) are written to a
temporary folder inside the cache folder, verified, then renamed into place
(``os.replace``, atomic on POSIX): an interrupted or corrupt download never leaves a
partial file under the final name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from rnn_forecast.datasets.registry import DATASETS, DatasetFile, Source

from ._download import download
from ._errors import ChecksumError, CorruptFileError, DatasetNotFoundError, SchemaError

__all__ = [
    "DATA_ENV_VAR",
    "FILES",
    "DatasetFile",
    "Source",
    "cache_dir",
    "locate",
    "read_csv",
]

DATA_ENV_VAR = "RNN_FORECAST_DATA"
_GZIP_MAGIC = b"\x1f\x8b"


# Module-level so tests (or users behind a mirror) can swap the sources, e.g.
# ``FILES["etth1"] = dataclasses.replace(FILES["etth1"], sources=(Source(url),))``.
# The entries come from the one dataset registry (rnn_forecast.datasets.registry).
FILES: dict[str, DatasetFile] = {dataset.name: dataset.file for dataset in DATASETS}


def cache_dir() -> Path:
    """Return the user cache folder for downloaded datasets.

    ``$XDG_CACHE_HOME/rnn_forecast`` when ``XDG_CACHE_HOME`` is set and non-empty,
    else ``~/.cache/rnn_forecast``. The folder is not created here.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "rnn_forecast"


def _candidates(root: Path, spec: DatasetFile) -> list[Path]:
    names = (spec.filename + ".gz", spec.filename)
    return [root / spec.folder / n for n in names] + [root / n for n in names]


def _find_in(root: Path, spec: DatasetFile) -> Path | None:
    return next((p for p in _candidates(root, spec) if p.is_file()), None)


def locate(key: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of dataset ``key``'s raw file, downloading it if needed.

    Parameters
    ----------
    key
        Registry key (``"traffic"``, ``"weather"``, ``"stocks"``, ``"etth1"``).
    data_dir
        Folder to look in; see the module docstring for the search rules.

    Returns
    -------
    pathlib.Path
        An existing file (``.csv`` or ``.csv.gz``). It is not verified here.

    Raises
    ------
    DatasetNotFoundError
        ``data_dir`` or ``$RNN_FORECAST_DATA`` was given but does not hold the file.
    DownloadError
        The file had to be downloaded and no source worked.
    """
    spec = FILES[key]
    if data_dir is not None:
        origin = "data_dir"
        root = Path(data_dir).expanduser()
    elif os.environ.get(DATA_ENV_VAR):
        origin = f"${DATA_ENV_VAR}"
        root = Path(os.environ[DATA_ENV_VAR]).expanduser()
    else:
        cache = cache_dir()
        found = _find_in(cache, spec)
        if found is not None:
            return found
        return download(spec, cache / spec.folder, check=partial(_check_download, spec=spec))

    found = _find_in(root, spec)
    if found is None:
        tried = "\n  ".join(str(p) for p in _candidates(root, spec))
        raise DatasetNotFoundError(
            f"{spec.filename} not found in {origin} ({root}). Looked for:\n  {tried}\n"
            f"Put the file (plain or gzip-compressed) at one of those paths, or give "
            f"neither data_dir nor ${DATA_ENV_VAR} to let rnn_forecast download it "
            f"into {cache_dir()} (source: {spec.homepage})."
        )
    return found


# --------------------------------------------------------------------------- reading


def _decompress(raw: bytes, where: str) -> bytes:
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise CorruptFileError(
            f"{where} is not a valid gzip file ({exc}); it is probably truncated or "
            f"damaged. Delete it and copy or download it again."
        ) from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_sha256(data: bytes, spec: DatasetFile, where: str, downloaded: bool = False) -> None:
    got = _sha256(data)
    if got != spec.sha256:
        advice = (
            "The source now serves different content; it was not saved."
            if downloaded
            else f"The file is damaged or a different version: replace it with the original "
            f"from {spec.homepage}, or pass verify=False to load it anyway."
        )
        raise ChecksumError(
            f"{where}: SHA-256 of the uncompressed content is {got}, expected "
            f"{spec.sha256} (the published {spec.filename}). {advice}"
        )


def _check_download(payload: bytes, where: str, spec: DatasetFile) -> None:
    _check_sha256(_decompress(payload, where), spec, where, downloaded=True)


def read_csv(
    key: str,
    data_dir: str | os.PathLike[str] | None,
    *,
    required_columns: list[str] | None = None,
    verify: bool = True,
    **read_csv_kwargs,
) -> tuple[pd.DataFrame, Path]:
    """Locate, decompress, parse, check and (optionally) verify a dataset CSV.

    Checks run from the most specific diagnosis to the least: gzip integrity, CSV
    parsing, required columns, then the checksum (a file with the wrong columns is
    reported as such, not as a mere hash mismatch).

    Parameters
    ----------
    key
        Registry key, see :data:`FILES`.
    data_dir
        See :func:`locate`.
    required_columns
        Columns that must be present (extra columns are allowed).
    verify
        Compare the SHA-256 of the uncompressed bytes with the registry.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv`.

    Returns
    -------
    (pandas.DataFrame, pathlib.Path)
        The raw frame, in file order, and the file it came from.
    """
    spec = FILES[key]
    path = locate(key, data_dir)
    data = _decompress(path.read_bytes(), str(path))
    try:
        frame = pd.read_csv(io.BytesIO(data), **read_csv_kwargs)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        # pandas.errors.EmptyDataError and ParserError are ValueErrors.
        raise CorruptFileError(
            f"{path} could not be parsed as CSV ({type(exc).__name__}: {exc}). "
            f"Replace it with the original {spec.filename} from {spec.homepage}."
        ) from exc
    if frame.empty:
        raise CorruptFileError(
            f"{path} has no data rows (columns: {list(frame.columns)}). Replace it with the "
            f"original {spec.filename} from {spec.homepage}."
        )
    numbers = frame.select_dtypes("number")
    with np.errstate(invalid="ignore"):  # NaN compares False: missing cells are handled later
        huge = np.abs(numbers.to_numpy(dtype=np.float64)) > np.finfo(np.float32).max
    if huge.any():  # the loaders return float32
        row, col = np.argwhere(huge)[0]
        raise SchemaError(
            f"{path}: {int(huge.sum())} value(s) infinite or beyond float32's range, first in "
            f"column {numbers.columns[col]!r} at data row {row + 1}. Is it the original "
            f"{spec.filename} from {spec.homepage}?"
        )
    if required_columns is not None:
        missing = [c for c in required_columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{path} lacks the expected column(s) {missing}; its columns are "
                f"{list(frame.columns)}. Is it the right file? The loader expects the "
                f"original {spec.filename} from {spec.homepage}."
            )
    if verify:
        _check_sha256(data, spec, str(path))
    return frame, path
