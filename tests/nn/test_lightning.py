"""Lightning and Darts trainer features pass through our forecasters."""

import glob
import os

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger
from torchmetrics import MeanAbsoluteError

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

CLASSES = [LSTMForecaster, GRUForecaster]


def build(cls, **kwargs):
    params = dict(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=8, n_epochs=2,
                  random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    params.update(kwargs)
    return cls(**params)


@pytest.mark.parametrize("cls", CLASSES)
def test_checkpoint_lr_monitor_csv_logger_and_metrics(cls, tmp_path):
    series = make_series()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss", save_top_k=1)
    logger = CSVLogger(save_dir=tmp_path, name="csv")
    trainer_kwargs = dict(QUIET_TRAINER, logger=logger, log_every_n_steps=1,
                          callbacks=[checkpoint, LearningRateMonitor(logging_interval="epoch")])
    model = build(cls, n_epochs=3, pl_trainer_kwargs=trainer_kwargs,
                  optimizer_cls=torch.optim.SGD, optimizer_kwargs={"lr": 0.05},
                  lr_scheduler_cls=torch.optim.lr_scheduler.StepLR,
                  lr_scheduler_kwargs={"step_size": 1, "gamma": 0.5},
                  torch_metrics=MeanAbsoluteError())
    model.fit(series[:90], val_series=series[60:])
    assert isinstance(model.trainer.optimizers[0], torch.optim.SGD)
    assert len(list((tmp_path / "ckpt").glob("*.ckpt"))) == 1
    metrics = pd.read_csv(glob.glob(str(tmp_path / "csv" / "*" / "metrics.csv"))[0])
    for column in ("train_loss", "val_loss", "train_MeanAbsoluteError", "val_MeanAbsoluteError"):
        assert metrics[column].notna().any(), column
    lrs = metrics.filter(like="lr-SGD").stack().dropna().unique()  # one per epoch
    np.testing.assert_allclose(sorted(lrs, reverse=True), [0.05, 0.025, 0.0125])


def test_tensorboard_logging(tmp_path):
    pytest.importorskip("tensorboardX")
    trainer_kwargs = {k: v for k, v in QUIET_TRAINER.items() if k != "logger"}
    model = build(GRUForecaster, log_tensorboard=True, work_dir=str(tmp_path), model_name="tb",
                  pl_trainer_kwargs=trainer_kwargs)
    model.fit(make_series())
    assert glob.glob(str(tmp_path / "tb" / "logs" / "events.*"))


def test_defaults_show_progress_and_pick_accelerator_automatically():
    model = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, n_epochs=1)
    assert "enable_progress_bar" not in model.trainer_params  # Lightning's default: on
    assert model.trainer_params.get("accelerator", "auto") == "auto"
    model.fit(make_series(), verbose=None)
    assert model.trainer.progress_bar_callback is not None
    if not torch.cuda.is_available():
        assert isinstance(model.trainer.accelerator, CPUAccelerator)


@pytest.mark.parametrize("cls", CLASSES)
def test_precision_is_passed_through(cls):
    model = build(cls, pl_trainer_kwargs=dict(QUIET_TRAINER, precision="bf16-mixed"))
    model.fit(make_series())
    assert model.trainer.precision == "bf16-mixed"
    assert np.isfinite(model.predict(OCL).values()).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_darts_checkpoints_and_load_from_checkpoint(cls, tmp_path):
    # Darts' checkpoints hold each epoch as trained. Early stopping's restored best epoch
    # and its per-component gate are set after the last checkpoint (docs/lightning.md),
    # so the bitwise check of the last checkpoint runs without it.
    series = make_series()
    model = build(cls, save_checkpoints=True, work_dir=str(tmp_path), model_name="run",
                  early_stopping=False)
    model.fit(series[:90], val_series=series[60:])
    expected = model.predict(OCL).values()
    best = cls.load_from_checkpoint("run", work_dir=str(tmp_path), best=True)
    last = cls.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)
    np.testing.assert_array_equal(last.predict(OCL, series=series[:90]).values(), expected)
    assert best.predict(OCL, series=series[:90]).shape == (OCL, series.width, 1)
    # training resumes from the checkpoint's epoch (2) up to epoch 3
    last.fit(series[:90], val_series=series[60:], epochs=3)
    assert last.trainer.current_epoch == 3
    assert not np.array_equal(last.predict(OCL, series=series[:90]).values(), expected)


def test_add_encoders_become_covariates():
    model = build(LSTMForecaster, add_encoders={
        "datetime_attribute": {"future": ["hour"]},
        "cyclic": {"past": ["dayofweek"]},
    })
    model.fit(make_series())
    assert model.uses_future_covariates and model.uses_past_covariates
    assert model.predict(3 * OCL).n_timesteps == 3 * OCL


def test_custom_trainer_object_is_used():
    model = build(GRUForecaster, n_epochs=5)
    custom = pl.Trainer(max_epochs=1, **QUIET_TRAINER, enable_checkpointing=False)
    model.fit(make_series(), trainer=custom)
    assert model.epochs_trained == 1
    assert os.path.basename(type(model.trainer).__module__).startswith("pytorch_lightning")


def test_lr_find_runs_on_the_batched_dataset():
    model = build(GRUForecaster)
    result = model.lr_find(make_series(length=300), min_lr=1e-5, max_lr=1e-1, num_training=20)
    assert len(result.results["lr"]) >= 10
    assert np.isfinite(result.results["loss"]).any()


@pytest.mark.parametrize("cls", CLASSES)
def test_a_users_model_checkpoint_loads_in_one_call(cls, tmp_path):
    """#17 item 3: the best epoch of a user's own ModelCheckpoint, back into the forecaster."""
    series = make_series()
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="{epoch}", save_top_k=-1)  # every epoch
    # without early stopping: the weights after the last epoch are the ones the checkpoint holds
    model = build(cls, n_epochs=2, early_stopping=False, pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[checkpoint]))
    model.fit(series)
    after_two = model.predict(OCL).values()
    model.fit(series, epochs=3)  # trains on: other weights
    assert not np.allclose(model.predict(OCL).values(), after_two)
    assert model.load_lightning_checkpoint(tmp_path / "epoch=1.ckpt") is model
    np.testing.assert_allclose(model.predict(OCL).values(), after_two, rtol=1e-6)


def test_lightning_checkpoint_errors_say_what_is_wrong(tmp_path):
    import pickle

    from rnn_forecast.persistence import MissingModelFileError, UnsafeModelFileError

    series = make_series()
    checkpoint = ModelCheckpoint(dirpath=tmp_path, filename="last", save_top_k=1)
    build(GRUForecaster, pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[checkpoint])).fit(series)
    fresh = build(GRUForecaster)
    with pytest.raises(ValueError, match="has no network yet"):
        fresh.load_lightning_checkpoint(tmp_path / "last.ckpt")
    with pytest.raises(MissingModelFileError, match="No checkpoint file"):
        fresh.load_lightning_checkpoint(tmp_path / "nope.ckpt")
    wider = build(GRUForecaster, hidden_dim=16).fit(series)
    with pytest.raises(ValueError, match=r"does not fit .* shapes differ"):
        wider.load_lightning_checkpoint(tmp_path / "last.ckpt")

    class Payload:  # pickles as a call to os.system
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Payload()}, evil, pickle_module=pickle)
    with pytest.raises(UnsafeModelFileError, match="was not loaded"):
        wider.load_lightning_checkpoint(evil)
    assert not (tmp_path / "ran").exists()
