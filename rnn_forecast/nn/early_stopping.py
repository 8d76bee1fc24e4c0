"""Early stopping that keeps the best epoch, the untrained network included.

A forecaster's network starts as its baseline (the seasonal-naive forecast, see
:mod:`rnn_forecast.nn.module`), so "epoch 0" is a forecast worth keeping: on a series where
training only fits noise, the best the data support may be the baseline itself.
:class:`BestEpoch` measures the validation loss before the first step and after every
validation epoch, keeps an in-memory copy of the best weights (with ``within_noise``, of
every epoch that lowered the loss), stops once ``patience`` validations in a row bring no
improvement, and gives the network the chosen weights when training ends. So a
forecaster trained with a validation set is never worse on it than its baseline.

Patience counts only once a trained epoch has beaten the untrained network. Training
starts from the baseline with a zero correction, and the first epochs often make the
forecast worse before they make it better; judged against epoch 0, a patience of 5 stopped
six of ten runs of the battery's hourly traffic case (10 epochs) before any had learned the
weekly correction that the other four found by epoch 10, and all ten of the quarterly German
inflation case (50 epochs) at epoch 25. Trained on, both beat the seasonal-naive forecast
(docs/defaults.md). The price: a network that never beats its baseline trains every epoch
(``patience_from_baseline=False`` stops it as before).

Which epoch is "best" is itself an estimate: on a short validation tail the lowest loss
is often a chance low of a flat, noisy stretch late in training, where the network has
begun to fit noise (on the Nile's 14 held-out years, well after the test error's low).
``BestEpoch(within_noise=True)`` (opt-in) then keeps the *earliest* trained epoch whose
validation loss is within one standard error of the lowest (the one-standard-error rule
of Breiman et al. (1984) and Hastie, Tibshirani and Friedman, *The Elements of
Statistical Learning*, 7.10: the simplest model within noise of the best, training time
counting as complexity). Whether to train at all is still decided by the lowest loss
(and, per component, by :func:`keep_better_corrections`). Measured on the battery in
docs/defaults.md: it turns the two cases that lost to the naive forecast into ties and
costs wins elsewhere (4 % higher MASE on the geometric mean of the 34 cases), so it is
not the default.

:func:`validation_tail` is the rule the forecasters use to split a validation set off
the training series when ``fit`` gets none.
"""

from __future__ import annotations

import copy
import math

import pytorch_lightning as pl
import torch
from darts.utils.data.torch_datasets.utils import ModuleStage
from darts.utils.serialization import add_safe_globals
from pytorch_lightning.utilities.seed import isolate_rng

from rnn_forecast._moved import with_old_paths

#: Most windows a series gives to validation: enough to compare epochs (and the
#: untrained baseline) reliably; the rest of a long series trains. On the main
#: benchmark's ETTh1 a 20 % tail (2,200 hourly windows) cost 2-4 % MASE at 4 epochs,
#: a 3 % tail nothing measurable (docs/defaults.md).
MAX_VALIDATION_WINDOWS = 500
#: ``patience="auto"``: stop after half the epochs without improvement, and never
#: before this many. A validation tail of a short series is a noisy judge: a patience of
#: 5 or 10 epochs stopped the quarterly GDP case of the battery at a chance low of the
#: validation loss, 0.74 MASE against 0.63 for training all 50 epochs (docs/defaults.md).
MIN_PATIENCE = 5
#: The weights of the network's correction that :func:`keep_better_corrections` chooses
#: from, per component, on the validation data: 0 forecasts the baseline exactly, 1 the
#: trained network. More weights between them shrink the correction towards the baseline
#: where the validation data favour a blend (a forecast combination).
CORRECTION_WEIGHTS = (0.0, 1.0)


