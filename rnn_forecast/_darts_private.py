"""Every private Darts name rnn_forecast depends on, in one place.

Darts may rename, move or re-sign a name that starts with an underscore in any
release, without a deprecation. rnn_forecast (tested against Darts 0.48.1) uses 27 of
them, listed in :data:`ENTRIES` below, grouped by where they live, each with why:

- 4 private functions and classes of Darts modules (5 entries: the checkpoint IO class
  is listed by the two methods ``AtomicCheckpointIO`` overrides). The package imports them from
  here (``from rnn_forecast._darts_private import _batch_collate_fn_train``), never
  from Darts directly;
- 8 private hooks of ``TorchForecastingModel`` that ``RNNForecaster`` overrides (each
  marked ``@override`` in ``rnn_forecast/adapter/forecaster.py``);
- 7 private methods and 3 private instance attributes of ``TorchForecastingModel``
  that the forecaster calls or sets;
- 2 private methods of ``PLForecastingModule`` (one of them overridden by
  ``RecurrentForecastModule``) and 2 of Darts' torch datasets.

One more entry is not an underscore name but as much an implementation detail:
``TorchForecastingModel.predict.__wrapped__`` (the undecorated ``predict`` under
Darts' ``@random_method``).

``tests/adapter/test_darts_private.py`` runs :func:`problem` on every entry against the
installed Darts, so an upgrade that moves a name fails there, naming it, rather than
deep inside a ``fit``. When one fails: find what replaced it in the new Darts' source,
change the code that uses it (grep rnn_forecast/ for the name) and its entry here, or
keep ``darts`` pinned (pyproject.toml) to a release that has it. A new private name
gets an entry here in the same change that starts using it.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

from darts.utils.data.torch_datasets.utils import _batch_collate_fn_predict, _batch_collate_fn_train
from darts.utils.serialization.torch import _DartsCheckpointIO
from darts.utils.timeseries_generation import _build_forecast_series_from_schema

__all__ = [
    "ENTRIES",
    "PrivateName",
    "_DartsCheckpointIO",
    "_batch_collate_fn_predict",
    "_batch_collate_fn_train",
    "_build_forecast_series_from_schema",
    "problem",
    "problems",
]


@dataclass(frozen=True)
class PrivateName:
    """One private Darts name and what rnn_forecast expects of it.

    Attributes
    ----------
    module
        The Darts module it is reached through.
    path
        Dotted path inside ``module``: ``"_batch_collate_fn_train"``,
        ``"TorchForecastingModel._init_trainer"``.
    why
        What rnn_forecast uses it for.
    args
        Leading parameters (after ``self``/``cls``), in this order: the ones passed or
        received by position.
    kwargs
        Parameters passed or received by name, anywhere in the signature.
    read_in
        For an instance attribute (set in ``__init__``, so not on the class): the
        dotted path of a Darts function or property whose source must use it.
    """

    module: str
    path: str
    why: str
    args: tuple[str, ...] = ()
    kwargs: tuple[str, ...] = ()
    read_in: str | None = None

    @property
    def name(self) -> str:
        return f"{self.module}.{self.path}"


_TFM = "darts.models.forecasting.torch_forecasting_model"
_DATASETS = "darts.utils.data.torch_datasets"


def _hook(path: str, why: str, **expects) -> PrivateName:
    return PrivateName(_TFM, f"TorchForecastingModel.{path}", why, **expects)


ENTRIES: tuple[PrivateName, ...] = (
    # -- darts.utils.serialization.torch -----------------------------------------------
    PrivateName("darts.utils.serialization.torch", "_DartsCheckpointIO.save_checkpoint",
                "base class of AtomicCheckpointIO: Darts' safe-loading CheckpointIO, whose saves we "
                "make atomic", args=("checkpoint", "path", "storage_options")),
    PrivateName("darts.utils.serialization.torch", "_DartsCheckpointIO.load_checkpoint",
                "AtomicCheckpointIO overrides it to name a missing or unreadable checkpoint file, then calls it",
                args=("path",), kwargs=("map_location", "weights_only")),
    # -- darts.utils.timeseries_generation ------------------------------------------------
    PrivateName("darts.utils.timeseries_generation", "_build_forecast_series_from_schema",
                "builds the forecast TimeSeries in the trainer-free prediction path, as Darts does",
                args=("values", "schema", "pred_start"), kwargs=("predict_likelihood_parameters",)),
    # -- darts.utils.data.torch_datasets.utils ----------------------------------------------
    PrivateName(f"{_DATASETS}.utils", "_batch_collate_fn_train",
                "collate_batch's fallback for per-sample training batches", args=("batch",)),
    PrivateName(f"{_DATASETS}.utils", "_batch_collate_fn_predict",
                "collate_batch's fallback for per-sample inference batches", args=("batch",)),
    # -- TorchForecastingModel: hooks RNNForecaster overrides -------------------------------
    _hook("_create_model", "builds the RecurrentForecastModule", args=("train_sample",)),
    _hook("_build_train_dataset", "returns the batched training dataset",
          args=("series", "past_covariates", "future_covariates", "sample_weight", "max_samples_per_ts",
                "stride")),
    _hook("_build_inference_dataset", "returns the batched inference dataset",
          args=("n", "series", "past_covariates", "future_covariates", "stride", "bounds")),
    _hook("_setup_for_train", "adds our DataLoader arguments for every training entry point",
          args=("train_dataset", "val_dataset"), kwargs=("dataloader_kwargs",)),
    _hook("_setup_for_predict", "adds our DataLoader arguments for every prediction entry point",
          args=("n", "dataset"), kwargs=("dataloader_kwargs",)),
    _hook("_setup_checkpointing", "defers Darts' refusal of an existing run to fit (for resume=True)",
          args=("create_save_dirs", "force_reset")),
    _hook("_init_model", "checks a resumed run's input dimensions and keeps Darts from copying the "
          "checkpoint being resumed", args=("trainer",)),
    _hook("_init_trainer", "gives every Trainer our callbacks, atomic checkpoint IO and gradient "
          "clipping (also called to build a trainer for saving a loaded model)",
          kwargs=("trainer_params", "max_epochs")),
    # -- TorchForecastingModel: methods the forecaster calls -------------------------------
    _hook("_extract_torch_model_params", "the constructor's arguments for TorchForecastingModel.__init__"),
    _hook("_extract_pl_module_params", "the constructor's arguments for the Lightning module"),
    _hook("_validate_model_params", "set_params refuses unknown parameter names as Darts does"),
    _hook("_validate_predict_ds_output", "the check Darts makes before predicting, in the trainer-free path",
          kwargs=("train_sample", "inference_sample")),
    _hook("_check_ckpt_parameters", "resume refuses a run saved with other parameters", args=("tfm_save",)),
    _hook("_load_from_checkpoint", "load reads the .ckpt into the module class the file names",
          args=("file_path",), kwargs=("trusted",)),
    _hook("_clean", "save(clean=True): the copy without training series and trainer settings"),
    # -- TorchForecastingModel: instance attributes ---------------------------------------
    _hook("_model_params", "the recorded constructor arguments, rewritten for 0.1 files and by "
          "load(pl_trainer_kwargs=...)", read_in="TorchForecastingModel.model_params"),
    _hook("_module_path", "where load finds the Lightning module class: a file saved before 0.4 "
          "names its old module (rnn_forecast.module), which load imports and renames",
          read_in="TorchForecastingModel._load_from_checkpoint"),
    _hook("_considers_static_covariates", "set from use_static_covariates, as Darts' own models do",
          read_in="TorchForecastingModel.considers_static_covariates"),
    # -- darts.models.forecasting.pl_forecasting_module -------------------------------------
    PrivateName("darts.models.forecasting.pl_forecasting_module", "PLForecastingModule._get_batch_prediction",
                "the module's auto-regressive roll-out, run by the trainer-free prediction path",
                args=("n", "input_batch", "roll_size")),
    PrivateName("darts.models.forecasting.pl_forecasting_module", "PLForecastingModule._compute_loss",
                "RecurrentForecastModule overrides it (the loss in units of the training data's step), "
                "and the best-epoch rule calls it on the held-out windows",
                args=("output", "target", "criterion", "sample_weight")),
    # -- darts.utils.data.torch_datasets: the sequential datasets we subclass ------------------
    PrivateName(f"{_DATASETS}.training_dataset", "SequentialTorchTrainingDataset._get_end_of_output_idx",
                "where a training series' first sample ends, to vectorize batch fetching",
                args=("series", "series_idx", "index")),
    PrivateName(f"{_DATASETS}.dataset", "TorchDataset._memory_indexer",
                "the bounds of a series' first sample (both batched datasets), to vectorize batch fetching",
                kwargs=("series_idx", "series", "shift", "input_chunk_length", "output_chunk_length",
                        "end_of_output_idx", "past_covariates", "future_covariates", "sample_weight", "n")),
    # -- not an underscore name, but an implementation detail all the same ------------------
    _hook("predict.__wrapped__", "deterministic predict calls skip @random_method: torch's global "
          "generator and the model's random instance stay untouched"),
)


def _resolve(module: str, path: str):
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def problem(entry: PrivateName) -> str | None:
    """Why ``entry`` no longer holds in the installed Darts, or ``None`` if it still does."""
    import darts

    where = f"darts {darts.__version__}"
    target = entry.read_in or entry.path
    try:
        obj = _resolve(entry.module, target)
    except (ImportError, AttributeError) as exc:
        found = f"{where} has no {entry.module}.{target} ({type(exc).__name__}: {exc})"
    else:
        found = _mismatch(entry, obj, where)
    if found is None:
        return None
    return (
        f"rnn_forecast relies on the private Darts name {entry.name} ({entry.why}), but {found}. "
        f"Find what replaced it in Darts' source, then update the code that uses it "
        f"(grep rnn_forecast/ for {entry.path.rsplit('.', 1)[-1]!r}) and its entry in "
        "rnn_forecast/_darts_private.py, or pin darts to a release that has it."
    )


def _mismatch(entry: PrivateName, obj, where: str) -> str | None:
    if entry.read_in is not None:
        attr = entry.path.rsplit(".", 1)[-1]
        source = inspect.getsource(obj.fget if isinstance(obj, property) else obj)
        if not re.search(rf"\b{re.escape(attr)}\b", source):
            return f"{entry.module}.{entry.read_in} in {where} no longer uses {attr}"
        return None
    if not callable(obj):
        return f"in {where} it is a {type(obj).__name__}, not a function"
    if not (entry.args or entry.kwargs):
        return None
    parameters = list(inspect.signature(obj).parameters)
    if parameters[:1] == ["self"]:
        parameters = parameters[1:]
    if parameters[: len(entry.args)] != list(entry.args):
        return (f"its leading parameters in {where} are {parameters[: len(entry.args)]}, "
                f"not {list(entry.args)}")
    missing = [name for name in entry.kwargs if name not in parameters]
    if missing:
        return f"in {where} it has no parameter {', '.join(missing)} (parameters: {parameters})"
    return None


def problems() -> list[str]:
    """:func:`problem` for every entry of :data:`ENTRIES` that no longer holds."""
    return [found for entry in ENTRIES if (found := problem(entry)) is not None]
