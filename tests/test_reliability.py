"""Reliability (issue #9): bad input, training faults, interruption, save/load, determinism."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from darts import TimeSeries
from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel
from darts.utils.likelihood_models.torch import GaussianLikelihood
from darts.utils.serialization import add_safe_globals

from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster, RNNForecaster, persistence
from rnn_forecast.callbacks import (
    DEFAULT_GRADIENT_CLIP_VAL,
    LossExplosionError,
    LossExplosionGuard,
    NonFiniteLossError,
    NonFiniteLossGuard,
    RNGStateCheckpoint,
    TrainingDivergedError,
)
from rnn_forecast.datasets import load_etth1
from rnn_forecast.persistence import AtomicCheckpointIO, ModelFileError
from rnn_forecast.testing import ICL, OCL, QUIET_TRAINER, make_series


def build(cls=GRUForecaster, **kwargs):
    params = {"input_chunk_length": ICL, "output_chunk_length": OCL, "hidden_dim": 4, "n_epochs": 1,
                  "batch_size": 32, "random_state": 0, "pl_trainer_kwargs": dict(QUIET_TRAINER)}
    params.update(kwargs)
    return cls(**params)


@pytest.fixture(scope="module")
def fitted():
    """A small model fitted with past and future covariates, and its inputs."""
    series = make_series()
    past = make_series(n_components=1, seed=1)
    future = make_series(length=len(series) + 3 * OCL, n_components=1, seed=2)
    model = build().fit(series, past_covariates=past, future_covariates=future)
    return model, series, past, future


def with_value(series: TimeSeries, row: int, value: float) -> TimeSeries:
    values = series.values().copy()
    values[row, 0] = value
    return TimeSeries.from_times_and_values(series.time_index, values)


def daily(length=120, width=1):
    index = pd.date_range("2021-01-01", periods=length, freq="D")
    return TimeSeries.from_times_and_values(index, np.ones((length, width), np.float32))


# -- bad input: a specific error before any tensor is built --------------------------------

S = make_series()
PC = make_series(n_components=1, seed=1)
STATIC = pd.DataFrame({"site": [1.0, 2.0]})
FIT_ERRORS = [
    ("nan in series", {"series": with_value(S, 5, np.nan)}, ValueError, r"`series` contains 1 NaN/inf"),
    ("inf in past covariates", {"past_covariates": with_value(PC, 7, np.inf)}, ValueError,
     r"`past_covariates` contains 1 NaN/inf value\(s\), the first at 2021-01-01 07:00"),
    ("nan static covariate", {"series": S.with_static_covariates(pd.DataFrame({"a": [np.nan, 1.0]}))},
     ValueError, "NaN/inf static covariates"),
    ("string static covariate", {"series": S.with_static_covariates(pd.DataFrame({"a": ["x", "y"]}))},
     TypeError, "non-numeric static covariates"),
    ("missing timestamps", {"series": S.to_dataframe().drop(S.time_index[[5, 9]])}, ValueError,
     "irregular time index"),
    ("duplicate timestamps", {"series": pd.concat([S.to_dataframe().iloc[:3], S.to_dataframe()])},
     ValueError, "duplicate timestamps"),
    ("time zone across a DST change",
     {"series": S.to_dataframe().set_axis(pd.date_range("2021-10-30", periods=len(S), freq="h",
                                                        tz="Europe/Berlin"))},
     ValueError, r"time-zone-aware index \(Europe/Berlin\) that crosses a daylight-saving change"),
    ("two rows, no frequency",
     {"series": S.to_dataframe().iloc[:2].set_axis(pd.DatetimeIndex(list(S.time_index[:2])))},
     ValueError, r"only 2 timestamp\(s\) and its index has no `freq`"),
    ("DST change, 15-minute steps: wall clock goes back without repeating",  # found by the fuzzing
     {"series": pd.DataFrame({"a": np.arange(4.0), "b": np.arange(4.0)}, index=pd.date_range(
         pd.Timestamp("2021-10-31 00:30", tz="UTC").tz_convert("Europe/Berlin"), periods=4, freq="15min"))},
     ValueError, r"time-zone-aware index \(Europe/Berlin\) that crosses a daylight-saving change"),
    ("object column", {"series": S.to_dataframe().assign(label="x")}, TypeError,
     r"non-numeric columns \['label'\]"),
    ("integer column", {"series": S.to_dataframe().astype("int64")}, TypeError, "integer columns"),
    ("float16 column", {"series": S.to_dataframe().astype("float16")}, TypeError, "float16 columns"),
    ("float16 series", {"series": S.astype(np.float16)}, TypeError, "`series` has dtype float16"),
    ("empty frame", {"series": S.to_dataframe().iloc[:0]}, ValueError, "`series` is empty"),
    ("empty list", {"series": []}, ValueError, "empty sequence"),
    ("not a series", {"series": S.values()}, TypeError, "must be a darts TimeSeries"),
    ("too short", {"series": S[: ICL + OCL - 1]}, ValueError,
     f"has {ICL + OCL - 1} time steps .* at least {ICL + OCL}"),
    ("val too short", {"val_series": S[:5]}, ValueError, "`val_series` has 5 time steps"),
    ("past covariates start late", {"past_covariates": PC[10:]}, ValueError,
     r"`past_covariates` spans 2021-01-01 10:00:00 .* reads past covariates from 2021-01-01 00:00:00"),
    ("future covariates end early", {"future_covariates": PC[:-1]}, ValueError,
     r"reads future covariates from .* to 2021-01-05 23:00:00"),
    ("covariates at another frequency", {"past_covariates": daily()}, ValueError,
     r"`past_covariates` has frequency 'D' but `series` has 'h'"),
    ("covariates with a range index", {"past_covariates": TimeSeries.from_values(PC.values())},
     ValueError, r"integer \(Range\) index but `series` has a DatetimeIndex"),
    ("two series, one covariate", {"series": [S, S], "past_covariates": [PC]}, ValueError,
     "`series` is a list of 2, `past_covariates` is a list of 1"),
    ("one series, covariate list", {"past_covariates": [PC, PC]}, ValueError,
     "`series` is one series, `past_covariates` is a list of 2"),
    ("series of different widths", {"series": [S, make_series(n_components=3)]}, ValueError,
     r"`series\[1\]` has 3 components but `series\[0\]` has 2"),
    ("validation width", {"val_series": make_series(n_components=3)}, ValueError,
     "`val_series` has 3 components but `series` has 2"),
    ("covariates of different widths", {"series": [S, S], "past_covariates": [PC, make_series(n_components=2)]},
     ValueError, r"`past_covariates\[1\]` has 2 components"),
    ("static covariates on one series only", {"series": [S.with_static_covariates(STATIC), S]}, ValueError,
     r"`series\[1\]` has no static covariates but `series\[0\]` has static covariates of shape \(2, 1\)"),
]


@pytest.mark.parametrize("case, inputs, error, message", FIT_ERRORS, ids=[c[0] for c in FIT_ERRORS])
def test_bad_fit_inputs_raise_specific_errors(case, inputs, error, message):
    model = build()
    with pytest.raises(error, match=message):
        model.fit(**{"series": S, **inputs})
    assert not model.model_created  # refused before anything was built


def test_time_zone_aware_index_without_a_dst_change_is_accepted():
    # as in Darts: the zone is dropped and wall-clock times kept; only a DST change is refused
    berlin = pd.date_range("2021-01-04", periods=len(S), freq="h", tz="Europe/Berlin")
    forecast = build().fit(S.to_dataframe().set_axis(berlin)).predict(OCL)
    assert forecast.start_time() == berlin[-1].tz_localize(None) + pd.Timedelta(hours=1)
    utc = pd.date_range("2021-10-30", periods=len(S), freq="h", tz="UTC")  # UTC has no DST
    assert build().fit(S.to_dataframe().set_axis(utc)).predict(OCL).n_timesteps == OCL


def test_short_time_zone_aware_input_keeps_its_frequency():
    # Darts drops the zone and, with it, the index's freq: fatal for a 2-row frame
    model = build(input_chunk_length=2, output_chunk_length=1).fit(S)
    window = S.to_dataframe().iloc[-2:].set_axis(
        pd.date_range("2021-06-01", periods=2, freq="h", tz="Europe/Berlin"))
    with pytest.warns(UserWarning, match=r"time-zone-aware index \(Europe/Berlin\); forecasting on its wall-clock"):
        forecast = model.predict(1, series=window)
    assert forecast.start_time() == pd.Timestamp("2021-06-01 02:00")


def test_max_samples_per_ts_needs_covariates_only_for_the_windows_used():
    model = build().fit(S, past_covariates=PC[60:], max_samples_per_ts=5)
    assert model.model_created
    with pytest.raises(ValueError, match="spans"):
        build().fit(S, past_covariates=PC[60:], max_samples_per_ts=60)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, s, p, f: m.predict(0), ValueError, r"`n` \(the forecast horizon\) must be a positive integer, got 0"),
    (lambda m, s, p, f: m.predict(2.0), ValueError, "positive integer, got 2.0"),
    (lambda m, s, p, f: m.predict(3, num_samples=10), ValueError, "`num_samples=10` needs a probabilistic model"),
    (lambda m, s, p, f: m.predict(3, series=s[:ICL - 1], past_covariates=p, future_covariates=f), ValueError,
     f"`series` has {ICL - 1} time steps but prediction"),
    (lambda m, s, p, f: m.predict(3, series=s, past_covariates=daily(), future_covariates=f), ValueError,
     "`past_covariates` has frequency 'D'"),
    (lambda m, s, p, f: m.predict(3, series=[s, s], past_covariates=[p], future_covariates=[f, f]), ValueError,
     "one covariate series per target series"),
    (lambda m, s, p, f: m.predict(3, series=with_value(s, 100, np.nan)), ValueError, "NaN/inf"),
    (lambda m, s, p, f: m.historical_forecasts(s[:ICL - 2], retrain=False), ValueError,
     f"`series` has {ICL - 2} time steps"),
    (lambda m, s, p, f: m.backtest(s.astype(np.float16), retrain=False), TypeError, "dtype float16"),
], ids=["n=0", "n float", "samples without likelihood", "short series", "covariate frequency",
        "covariate count", "nan", "historical forecasts short", "float16 backtest"])
def test_bad_prediction_inputs_raise_specific_errors(fitted, call, error, message):
    with pytest.raises(error, match=message):
        call(*fitted)


def test_numpy_integer_horizon_is_accepted(fitted):
    model = fitted[0]
    assert model.predict(np.int64(OCL)).n_timesteps == OCL


def test_dtypes_are_cast_to_the_model_dtype(fitted):
    model, series, past, future = fitted
    expected = model.predict(OCL).values()
    as64 = model.predict(OCL, series=series.astype(np.float64), past_covariates=past.astype(np.float64),
                         future_covariates=future.to_dataframe())  # pandas float64 -> model dtype
    assert as64.dtype == np.float32
    np.testing.assert_allclose(as64.values(), expected, rtol=1e-6)
    # float32 target, float64 covariates: the covariates follow the target
    mixed = build().fit(series, past_covariates=past.astype(np.float64))
    assert mixed.predict(OCL).dtype == np.float32
    # a float64 target trains a float64 model (Darts' default), covariates follow it
    wide = build().fit(series.astype(np.float64), past_covariates=past)
    assert wide.predict(OCL).dtype == np.float64


def test_a_cast_that_would_overflow_is_refused(fitted):
    # Darts refuses any float64 input to a float32 model; ours casts, except where the
    # cast would turn finite values into inf
    model, series, past, _ = fitted
    values = past.astype(np.float64).values()
    values[3, 0] = 1e40
    huge = TimeSeries.from_times_and_values(past.time_index, values, columns=past.components)
    for call in (lambda: model.predict(OCL, series=series, past_covariates=huge),
                 lambda: model.predict(OCL, series=series, past_covariates=huge.to_dataframe()),
                 lambda: build().fit([series, series], past_covariates=[past, huge])):
        with pytest.raises(ValueError, match=r"`past_covariates(\[1\])?` holds 1 value\(s\) beyond the "
                                             r"float32 range .* the largest 1e\+40"):
            call()


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


# -- interruption and resuming ---------------------------------------------------------


class InterruptOnce(pl.Callback):
    """Raise KeyboardInterrupt (as Ctrl+C would) at the start of one epoch, once."""

    fired = False

    def __init__(self, epoch):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch and not InterruptOnce.fired:
            InterruptOnce.fired = True
            raise KeyboardInterrupt


add_safe_globals([InterruptOnce])  # saved with the run's parameters, read back on resume


def run_params(work_dir, **kwargs):
    return {"n_epochs": 4, "dropout": 0.2, "batch_size": 16, "save_checkpoints": True,
            "model_name": "run", "work_dir": str(work_dir), **kwargs}


def test_keyboard_interrupt_then_resume_matches_an_uninterrupted_run(tmp_path):
    series = make_series(length=150)
    expected = build(**run_params(tmp_path / "full")).fit(series).predict(OCL).values()

    InterruptOnce.fired = False
    trainer = dict(QUIET_TRAINER, callbacks=[InterruptOnce(epoch=2)])
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match=r"last-epoch=1\.ckpt.*resume=True"):
        build(**run_params(tmp_path / "cut", pl_trainer_kwargs=trainer)).fit(series)
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning left SIGINT ignored
    backup = tmp_path / "copy"
    shutil.copytree(tmp_path / "cut", backup)

    # the same script, restarted: building the model again must not refuse the folder
    with pytest.raises(ValueError, match="resume=True"):
        build(**run_params(tmp_path / "cut")).fit(series)
    resumed = build(**run_params(tmp_path / "cut")).fit(series, resume=True)
    assert resumed.epochs_trained == 4
    np.testing.assert_array_equal(resumed.predict(OCL).values(), expected)
    # Darts' own way gives the same result
    loaded = GRUForecaster.load_from_checkpoint("run", work_dir=str(backup), best=False)
    np.testing.assert_array_equal(loaded.fit(series).predict(OCL).values(), expected)


def test_resume_refuses_other_parameters_or_data_and_needs_checkpoints(tmp_path):
    series = make_series(length=150)
    build(**run_params(tmp_path, n_epochs=1)).fit(series)
    with pytest.raises(ValueError, match=r"(?s)different parameters.*found hidden_dim=8, should be hidden_dim=4"):
        build(hidden_dim=8, **run_params(tmp_path, n_epochs=2)).fit(series, resume=True)
    with pytest.raises(ValueError, match="trained on inputs with"):
        build(**run_params(tmp_path, n_epochs=2)).fit(make_series(length=150, n_components=3), resume=True)
    with pytest.raises(ValueError, match="save_checkpoints=True"):
        build().fit(series, resume=True)
    with pytest.raises(TypeError, match="True or False"):
        build(**run_params(tmp_path)).fit(series, resume="yes")
    # no checkpoint yet: resume=True simply starts the run
    fresh = build(**run_params(tmp_path / "new", n_epochs=1)).fit(series, resume=True)
    assert fresh.epochs_trained == 1


WORKER = textwrap.dedent("""
    import sys, time
    import pytorch_lightning as pl
    from rnn_forecast import GRUForecaster
    from rnn_forecast.testing import ICL, OCL, QUIET_TRAINER, make_series

    class Throttle(pl.Callback):  # keeps the run long enough to be killed mid-training
        def on_train_batch_end(self, *args):
            time.sleep(0.05)

    work_dir, n_epochs, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    model = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=4,
                          batch_size=16, random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER),
                          n_epochs=n_epochs, dropout=0.2, save_checkpoints=True,
                          model_name="run", work_dir=work_dir)
    model.trainer_params["callbacks"].append(Throttle())  # not saved with the model
    if data == "synthetic":
        series = make_series(length=150)
    else:  # a real series, raw: the last 150 hours of ETTh1's oil temperature
        from rnn_forecast.datasets import load_etth1
        series = load_etth1(data, columns=["OT"]).target[-150:]
    model.fit(series[:120], val_series=series[90:])
    print("finished", flush=True)
