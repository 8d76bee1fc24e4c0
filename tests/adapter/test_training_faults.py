"""Training faults: divergence, non-finite losses and gradients, the guards and gradient clipping."""


import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from darts.utils.likelihood_models.torch import GaussianLikelihood

from rnn_forecast import POINTWISE, GRUForecaster
from rnn_forecast.nn.callbacks import (
    DEFAULT_GRADIENT_CLIP_VAL,
    LossExplosionError,
    LossExplosionGuard,
    NonFiniteLossError,
    NonFiniteLossGuard,
    RNGStateCheckpoint,
    TrainingDivergedError,
)
from rnn_forecast.persistence import AtomicCheckpointIO
from rnn_forecast.tools.testing import OCL, QUIET_TRAINER, make_series
from tests.builders import build

# -- training faults ------------------------------------------------------------------


def test_unscaled_data_stops_with_a_clear_error_at_the_first_step():
    huge = make_series() * 1e25  # squared errors overflow float32 without window normalization
    with pytest.raises(NonFiniteLossError, match=r"loss is \+?inf in epoch 0 .* global step 0") as info:
        build(**POINTWISE, loss_fn=torch.nn.MSELoss()).fit(huge)
    assert "unscaled data" in str(info.value) and "learning rate" in str(info.value)
    assert isinstance(info.value, FloatingPointError)
    assert (info.value.epoch, info.value.step, info.value.what) == (0, 0, "loss")


def test_the_default_normalization_trains_on_data_of_any_scale():
    """What overflows the point-wise design above trains as usual with the defaults."""
    for factor in (1e-6, 1e25):
        model = build(n_epochs=2).fit(make_series() * factor)
        forecast = model.predict(OCL).values()
        assert np.isfinite(forecast).all() and np.abs(forecast).max() < 10 * factor


def test_divergence_from_a_huge_learning_rate_names_it():
    model = build(**POINTWISE, loss_fn=torch.nn.MSELoss(), n_epochs=20, optimizer_cls=torch.optim.SGD,
                  optimizer_kwargs={"lr": 1e12},
                  pl_trainer_kwargs=dict(QUIET_TRAINER, gradient_clip_val=None))
    with pytest.raises(TrainingDivergedError, match=r"lr=1e\+12") as info:
        model.fit(make_series())
    assert "clipping off" in str(info.value)
    # the loss explodes (finite) before it overflows: the explosion guard stops it first
    assert isinstance(info.value, LossExplosionError)


class BlowUpAt(pl.Callback):
    """From epoch ``epoch`` on, multiply the learning rate by ``factor`` (a finite blow-up)."""

    def __init__(self, epoch, factor=1e10):
        self.epoch, self.factor = epoch, factor

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            for group in trainer.optimizers[0].param_groups:
                group["lr"] *= self.factor


def test_finite_divergence_stops_and_keeps_the_last_good_weights():
    # issue #18: data at 1e6 with lr=1e8 trained to the end, loss 3.9e15, forecasts 100x
    # beyond the data, no warning
    huge = make_series() * 1e6
    model = build(n_epochs=5, optimizer_kwargs={"lr": 1e8})
    message = (r"this step's loss is .*, against .* at the first step, before any update "
               r"\(limit .*keeps its initial weights.*unscaled data.*lr=1e\+08")
    with pytest.raises(LossExplosionError, match=message) as info:
        model.fit(huge)
    assert info.value.step == 1 and info.value.loss > 1e4 * info.value.reference
    assert np.abs(model.predict(OCL).values()).max() < 2 * np.abs(huge.values()).max()
    # a blow-up in epoch 2: back to the weights of the end of epoch 1, i.e. a 2-epoch run's
    series = make_series()
    model = build(n_epochs=5, pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[BlowUpAt(epoch=2)]))
    with pytest.raises(LossExplosionError, match=r"in epoch 2 .* keeps its weights of the end of epoch 1"):
        model.fit(series)
    two_epochs = build(n_epochs=2).fit(series)
    np.testing.assert_allclose(model.predict(OCL).values(), two_epochs.predict(OCL).values(), rtol=1e-5)


def test_explosion_guard_is_configurable_and_ignores_normal_training():
    series = make_series()
    guard = LossExplosionGuard(step_factor=None, epoch_factor=None)  # off
    off = build(n_epochs=3, optimizer_kwargs={"lr": 1e8},
                pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[guard]))
    off.fit(series * 1e6)  # runs to the end, as before the guard
    assert [cb for cb in off.trainer.callbacks if isinstance(cb, LossExplosionGuard)] == [guard]
    normal = build(n_epochs=3, dropout=0.1).fit(series)  # the default guard is on and quiet
    assert any(isinstance(cb, LossExplosionGuard) for cb in normal.trainer.callbacks)


