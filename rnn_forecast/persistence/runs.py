"""Training runs: checkpoint defaults, ``fit(..., resume=True)`` and interruption.

A ``save_checkpoints=True`` run writes epoch-end checkpoints atomically; ``resume=True``
continues from the newest readable one (weights, optimizer, scheduler, epoch and random
states), after checking that the series have the dimensions the run was trained on. A
run interrupted by SIGTERM or Ctrl-C keeps its last checkpoint (:func:`interruptible`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import threading
import warnings

import pytorch_lightning as pl
import torch
from darts.models.forecasting.torch_forecasting_model import INIT_MODEL_NAME
from lightning_fabric.plugins import CheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

from rnn_forecast.nn.callbacks import RNGStateCheckpoint, with_default_callback
from rnn_forecast.persistence.atomic import AtomicCheckpointIO, leftovers, remove_quietly
from rnn_forecast.persistence.errors import ModelFileError, UnsafeModelFileError, read_error, read_safely
from rnn_forecast.persistence.files import check_file_info, upgrade_legacy_parameters
from rnn_forecast.persistence.paths import checkpoint_folder, runs_folder

#: Version of the on-disk layout; bumped whenever a saved forecaster of the previous
#: layout could not be loaded correctly by this code.


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
    folder = checkpoint_folder(model.work_dir, model.model_name)
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
    folder = checkpoint_folder(model.work_dir, model.model_name)
    remove_quietly(*leftovers(folder))  # of checkpoint writes killed mid-way
    last = newest_readable_checkpoint(folder)
    if last is None:
        return  # nothing saved yet: this is the first attempt
    base = os.path.join(runs_folder(model.work_dir, model.model_name), INIT_MODEL_NAME)
    if not os.path.isfile(base):
        raise ModelFileError(f"Cannot resume from {last!r}: {base!r}, saved with it, is missing.")
    saved = read_safely(base, trusted=False, map_location=None)
    check_file_info(saved, base, type(model))
    upgrade_legacy_parameters(saved)
    try:
        model._check_ckpt_parameters(saved)
    except ValueError as exc:
        raise ValueError(f"Cannot resume from {last!r} with different parameters. {exc}") from exc
    if saved.train_sample is not None:
        model._resume_dims = saved.train_sample.component_dims()
    # `last` checkpoints of earlier resumed runs (Lightning keeps the one a run resumed from)
    remove_quietly(*(path for path in glob.glob(os.path.join(folder, "last-*.ckpt"))
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
            remove_quietly(resumed)


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
    found = glob.glob(os.path.join(checkpoint_folder(work_dir, model_name), "last-*.ckpt"))

    def epoch(path):
        match = re.search(r"epoch=(\d+)", os.path.basename(path))
        return (int(match.group(1)) if match else -1, os.path.getmtime(path))

    return max(found, key=epoch) if found else None




def _has_files(folder: str) -> bool:
    return os.path.isdir(folder) and any(os.scandir(folder))


def _dims(dims: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items() if v)