""")


@pytest.mark.parametrize("how", ["SIGTERM, synthetic series", "SIGKILL, ETTh1"])
def test_killed_subprocess_resumes_to_the_uninterrupted_result(tmp_path, data_dir, how):
    # SIGTERM lets Lightning stop cleanly; SIGKILL (kill -9) gives the process no chance:
    # the atomic checkpoint writes must still leave a complete last checkpoint
    sig, data = (signal.SIGTERM, "synthetic") if how.startswith("SIGTERM") else (signal.SIGKILL, str(data_dir))
    n_epochs = 6
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    work_dir = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), str(work_dir), str(n_epochs), data],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoints = work_dir / "run" / "checkpoints"
    deadline = time.monotonic() + 180
    while not list(checkpoints.glob("last-*.ckpt")):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.02)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode in (128 + sig, -sig), output
    assert "finished" not in output
    last = persistence.last_checkpoint(str(work_dir), "run")
    assert int(last.split("epoch=")[1].split(".")[0]) < n_epochs - 1  # really cut short

    if data == "synthetic":
        series = make_series(length=150)
    else:
        series = load_etth1(data_dir, columns=["OT"]).target[-150:]
    params = {"dropout": 0.2, "batch_size": 16, "n_epochs": n_epochs}
    expected = build(**params, save_checkpoints=True, model_name="run", work_dir=str(tmp_path / "ref"))
    expected.fit(series[:120], val_series=series[90:])
    resumed = build(**params, save_checkpoints=True, model_name="run", work_dir=str(work_dir))
    resumed.fit(series[:120], val_series=series[90:], resume=True)
    assert resumed.epochs_trained == n_epochs
    np.testing.assert_array_equal(resumed.predict(OCL).values(), expected.predict(OCL).values())


# -- save / load ------------------------------------------------------------------------


@pytest.fixture
def saved(fitted, tmp_path):
    model = fitted[0]
    path = str(tmp_path / "model.pt")
    model.save(path)
    return model, path


def test_round_trip_and_determinism_across_processes(saved, tmp_path):
    model, path = saved
    expected = model.predict(OCL).values()
    script = textwrap.dedent(f"""
        import numpy as np
        from rnn_forecast import GRUForecaster
        from rnn_forecast.testing import ICL, OCL, QUIET_TRAINER, make_series
        loaded = GRUForecaster.load({path!r})
        np.save({str(tmp_path / "loaded.npy")!r}, loaded.predict(OCL).values())
        fresh = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=4,
                              n_epochs=2, batch_size=32, random_state=5,
                              pl_trainer_kwargs=dict(QUIET_TRAINER))
        np.save({str(tmp_path / "fresh.npy")!r}, fresh.fit(make_series()).predict(OCL).values())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "loaded.npy"), expected)
    same_seed = build(n_epochs=2, random_state=5).fit(make_series()).predict(OCL).values()
    np.testing.assert_array_equal(np.load(tmp_path / "fresh.npy"), same_seed)