class SqrtOfZero(torch.nn.MSELoss):
    """A finite loss (0) whose gradient is NaN (d sqrt(x)/dx at x = 0, times 0)."""

    def forward(self, prediction, target):
        return torch.sqrt(super().forward(prediction, target) * 0.0)


def test_non_finite_gradients_stop_training_before_the_update():
    with pytest.raises(NonFiniteLossError, match="gradient value") as info:
        build(loss_fn=SqrtOfZero()).fit(make_series())
    assert info.value.what == "gradient" and info.value.step == 0


def test_guard_and_gradient_clipping_are_on_by_default_and_configurable(tmp_path):
    model = build().fit(make_series())
    assert model.trainer.gradient_clip_val == DEFAULT_GRADIENT_CLIP_VAL
    callbacks = model.trainer.callbacks
    assert any(isinstance(cb, NonFiniteLossGuard) for cb in callbacks)
    assert any(isinstance(cb, RNGStateCheckpoint) for cb in callbacks)
    assert isinstance(model.trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    mine = NonFiniteLossGuard(check_gradients=False)
    custom = build(pl_trainer_kwargs=dict(QUIET_TRAINER, gradient_clip_val=0.5, callbacks=[mine]))
    custom.fit(make_series())
    assert custom.trainer.gradient_clip_val == 0.5
    assert [cb for cb in custom.trainer.callbacks if isinstance(cb, NonFiniteLossGuard)] == [mine]
    custom.save(str(tmp_path / "custom.pt"))  # the guard is saved with the parameters ...
    assert GRUForecaster.load(str(tmp_path / "custom.pt")).model_created  # ... and allowed back
    off = build(pl_trainer_kwargs=dict(QUIET_TRAINER, gradient_clip_val=None)).fit(make_series())
    assert off.trainer.gradient_clip_val is None


def test_every_trainer_gets_the_checkpoint_defaults_then_the_guards():
    class Mine(pl.Callback):
        pass

    model = build(pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[Mine()]))
    trainer = model._init_trainer(trainer_params=model.trainer_params, max_epochs=0)
    ours = [type(cb) for cb in trainer.callbacks
            if isinstance(cb, (Mine, RNGStateCheckpoint, NonFiniteLossGuard, LossExplosionGuard))]
    assert ours == [Mine, RNGStateCheckpoint, NonFiniteLossGuard, LossExplosionGuard]
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert trainer.gradient_clip_val == DEFAULT_GRADIENT_CLIP_VAL
    assert [type(cb) for cb in model.trainer_params["callbacks"]] == [Mine]  # the model's own are kept as given


def test_default_clipping_leaves_training_on_scaled_data_unchanged():
    """Gradient norms on scaled data stay below the clip value, so nothing changes."""
    series = make_series()
    clipped = build(n_epochs=3, dropout=0.1).fit(series).predict(OCL).values()
    unclipped = build(n_epochs=3, dropout=0.1, pl_trainer_kwargs=dict(QUIET_TRAINER, gradient_clip_val=None))
    np.testing.assert_array_equal(unclipped.fit(series).predict(OCL).values(), clipped)




def test_explosion_guard_epoch_check_restores_the_last_good_epoch():
    from types import SimpleNamespace

    guard = LossExplosionGuard(step_factor=None, epoch_factor=100.0)
    module = torch.nn.Linear(2, 1)
    trainer = SimpleNamespace(current_epoch=0, global_step=0, optimizers=[], gradient_clip_val=1.0)
    guard.on_train_start(trainer, module)
    for _ in range(12):
        guard.on_before_backward(trainer, module, torch.tensor(1.0))
    guard.on_train_epoch_end(trainer, module)  # mean 1: fine, kept as the good weights
    good = module.weight.detach().clone()
    trainer.current_epoch = 1
    with torch.no_grad():
        module.weight.add_(5.0)
    for _ in range(12):  # each step 500x the reference: below the (off) step check
        guard.on_before_backward(trainer, module, torch.tensor(500.0))
    with pytest.raises(LossExplosionError, match=r"the epoch's mean loss is 500, against 1 at the first step, "
                                                 r"before any update \(limit 101\).* end of epoch 0") as info:
        guard.on_train_epoch_end(trainer, module)
    assert info.value.restored == "weights of the end of epoch 0"
    torch.testing.assert_close(module.weight, good)


