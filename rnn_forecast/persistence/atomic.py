"""Writing files so that a crash or a full disk never leaves a half-written one in place.

Each file is written to a hidden temporary name next to its target (``.<name>.<host>-
<pid>-<random>.tmp``), flushed, and renamed over the target (``os.replace``, atomic on
POSIX and Windows). The temporary name says which process wrote it, so that a later save
or resume removes what a killed process left behind (:func:`leftovers`).
:class:`AtomicCheckpointIO` writes Lightning's training checkpoints the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import uuid

import torch

from rnn_forecast._darts_private import (
    _DartsCheckpointIO,
)
from rnn_forecast.persistence.errors import MissingModelFileError, read_error

#: Version of the on-disk layout; bumped whenever a saved forecaster of the previous
#: layout could not be loaded correctly by this code.


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def writer_tag() -> str:
    """``host-pid-random``: which process, on which machine, wrote a temporary file."""
    return f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


# `.<name>.<host>-<pid>-<random>.tmp` (a file being written) or `.prev` (save's backup)
TEMPORARY_NAME = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<random>[0-9a-f]{8})\.(?P<kind>tmp|prev)$")


def temp_path_for(path: str, tag: str | None = None, kind: str = "tmp") -> str:
    """A hidden file name next to ``path`` (same folder, so renaming is atomic).

    ``.<name>.<host>-<pid>-<random>.<kind>``: the name says which process wrote it, so
    that a later save (or resume) can remove what a killed process left behind.
    """
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{tag or writer_tag()}.{kind}")


def flush(path: str) -> None:
    """Flush ``path``'s content to disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def flush_folder(folder: str) -> None:
    """Flush a folder's entries (renames, new names) to disk, where the system allows it."""
    if os.name == "nt":  # folders cannot be opened (renames are journaled there)
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def commit(temp: str, path: str) -> None:
    """Flush ``temp`` to disk and atomically rename it to ``path``."""
    flush(temp)
    os.replace(temp, path)
    flush_folder(os.path.dirname(os.path.abspath(path)))


def remove_quietly(*paths: str | None) -> None:
    for path in paths:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def leftovers(folder: str, names: tuple[str, ...] | None = None) -> dict[str, re.Match]:
    """Temporary files (``.tmp``, ``.prev``) in ``folder`` of processes that no longer run.

    Only files written on this machine count (a process elsewhere on a shared file system
    cannot be checked), and only those of the file ``names`` when given.
    """
    found = {}
    for entry in os.listdir(folder) if os.path.isdir(folder) else ():
        match = TEMPORARY_NAME.match(entry)
        if (match and match["host"] == _HOST and (names is None or match["name"] in names)
                and not _running(int(match["pid"]))):
            found[os.path.join(folder, entry)] = match
    return found


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


class AtomicCheckpointIO(_DartsCheckpointIO):
    """Darts' safe-loading Lightning ``CheckpointIO``: atomic local saves, our errors on load.

    Lightning writes to a temporary file in the system temp folder and then moves it,
    which is a non-atomic copy when that folder is on another file system (a process
    killed mid-copy leaves a truncated checkpoint that resuming would pick up) and
    leaves that temporary file behind when killed. Here each local checkpoint is
    written to a temporary file next to it (see :func:`temp_path_for`; one left by a
    killed process is removed when the run is resumed), flushed, and renamed into
    place. A checkpoint that cannot be read
    raises a :class:`ModelFileError` naming it (:func:`read_error`), as ``load`` does.
    """

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        path = os.fspath(path)
        if "://" in path or storage_options is not None:  # remote file systems: Lightning's fsspec transaction
            return super().save_checkpoint(checkpoint, path, storage_options)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if TEMPORARY_NAME.match(os.path.basename(path)):  # a temporary file of save(), which renames it
            with open(path, "wb") as handle:
                torch.save(checkpoint, handle)
            return
        temp = temp_path_for(path)
        try:
            with open(temp, "wb") as handle:  # not Lightning's writer: its temporary file is in /tmp
                torch.save(checkpoint, handle)
            commit(temp, path)
        finally:
            remove_quietly(temp)

    def load_checkpoint(self, path, map_location=None, weights_only=None, **kwargs):
        name = os.fspath(path)
        if "://" not in name and not os.path.isfile(name):
            raise MissingModelFileError(f"No checkpoint file at {name!r}.")
        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only, **kwargs)
        except Exception as exc:
            raise read_error(name, exc, "checkpoint", zip_archive="://" not in name) from exc