def truncate(path, fraction=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(int(size * fraction))


def test_truncated_or_mismatched_files_give_clear_errors(saved, tmp_path):
    model, path = saved
    with pytest.raises(FileNotFoundError, match="No saved model"):
        GRUForecaster.load(str(tmp_path / "nothing.pt"))
    other = str(tmp_path / "other.pt")
    build(random_state=1).fit(make_series()).save(other)
    os.replace(other + ".ckpt", path + ".ckpt")  # weights of another save
    with pytest.raises(ModelFileError, match="SHA-256 differs"):
        GRUForecaster.load(path)
    os.remove(path + ".ckpt")
    with pytest.raises(ModelFileError, match="which is missing"):
        GRUForecaster.load(path)
    model.save(path)
    truncate(path + ".ckpt")
    with pytest.raises(ModelFileError, match="truncated or corrupted"):
        GRUForecaster.load(path)
    model.save(path)
    truncate(path)
    with pytest.raises(ModelFileError, match=r"Could not read the model file .*model\.pt.*truncated"):
        GRUForecaster.load(path)


class RunsCode:
    """Unpickling this calls ``os.system``: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class NotAllowed:
    """A harmless class of the user's own, not on the safe-loading list."""


def test_refused_objects_and_foreign_formats_are_told_apart_from_corruption(saved, tmp_path):
    import pickle

    from rnn_forecast.persistence import UnsafeModelFileError

    model, path = saved
    marker = tmp_path / "code-ran"
    evil = str(tmp_path / "evil.pt")
    torch.save({"model": RunsCode(marker)}, evil)
    message = (r"evil\.pt' was not loaded: it holds `posix.system`, which would run code when the "
               r"file is read: it is blocked .* Do not load this file")
    with pytest.raises(UnsafeModelFileError, match=message) as info:
        GRUForecaster.load(evil)
    assert info.value.blocked and info.value.qualname == "posix.system" and not marker.exists()
    torch.save({"model": NotAllowed()}, evil)
    message = (r"holds `test_reliability.NotAllowed`, which safe loading does "
               r"not allow.*add_safe_globals\(\[test_reliability.NotAllowed\]\)")
    with pytest.raises(UnsafeModelFileError, match=message) as info:
        GRUForecaster.load(evil)
    assert not info.value.blocked
    with open(evil, "wb") as fh:  # a plain pickle (e.g. joblib or pickle.dump of a model): another format
        pickle.dump({"weights": [1.0]}, fh)
    with pytest.raises(ModelFileError,
                       match=r"is not a model file written by rnn_forecast or Darts .* another library"):
        GRUForecaster.load(evil)
    truncate(path)  # a real model file, cut short: corrupted, not unsafe
    with pytest.raises(ModelFileError, match="truncated or corrupted") as info:
        GRUForecaster.load(path)
    assert not isinstance(info.value, UnsafeModelFileError)


def test_incompatible_versions_and_foreign_files_are_refused(saved, tmp_path, monkeypatch):
    model, path = saved
    with pytest.raises(TypeError, match="holds a GRUForecaster, not a LSTMForecaster"):
        LSTMForecaster.load(path)
    assert isinstance(RNNForecaster.load(path), GRUForecaster)
    plain = str(tmp_path / "plain.pt")
    TorchForecastingModel.save(model, plain)  # Darts' own save: no format marker
    with pytest.raises(ModelFileError, match="has no rnn_forecast file format marker"):
        GRUForecaster.load(plain)
    monkeypatch.setattr(persistence, "FILE_FORMAT", 2)
    model.save(path)
    monkeypatch.setattr(persistence, "FILE_FORMAT", 1)
    with pytest.raises(ModelFileError, match="uses rnn_forecast file format 2 .* reads format 1"):
        GRUForecaster.load(path)
    real = persistence.file_info
    monkeypatch.setattr(persistence, "file_info", lambda sha: {**real(sha), "darts": "0.49.0"})
    model.save(path)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="written with darts 0.49.0"):
        GRUForecaster.load(path)


