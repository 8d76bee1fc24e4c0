"""Training-fault callbacks and the trainer defaults every forecaster gets.

Every Lightning ``Trainer`` a forecaster builds (for ``fit``, ``predict``, ...) gets,
unless the user already configured the same thing:

- :class:`NonFiniteLossGuard`: stops training with a :class:`NonFiniteLossError` (naming
  the epoch, the step and the likely cause) as soon as the loss or a gradient is NaN/inf,
  before that step changes the weights;
- :class:`LossExplosionGuard`: stops training with a :class:`LossExplosionError` when a
  finite loss grows by orders of magnitude over the untrained model's, and gives the
  model back its last good weights;
- :class:`RNGStateCheckpoint`: stores the global random states in every checkpoint and
  restores them on resume, so a resumed run continues exactly as an uninterrupted one;
- ``gradient_clip_val=DEFAULT_GRADIENT_CLIP_VAL``: clipping of the gradients' global norm.

A trainer passed explicitly (``fit(..., trainer=my_trainer)``) is used as is.
"""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytorch_lightning as pl
import torch
from darts.utils.serialization import add_safe_globals

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
        The exploding loss (a step's, or an epoch's mean) and the untrained model's
        loss it is compared with (the mean of the first steps).
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


class LossExplosionGuard(pl.Callback):
    """Raise :class:`LossExplosionError` when a finite loss explodes; keep the last good weights.

    The reference is the mean loss of the first ``warmup_steps`` steps, the untrained
    model's: training that works lowers the loss from there, by orders of magnitude at
    most. Training stops when one step's loss exceeds the reference by more than
    ``step_factor`` times its scale (checked from the second step on, against the steps
    before it), or an epoch's mean loss by more than ``epoch_factor`` times it. The scale
    is the reference's magnitude, or the first losses' mean absolute deviation if
    larger, since a likelihood's negative log-likelihood can be negative or near 0. The module then gets back the
    weights of the end of the last epoch that did not explode (or its initial weights),
    kept as one in-memory copy. ``None`` turns a check off.

    Parameters
    ----------
    step_factor, epoch_factor
        How many scales above the reference loss count as divergence.
    warmup_steps
        Steps whose mean loss is the reference.
    """

    def __init__(self, step_factor: float | None = 1e4, epoch_factor: float | None = 1e2, warmup_steps: int = 10):
        self.step_factor, self.epoch_factor, self.warmup_steps = step_factor, epoch_factor, warmup_steps
        self._first: list[float] = []
        self._epoch_sum, self._epoch_steps = 0.0, 0
        self._good_state, self._good_label = None, "initial weights"
        self._batch = None

    def __getstate__(self):
        # passed in pl_trainer_kwargs, the guard is saved with the model: not its weight copy
        state = dict(self.__dict__)
        state.update(_first=[], _epoch_sum=0.0, _epoch_steps=0, _good_state=None, _batch=None)
        return state

    def on_train_start(self, trainer, pl_module):
        self._first, self._epoch_sum, self._epoch_steps = [], 0.0, 0
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
        self._check(trainer, pl_module, value, self.step_factor, "this step's loss")
        if len(self._first) < self.warmup_steps:
            self._first.append(value)
        self._epoch_sum += value
        self._epoch_steps += 1

    def on_train_epoch_end(self, trainer, pl_module):
        steps, mean = self._epoch_steps, self._epoch_sum / max(self._epoch_steps, 1)
        self._epoch_sum, self._epoch_steps = 0.0, 0
        if steps:
            self._check(trainer, pl_module, mean, self.epoch_factor, "the epoch's mean loss")
        self._keep(pl_module, f"weights of the end of epoch {trainer.current_epoch}")

    def _limit(self, factor: float | None) -> tuple[float, float] | None:
        """``(reference, limit)``: the first steps' mean loss and ``reference + factor * scale``.

        The scale is the reference's magnitude, or the first losses' mean absolute
        deviation if larger: a likelihood's negative log-likelihood can be negative or
        near 0, where a plain ratio would be meaningless.
        """
        if factor is None or not self._first:
            return None
        reference = sum(self._first) / len(self._first)
        spread = sum(abs(x - reference) for x in self._first) / len(self._first)
        scale = max(abs(reference), spread)
        return None if scale < _TINY_LOSS else (reference, reference + factor * scale)

    def _check(self, trainer, pl_module, loss: float, factor: float | None, what: str) -> None:
        limit = self._limit(factor)
        if limit is not None and loss > limit[1]:
            self._stop(trainer, pl_module, f"{what} is {loss:.3g}", loss, *limit)

    def _keep(self, pl_module, label: str) -> None:
        self._good_state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        self._good_label = label

    def _stop(self, trainer, pl_module, problem: str, loss: float, reference: float, limit: float):
        epoch, step = trainer.current_epoch, trainer.global_step
        causes = likely_causes(trainer, self._batch)
        if self._good_state is not None:
            pl_module.load_state_dict(self._good_state)
        raise LossExplosionError(
            f"Training diverged: {problem}, against {reference:.3g} for the untrained model "
            f"(limit {limit:.3g}), in epoch {epoch} (counting from 0), global step {step}. "
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


def with_training_guards(trainer_params: dict) -> dict:
    """``trainer_params`` plus the two guards and default gradient clipping, as a new dict.

    ``pl_trainer_kwargs={"gradient_clip_val": None}`` turns clipping off; a
    ``NonFiniteLossGuard`` or ``LossExplosionGuard`` of the user's own in ``callbacks``
    replaces the default one (``LossExplosionGuard(None, None)`` turns it off).
    """
    params = dict(trainer_params)
    params.setdefault("gradient_clip_val", DEFAULT_GRADIENT_CLIP_VAL)
    params["callbacks"] = with_default_callback(params.get("callbacks"), NonFiniteLossGuard)
    params["callbacks"] = with_default_callback(params["callbacks"], LossExplosionGuard)
    return params


# Passed in `pl_trainer_kwargs`, they are saved with the model's parameters: allow them
# in Darts' safe loading.
add_safe_globals([NonFiniteLossGuard, LossExplosionGuard, RNGStateCheckpoint])


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
