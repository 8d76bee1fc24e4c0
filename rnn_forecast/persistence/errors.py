"""Errors of a model file that could not be read, and their messages.

Every refused read raises a :class:`ModelFileError` (a ``ValueError``) whose message names
the file and what to do: a truncated or corrupted file, a ``.ckpt`` from another save, a
file of an incompatible format or Darts release, a missing file
(:class:`MissingModelFileError`), or a global that safe loading refuses
(:class:`UnsafeModelFileError`: blocked, or merely not allow-listed).
"""

from __future__ import annotations

import _compat_pickle
import inspect
import re
import sys

from darts.utils.serialization.torch import load_wrapper_safely

#: Version of the on-disk layout; bumped whenever a saved forecaster of the previous
#: layout could not be loaded correctly by this code.


class ModelFileError(ValueError):
    """A saved model file is truncated, corrupted, mismatched or from an incompatible version."""


class UnsafeModelFileError(ModelFileError):
    """A file holds objects that safe loading does not allow; it was not loaded.

    Attributes
    ----------
    qualname
        The refused global, e.g. ``"posix.system"``.
    blocked
        ``True`` for a global Darts always blocks (code execution, e.g. ``os.system``):
        the file would run code when read. ``False`` for a class that is merely not
        allow-listed, which a trusted class can be (``add_safe_globals``).
    """

    def __init__(self, message: str, qualname: str, blocked: bool):
        super().__init__(message)
        self.qualname, self.blocked = qualname, blocked


class MissingModelFileError(FileNotFoundError, ModelFileError):
    """A file that ``load``/``load_from_checkpoint`` needs does not exist.

    Both a ``FileNotFoundError`` (Python's error for a missing file) and a
    :class:`ModelFileError`, hence a ``ValueError``: Darts raises ``ValueError`` for a
    missing checkpoint or weights file, so code written for Darts catches it too.
    """


def read_safely(path: str, trusted: bool, map_location):
    try:
        return load_wrapper_safely(path=path, trusted=trusted, map_location=map_location)
    except Exception as exc:
        raise read_error(path, exc, "model file") from exc


_BLOCKED = re.compile(r"Blocked unsafe global `([^`]+)`")


_NOT_ALLOWED = re.compile(r"global `([^`]+)` is not allow-listed")


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive


def allowable_class(qualname: str) -> bool:
    """Whether a global refused by safe loading is a class the user could allow.

    An allow-list, not a list of dangerous names: only a class defined under that very
    name in a module this process has already imported (nothing is imported to find
    out), outside Python's standard library, qualifies, e.g. a callback class of the
    user's own. Everything else (functions such as ``os.system``, any standard-library
    object such as ``subprocess.Popen``, Python 2 names such as ``commands.call`` that
    ``torch.save`` writes for ``subprocess.call``, names of modules not imported)
    could run code when the file is read, and is reported as blocked.
    """
    module, _, name = qualname.partition(".")
    while name and module not in sys.modules:  # `package.module.Class`: the longest imported module
        head, _, name = name.partition(".")
        module = f"{module}.{head}"
    if not name or module not in sys.modules or module.split(".")[0] in sys.stdlib_module_names:
        return False
    obj = sys.modules[module]
    for part in name.split("."):
        obj = inspect.getattr_static(obj, part, None)
    return isinstance(obj, type) and obj.__module__ == module and obj.__qualname__ == name


def _python3_name(qualname: str) -> str:
    """The Python 3 name of a Python 2 global (``commands.call`` -> ``subprocess.call``), else itself."""
    module, _, name = qualname.rpartition(".")
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def read_error(path: str, exc: Exception, what: str, zip_archive: bool = True) -> ModelFileError:
    """The error to raise when reading ``path`` (a ``what``, e.g. "model file") failed with ``exc``.

    Tells apart a file that holds refused objects (not loaded: it may be malicious), a
    file in another format (for ``zip_archive`` files, which ``torch.save`` writes), and
    a truncated or corrupted one. A refused global is ``blocked`` unless it is a class
    that could be allowed (:func:`allowable_class`); for a blocked one, the advice in
    ``exc`` itself (Darts suggests allowing any refused global) is cut off.
    """
    text = str(exc)
    match = _BLOCKED.search(text) or _NOT_ALLOWED.search(text)
    if match:
        qualname = match[1]
        if match.re is _NOT_ALLOWED and allowable_class(qualname):
            return UnsafeModelFileError(
                f"{path!r} was not loaded: it holds `{qualname}`, which safe loading does not "
                f"allow. If you trust that class (e.g. your own callback or loss), allow it before "
                f"loading with `darts.utils.serialization.add_safe_globals([{qualname}])`; "
                f"`trusted=True` turns safe loading off for files you fully trust.",
                qualname=qualname, blocked=False)
        exc.args = (f"Safe loading refused the global `{qualname}`.",)
        alias = _python3_name(qualname)
        alias = f" (Python 2's name of `{alias}`)" if alias != qualname else ""
        return UnsafeModelFileError(
            f"{path!r} was not loaded: it holds `{qualname}`{alias}, which would run code when "
            f"the file is read: it is blocked (safe loading can allow only classes of imported "
            f"modules outside Python's standard library, and this is none). Do not load this "
            f"file (and do not use trusted=True) unless you know exactly where it comes from.",
            qualname=qualname, blocked=True)
    head = _ZIP_MAGIC
    if zip_archive:
        with open(path, "rb") as handle:
            head = handle.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        return ModelFileError(
            f"{path!r} is not a {what} written by rnn_forecast or Darts (it is not a torch "
            f"zip archive; it starts with {head!r}): it was written by another library or "
            "format."
        )
    return ModelFileError(
        f"Could not read the {what} {path!r} ({type(exc).__name__}: {exc}). It is "
        "truncated or corrupted (e.g. an interrupted copy), or was written by an "
        "incompatible version of rnn_forecast, darts or torch."
    )