def test_failed_save_keeps_the_previous_files(saved, tmp_path, monkeypatch):
    model, path = saved
    before = {name: (tmp_path / name).read_bytes() for name in ("model.pt", "model.pt.ckpt")}

    def disk_full(obj, handle, *args, **kwargs):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["model.pt", "model.pt.ckpt"]  # no temp files left
    for name, content in before.items():
        assert (tmp_path / name).read_bytes() == content
    np.testing.assert_array_equal(GRUForecaster.load(path).predict(OCL).values(), model.predict(OCL).values())


def test_saving_a_loaded_model_keeps_its_weights(saved, tmp_path):
    model, path = saved
    again = str(tmp_path / "again.pt")
    GRUForecaster.load(path).save(again)  # Darts alone would write no .ckpt here
    np.testing.assert_array_equal(GRUForecaster.load(again).predict(OCL).values(), model.predict(OCL).values())


def test_truncated_training_checkpoint_is_named(tmp_path):
    build(**run_params(tmp_path, n_epochs=1)).fit(make_series())
    last = persistence.last_checkpoint(str(tmp_path), "run")
    truncate(last)
    message = r"Could not read the checkpoint .*last-epoch=0\.ckpt.*truncated or corrupted.*file_name="
    with pytest.raises(ModelFileError, match=message):
        GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)


