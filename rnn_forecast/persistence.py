"""Saving, loading and resuming forecasters without losing or corrupting work.

- ``save(path)`` writes Darts' two files, ``path`` (the pickled forecaster) and
  ``path.ckpt`` (the Lightning checkpoint), each to a temporary file in the same folder
  that is then renamed over the target (``os.replace``, atomic on POSIX and Windows): a
  crash or a full disk mid-save leaves the previous files intact. ``path`` records a file
  format marker, the library versions and the SHA-256 of ``path.ckpt``.
- ``load(path)`` refuses, with a :class:`ModelFileError` naming the file and what to do,
  a truncated or corrupted file, a ``.ckpt`` from another save, and a file written by an
  incompatible format or Darts minor release.
- Lightning's training checkpoints are written the same atomic way
  (:class:`AtomicCheckpointIO`).
- ``fit(..., resume=True)`` continues a ``save_checkpoints=True`` run from its last
  epoch-end checkpoint (weights, optimizer, scheduler, epoch and random states).

These are plain functions of the forecaster: ``RNNForecaster``'s ``save``, ``load``,
``load_from_checkpoint`` and ``load_lightning_checkpoint``, its Darts hooks
``_setup_checkpointing``, ``_init_model`` and ``_init_trainer``, and its ``fit`` call them
(see ``rnn_forecast/forecaster.py``).
"""

from __future__ import annotations

import _compat_pickle
import contextlib
import copy
import errno
import glob
import hashlib
import inspect
import os
import re
import shutil
import signal
import socket
import sys
import threading
import uuid
import warnings

import pytorch_lightning as pl
import torch
from darts.models.forecasting.torch_forecasting_model import INIT_MODEL_NAME
from darts.utils.serialization.torch import load_wrapper_safely
from lightning_fabric.plugins import CheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

from rnn_forecast._darts_private import (
    _DartsCheckpointIO,
    _get_checkpoint_fname,
    _get_checkpoint_folder,
    _get_runs_folder,
)
from rnn_forecast.callbacks import RNGStateCheckpoint, with_default_callback
from rnn_forecast.cells import CELLS, UnknownCellError

#: Version of the on-disk layout; bumped whenever a saved forecaster of the previous
#: layout could not be loaded correctly by this code.
FILE_FORMAT = 1
_MARKER = "_rnn_forecast_file"


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


def file_info(ckpt_sha256: str | None) -> dict:
    """The marker stored in every saved forecaster."""
    import darts

    from rnn_forecast._version import __version__

    return {
        "format": FILE_FORMAT,
        "rnn_forecast": str(__version__),
        "darts": str(darts.__version__),
        "torch": str(torch.__version__),
        "ckpt_sha256": ckpt_sha256,
    }


def check_file_info(model, path: str, expected_cls: type) -> dict:
    """Return the marker of a loaded forecaster, or raise if it cannot be trusted."""
    import darts

    info = model.__dict__.pop(_MARKER, None)  # the loaded object does not keep it
    if not isinstance(info, dict):
        raise ModelFileError(
            f"{path!r} was not saved by rnn_forecast's `save()` (it has no rnn_forecast file "
            "format marker): it comes from an older rnn_forecast or from Darts directly. If you "
            "trust it, load it with darts' `TorchForecastingModel.load(path)` and save it again "
            "with this version."
        )
    if info.get("format") != FILE_FORMAT:
        raise ModelFileError(
            f"{path!r} uses rnn_forecast file format {info.get('format')} (written by "
            f"rnn_forecast {info.get('rnn_forecast')}), but this rnn_forecast reads format "
            f"{FILE_FORMAT}: load it with rnn_forecast=={info.get('rnn_forecast')}, or retrain."
        )
    if _minor(info.get("darts")) != _minor(darts.__version__):
        raise ModelFileError(
            f"{path!r} was written with darts {info.get('darts')}, this environment has darts "
            f"{darts.__version__}; Darts' model internals change between minor releases. Load "
            f"it with darts=={info.get('darts')}, or retrain."
        )
    if not isinstance(model, expected_cls):
        raise TypeError(
            f"{path!r} holds a {type(model).__name__}, not a {expected_cls.__name__}: load it "
            f"with {type(model).__name__}.load() (RNNForecaster.load() loads any of them)."
        )
    return info


