"""Downloading a registered dataset file into the cache, through pooch.

`pooch <https://www.fatiando.org/pooch>`_ does the transport: HTTP(S) with ``requests``,
a temporary file in the cache folder renamed into place only when complete, retries
with back-off, a progress bar on a terminal, and the zip extraction. What stays here is
what pooch cannot know:

- The registry's SHA-256 is of the *uncompressed* CSV, the checksum its publishers give,
  while a source may serve a zip or a gzip file whose own hash nobody publishes. pooch is
  therefore asked for the bytes (``known_hash=None``) and the content is checked here,
  after unzipping and gunzipping, before it is renamed to its final name.
- ``file://`` sources (a local mirror), which pooch has no downloader for.
- One error that lists every source tried and says how to get the file by hand.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pooch

from ._errors import DownloadError

__all__ = ["download"]

USER_AGENT = "rnn_forecast-datasets (pooch)"
TIMEOUT_S = 60
# Extra attempts after a failed one (pooch waits 1 s, 2 s, ... between them). Tests set 0.
RETRIES = 2
_GZIP_MAGIC = b"\x1f\x8b"


def download(spec, dest_dir: Path, check) -> Path:
    """Download ``spec`` into ``dest_dir`` from its first working source.

    Parameters
    ----------
    spec : rnn_forecast.datasets.registry.DatasetFile
        Registry entry: file name, sources and homepage.
    dest_dir
        Cache folder of this dataset (``<cache>/<spec.folder>``); created if needed.
    check : callable
        ``check(payload: bytes, where: str)`` raises if the content (possibly gzip) is not
        the registered file.

    Returns
    -------
    pathlib.Path
        ``dest_dir / spec.filename``, with ``.gz`` appended when the source served gzip.

    Raises
    ------
    DownloadError
        No source worked; every failure is listed.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for source in spec.sources:
        try:
            return _download_one(spec, source, dest_dir, check)
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            failures.append(f"{source.url}: {type(exc).__name__}: {exc}")
    listed = "\n  ".join(failures) or "(no sources registered)"
    raise DownloadError(
        f"Could not download {spec.filename}; tried:\n  {listed}\n"
        f"Download it by hand from {spec.homepage} and put it (plain or .gz) in "
        f"{dest_dir}, or pass data_dir= / set $RNN_FORECAST_DATA to a folder that has it."
    )


def _download_one(spec, source, dest_dir: Path, check) -> Path:
    # pooch's files (the raw download, an unzip folder) live in a private folder that
    # is removed afterwards: only the verified final file stays in the cache.
    workdir = Path(tempfile.mkdtemp(dir=dest_dir, prefix=f".{spec.filename}."))
    try:
        fetched = _fetch(source.url, workdir)
        if source.member is not None:
            extracted = pooch.Unzip(members=[source.member], extract_dir="unzipped")(
                str(fetched), "download", None
            )
            fetched = Path(extracted[0])
        payload = fetched.read_bytes()
        check(payload, source.url)
        final = dest_dir / (spec.filename + (".gz" if payload.startswith(_GZIP_MAGIC) else ""))
        _sync(fetched)
        os.replace(fetched, final)  # same file system: atomic on POSIX
        return final
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _fetch(url: str, workdir: Path) -> Path:
    """Download ``url`` into ``workdir`` and return the file's path."""
    parts = urllib.parse.urlsplit(url)
    name = Path(parts.path).name or "download"
    if parts.scheme == "file":
        downloader = _copy_local
    else:
        downloader = pooch.HTTPDownloader(
            progressbar=sys.stderr.isatty(),
            timeout=TIMEOUT_S,
            headers={"User-Agent": USER_AGENT},
        )
    store = pooch.create(
        path=workdir,
        base_url="",
        registry={name: None},  # the content is checked by the caller, see module docs
        urls={name: url},
        retry_if_failed=RETRIES,
    )
    return Path(store.fetch(name, downloader=downloader))


def _copy_local(url: str, output_file, pooch_obj) -> None:
    """A pooch downloader for ``file://`` URLs (a mirror on a local or network disk)."""
    source = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    if isinstance(output_file, (str, os.PathLike)):
        shutil.copyfile(source, output_file)
    else:  # pooch may pass an open binary file
        with open(source, "rb") as handle:
            shutil.copyfileobj(handle, output_file)


def _sync(path: Path) -> None:
    # Data on disk before the rename, so a crash cannot leave an empty final file.
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