def test_missing_files_raise_what_darts_and_python_users_catch(saved, tmp_path):
    # Darts raises ValueError for a missing run or weights file, Python FileNotFoundError:
    # MissingModelFileError is both, so code written for either catches it.
    from darts.models import BlockRNNModel
    with pytest.raises(ValueError):
        BlockRNNModel.load_from_checkpoint("nothing", work_dir=str(tmp_path))
    model, path = saved
    missing = [lambda: GRUForecaster.load(str(tmp_path / "nothing.pt")),
               lambda: GRUForecaster.load_from_checkpoint("nothing", work_dir=str(tmp_path))]
    build(**run_params(tmp_path, n_epochs=1)).fit(make_series())
    missing.append(lambda: GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path),
                                                              file_name="epoch=9.ckpt"))
    os.remove(path + ".ckpt")
    missing.append(lambda: GRUForecaster.load(path))
    messages = []
    for load in missing:
        with pytest.raises(persistence.MissingModelFileError) as info:
            load()
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
        messages.append(str(info.value))
    assert "No saved model" in messages[0] and "No checkpointed run 'nothing'" in messages[1]
    assert "epoch=9.ckpt" in messages[2] and "last-epoch=0.ckpt" in messages[2]  # what exists
    assert "which is missing" in messages[3]
    for folder in (tmp_path / "run" / "checkpoints").iterdir():
        folder.unlink()
    with pytest.raises(persistence.MissingModelFileError, match="has no last checkpoint yet"):
        GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    io, path = AtomicCheckpointIO(), str(tmp_path / "last-epoch=0.ckpt")
    io.save_checkpoint({"state": torch.arange(3.0)}, path)

    def killed_before_rename(src, dst):
        assert os.path.getsize(src) > 0 and os.path.dirname(src) == str(tmp_path)
        raise KeyboardInterrupt  # the new file is on disk under its temporary name

    monkeypatch.setattr(os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state": torch.arange(5.0)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["last-epoch=0.ckpt"]  # the temporary file is gone
    assert torch.equal(io.load_checkpoint(path)["state"], torch.arange(3.0))


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
