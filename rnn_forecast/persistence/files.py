"""``save`` and ``load`` of a forecaster, its Lightning checkpoints and its weights.

``save(path)`` writes Darts' two files, ``path`` (the pickled forecaster) and
``path.ckpt`` (the Lightning checkpoint), each atomically (:mod:`.atomic`); ``path``
records a file format marker (:func:`file_info`), the library versions and the SHA-256 of
``path.ckpt``. Every load goes through Darts' safe loading and checks that marker, so a
truncated, corrupted, mismatched or incompatible file is refused with a
:class:`~rnn_forecast.persistence.errors.ModelFileError`.
"""

from __future__ import annotations

import copy
import errno
import importlib
import os
import shutil
import warnings

import pytorch_lightning as pl
import torch
from darts.models.forecasting.torch_forecasting_model import INIT_MODEL_NAME

from rnn_forecast._moved import MOVED
from rnn_forecast.nn.cells import CELLS, UnknownCellError
from rnn_forecast.persistence.atomic import (
    TEMPORARY_NAME,
    flush,
    flush_folder,
    leftovers,
    remove_quietly,
    sha256_of,
    temp_path_for,
    writer_tag,
)
from rnn_forecast.persistence.errors import MissingModelFileError, ModelFileError, read_error, read_safely
from rnn_forecast.persistence.paths import checkpoint_file_name, checkpoint_folder, default_save_path, runs_folder

#: Version of the on-disk layout; bumped whenever a saved forecaster of the previous
#: layout could not be loaded correctly by this code.


FILE_FORMAT = 1


_MARKER = "_rnn_forecast_file"


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
            f"rnn_forecast.nn.cells.register_cell(Cell({cell!r}, ...)), then load the model."
        )


def import_module_path(model) -> None:
    """Import the module where a saved forecaster says its Lightning module class is.

    Darts finds that class in ``sys.modules[model._module_path]``. A file saved before
    0.4 names ``rnn_forecast.module``, the old path of :mod:`rnn_forecast.nn.module`,
    which is in ``sys.modules`` only once something imported it (:mod:`rnn_forecast._moved`).
    The file, not the user, names the old path: no ``DeprecationWarning``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module(model._module_path)


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
    model._module_path = MOVED.get(model._module_path, model._module_path)  # saved again: the new path
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
    path = os.fspath(path) if path is not None else default_save_path(model) + ".pt"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # as Darts' save, which opens the file
        raise FileNotFoundError(errno.ENOENT, "No such file or directory (save() creates no folders)", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    ckpt_path = path + ".ckpt"
    recover(path)
    tag = writer_tag()
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
            remove_quietly(ckpt_path)  # a stale .ckpt of an older save must not be loaded
    finally:
        if replaced and not committed:  # put the previous weights back
            if backup is not None:
                os.replace(backup, ckpt_path)
            else:
                remove_quietly(ckpt_path)
            backup = None
        remove_quietly(temp, temp_ckpt, backup)


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
    remove_quietly(*found)


def previous_weights(ckpt_path: str, sha256: str) -> str | None:
    """The backup of ``ckpt_path`` whose SHA-256 is ``sha256`` (see :func:`save_forecaster`), or ``None``.

    A save killed (or failing without cleaning up) between replacing the weights and
    committing the forecaster file leaves the previous forecaster file with the new
    weights under the weights' name; its own weights are this backup.
    """
    folder, name = os.path.split(os.path.abspath(ckpt_path))
    for entry in sorted(os.listdir(folder)):
        match = TEMPORARY_NAME.match(entry)
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
    model = read_safely(path, trusted, kwargs.get("map_location"))
    info = check_file_info(model, path, cls)
    check_cell_registered(model, path)
    import_module_path(model)
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
    base = os.path.join(runs_folder(work_dir, model_name), INIT_MODEL_NAME)
    if not os.path.isfile(base):
        raise MissingModelFileError(
            f"No checkpointed run {model_name!r} in {work_dir!r} ({base!r} is missing); "
            "was the model built with save_checkpoints=True and this work_dir?"
        )
    saved = read_safely(base, trusted, kwargs.get("map_location"))
    check_file_info(saved, base, cls)
    check_cell_registered(saved, base)
    import_module_path(saved)
    folder = checkpoint_folder(work_dir, model_name)
    if file_name is None:
        file_name = _checkpoint_name(work_dir, model_name, best, folder)
    ckpt = os.path.join(folder, file_name)
    if not os.path.isfile(ckpt):
        raise MissingModelFileError(f"No checkpoint {ckpt!r}; the run has {checkpoint_names(folder)}.")
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
        return checkpoint_file_name(work_dir, model_name, best=best)
    except FileNotFoundError as exc:
        raise MissingModelFileError(
            f"The run {model_name!r} in {work_dir!r} has no {'best' if best else 'last'} "
            f"checkpoint yet (checkpoints: {checkpoint_names(folder)})."
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
    folder = checkpoint_folder(runs, name)
    if file_name is None:
        file_name = _checkpoint_name(runs, name, best, folder)
    if os.path.basename(file_name)[:5] in ("last-", "best-"):  # as Darts tells the two apart
        ckpt, base = os.path.join(folder, file_name), os.path.join(runs_folder(runs, name), INIT_MODEL_NAME)
    else:  # written by save(path): `path.ckpt` next to `path`
        ckpt, base = file_name, file_name[: -len(".ckpt")]
    if not os.path.isfile(ckpt):
        raise MissingModelFileError(f"No checkpoint file at {ckpt!r} (checkpoints of the run: "
                                    f"{checkpoint_names(folder)}).")
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
        saved = read_safely(base, trusted, kwargs.get("map_location"))
        info = check_file_info(saved, base, object)
        if info["ckpt_sha256"] is not None and base != os.path.join(runs_folder(runs, name), INIT_MODEL_NAME) \
                and sha256_of(ckpt) != info["ckpt_sha256"]:
            raise ModelFileError(
                f"{ckpt!r} is not the weights file saved with {base!r} (its SHA-256 differs): it is "
                "truncated or corrupted, or the two files come from different saves."
            )
    darts_method(model_name=model_name, work_dir=work_dir, file_name=file_name, best=best,
                 skip_checks=skip_checks, trusted=trusted, **kwargs)


def checkpoint_names(folder: str) -> list[str]:
    """The ``.ckpt`` file names in ``folder`` (none if it does not exist), for messages."""
    return sorted(f for f in os.listdir(folder) if f.endswith(".ckpt")) if os.path.isdir(folder) else []