def test_explosion_guard_handles_negative_log_likelihoods():
    # Darts' own suite found it: a Gaussian NLL is negative (here about -0.5), and a plain
    # ratio to it tripped on the first epoch of normal training
    from types import SimpleNamespace

    trainer = SimpleNamespace(current_epoch=0, global_step=0, optimizers=[], gradient_clip_val=1.0)
    module = torch.nn.Linear(2, 1)
    guard = LossExplosionGuard()
    guard.on_train_start(trainer, module)
    for value in np.linspace(-0.5, -0.9, 30):  # improving, all negative
        guard.on_before_backward(trainer, module, torch.tensor(value))
    guard.on_train_epoch_end(trainer, module)
    near_zero = LossExplosionGuard()  # a loss around 0 (no likelihood: the ratio rule, |0.05| the margin)
    near_zero.on_train_start(trainer, module)
    for value in [0.05, -0.05, 0.1, -0.1, 0.02, 0.3, -0.2, 0.4]:
        near_zero.on_before_backward(trainer, module, torch.tensor(value))
    near_zero.on_train_epoch_end(trainer, module)
    with pytest.raises(LossExplosionError, match=r"this step's loss is 1e\+05"):
        near_zero.on_before_backward(trainer, module, torch.tensor(1e5))
    model = build(n_epochs=2, likelihood=GaussianLikelihood()).fit(make_series())  # trains through
    assert model.epochs_trained == 2



# -- the divergence guard's reference (issue #36) ----------------------------------------


class LossRecorder(pl.Callback):
    def __init__(self):
        self.losses = []

    def on_before_backward(self, trainer, pl_module, loss):
        self.losses.append(float(loss))


def test_explosion_guard_reference_cannot_be_poisoned_by_the_steps_it_judges():
    # issue #36: with normalization=None (Darts' BlockRNNModel design), lr=1e8 on data at
    # 1e6, the loss rose from 6.4e5 to 2e8 from the second step on; the reference, the mean
    # of the first 10 steps, took those steps in, the limit was never reached and `fit`
    # returned forecasts 76-222x the data's maximum, silently
    huge = make_series() * 1e6
    losses = LossRecorder()
    model = build(**POINTWISE, n_epochs=3, optimizer_kwargs={"lr": 1e8},
                  pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[losses]))
    with pytest.raises(LossExplosionError, match="keeps its initial weights") as info:
        model.fit(huge)
    assert info.value.reference == losses.losses[0]  # the first step's, before any update
    assert max(losses.losses[1:]) > 100 * losses.losses[0]
    assert np.abs(model.predict(OCL).values()).max() < 2 * np.abs(huge.values()).max()


def _guard_run(guard, losses, likelihood=None):
    """Feed ``losses`` to ``guard`` as one epoch of steps; the error it raises, or ``None``."""
    from types import SimpleNamespace

    trainer = SimpleNamespace(current_epoch=0, global_step=0, optimizers=[], gradient_clip_val=1.0)
    module = torch.nn.Linear(2, 1)
    module.likelihood = likelihood
    guard.setup(trainer, module, "fit")
    guard.on_train_start(trainer, module)
    try:
        for value in losses:
            guard.on_before_backward(trainer, module, torch.tensor(float(value)))
        guard.on_train_epoch_end(trainer, module)
    except LossExplosionError as exc:
        return exc
    return None


