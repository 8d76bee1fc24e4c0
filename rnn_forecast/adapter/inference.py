"""Deterministic CPU inference without a Lightning ``Trainer``.

Darts predicts through ``Trainer.predict``: building a trainer and moving every batch
(including its time stamps and series schemas) through Lightning's hooks costs more per
``predict()`` call than the forward pass of a small model, and dominates rolling
evaluations (docs/speed.md has the measured times). For the common case, a
deterministic model on CPU with no prediction callbacks, the forecast is just the
module's auto-regressive roll-out (Darts' own ``_get_batch_prediction``) over batches
of windows; :func:`predict_windows` runs exactly that, and the forecaster uses it in
``predict``/``historical_forecasts`` when :func:`can_skip_trainer` allows.
Everything else (likelihood sampling, Monte Carlo dropout, a custom ``trainer``, GPUs,
mixed precision, callbacks with ``on_predict_*`` hooks) goes through Lightning as usual.

Thread safety. Predicting changes state shared by every caller of one fitted model:
the trainer-free path switches a network with dropout to evaluation mode and back,
and Darts' path through Lightning sets the module's prediction parameters
(``set_predict_parameters``), its Monte Carlo dropout flags and its mode, and seeds
torch's global random generator (``@random_method``). So concurrent ``predict``,
``historical_forecasts`` or ``backtest`` calls on one model take turns:
:func:`predict_windows` holds the network's lock (:func:`network_lock`) and
:func:`exclusive_prediction` wraps a prediction through Lightning in that lock and
in one process-wide lock (torch's global generator is shared by all models). Each
call then returns what it returns alone.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
from darts.utils.torch import MonteCarloDropout

from rnn_forecast.adapter.windows import BatchedInferenceDataset, collate_batch

_NETWORK_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()
#: Held by every prediction through a Lightning ``Trainer``, whatever the model.
_GLOBAL_RNG = threading.RLock()


def network_lock(module: nn.Module) -> threading.RLock:
    """The lock of ``module`` (one per network, created on first use, re-entrant)."""
    with _REGISTRY:
        lock = _NETWORK_LOCKS.get(module)
        if lock is None:
            lock = _NETWORK_LOCKS[module] = threading.RLock()
        return lock


@contextlib.contextmanager
def exclusive_prediction(module: nn.Module | None):
    """Around a prediction through Lightning: the network's lock, then the process-wide one.

    Darts sets the module's prediction parameters, mode and Monte Carlo dropout flags
    and seeds torch's global generator for the whole call; holding both locks keeps
    every other prediction of this network, and every other sampling prediction, out
    until it is done. The trainer-free path (:func:`predict_windows`) takes the
    network's lock only.
    """
    with network_lock(module) if module is not None else contextlib.nullcontext(), _GLOBAL_RNG:
        yield

_FULL_PRECISION = (None, 32, 64, "32", "64", "32-true", "64-true")


def _has_predict_hooks(callback: pl.Callback) -> bool:
    return any(
        getattr(type(callback), hook) is not getattr(pl.Callback, hook)
        for hook in dir(pl.Callback)
        if hook.startswith("on_predict")
    )


def can_skip_trainer(model, trainer, num_samples, mc_dropout, likelihood_parameters, dataloader_kwargs) -> bool:
    """Whether ``model`` can predict without a Lightning ``Trainer`` and get the same result."""
    params = model.trainer_params
    module = model.model
    return (
        trainer is None
        and num_samples == 1
        and not mc_dropout
        and not likelihood_parameters
        and model.likelihood is None
        and not dataloader_kwargs
        and params.get("precision") in _FULL_PRECISION
        and params.get("strategy", "auto") == "auto"
        and next(module.parameters()).device.type == "cpu"
        and (params.get("accelerator", "auto") == "cpu" or not torch.cuda.is_available())
        and not any(_has_predict_hooks(cb) for cb in params.get("callbacks", []))
    )


# torch.nn layers whose forward depends on ``training``
_MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._NormBase)


def _mode_dependent(module: nn.Module) -> bool:
    """Whether any submodule may compute differently in training mode (cached per module).

    ``torch.nn`` layers other than dropout and normalization (a recurrent layer only
    with dropout between layers) and this package's own layers don't; any other module
    is assumed to, so user modules always get ``eval()``.
    """
    cached = module.__dict__.get("_rnn_forecast_mode_dependent")
    if cached is None:
        cached = any(_layer_mode_dependent(m) for m in module.modules())
        module.__dict__["_rnn_forecast_mode_dependent"] = cached
    return cached


_MC_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _mc_dropout_layers(module: nn.Module) -> tuple:
    """The Monte Carlo dropout layers of ``module`` (cached per module)."""
    with _REGISTRY:
        layers = _MC_LAYERS.get(module)
        if layers is None:
            layers = _MC_LAYERS[module] = tuple(m for m in module.modules() if isinstance(m, MonteCarloDropout))
        return layers


def _layer_mode_dependent(m: nn.Module) -> bool:
    if isinstance(m, _MODE_DEPENDENT):
        return True
    if isinstance(m, nn.RNNBase):
        return m.dropout > 0 and m.num_layers > 1
    origin = type(m).__module__
    return not (origin.startswith(("torch.nn.", "rnn_forecast.", "torchmetrics."))
                or origin == "darts.models.forecasting.pl_forecasting_module")


def predict_windows(
    module, dataset: BatchedInferenceDataset, n: int, roll_size: int, batch_size: int
) -> tuple[np.ndarray, list, list]:
    """Forecast every window of ``dataset``, ``batch_size`` windows at a time.

    Holds the network's lock (:func:`network_lock`) while it runs, with the network in
    evaluation mode and Monte Carlo dropout off; the modes are put back afterwards.

    Returns
    -------
    values, schemas, starts
        Forecasts ``(windows, n, components, 1)`` and, per window, the target's schema and
        the forecast's first time stamp: what Darts' ``predict_from_dataset(...,
        values_only=True)`` returns.
    """
    values, schemas, starts = [], [], []
    with network_lock(module), _inference_mode(module), torch.inference_mode():
        for first in range(0, len(dataset), batch_size):
            batch = dataset.__getitems__(list(range(first, min(first + batch_size, len(dataset)))))
            batch = collate_batch(batch)  # the dataset may fall back to per-sample
            batch = batch.replace(**{
                name: tensor.to(module.dtype)
                for name in ("past_target", "past_covariates", "future_past_covariates",
                             "historic_future_covariates", "future_covariates", "static_covariates")
                if (tensor := getattr(batch, name)) is not None
            })
            values.append(module._get_batch_prediction(n, batch, roll_size).numpy())
            schemas += batch.series_schema
            starts += batch.pred_time
    return np.concatenate(values)[..., None], schemas, starts


@contextlib.contextmanager
def _inference_mode(module: nn.Module):
    """Evaluation mode and Monte Carlo dropout off inside; each submodule's mode back after.

    Switching walks every submodule, a tenth of a one-series forecast: skipped where no
    layer behaves differently in training mode. Monte Carlo dropout flags left on (by a
    Lightning prediction that failed before its end hook) are turned off for good.
    """
    mc_layers = _mc_dropout_layers(module)
    if not _mode_dependent(module) or (
            not module.training and not any(m.mc_dropout_enabled for m in mc_layers)):
        yield
        return
    training = [(m, m.training) for m in module.modules()]
    module.eval()
    module.set_mc_dropout(False)
    try:
        yield
    finally:
        for m, mode in training:
            m.training = mode
