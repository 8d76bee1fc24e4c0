"""Training-fault callbacks and the trainer defaults every forecaster gets.

Every Lightning ``Trainer`` a forecaster builds (for ``fit``, ``predict``, ...) gets,
unless the user already configured the same thing:

- :class:`NonFiniteLossGuard`: stops training with a :class:`NonFiniteLossError` (naming
  the epoch, the step and the likely cause) as soon as the loss or a gradient is NaN/inf,
  before that step changes the weights;
- :class:`LossExplosionGuard`: stops training with a :class:`LossExplosionError` when a
  finite loss grows by orders of magnitude over the first step's (before any update),
  and gives the model back its last good weights;
- :class:`RNGStateCheckpoint`: stores the global random states in every checkpoint and
  restores them on resume, so a resumed run continues exactly as an uninterrupted one;
- :class:`SkipEmptyValidation`: no validation loop (and no Lightning warning) for a
  ``fit`` without validation data;
- ``gradient_clip_val=DEFAULT_GRADIENT_CLIP_VAL``: clipping of the gradients' global norm.

Lightning's "GPU available", "TPU available" and "Tip" lines are let through once per
process (:data:`LIGHTNING_LINES`), not once per ``Trainer``.

A trainer passed explicitly (``fit(..., trainer=my_trainer)``) is used as is.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random

import numpy as np
import pytorch_lightning as pl
import torch
from darts.utils.serialization import add_safe_globals

from rnn_forecast._moved import with_old_paths

#: Default ``gradient_clip_val`` (global L2 norm). On scaled data the gradient norm of
#: these models stays far below it (docs/reliability.md, ``benchmarks/grad_norms.py``),
#: so normal training is unchanged; it bounds the step when gradients explode.
DEFAULT_GRADIENT_CLIP_VAL = 1.0

#: An untrained model's loss below this magnitude gives no meaningful ratio: the
#: explosion guard does not compare against it.
_TINY_LOSS = 1e-12

#: Batch values above this magnitude are reported as a likely cause of divergence.
UNSCALED_MAGNITUDE = 100.0


class TrainingDivergedError(FloatingPointError):
    """Training diverged: :class:`NonFiniteLossError` or :class:`LossExplosionError`.

    A ``FloatingPointError`` (Python's error for a failed floating-point computation, as
    raised by ``numpy.errstate``), so it can be caught apart from the unrelated
    ``RuntimeError``\\ s torch raises, e.g. to retry with a smaller learning rate.
    """


class NonFiniteLossError(TrainingDivergedError):
    """Training produced a NaN or infinite loss or gradient.

    Attributes
    ----------
    epoch, step, batch_idx
        Where training stopped: epoch (from 0), global optimizer step, batch in the epoch.
    what
        ``"loss"`` or ``"gradient"``.
    """

    def __init__(self, message: str, *, epoch: int, step: int, batch_idx: int, what: str):
        super().__init__(message)
        self.epoch, self.step, self.batch_idx, self.what = epoch, step, batch_idx, what


class NonFiniteLossGuard(pl.Callback):
    """Raise :class:`NonFiniteLossError` on the first NaN/inf loss or gradient.

    The loss is checked before the backward pass and the gradients before the optimizer
    step, so the weights keep their last finite values.

    Parameters
    ----------
    check_gradients
        Also check the gradients (one reduction per step). Skipped automatically with
        ``precision="16-mixed"``, whose gradient scaler expects and skips inf steps.
    """

    def __init__(self, check_gradients: bool = True):
        self.check_gradients = check_gradients
        self._batch = None
        self._batch_idx = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._batch, self._batch_idx = batch, batch_idx

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._batch = None  # do not keep the last batch alive between steps

    def on_before_backward(self, trainer, pl_module, loss):
        if not bool(torch.isfinite(loss.detach()).all()):
            raise self._error(trainer, "loss", f"the loss is {_describe(loss)}")

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if not self.check_gradients or getattr(trainer.precision_plugin, "scaler", None) is not None:
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]
                 if p.grad is not None]
        if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
            bad = sum(int((~torch.isfinite(g)).sum()) for g in grads)
            problem = f"{bad} gradient value(s) are NaN/inf (the loss was finite)"
            raise self._error(trainer, "gradient", problem)

    def _error(self, trainer, what: str, problem: str) -> NonFiniteLossError:
        epoch, step = trainer.current_epoch, trainer.global_step
        causes = likely_causes(trainer, self._batch)
        if what == "gradient":
            causes.append("an operation with an infinite derivative in the loss (e.g. sqrt or log at 0)")
        message = (
            f"Training diverged: {problem} in epoch {epoch} (counting from 0), global step "
            f"{step}, batch {self._batch_idx} of the epoch. Training stopped before this step "
            f"updated the weights. Likely causes: {'; '.join(causes)}."
        )
        return NonFiniteLossError(message, epoch=epoch, step=step, batch_idx=self._batch_idx, what=what)


def likely_causes(trainer, batch) -> list[str]:
    """Why training may have diverged: bad or unscaled inputs, the learning rate, no clipping."""
    causes = []
    magnitude, finite = _max_abs(batch)
    if not finite:
        causes.append("NaN/inf values in this batch's inputs (fill or drop them first)")
    elif magnitude is not None and magnitude > UNSCALED_MAGNITUDE:
        causes.append(f"unscaled data (this batch's values reach {magnitude:.3g} in "
                      "magnitude; scale the series, e.g. with darts' `Scaler`)")
    lrs = [group["lr"] for opt in trainer.optimizers for group in opt.param_groups if "lr" in group]
    if lrs:
        causes.append(
            f"a learning rate too high (lr={max(lrs):g}; try 10x smaller via "
            "`optimizer_kwargs={'lr': ...}`)"
        )
    if trainer.gradient_clip_val is None:
        causes.append(
            "exploding gradients with clipping off (turn it on, e.g. "
            f"pl_trainer_kwargs={{'gradient_clip_val': {DEFAULT_GRADIENT_CLIP_VAL}}})"
        )
    return causes


class LossExplosionError(TrainingDivergedError):
    """The training loss stayed finite but grew by orders of magnitude: training diverged.

    Attributes
    ----------
    epoch, step
        Where training stopped: epoch (from 0) and global optimizer step.
    loss, reference
        The exploding loss (a step's, or an epoch's mean) and the loss it is compared
        with: the first step's, before any update (the untrained model's; for a resumed
        run, the first step of the run it resumes).
    restored
        Which weights the model was given back: ``"initial weights"`` or ``"weights of
        the end of epoch K"``.
    module
        The LightningModule, holding those weights (a forecaster keeps it: it can
        predict with them after the error).
    """

    def __init__(self, message: str, *, epoch: int, step: int, loss: float, reference: float, restored: str,
                 module=None):
        super().__init__(message)
        self.epoch, self.step, self.loss, self.reference, self.restored = epoch, step, loss, reference, restored
        self.module = module


#: Below this many nats a likelihood's first negative log-likelihood is read as
#: calibrated (its spread matches the errors): see :class:`LossExplosionGuard`.
CALIBRATED_NLL = 10.0


class LossExplosionGuard(pl.Callback):
    """Raise :class:`LossExplosionError` when a finite loss explodes; keep the last good weights.

    The reference is the loss of the first training step, computed before any update,
    so no step it judges can move it (a mean over the first steps, the design before
    0.4, took in the exploding ones: with ``lr=1e8`` on data at 1e6 the loss rose from
    6.4e5 to 2e8 from the second step on, and the limit rose with it). A resumed run
    keeps the reference of the run it resumes (it is saved in checkpoints). Training
    stops when one step's loss exceeds the reference by more than ``step_factor``
    margins (from the second step on), or an epoch's mean loss by more than
    ``epoch_factor`` margins; the module then gets back the weights of the end of the
    last epoch that did not explode (or its initial weights), kept as one in-memory
    copy. ``None`` turns a check off.

    The margin is scale-free: ``factor * |reference|`` above the reference, whatever
    the loss's units (the data's, or the typical step's). One exception: a
    likelihood's negative log-likelihood (every Darts likelihood but
    ``QuantileRegression``) that starts below :data:`CALIBRATED_NLL` nats counts in
    nats, since there a forecast whose errors and spread grow ``k``-fold raises it by
    only ``log(k)``: the limit is ``reference + log(factor)``. A larger first NLL
    (errors far beyond the predicted spread) grows like a squared error, and gets the
    ratio margin. A reference of (almost) 0 gives no scale, and no check.

    Parameters
    ----------
    step_factor, epoch_factor
        How far above the reference a step's loss, or an epoch's mean loss, counts as
        divergence (more than 1).
    """

    def __init__(self, step_factor: float | None = 1e4, epoch_factor: float | None = 1e2):
        for name, factor in (("step_factor", step_factor), ("epoch_factor", epoch_factor)):
            if factor is not None and not factor > 1:
                raise ValueError(f"`{name}` must be more than 1 (or None to turn the check off), got {factor!r}.")
        self.step_factor, self.epoch_factor = step_factor, epoch_factor
        self._reset()
        self._good_state, self._good_label = None, "initial weights"

    def _reset(self) -> None:
        self._reference, self._nats = None, False
        self._epoch_sum, self._epoch_steps = 0.0, 0
        self._batch = None

    def __getstate__(self):
        # passed in pl_trainer_kwargs, the guard is saved with the model: not its weight copy
        state = dict(self.__dict__)
        state.update(_reference=None, _epoch_sum=0.0, _epoch_steps=0, _good_state=None, _batch=None)
        return state

    def __setstate__(self, state):
        # guards saved before 0.4 had `warmup_steps` and a list of first losses
        state = {k: v for k, v in state.items() if k not in ("warmup_steps", "_first")}
        self._reset()
        self._good_state, self._good_label = None, "initial weights"
        self.__dict__.update(state)

    def state_dict(self) -> dict:
        return {"reference": self._reference}

    def load_state_dict(self, state_dict: dict) -> None:
        self._reference = state_dict.get("reference")

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage == "fit":  # before a resumed run's state is loaded
            self._reset()
            likelihood = getattr(pl_module, "likelihood", None)
            self._nats = likelihood is not None and type(likelihood).__name__ != "QuantileRegression"

    def on_train_start(self, trainer, pl_module):
        self._epoch_sum, self._epoch_steps = 0.0, 0
        epoch = trainer.current_epoch
        self._keep(pl_module, "initial weights" if epoch == 0 else f"weights of the end of epoch {epoch - 1}")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._batch = None

    def on_before_backward(self, trainer, pl_module, loss):
        value = float(loss.detach().float().mean())
        if not math.isfinite(value):
            return  # NonFiniteLossGuard's case
        if self._reference is None:
            self._reference = value  # before the first update: nothing judged can move it
        else:
            self._check(trainer, pl_module, value, self.step_factor, "this step's loss")
        self._epoch_sum += value
        self._epoch_steps += 1

    def on_train_epoch_end(self, trainer, pl_module):
        steps, mean = self._epoch_steps, self._epoch_sum / max(self._epoch_steps, 1)
        self._epoch_sum, self._epoch_steps = 0.0, 0
        if steps:
            self._check(trainer, pl_module, mean, self.epoch_factor, "the epoch's mean loss")
        self._keep(pl_module, f"weights of the end of epoch {trainer.current_epoch}")

    def limit(self, factor: float | None) -> float | None:
        """The loss above which ``factor`` counts as divergence, or ``None`` (no check).

        ``reference + factor * |reference|``, or ``reference + log(factor)`` for a
        negative log-likelihood below :data:`CALIBRATED_NLL` nats.
        """
        reference = self._reference
        if factor is None or reference is None:
            return None
        if self._nats and abs(reference) < CALIBRATED_NLL:
            return reference + math.log(factor)
        return None if abs(reference) < _TINY_LOSS else reference + factor * abs(reference)

    def _check(self, trainer, pl_module, loss: float, factor: float | None, what: str) -> None:
        limit = self.limit(factor)
        if limit is not None and loss > limit:
            self._stop(trainer, pl_module, f"{what} is {loss:.3g}", loss, limit)

    def _keep(self, pl_module, label: str) -> None:
        self._good_state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self._good_label = label

    def _stop(self, trainer, pl_module, problem: str, loss: float, limit: float):
        epoch, step, reference = trainer.current_epoch, trainer.global_step, self._reference
        causes = likely_causes(trainer, self._batch)
        if self._good_state is not None:
            pl_module.load_state_dict(self._good_state)
        raise LossExplosionError(
            f"Training diverged: {problem}, against {reference:.3g} at the first step, before any "
            f"update (limit {limit:.3g}), in epoch {epoch} (counting from 0), global step {step}. "
            f"Training stopped; the model keeps its {self._good_label}. Likely "
            f"causes: {'; '.join(causes)}.",
            epoch=epoch, step=step, loss=loss, reference=reference, restored=self._good_label,
            module=pl_module)


class RNGStateCheckpoint(pl.Callback):
    """Save the global random states in checkpoints and restore them on resume.

    Shuffling and dropout draw from the global torch generators (CPU, CUDA); restoring
    them from an epoch-end checkpoint makes a resumed run draw the same batches and
    dropout masks as an uninterrupted one. numpy's and Python's states are kept too, for
    user code. They are stored as tensors, lists and numbers, which Darts' safe
    checkpoint loading accepts.
    """

    def state_dict(self) -> dict:
        name, keys, pos, has_gauss, cached = np.random.get_state()
        version, python_state, gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "python": [version, list(python_state), gauss],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        torch.set_rng_state(state_dict["torch"])
        cuda = state_dict.get("cuda") or []
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        name, keys, pos, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        version, python_state, gauss = state_dict["python"]
        random.setstate((version, tuple(python_state), gauss))


class SkipEmptyValidation(pl.Callback):
    """Turn validation off for a ``fit`` that has no validation data.

    Darts hands Lightning an empty list as the validation loader when ``fit`` gets no
    ``val_series``, and Lightning warns "Total length of `list` across ranks is zero"
    for it. With ``limit_val_batches=0`` Lightning does not ask for the loader: the
    same training (an empty loader ran no validation either), no warning.
    """

    def setup(self, trainer, pl_module, stage: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if stage == "fit" and datamodule is not None and getattr(datamodule, "val_dataset", ()) is None:
            trainer.limit_val_batches = 0


class _OncePerProcess(logging.Filter):
    """Let Lightning's environment lines through once per process, not once per ``Trainer``.

    Every ``Trainer`` logs "GPU available: ...", "TPU available: ..." and a "Tip" line;
    a forecaster builds one per ``fit``/``predict``, so a script training several
    models printed them again and again.
    """

    PREFIXES = ("GPU available:", "TPU available:", "HPU available:", "\U0001f4a1 Tip:")

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self.PREFIXES):
            return True
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


#: The filter on Lightning's ``rank_zero`` loggers (``LIGHTNING_LINES.seen.clear()``
#: lets the lines through once more).
LIGHTNING_LINES = _OncePerProcess()
for _name in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero"):
    if LIGHTNING_LINES not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(LIGHTNING_LINES)


def with_training_guards(trainer_params: dict) -> dict:
    """``trainer_params`` plus the guards, default gradient clipping and quiet validation, as a new dict.

    ``pl_trainer_kwargs={"gradient_clip_val": None}`` turns clipping off; a
    ``NonFiniteLossGuard`` or ``LossExplosionGuard`` of the user's own in ``callbacks``
    replaces the default one (``LossExplosionGuard(None, None)`` turns it off). A
    :class:`SkipEmptyValidation` joins them.
    """
    params = dict(trainer_params)
    params.setdefault("gradient_clip_val", DEFAULT_GRADIENT_CLIP_VAL)
    params["callbacks"] = with_default_callback(params.get("callbacks"), NonFiniteLossGuard)
    params["callbacks"] = with_default_callback(params["callbacks"], LossExplosionGuard)
    params["callbacks"] = with_default_callback(params["callbacks"], SkipEmptyValidation)
    return params


# Passed in `pl_trainer_kwargs`, they are saved with the model's parameters: allow them
# in Darts' safe loading.
add_safe_globals(with_old_paths([NonFiniteLossGuard, LossExplosionGuard, RNGStateCheckpoint, SkipEmptyValidation]))


def with_default_callback(callbacks, callback_cls: type) -> list:
    """``callbacks`` as a new list, plus a ``callback_cls()`` unless one is already there."""
    callbacks = list(callbacks or [])
    if not any(isinstance(cb, callback_cls) for cb in callbacks):
        callbacks.append(callback_cls())
    return callbacks


def _describe(tensor: torch.Tensor) -> str:
    values = tensor.detach().float().flatten()
    if bool(torch.isnan(values).any()):
        return "NaN"
    return "+inf" if bool((values > 0).any()) else "-inf"


def _max_abs(batch) -> tuple[float | None, bool]:
    """Largest finite magnitude in a batch (tensors, sequences, dataclasses) and finiteness."""
    tensors = []

    def collect(obj):
        if isinstance(obj, torch.Tensor):
            if obj.is_floating_point() and obj.numel():
                tensors.append(obj.detach())
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for field in dataclasses.fields(obj):
                collect(getattr(obj, field.name))
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                collect(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                collect(item)

    collect(batch)
    if not tensors:
        return None, True
    finite = all(bool(torch.isfinite(t).all()) for t in tensors)
    magnitude = max(float(t.float().nan_to_num(0.0, 0.0, 0.0).abs().max()) for t in tensors)
    return (magnitude if math.isfinite(magnitude) else None), finite