class BestEpoch(pl.Callback):
    """Keep the weights with the lowest validation loss; stop when it stops improving.

    The untrained network's loss counts as epoch 0. Without validation data the
    callback does nothing. Its state (best loss, epoch, weights) is saved in
    checkpoints, so a resumed run restores the same epoch.

    Parameters
    ----------
    patience
        Stop after this many validations in a row without a lower loss; ``"auto"``:
        half the trainer's ``max_epochs``, at least :data:`MIN_PATIENCE`; ``None``
        trains all epochs and still restores the best.
    patience_from_baseline
        ``True`` (default): count ``patience`` only once a trained epoch has had a lower
        loss than the untrained network (epoch 0), so training is not stopped before it
        has overtaken its baseline once (a network that never does trains every epoch).
        ``False``: count from the first epoch.
    min_delta
        Smallest decrease that counts as an improvement, relative to the best loss's
        magnitude.
    correction_weights
        The weights of the correction chosen from per component after training
        (:func:`keep_better_corrections`), ascending from 0; the default keeps or drops it.
    correction_evidence
        ``None``, or the level of a one-sided t-test that a component's held-out windows
        must pass for its correction to be kept (:func:`keep_better_corrections`); the
        test counts ``H`` overlapping windows of ``H`` steps as one.
    within_noise
        ``True``: when a trained epoch has the lowest validation loss, keep the earliest
        trained epoch whose loss exceeds the lowest by at most one standard error of
        their difference (paired over the held-out windows, ``H`` overlapping windows
        counted as one; :func:`earliest_within_noise`); the candidates are the epochs
        that lowered the loss (kept on the CPU until the end). ``False`` (default):
        keep the epoch with the lowest loss. Point losses only: with a likelihood the
        lowest loss is kept.

    Attributes
    ----------
    best_epoch
        Epochs trained by the kept weights (0: the untrained network), or ``None``
        before training.
    best_loss
        Their validation loss.
    lowest_epoch
        The epoch with the lowest validation loss (``best_epoch`` unless an earlier one
        was within noise of it).
    """

    def __init__(self, patience: int | str | None = "auto", min_delta: float = 0.0,
                 correction_weights: tuple[float, ...] = CORRECTION_WEIGHTS, correction_evidence: float | None = None,
                 within_noise: bool = False, patience_from_baseline: bool = True):
        weights = tuple(float(w) for w in correction_weights)
        if not weights or weights[0] != 0.0 or list(weights) != sorted(set(weights)) or weights[-1] > 1.0:
            raise ValueError("`correction_weights` must ascend from 0 to at most 1 without repeats, "
                             f"got {correction_weights!r}.")
        if correction_evidence is not None and not 0 < correction_evidence < 1:
            raise ValueError(f"`correction_evidence` must lie between 0 and 1, got {correction_evidence!r}.")
        self.patience, self.min_delta, self.correction_weights = patience, min_delta, weights
        self.correction_evidence, self.within_noise = correction_evidence, bool(within_noise)
        self.patience_from_baseline = bool(patience_from_baseline)
        self._reset()

    def _reset(self) -> None:
        self.best_loss, self.best_epoch, self.wait = math.inf, None, 0
        self.lowest_epoch = None
        self._best_state = None
        # the epochs that lowered the loss: (epoch, loss, (N, C) window losses, weights on the CPU)
        self._candidates = []

    def __getstate__(self):
        # passed in pl_trainer_kwargs, the callback is saved with the model: not its weights
        state = dict(self.__dict__)
        state.update(best_loss=math.inf, best_epoch=None, wait=0, _best_state=None, lowest_epoch=None,
                     _candidates=[])
        return state

    def on_fit_start(self, trainer, pl_module) -> None:
        self._reset()  # a later fit of the same model starts afresh (a resume reloads the state)

    def on_train_start(self, trainer, pl_module) -> None:
        if self._best_state is not None:  # resumed: the state came with the checkpoint
            return
        if getattr(pl_module, "season", None) is not None:  # every correction trains (again)
            pl_module.set_correction_gate(torch.ones_like(pl_module._correction_gate))
        loss = validation_loss(trainer, pl_module)
        if loss is not None:
            self._keep(trainer, pl_module, loss, trainer.current_epoch)

    def on_validation_end(self, trainer, pl_module) -> None:
        loss = trainer.callback_metrics.get("val_loss")
        if trainer.sanity_checking or loss is None or self.best_epoch is None:
            return
        loss = float(loss)
        if loss < self.best_loss - self.min_delta * abs(self.best_loss):
            self._keep(trainer, pl_module, loss, trainer.current_epoch + 1)
            return
        if self.best_epoch == 0 and getattr(self, "patience_from_baseline", False):
            return  # no trained epoch has beaten the baseline yet (a BestEpoch pickled before the option: as before)
        self.wait += 1
        patience = self.patience
        if patience == "auto":
            patience = max(MIN_PATIENCE, -(-(trainer.max_epochs or 0) // 2))
        if patience is not None and self.wait >= patience:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module) -> None:
        if self._best_state is None:
            return
        self.lowest_epoch = self.best_epoch
        candidates = getattr(self, "_candidates", [])  # a BestEpoch pickled before `within_noise` existed has none
        trained = [c for c in candidates if c[0] > 0]  # whether to train at all: the lowest loss decides
        if getattr(self, "within_noise", False) and len(trained) > 1 and trained[-1][0] == self.best_epoch:
            chosen = earliest_within_noise([c[2] for c in trained], pl_module.output_chunk_length)
            self.best_epoch, self.best_loss, _, self._best_state = trained[chosen]
        pl_module.load_state_dict(self._best_state)
        if self.best_epoch and getattr(pl_module, "season", None) is not None:
            # a BestEpoch pickled before these options existed keeps or drops
            keep_better_corrections(trainer, pl_module, getattr(self, "correction_weights", CORRECTION_WEIGHTS),
                                    getattr(self, "correction_evidence", None))

    def _keep(self, trainer, pl_module, loss: float, epoch: int) -> None:
        self.best_loss, self.best_epoch, self.wait = loss, epoch, 0
        if not self.within_noise or not _has_window_losses(trainer, pl_module):
            self._best_state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
            return
        # every record low stays a candidate (on the CPU: a few copies of the weights)
        self._best_state = {k: v.detach().to("cpu", copy=True) for k, v in pl_module.state_dict().items()}
        windows = _window_losses(trainer, pl_module, _per_window(pl_module.val_criterion))
        self._candidates.append((epoch, loss, windows, self._best_state))

    def state_dict(self) -> dict:
        return {"best_loss": self.best_loss, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_state": self._best_state, "candidates": getattr(self, "_candidates", [])}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_loss, self.best_epoch = state_dict["best_loss"], state_dict["best_epoch"]
        self.wait, self._best_state = state_dict["wait"], state_dict["best_state"]
        self._candidates = list(state_dict.get("candidates", []))  # none in a checkpoint from before `within_noise`


def earliest_within_noise(window_losses: list[torch.Tensor], overlap: int = 1) -> int:
    """Index of the earliest candidate within one standard error of the last (lowest) one.

    Parameters
    ----------
    window_losses
        One ``(N, C)`` tensor per candidate epoch, in training order, the last with the
        lowest mean: the loss of each of ``N`` held-out windows per component.
    overlap
        Steps per window (``H``): windows that start one step apart share most of their
        steps, so their mean varies about ``overlap`` times more than that of independent
        windows, and the standard error counts ``N / overlap`` of them.

    Returns
    -------
    int
        The first ``k`` whose mean excess over the last, ``d = mean(L_k - L_last)``
        over windows and components, is at most the standard error of that mean; the
        last index when no earlier one qualifies or there are fewer than 2 windows.
    """
    lowest = window_losses[-1].mean(dim=1)  # (N,)
    n = len(lowest) / max(1, overlap)
    if len(lowest) < 2 or n < 1:
        return len(window_losses) - 1
    for k, losses in enumerate(window_losses[:-1]):
        excess = losses.mean(dim=1) - lowest
        if float(excess.mean()) <= float(excess.std(unbiased=True)) / math.sqrt(n):
            return k
    return len(window_losses) - 1


def _per_window(criterion):
    criterion = copy.copy(criterion)
    criterion.reduction = "none"
    return criterion


def _has_window_losses(trainer, pl_module) -> bool:
    """Whether the module's validation loss splits into window losses (point losses only)."""
    return (pl_module.likelihood is None and getattr(pl_module.val_criterion, "reduction", None) is not None
            and trainer.enable_validation and trainer.val_dataloaders is not None)


def validation_loss(trainer: pl.Trainer, pl_module) -> float | None:
    """The module's mean loss over the trainer's validation data, as Lightning logs it.

    The mean over batches weighted by their size, in evaluation mode, without touching
    the random number generators (the training that follows is the same with or
    without this measurement). ``None`` when the trainer has no validation data.
    """
    if not trainer.enable_validation:
        return None
    loop = trainer.fit_loop.epoch_loop.val_loop
    loop.setup_data()  # Lightning sets up validation data lazily; this is its own call
    if trainer.val_dataloaders is None:
        return None
    total, count = torch.zeros((), dtype=torch.float64), 0
    for batch in _validation_batches(trainer, pl_module):
        output = pl_module(batch.to_module_input(stage=ModuleStage.VALIDATE))
        loss = pl_module._compute_loss(output, batch.future_target, pl_module.val_criterion, batch.sample_weight)
        size = batch.past_target.shape[0]
        total += loss.detach().double().cpu() * size
        count += size
    if count == 0:
        return None
    mean = total / count
    if trainer.world_size > 1:  # on the module's device: NCCL (multi-GPU DDP) reduces CUDA tensors only
        mean = trainer.strategy.reduce(mean.to(pl_module.device), reduce_op="mean")
    return float(mean)


def keep_better_corrections(trainer: pl.Trainer, pl_module, weights: tuple[float, ...] = CORRECTION_WEIGHTS,
                            evidence: float | None = None) -> None:
    """Forecast a component as its baseline where the network's correction lost on validation.

    The best epoch is chosen on the validation loss of all components together; in a
    global model of many components (21 weather variables, say) the correction can pay
    off for most and lose for a few. For each component, the validation loss with the
    correction weighted by each of ``weights`` is compared (the module's own loss, per
    component: losses with ``reduction="none"`` only, so likelihoods keep every
    correction), and the lowest wins; a tie goes to the smaller weight, so with the
    default ``(0, 1)`` the correction is dropped where it does not win.
    """
    if not _has_window_losses(trainer, pl_module):
        return
    criterion = _per_window(pl_module.val_criterion)
    ones = torch.ones_like(pl_module._correction_gate)
    per_window = {}
    for weight in weights:
        pl_module.set_correction_gate(ones * weight)
        per_window[weight] = _window_losses(trainer, pl_module, criterion)  # (N, C)
    best_loss, best_weight = per_window[weights[0]].mean(dim=0), torch.full_like(ones, weights[0], dtype=torch.float64)
    for weight in weights[1:]:  # ascending: a later weight must be strictly better
        loss = per_window[weight].mean(dim=0)
        better = loss < best_loss
        best_loss, best_weight = torch.where(better, loss, best_loss), torch.where(better, weight, best_weight)
    if evidence is not None:  # keep a correction only where the held-out windows show its gain
        for c in torch.nonzero(best_weight > 0).flatten().tolist():
            gain = per_window[weights[0]][:, c] - per_window[float(best_weight[c])][:, c]
            if _one_sided_p(gain, overlap=pl_module.output_chunk_length) >= evidence:
                best_weight[c] = weights[0]
    pl_module.set_correction_gate(best_weight)


def _one_sided_p(gain: torch.Tensor, overlap: int = 1) -> float:
    """p-value of a one-sided t-test that the mean ``gain`` is above 0 (1.0 without spread).

    ``gain`` holds one value per held-out window; windows ``overlap`` steps long that start
    one step apart share most of their steps, so their mean varies about ``overlap`` times
    more than that of independent windows: the test counts ``len(gain) / overlap`` of them.
    """
    from scipy import stats

    values = gain.numpy()
    n = len(values) / max(1, overlap)
    if n < 2 or not values.std() > 0:
        return 0.0 if n >= 1 and len(values) and values.min() > 0 else 1.0
    t = values.mean() / (values.std(ddof=1) / math.sqrt(n))
    return float(stats.t.sf(t, df=n - 1))


def _window_losses(trainer, pl_module, criterion) -> torch.Tensor:
    """``(N, C)`` validation loss of every held-out window per component (the mean over its
    steps), in the module's loss units, the windows of every process together."""
    unit = torch.nan_to_num(pl_module._loss_unit, nan=1.0)
    losses = []
    for batch in _validation_batches(trainer, pl_module):
        prediction = pl_module(batch.to_module_input(stage=ModuleStage.VALIDATE)).prediction[..., 0]
        loss = criterion(prediction / unit, batch.future_target / unit)  # (B, T, C)
        losses.append(loss.double().mean(dim=1).cpu())
    local = torch.cat(losses) if losses else torch.zeros(0, unit.numel(), dtype=torch.float64)
    if trainer.world_size > 1:  # the same choice in every process: all windows (on the module's device, as above)
        local = trainer.strategy.all_gather(local.to(pl_module.device)).reshape(-1, local.shape[-1]).cpu()
    return local


def _validation_batches(trainer: pl.Trainer, pl_module):
    """The trainer's validation batches, on the module's device, ready for the module.

    While they are consumed the module is in evaluation mode, without gradients, and the
    random number generators are isolated; its mode is restored afterwards.
    """
    loaders = trainer.val_dataloaders
    loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
    training = pl_module.training
    pl_module.eval()
    try:
        with isolate_rng(), torch.no_grad():
            for loader in loaders:
                for batch in loader:
                    batch = trainer.strategy.batch_to_device(batch)
                    if not hasattr(batch, "to_module_input"):  # a stand-alone (past, future, target) tuple
                        batch = pl_module._tensor_batch(batch)
                    yield batch
    finally:
        pl_module.train(training)


def validation_tail(length: int, window: int, horizon: int, fraction: float, stride: int = 1) -> int:
    """Steps of a series' end held out for validation; 0 when it is too short to spare them.

    The series' ``n = length - window + 1`` training windows (of ``window = L + s + T``
    steps) are split in time: the last ``v = max(1, round(fraction * n))`` windows, at
    most :data:`MAX_VALIDATION_WINDOWS`, validate, and the training part ends before
    their first target step, so it keeps ``n - v - (horizon - 1)`` windows with no
    overlap of targets. That must leave at
    least as many training windows as validation ones (``v`` shrinks to fit), else
    nothing is held out.

    Parameters
    ----------
    length
        Steps in the series.
    window
        ``input_chunk_length + output_chunk_shift + output_chunk_length``.
    horizon
        ``output_chunk_length + output_chunk_shift``: target steps per window.
    fraction
        Share of the windows to validate on.
    stride
        ``fit``'s ``stride``: the tail is a whole number of strides, so that the
        validation windows start at the same phase as the training windows (Darts
        takes every ``stride``-th window counting from the series' end; with hourly
        data and a stride of 8, a tail 4 hours off validated only forecasts from hours
        that no training window started at).

    Returns
    -------
    int
        ``v + horizon - 1``: the number of target steps at the end that only the
        validation windows see (the validation series is the last ``window + v - 1``
        steps, the training series the first ``length - (v + horizon - 1)``).

    Examples
    --------
    >>> validation_tail(144, 36, 12, 0.2)   # 109 windows: 22 validate, 76 train
    33
    >>> validation_tail(40, 36, 12, 0.2)    # 5 windows: too few to split
    0
    """
    n = length - window + 1
    if n < 2 or fraction <= 0:
        return 0
    v = min(max(1, round(fraction * n)), MAX_VALIDATION_WINDOWS)
    v = min(v, (n - horizon + 1) // 2)  # at least as many training windows as validation ones
    if v < 1:
        return 0
    tail = -(-(v + horizon - 1) // stride) * stride
    return tail if (length - tail) - window + 1 >= tail - horizon + 1 else 0


add_safe_globals(with_old_paths([BestEpoch]))