def check_cell_registered(model, path: str) -> None:
    """Raise an ``UnknownCellError`` if the saved model's cell is not registered here.

    Files record the cell's name only; a cell of the user's own is registered by the
    process that loads it, not by the file.
    """
    cell = getattr(model, "cell", None)
    if cell is not None and cell not in CELLS:
        raise UnknownCellError(
            f"{path!r} holds a model with the cell {cell!r}, which is not registered in this "
            f"process (registered: {tuple(CELLS)}). Register it first, with "
            f"rnn_forecast.cells.register_cell(Cell({cell!r}, ...)), then load the model."
        )


def upgrade_legacy_parameters(model) -> None:
    """Give a forecaster saved by rnn_forecast 0.1 the parameters of this version.

    0.1 had ``subtract_last`` where 0.2 has ``normalization`` (``True`` is ``"level"``,
    ``False`` is ``None``) and trained with Darts' MSE loss unless told otherwise, where
    0.2's ``loss_fn=None`` means L1. Before 0.3 there was no ``global_level`` (now on by
    default): such a model gets ``global_level=False``; before 0.4 there was no
    seasonal baseline and no early stopping: ``season=None, early_stopping=False``. Every other parameter was
    recorded with its value, so the old defaults stay in force: the loaded model
    forecasts, refits and clones exactly as it did.
    """
    params = model._model_params
    if "subtract_last" in params:
        params["normalization"] = "level" if params.pop("subtract_last") else None
        model.__dict__.pop("subtract_last", None)
        model.normalization = params["normalization"]
        if params.get("loss_fn") is None:
            params["loss_fn"] = torch.nn.MSELoss()
    if "global_level" not in params:  # before 0.3: window normalization only
        params["global_level"] = False
        model.global_level = False
    if "season" not in params:  # before 0.4: no baseline, no early stopping
        params.update(season=None, early_stopping=False, linear_baseline=False)
        model.season, model.early_stopping, model.validation_fraction = None, False, 0.2
        model.linear_baseline = False


def restore_loss(model) -> None:
    """Put the forecaster's ``loss_fn`` back into its loaded module.

    Darts leaves the loss out of the checkpoint, and its ``load`` does not restore it
    (its ``load_from_checkpoint`` does): fine-tuning a loaded model would otherwise
    train on the module's default loss.
    """
    loss_fn = model.model_params.get("loss_fn")
    if loss_fn is not None and model.model is not None:
        model.model.criterion = loss_fn
        model.model.train_criterion = copy.deepcopy(loss_fn)
        model.model.val_criterion = copy.deepcopy(loss_fn)


def _minor(version) -> tuple:
    return tuple(str(version).split(".")[:2])


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tag() -> str:
    """``host-pid-random``: which process, on which machine, wrote a temporary file."""
    return f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
# `.<name>.<host>-<pid>-<random>.tmp` (a file being written) or `.prev` (save's backup)
_TEMPORARY = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<random>[0-9a-f]{8})\.(?P<kind>tmp|prev)$")


def temp_path_for(path: str, tag: str | None = None, kind: str = "tmp") -> str:
    """A hidden file name next to ``path`` (same folder, so renaming is atomic).

    ``.<name>.<host>-<pid>-<random>.<kind>``: the name says which process wrote it, so
    that a later save (or resume) can remove what a killed process left behind.
    """
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{tag or _tag()}.{kind}")


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


def _remove_quietly(*paths: str | None) -> None:
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
        match = _TEMPORARY.match(entry)
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
        if _TEMPORARY.match(os.path.basename(path)):  # a temporary file of save(), which renames it
            with open(path, "wb") as handle:
                torch.save(checkpoint, handle)
            return
        temp = temp_path_for(path)
        try:
            with open(temp, "wb") as handle:  # not Lightning's writer: its temporary file is in /tmp
                torch.save(checkpoint, handle)
            commit(temp, path)
        finally:
            _remove_quietly(temp)

    def load_checkpoint(self, path, map_location=None, weights_only=None, **kwargs):
        name = os.fspath(path)
        if "://" not in name and not os.path.isfile(name):
            raise MissingModelFileError(f"No checkpoint file at {name!r}.")
        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only, **kwargs)
        except Exception as exc:
            raise read_error(name, exc, "checkpoint", zip_archive="://" not in name) from exc


# -- save / load: what RNNForecaster.save/load/load_from_checkpoint do ------------------