def test_explosion_guard_margins_are_scale_free():
    from darts.utils.likelihood_models.torch import QuantileRegression

    # a ratio for losses in any units: the same run at 1e-6 and 1e6 trips alike
    for unit in (1e-6, 1.0, 1e6):
        assert _guard_run(LossExplosionGuard(), np.array([2.0, 1.5, 1.2, 1.0]) * unit) is None
        error = _guard_run(LossExplosionGuard(), np.array([2.0, 1.5, 3e4]) * unit)
        assert error is not None and error.reference == pytest.approx(2.0 * unit)
        assert _guard_run(LossExplosionGuard(), np.array([2.0, 300, 300, 300]) * unit) is not None  # epoch: 2 + 100 * 2
        # an exploding start raises the mean of the first steps, not the reference
        assert _guard_run(LossExplosionGuard(), np.array([2.0] + [300] * 9) * unit) is not None
    # a calibrated negative log-likelihood counts in nats: a forecast whose error and
    # spread grow 1e9-fold raises a Gaussian NLL from about 3 to about 24
    gaussian = GaussianLikelihood()
    assert _guard_run(LossExplosionGuard(), [3.0, 2.9, 24.0], gaussian).loss == 24.0
    assert _guard_run(LossExplosionGuard(), [3.0, 2.5, 2.0, -0.5, 1.0], gaussian) is None
    assert _guard_run(LossExplosionGuard(), [3.0, 10.0, 10.0, 10.0], gaussian) is not None  # epoch: 3 + ln 100
    # an NLL far above CALIBRATED_NLL (errors far beyond the spread) grows like a squared
    # error: the ratio rule, so its fast fall and noise are no divergence
    assert _guard_run(LossExplosionGuard(), [5e11, 9e11, 2e5, 40.0], gaussian) is None
    # quantile regression's pinball loss is in the data's units: the ratio rule
    assert _guard_run(LossExplosionGuard(), [3.0, 2.9, 24.0], QuantileRegression()) is None
    with pytest.raises(ValueError, match="more than 1"):
        LossExplosionGuard(step_factor=0.5)


def test_explosion_guard_keeps_its_reference_across_a_resume(tmp_path):
    guard = LossExplosionGuard()
    assert _guard_run(guard, [2.0, 1.0]) is None
    resumed = LossExplosionGuard()
    _guard_run(resumed, [])
    resumed.load_state_dict(guard.state_dict())  # Lightning does this from the checkpoint
    from types import SimpleNamespace
    trainer = SimpleNamespace(current_epoch=1, global_step=2, optimizers=[], gradient_clip_val=1.0)
    module = torch.nn.Linear(2, 1)
    resumed.on_train_start(trainer, module)
    with pytest.raises(LossExplosionError, match="against 2 at the first step"):
        resumed.on_before_backward(trainer, module, torch.tensor(3e4))  # judged: not a new reference
    # saved with a model's parameters, a guard of 0.3 (with `warmup_steps`) still loads
    import pickle
    old = LossExplosionGuard.__new__(LossExplosionGuard)
    old.__dict__.update(step_factor=1e4, epoch_factor=1e2, warmup_steps=10, _first=[], _good_state=None)
    restored = pickle.loads(pickle.dumps(old))
    assert not hasattr(restored, "warmup_steps") and restored.limit(1e2) is None


BLOW_UPS = [(normalization, "L1") for normalization in ("level_scale", "mean_scale", "level", None)] + [
    ("level_scale", loss) for loss in ("MSE", "Gaussian", "Quantile")] + [(None, "Gaussian")]
LOSSES = {"L1": {}, "MSE": {"loss_fn": torch.nn.MSELoss()}, "Gaussian": {"likelihood": GaussianLikelihood()}}


def _with_loss(loss):
    if loss == "Quantile":
        from darts.utils.likelihood_models.torch import QuantileRegression
        return {"likelihood": QuantileRegression()}
    return dict(LOSSES[loss])


def _blow_up_fit(normalization, loss, blow_up=True):
    design = dict(POINTWISE) if normalization is None else {"normalization": normalization}
    callbacks = [BlowUpAt(epoch=1)] if blow_up else []
    model = build(n_epochs=3, **design, **_with_loss(loss), pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=callbacks))
    model.fit(make_series())
    return model


@pytest.mark.parametrize("normalization, loss", BLOW_UPS, ids=[f"{n}-{loss}" for n, loss in BLOW_UPS])
def test_explosion_guard_stops_every_normalization_and_loss(normalization, loss):
    with pytest.raises(TrainingDivergedError, match="in epoch 1 .*end of epoch 0"):
        _blow_up_fit(normalization, loss)


ALL_DESIGNS = [(n, loss) for n in ("level_scale", "mean_scale", "level", None)
               for loss in ("L1", "MSE", "Gaussian", "Quantile")]


@pytest.mark.slow
@pytest.mark.parametrize("normalization, loss", ALL_DESIGNS, ids=[f"{n}-{loss}" for n, loss in ALL_DESIGNS])
def test_explosion_guard_stops_every_design_and_ignores_its_normal_training(normalization, loss):
    assert _blow_up_fit(normalization, loss, blow_up=False).epochs_trained == 3
    with pytest.raises(TrainingDivergedError, match="in epoch 1 .*end of epoch 0"):
        _blow_up_fit(normalization, loss)
