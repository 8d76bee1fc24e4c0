"""Prune unpromising Optuna trials from inside Lightning training.

Optuna's own ``PyTorchLightningPruningCallback`` (package ``optuna-integration``)
subclasses ``lightning.pytorch.Callback``, the unified ``lightning`` package, while
Darts trains with ``pytorch_lightning.Trainer``, which only accepts
``pytorch_lightning`` callbacks; it also raises ``TrialPruned`` inside Lightning's loop.
This callback reports the validation loss after each epoch and, when the pruner says
so, stops training cleanly; :meth:`OptunaPruning.raise_if_pruned` then raises
``optuna.TrialPruned`` from the objective, outside Lightning.
"""

from __future__ import annotations

import pytorch_lightning as pl


class OptunaPruning(pl.Callback):
    """Report ``monitor`` to an Optuna trial every epoch; stop when it should be pruned.

    Parameters
    ----------
    trial
        The running ``optuna.trial.Trial``.
    monitor
        Logged metric to report (Darts logs ``"val_loss"`` when a validation series is given).
    """

    def __init__(self, trial, monitor: str = "val_loss"):
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self.pruned_at: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:  # Lightning's pre-training check, not an epoch
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), step=epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.should_stop = True

    def raise_if_pruned(self) -> None:
        """Raise ``optuna.TrialPruned`` if training was stopped by the pruner."""
        if self.pruned_at is not None:
            import optuna

            raise optuna.TrialPruned(f"pruned after epoch {self.pruned_at} ({self.monitor})")