def save_forecaster(model, path: str | os.PathLike | None = None, clean: bool = False) -> None:
    """``RNNForecaster.save`` (documented there): the pair of files replaced atomically, with a marker.

    The steps: write the new weights and the new forecaster to temporary files and
    flush them; keep the previous weights under a second name (a hard link,
    ``.<name>.ckpt.<tag>.prev``); rename the new weights into place (the previous
    forecaster file now finds its weights under the backup name, see
    :func:`previous_weights`); rename the new forecaster into place (the commit);
    remove the backup. A failure before the commit puts the previous weights back;
    either way no temporary file remains, and ``load`` reads the previous pair before
    the commit and the new one after it. A process killed at any step leaves either
    pair loadable, plus temporary files that the next save to ``path`` removes
    (:func:`recover`).
    """
    path = os.fspath(path) if path is not None else model._default_save_path() + ".pt"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # as Darts' save, which opens the file
        raise FileNotFoundError(errno.ENOENT, "No such file or directory (save() creates no folders)", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    ckpt_path = path + ".ckpt"
    recover(path)
    tag = _tag()
    temp, temp_ckpt = temp_path_for(path, tag), temp_path_for(ckpt_path, tag)
    backup = replaced = None
    committed = False
    try:
        has_ckpt = _write_weights(model, temp_ckpt, clean)
        _write_forecaster(model, temp, sha256_of(temp_ckpt) if has_ckpt else None, clean)
        if has_ckpt:
            flush(temp_ckpt)
            backup = _backup(ckpt_path, temp_path_for(ckpt_path, tag, "prev"))
            os.replace(temp_ckpt, ckpt_path)
            replaced = True
            flush_folder(folder)
        flush(temp)
        os.replace(temp, path)  # the commit
        committed = True
        flush_folder(folder)
        if not has_ckpt:
            _remove_quietly(ckpt_path)  # a stale .ckpt of an older save must not be loaded
    finally:
        if replaced and not committed:  # put the previous weights back
            if backup is not None:
                os.replace(backup, ckpt_path)
            else:
                _remove_quietly(ckpt_path)
            backup = None
        _remove_quietly(temp, temp_ckpt, backup)


def _write_weights(model, temp_ckpt: str, clean: bool) -> bool:
    """Write the model's Lightning checkpoint to ``temp_ckpt``; whether it has weights to write."""
    if model.trainer is not None:
        model.trainer.save_checkpoint(temp_ckpt, weights_only=clean)
    elif model.load_ckpt_path and os.path.exists(model.load_ckpt_path):
        # loaded from a checkpoint and not trained since: keep that checkpoint
        with open(model.load_ckpt_path, "rb") as src, open(temp_ckpt, "wb") as dst:
            dst.write(src.read())
    elif model.model is not None:
        # loaded with `load()` and not used since: Darts would save no weights
        _checkpoint_trainer(model).save_checkpoint(temp_ckpt, weights_only=clean)
    return os.path.exists(temp_ckpt)


def _write_forecaster(model, temp: str, ckpt_sha256: str | None, clean: bool) -> None:
    """``torch.save`` the forecaster (with the file marker) to ``temp``."""
    target = model._clean() if clean else model
    setattr(target, _MARKER, file_info(ckpt_sha256))
    try:
        with open(temp, "wb") as handle:
            torch.save(target, handle)
    finally:
        del target.__dict__[_MARKER]  # only the file carries it


def _backup(path: str, backup: str) -> str | None:
    """A second name for ``path`` (a hard link, or a copy), or ``None`` if there is no ``path``."""
    if not os.path.isfile(path):
        return None
    try:
        os.link(path, backup)
    except OSError:  # a file system without hard links
        shutil.copyfile(path, backup)
        flush(backup)
    return backup


def recover(path: str) -> None:
    """Finish what an earlier ``save(path)`` killed mid-way left, then remove its temporary files.

    A save killed after renaming the new weights into place and before the commit left
    its new forecaster file (``.tmp``) and the previous weights (``.prev``): the
    previous weights go back under their name, so that the files are a plain pair
    again. Everything else it left is removed. Only temporary files of processes that
    no longer run on this machine are touched.
    """
    folder, name = os.path.split(os.path.abspath(path))
    found = leftovers(folder, (name, name + ".ckpt"))
    for backup, match in found.items():
        if match["kind"] != "prev":
            continue
        tag = f"{match['host']}-{match['pid']}-{match['random']}"
        if os.path.exists(temp_path_for(path, tag)):  # killed before its commit
            os.replace(backup, path + ".ckpt")
    _remove_quietly(*found)


def previous_weights(ckpt_path: str, sha256: str) -> str | None:
    """The backup of ``ckpt_path`` whose SHA-256 is ``sha256`` (see :func:`save_forecaster`), or ``None``.

    A save killed (or failing without cleaning up) between replacing the weights and
    committing the forecaster file leaves the previous forecaster file with the new
    weights under the weights' name; its own weights are this backup.
    """
    folder, name = os.path.split(os.path.abspath(ckpt_path))
    for entry in sorted(os.listdir(folder)):
        match = _TEMPORARY.match(entry)
        if match and match["name"] == name and match["kind"] == "prev":
            candidate = os.path.join(folder, entry)
            if sha256_of(candidate) == sha256:
                return candidate
    return None


def _checkpoint_trainer(model) -> pl.Trainer:
    """A quiet trainer holding ``model.model``, built as every trainer of the forecaster is."""
    quiet = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    trainer = model._init_trainer(trainer_params={**model.trainer_params, **quiet}, max_epochs=0)
    trainer.strategy.connect(model.model)
    return trainer


def load_forecaster(cls: type, path: str | os.PathLike, pl_trainer_kwargs: dict | None = None,
                    trusted: bool = False, **kwargs):
    """``RNNForecaster.load`` (documented there): a ``cls`` read from checked files."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingModelFileError(f"No saved model at {path!r}.")
    model = _read(path, trusted, kwargs.get("map_location"))
    info = check_file_info(model, path, cls)
    check_cell_registered(model, path)
    upgrade_legacy_parameters(model)
    ckpt_path = path + ".ckpt"
    if info["ckpt_sha256"] is not None:
        if not os.path.isfile(ckpt_path):
            raise MissingModelFileError(
                f"{path!r} was saved with weights in {ckpt_path!r}, which is missing: "
                "copy both files together."
            )
        if sha256_of(ckpt_path) != info["ckpt_sha256"]:
            # a save interrupted before its commit keeps this file's weights under a second name
            backup = previous_weights(ckpt_path, info["ckpt_sha256"])
            if backup is None:
                raise ModelFileError(
                    f"{ckpt_path!r} is not the weights file saved with {path!r} (its SHA-256 "
                    "differs): it is truncated or corrupted, or the two files come from "
                    "different saves. Copy both files from the same save."
                )
            ckpt_path = backup
        if model._model_params.get("season", "auto") is None:
            # a file from before 0.4 has no `season` among the module's hyper-parameters:
            # build the module it was trained as (no baseline), not the module's default
            kwargs.setdefault("season", None)
        try:
            model.model = model._load_from_checkpoint(ckpt_path, trusted=trusted, **kwargs)
        except Exception as exc:
            raise read_error(ckpt_path, exc, "weights file") from exc
        restore_loss(model)
    if pl_trainer_kwargs is not None:
        model.trainer_params = pl_trainer_kwargs
        model._model_params["pl_trainer_kwargs"] = copy.deepcopy(pl_trainer_kwargs)
    model._earlier_run = None
    return model


def load_lightning_checkpoint(model, path: str | os.PathLike, strict: bool = True):
    """``RNNForecaster.load_lightning_checkpoint`` (documented there): a checked ``state_dict``."""
    from darts.utils.serialization.torch import load_ckpt_safely

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingModelFileError(f"No checkpoint file at {path!r}.")
    if not model.model_created:
        raise ValueError(
            f"This {type(model).__name__} has no network yet: `fit` it (a few steps suffice) or "
            "`load` a saved one with the same parameters, then load the checkpoint's weights."
        )
    try:
        checkpoint = load_ckpt_safely(torch.load, path, map_location="cpu")
    except Exception as exc:
        raise read_error(path, exc, "Lightning checkpoint") from exc
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path!r} holds no 'state_dict': it is not a Lightning checkpoint.")
    own = model.model.state_dict()
    wrong = [f"{k} {tuple(v.shape)} (network: {tuple(own[k].shape)})"
             for k, v in state.items() if k in own and own[k].shape != v.shape]
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if wrong or (strict and (missing or unexpected)):
        raise ValueError(
            f"{path!r} does not fit this {type(model).__name__}'s network: "
            + "; ".join(part for part in (
                f"shapes differ for {wrong[:3]}" if wrong else "",
                f"missing {missing[:5]}" if strict and missing else "",
                f"unexpected {unexpected[:5]}" if strict and unexpected else "") if part)
            + ". Build the forecaster with the parameters of the run that wrote the file."
        )
    model.model.load_state_dict(state, strict=strict)
    return model


def load_forecaster_from_checkpoint(cls: type, darts_load, model_name: str, work_dir: str | None = None,
                                    file_name: str | None = None, best: bool = True,
                                    trusted: bool = False, **kwargs):
    """``RNNForecaster.load_from_checkpoint`` (documented there), with the file checks of ``load``.

    ``darts_load`` is Darts' own ``load_from_checkpoint``, which reads the files once
    they passed the checks.
    """
    work_dir = work_dir if work_dir is not None else os.path.join(os.getcwd(), "darts_logs")
    base = os.path.join(_get_runs_folder(work_dir, model_name), INIT_MODEL_NAME)
    if not os.path.isfile(base):
        raise MissingModelFileError(
            f"No checkpointed run {model_name!r} in {work_dir!r} ({base!r} is missing); "
            "was the model built with save_checkpoints=True and this work_dir?"
        )
    saved = _read(base, trusted, kwargs.get("map_location"))
    check_file_info(saved, base, cls)
    check_cell_registered(saved, base)
    folder = _get_checkpoint_folder(work_dir, model_name)
    if file_name is None:
        file_name = _checkpoint_name(work_dir, model_name, best, folder)
    ckpt = os.path.join(folder, file_name)
    if not os.path.isfile(ckpt):
        raise MissingModelFileError(f"No checkpoint {ckpt!r}; the run has {_checkpoints_in(folder)}.")
    try:
        model = darts_load(
            model_name, work_dir=work_dir, file_name=file_name, best=best, trusted=trusted, **kwargs
        )
    except Exception as exc:
        error = read_error(ckpt, exc, "checkpoint")
        if type(error) is ModelFileError:
            error = ModelFileError(f"{error} An earlier checkpoint can be chosen with `file_name=`.")
        raise error from exc
    model.__dict__.pop(_MARKER, None)
    upgrade_legacy_parameters(model)
    restore_loss(model)
    model._earlier_run = None
    return model


def _checkpoint_name(work_dir: str, model_name: str, best: bool, folder: str) -> str:
    """Darts' file name of a run's best or last checkpoint; ``MissingModelFileError`` naming
    the checkpoints the run has when there is none."""
    try:
        return _get_checkpoint_fname(work_dir, model_name, best=best)
    except FileNotFoundError as exc:
        raise MissingModelFileError(
            f"The run {model_name!r} in {work_dir!r} has no {'best' if best else 'last'} "
            f"checkpoint yet (checkpoints: {_checkpoints_in(folder)})."
        ) from exc


def load_weights(model, darts_load_weights_from_checkpoint, path: str | os.PathLike, **kwargs) -> None:
    """``RNNForecaster.load_weights``: Darts' method, with the file checks and errors of ``load``.

    ``darts_load_weights_from_checkpoint`` is Darts' ``load_weights_from_checkpoint``
    bound to ``model`` (Darts' ``load_weights`` only adds ``".ckpt"`` and calls it).
    """
    path = os.fspath(path)
    ckpt_path = path + ".ckpt"
    if not os.path.isfile(ckpt_path):
        raise MissingModelFileError(
            f"No weights file {ckpt_path!r}: `load_weights(path)` reads the weights that "
            f"`save(path)` wrote next to {path!r}; copy both files together."
        )
    load_weights_from_checkpoint(model, darts_load_weights_from_checkpoint, file_name=ckpt_path, **kwargs)


def load_weights_from_checkpoint(model, darts_method, model_name: str | None = None, work_dir: str | None = None,
                                 file_name: str | None = None, best: bool = True, skip_checks: bool = False,
                                 trusted: bool = False, **kwargs) -> None:
    """``RNNForecaster.load_weights_from_checkpoint``: Darts' method, with the file checks and errors of ``load``.

    Both files Darts reads, the checkpoint and the forecaster saved with it (a run's
    ``_model.pth.tar``, or the ``path`` of ``save(path)``), are read with safe loading
    first: a missing one raises :class:`MissingModelFileError`, one that is truncated,
    corrupted, refused (:class:`UnsafeModelFileError`) or of another version a
    :class:`ModelFileError`, each naming the file. ``darts_method`` (Darts' own,
    bound to ``model``) then loads them.
    """
    name = model_name if model_name is not None else model.model_name
    runs = work_dir if work_dir is not None else os.path.join(os.getcwd(), "darts_logs")
    folder = _get_checkpoint_folder(runs, name)
    if file_name is None:
        file_name = _checkpoint_name(runs, name, best, folder)
    if os.path.basename(file_name)[:5] in ("last-", "best-"):  # as Darts tells the two apart
        ckpt, base = os.path.join(folder, file_name), os.path.join(_get_runs_folder(runs, name), INIT_MODEL_NAME)
    else:  # written by save(path): `path.ckpt` next to `path`
        ckpt, base = file_name, file_name[: -len(".ckpt")]
    if not os.path.isfile(ckpt):
        raise MissingModelFileError(f"No checkpoint file at {ckpt!r} (checkpoints of the run: "
                                    f"{_checkpoints_in(folder)}).")
    from darts.utils.serialization.torch import load_ckpt_safely

    try:
        checkpoint = load_ckpt_safely(torch.load, ckpt, map_location="cpu")
    except Exception as exc:
        raise read_error(ckpt, exc, "checkpoint") from exc
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict)
            and "model_dtype" in checkpoint and "train_sample_shape" in checkpoint):
        raise ModelFileError(f"{ckpt!r} is not a checkpoint written by a Darts forecaster (it has no "
                             "'state_dict', 'model_dtype' and 'train_sample_shape').")
    if not skip_checks:
        if not os.path.isfile(base):
            raise MissingModelFileError(
                f"{ckpt!r} needs {base!r}, saved with it (for the encoders and the parameter "
                "checks), which is missing: copy both files together."
            )
        saved = _read(base, trusted, kwargs.get("map_location"))
        info = check_file_info(saved, base, object)
        if info["ckpt_sha256"] is not None and base != os.path.join(_get_runs_folder(runs, name), INIT_MODEL_NAME) \
                and sha256_of(ckpt) != info["ckpt_sha256"]:
            raise ModelFileError(
                f"{ckpt!r} is not the weights file saved with {base!r} (its SHA-256 differs): it is "
                "truncated or corrupted, or the two files come from different saves."
            )
    darts_method(model_name=model_name, work_dir=work_dir, file_name=file_name, best=best,
                 skip_checks=skip_checks, trusted=trusted, **kwargs)


# -- checkpointed runs and resuming ----------------------------------------------------
#
# The state between these steps lives on the forecaster, in the two attributes
# RNNForecaster declares (saved files carry them): `_earlier_run` (the checkpoint folder
# of a run found when the model was built) and `_resume_dims` (the input dimensions of
# the run to resume). Only the functions below set them.


def with_checkpoint_defaults(trainer_params: dict) -> dict:
    """``trainer_params`` plus the checkpoint defaults, as a new dict.

    An :class:`RNGStateCheckpoint`, a :class:`DropResumedCheckpoint` and atomic
    checkpoint writes (:class:`AtomicCheckpointIO`); a user's own
    ``RNGStateCheckpoint`` or ``CheckpointIO`` plugin is kept instead.
    """
    params = dict(trainer_params)
    params["callbacks"] = with_default_callback(params.get("callbacks"), RNGStateCheckpoint)
    params["callbacks"] = with_default_callback(params["callbacks"], DropResumedCheckpoint)
    plugins = list(params.get("plugins") or [])
    if not any(isinstance(p, CheckpointIO) for p in plugins):
        plugins.append(AtomicCheckpointIO())
    params["plugins"] = plugins
    return params


def defer_existing_run(model, create_save_dirs: bool, force_reset: bool) -> bool:
    """The ``create_save_dirs`` to give Darts' ``_setup_checkpointing``; records an earlier run.

    Darts refuses to even build a model whose ``model_name`` already has checkpoints
    (unless ``force_reset`` deletes them). That refusal is deferred to ``fit``
    (:func:`prepare_run`), so that the same script can build the model and call
    ``fit(..., resume=True)`` after a restart.
    """
    folder = _get_checkpoint_folder(model.work_dir, model.model_name)
    model._earlier_run = None
    if create_save_dirs and model.save_checkpoints and not force_reset and _has_files(folder):
        model._earlier_run = folder
        return False
    return create_save_dirs


def prepare_run(model, resume: bool) -> None:
    """Before training: pick the checkpoint to resume from, or refuse to clobber a run."""
    if not isinstance(resume, bool):
        raise TypeError(f"`resume` must be True or False, got {resume!r}.")
    earlier, model._earlier_run = model._earlier_run, None
    if resume:
        _resume_from_last_checkpoint(model)
    elif earlier is not None and _has_files(earlier):
        model._earlier_run = earlier
        raise ValueError(
            f"Model data of an earlier run already exists for model_name {model.model_name!r} "
            f"in {earlier!r}: call `fit(..., resume=True)` to continue that run from its "
            "last checkpoint, or build the model with `force_reset=True` to delete it and "
            "start over."
        )


def _resume_from_last_checkpoint(model) -> None:
    if not model.save_checkpoints or not model.model_params.get("model_name"):
        raise ValueError(
            "`fit(..., resume=True)` continues from the checkpoints of an earlier run: build "
            "the model with `save_checkpoints=True` and a fixed `model_name` (and `work_dir`), "
            "the same in every attempt."
        )
    if model.load_ckpt_path:  # from load_from_checkpoint(): Darts resumes from it
        return
    folder = _get_checkpoint_folder(model.work_dir, model.model_name)
    _remove_quietly(*leftovers(folder))  # of checkpoint writes killed mid-way
    last = newest_readable_checkpoint(folder)
    if last is None:
        return  # nothing saved yet: this is the first attempt
    base = os.path.join(_get_runs_folder(model.work_dir, model.model_name), INIT_MODEL_NAME)
    if not os.path.isfile(base):
        raise ModelFileError(f"Cannot resume from {last!r}: {base!r}, saved with it, is missing.")
    saved = _read(base, trusted=False, map_location=None)
    check_file_info(saved, base, type(model))
    upgrade_legacy_parameters(saved)
    try:
        model._check_ckpt_parameters(saved)
    except ValueError as exc:
        raise ValueError(f"Cannot resume from {last!r} with different parameters. {exc}") from exc
    if saved.train_sample is not None:
        model._resume_dims = saved.train_sample.component_dims()
    # `last` checkpoints of earlier resumed runs (Lightning keeps the one a run resumed from)
    _remove_quietly(*(path for path in glob.glob(os.path.join(folder, "last-*.ckpt"))
                      if _checkpoint_order(path)[0] < _checkpoint_order(last)[0]))
    model.load_ckpt_path = last


def newest_readable_checkpoint(folder: str) -> str | None:
    """The newest checkpoint in ``folder`` that can be read, or ``None`` if there is none.

    Newest: the highest epoch, a ``last-*`` before a ``best-*`` of the same epoch (both
    hold the whole training state of that epoch's end). A newer checkpoint that is
    truncated or corrupted is renamed ``<name>.unreadable`` (so that neither this nor a
    later resume picks it, and Lightning does not write ``-v1`` files next to it),
    with a warning naming it and the checkpoint used instead.

    Raises
    ------
    UnsafeModelFileError
        A checkpoint holds objects safe loading refuses (no fallback: the older ones of
        the run would hold them too).
    ModelFileError
        No checkpoint of the run can be read.
    """
    found = sorted(glob.glob(os.path.join(folder, "*.ckpt")), key=_checkpoint_order, reverse=True)
    skipped = []
    for path in found:
        try:
            check_training_checkpoint(path)
        except UnsafeModelFileError:
            raise
        except ModelFileError as exc:
            aside = path + ".unreadable"
            os.replace(path, aside)
            skipped.append(f"{path!r} ({exc}; renamed {os.path.basename(aside)!r})")
            continue
        if skipped:
            warnings.warn(f"Resuming from {path!r}, the newest checkpoint that can be read, instead of "
                          f"{'; '.join(skipped)}.", UserWarning, stacklevel=5)
        return path
    if skipped:
        raise ModelFileError(f"No checkpoint of the run in {folder!r} can be read: {'; '.join(skipped)}. "
                             "Build the model with `force_reset=True` to start the run over.")
    return None


def check_training_checkpoint(path: str) -> None:
    """Raise a :class:`ModelFileError` naming ``path`` unless it is a readable Lightning training checkpoint."""
    from darts.utils.serialization.torch import load_ckpt_safely

    try:
        checkpoint = load_ckpt_safely(torch.load, path, map_location="cpu")
    except Exception as exc:
        raise read_error(path, exc, "checkpoint") from exc
    if not (isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict)
            and "epoch" in checkpoint):
        raise ModelFileError(f"{path!r} is not a Lightning training checkpoint (it holds no training state).")


def _checkpoint_order(path: str) -> tuple:
    name = os.path.basename(path)
    match = re.search(r"epoch=(\d+)", name)
    return int(match[1]) if match else -1, name.startswith("last-"), os.path.getmtime(path)


class DropResumedCheckpoint(pl.Callback):
    """At the end of a resumed ``fit``, remove the ``last-*`` checkpoint it resumed from.

    Lightning's ``ModelCheckpoint`` replaces its ``last`` checkpoint each epoch but
    keeps the one the trainer resumed from, so every resume left one more
    ``last-epoch=K.ckpt``. Once the run has written a ``last`` checkpoint of a later
    epoch in the same folder, the one it resumed from is removed.
    """

    def on_fit_end(self, trainer, pl_module) -> None:
        resumed = trainer.ckpt_path
        if not resumed or "://" in str(resumed) or not os.path.basename(resumed).startswith("last-"):
            return
        newer = [path for path in glob.glob(os.path.join(os.path.dirname(os.path.abspath(resumed)), "last-*.ckpt"))
                 if _checkpoint_order(path)[0] > _checkpoint_order(resumed)[0]]
        if newer:
            _remove_quietly(resumed)


@contextlib.contextmanager
def building_network(model):
    """Around Darts' ``_init_model``: check a resumed run's inputs, and hide its checkpoint.

    Darts saves the new model next to the checkpoints there; with ``load_ckpt_path``
    set, that save would copy the checkpoint about to be resumed from.
    """
    expected, model._resume_dims = model._resume_dims, None
    if expected is not None and model.train_sample.component_dims() != expected:
        raise ValueError(
            f"Cannot resume from {model.load_ckpt_path!r}: it was trained on inputs with "
            f"{_dims(expected)}, these have {_dims(model.train_sample.component_dims())}. "
            "Resume with the same series and covariates, or start a new run."
        )
    resume_from, model.load_ckpt_path = model.load_ckpt_path, None
    try:
        yield
    finally:
        model.load_ckpt_path = resume_from


@contextlib.contextmanager
def interruptible(model):
    """Around training: turn Lightning's reaction to interruptions back into the usual exceptions.

    On Ctrl+C Lightning calls ``sys.exit(1)`` and leaves SIGINT ignored for the rest
    of the process; on SIGTERM it raises a ``SystemExit`` with exit status 0. Here a
    ``KeyboardInterrupt`` (with SIGINT restored, naming ``model``'s last checkpoint)
    and exit status 143 come out instead.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        yield
    except SIGTERMException as exc:
        if exc.code is None:
            raise SIGTERMException(128 + signal.SIGTERM) from None
        raise
    except SystemExit as exc:
        if not isinstance(exc.__context__, KeyboardInterrupt):
            raise
        if main_thread and sigint is not None:
            signal.signal(signal.SIGINT, sigint)
        last = last_checkpoint(model.work_dir, model.model_name) if model.save_checkpoints else None
        hint = (f"the last checkpoint is {last!r}: `fit(..., resume=True)` continues from it."
                if last else "no checkpoint was written (see `save_checkpoints=True`).")
        raise KeyboardInterrupt(f"Training interrupted; {hint}") from None


def last_checkpoint(work_dir: str, model_name: str) -> str | None:
    """The most recent ``last-*`` checkpoint of a run (highest epoch), or ``None``."""
    found = glob.glob(os.path.join(_get_checkpoint_folder(work_dir, model_name), "last-*.ckpt"))

    def epoch(path):
        match = re.search(r"epoch=(\d+)", os.path.basename(path))
        return (int(match.group(1)) if match else -1, os.path.getmtime(path))

    return max(found, key=epoch) if found else None


def _read(path: str, trusted: bool, map_location):
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


def _checkpoints_in(folder: str) -> list[str]:
    """The ``.ckpt`` file names in ``folder`` (none if it does not exist), for messages."""
    return sorted(f for f in os.listdir(folder) if f.endswith(".ckpt")) if os.path.isdir(folder) else []


def _has_files(folder: str) -> bool:
    return os.path.isdir(folder) and any(os.scandir(folder))


def _dims(dims: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items() if v)
