"""Where Darts keeps a model's runs and checkpoints, and its default file name for ``save``.

Darts builds these paths in private one-line helpers (``_get_runs_folder``,
``_get_checkpoint_folder``, ``_get_checkpoint_fname``, ``_default_save_path``); they are
rebuilt here from its public constant ``CHECKPOINTS_FOLDER``, so that the package depends
on four private Darts names fewer. Darts' own checkpointing writes into these folders,
and the persistence tests (resume, ``load_from_checkpoint``) read them back, so a Darts
release that moved them would fail there.
"""

from __future__ import annotations

import datetime
import glob
import os

from darts.models.forecasting.torch_forecasting_model import CHECKPOINTS_FOLDER


def runs_folder(work_dir: str, model_name: str) -> str:
    """The folder of a run: its ``_model.pth.tar``, its logs and ``checkpoints/``."""
    return os.path.join(work_dir, model_name)


def checkpoint_folder(work_dir: str, model_name: str) -> str:
    """The folder of a ``save_checkpoints=True`` run's ``.ckpt`` files."""
    return os.path.join(runs_folder(work_dir, model_name), CHECKPOINTS_FOLDER)


def checkpoint_file_name(work_dir: str, model_name: str, best: bool = False) -> str:
    """The file name of the run's newest ``best-*`` (or ``last-*``) checkpoint, as Darts'
    ``load_from_checkpoint`` picks it; ``FileNotFoundError`` when there is none."""
    folder, prefix = checkpoint_folder(work_dir, model_name), "best-*" if best else "last-*"
    found = glob.glob(os.path.join(folder, prefix))
    if not found:
        raise FileNotFoundError(f"There is no file matching prefix {prefix} in {folder}")
    return os.path.basename(max(found, key=os.path.getctime))


def default_save_path(model) -> str:
    """``save()``'s file name without a path: the class name and the time, as in Darts."""
    return f"{type(model).__name__}_{datetime.datetime.now().strftime('%Y-%m-%d_%H_%M_%S')}"
