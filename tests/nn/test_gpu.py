"""The prepared GPU run (``python -m benchmarks gpu``) and the CUDA-specific behaviour.

Default tests: the run's clock, and its ``--smoke`` mode, which runs every part of the
GPU run on the CPU with tiny sizes (under a minute), so that the GPU run cannot fail
on a typo. Tests marked ``gpu`` check what only a CUDA device shows (the recurrent
backend, pinned memory, mixed precision, the training guards under ``16-mixed``,
forecasts and files moving between devices); they are skipped without CUDA, and
``python -m pytest -m gpu`` runs them alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA device: torch.cuda.is_available() is False")


@pytest.fixture(scope="module")
def gpu_run():
    """``benchmarks.gpu``, the module behind ``python -m benchmarks gpu``."""
    from benchmarks import gpu

    return gpu


# -- the script (default tests) -------------------------------------------------------------


def test_clock_skips_a_unit_that_would_overrun_its_slot_or_the_deadline(gpu_run):
    now = [0.0]
    clock = gpu_run.Clock(100.0, started=0.0, now=lambda: now[0])
    clock.start_part("throughput", 30.0)
    assert clock.why_not(29.0) is None
    assert "throughput part's 30 s slot" in clock.why_not(31.0)
    now[0] = 90.0
    clock.start_part("accuracy", None)  # the rest: up to the deadline
    assert clock.left_in_part() == pytest.approx(10.0)
    assert clock.why_not(9.0) is None
    assert "global deadline (100 s)" in clock.why_not(11.0)
    clock.start_part("latency", 60.0)  # a slot never reaches past the deadline
    assert "global deadline" in clock.why_not(11.0)


def test_estimates_start_from_the_guess_then_follow_what_ran(gpu_run):
    estimate = gpu_run.Estimates(guess_s=5.0)
    assert estimate("a") == 5.0
    estimate.record("a", 2.0)
    estimate.record("b", 4.0)
    assert estimate("a") == 2.0
    assert estimate("c") == 3.0  # unseen: the median of everything seen


def test_full_run_plans_every_part_inside_eight_minutes(gpu_run):
    full = gpu_run.FULL
    assert full.budget_s <= 8 * 60 - 30  # the deadline leaves time to write the files and stop
    assert set(full.slots) == set(gpu_run.PARTS)
    assert sum(slot for slot in full.slots.values() if slot is not None) < full.budget_s
    assert full.slots["accuracy"] is None  # the optional part gets what is left
    assert full.batch_sizes == (256, 1024, 4096) and full.lookbacks == (96, 720)
    assert full.precisions == ("32-true", "bf16-mixed") and full.many_series == 1000


def test_smoke_run_executes_every_part_and_writes_every_file(data_dir, tmp_path):
    # one thread each for torch and numba: on 2 cores shared with other jobs their spinning
    # OpenMP workers made the smoke run twice as slow (the same reason as .ci/run's notebooks)
    env = {**os.environ, "RNN_FORECAST_DATA": str(data_dir), "PYTHONUNBUFFERED": "1",
           "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "gpu", "--smoke", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    rows = pd.read_csv(tmp_path / "gpu.csv")
    parts = ["correctness", "precision", "throughput", "latency", "gru_vs_lstm", "accuracy"]
    assert sorted(rows.part.unique()) == sorted(parts)
    not_ok = rows[rows.status != "ok"]
    assert not_ok.empty, not_ok[["part", "status"]].to_string()
    checks = rows.dropna(subset=["passed"])
    assert len(checks) >= 9 and checks.passed.astype(str).eq("True").all(), checks.to_string()
    assert set(rows.precision.dropna()) >= {"32-true", "bf16-mixed", "16-mixed"}
    assert (rows.loc[rows.part == "throughput", "windows_per_s"] > 0).all()

    report = (tmp_path / "gpu.md").read_text()
    for heading in ["## Summary", "## Environment", "## Parts and budget",
                    "## Correctness: the same weights on CUDA and CPU, save and load", "## Mixed precision",
                    "## Training throughput", "## Predict latency", "## GRU or LSTM: training speed",
                    "## Accuracy: the lookback-96 gaps"]:
        assert heading in report, heading
    assert "in a process that sees no GPU" in report
    assert "Our windows/s over Darts'" in report and "GRU windows/s over LSTM windows/s" in report

    env = json.loads((tmp_path / "gpu_env.json").read_text())
    for key in ("gpu_name", "driver", "cuda", "cudnn", "torch", "darts", "pytorch_lightning", "cpu"):
        assert key in env, key
    if not torch.cuda.is_available():
        assert env["gpu_name"] == "skipped: no CUDA"


# -- CUDA-specific behaviour (pytest -m gpu) ------------------------------------------------

QUIET = {"accelerator": "gpu", "devices": 1, "enable_progress_bar": False, "enable_model_summary": False,
         "logger": False, "enable_checkpointing": False}


def _series(length: int = 400, components: int = 2, seed: int = 0):
    from darts import TimeSeries

    rng = np.random.default_rng(seed)
    t = np.arange(length)[:, None]
    values = np.sin(2 * np.pi * t / 24 + np.arange(components)) + 0.1 * rng.standard_normal((length, components))
    return TimeSeries.from_values(values.astype(np.float32))


def _forecaster(cell: str = "gru", **kwargs):
    from rnn_forecast import RNNForecaster

    trainer = {**QUIET, **kwargs.pop("trainer", {})}
    params = dict(input_chunk_length=24, output_chunk_length=12, hidden_dim=16, batch_size=32, n_epochs=2,
                  random_state=0, pl_trainer_kwargs=trainer)
    return RNNForecaster(cell=cell, **{**params, **kwargs})


def _record_recurrent_output():
    """A callback that records the dtype and device of the first recurrent layer's output in training."""
    import pytorch_lightning as pl

    class Record(pl.Callback):
        def __init__(self):
            self.dtypes, self.devices, self.handle = set(), set(), None

        def on_train_start(self, trainer, pl_module):
            rnn = next(m for m in pl_module.modules() if isinstance(m, torch.nn.RNNBase))

            def hook(module, inputs, output):
                if module.training:
                    self.dtypes.add(output[0].dtype)
                    self.devices.add(output[0].device.type)

            self.handle = rnn.register_forward_hook(hook)

        def on_train_end(self, trainer, pl_module):
            self.handle.remove()

    return Record()


def _poison_gradients_at(step: int):
    """A callback that sets one gradient to inf after the backward pass of optimizer step ``step``."""
    import pytorch_lightning as pl

    class Poison(pl.Callback):
        def __init__(self):
            self.poisoned = 0

        def on_after_backward(self, trainer, pl_module):
            if trainer.global_step == step:
                next(p for p in pl_module.parameters() if p.grad is not None).grad.fill_(float("inf"))
                self.poisoned += 1

    return Poison()


@pytest.mark.gpu
@needs_cuda
class TestOnCuda:
    """What only a CUDA device shows."""

    @pytest.mark.parametrize("layer", [torch.nn.LSTM, torch.nn.GRU])
    def test_auto_backend_runs_torch_nn_on_cuda_and_fused_raises(self, layer):
        from rnn_forecast.nn.backend import run_rnn, supports_fused

        rnn = layer(3, 8, batch_first=True).cuda()
        x = torch.randn(4, 5, 3, device="cuda")
        assert not supports_fused(rnn, x)
        out, _ = run_rnn(rnn, x, backend="auto")
        expected, _ = rnn(x)
        torch.testing.assert_close(out, expected)
        assert torch.backends.cudnn.is_available() and torch.backends.cudnn.enabled
        with pytest.raises(RuntimeError, match="CPU float32"):
            run_rnn(rnn, x, backend="fused")

    def test_forecaster_trains_on_cuda_without_the_fused_kernels(self, monkeypatch):
        from rnn_forecast.nn import backend

        def refuse(*args, **kwargs):
            raise AssertionError("the fused CPU kernel ran on a GPU fit")

        monkeypatch.setattr(backend, "fused_rnn", refuse)
        record = _record_recurrent_output()
        model = _forecaster("lstm", trainer={"callbacks": [record]})
        model.fit(_series())
        assert record.devices == {"cuda"} and record.dtypes == {torch.float32}
        assert np.isfinite(model.predict(12).values()).all()
        with pytest.raises(RuntimeError, match="rnn_backend='fused'"):
            _forecaster("gru", rnn_backend="fused").fit(_series())

    @pytest.mark.parametrize("user_kwargs, pinned", [(None, True), ({"pin_memory": False}, False)])
    def test_training_batches_come_from_pinned_memory(self, user_kwargs, pinned):
        import pytorch_lightning as pl
        from torch.utils.data import DataLoader

        class Loaders(pl.Callback):
            def on_train_start(self, trainer, pl_module):
                loaders = trainer.train_dataloader
                loaders = [loaders] if isinstance(loaders, DataLoader) else list(
                    loaders.values() if isinstance(loaders, dict) else loaders)
                self.pinned = {loader.pin_memory for loader in loaders}

            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                self.on_device = next(p.device.type for p in pl_module.parameters())

        seen = Loaders()
        _forecaster(trainer={"callbacks": [seen]}).fit(_series(), dataloader_kwargs=user_kwargs)
        assert seen.pinned == {pinned}
        assert seen.on_device == "cuda"

    @pytest.mark.parametrize("precision, dtype, scaler", [
        ("32-true", torch.float32, False),
        ("bf16-mixed", torch.bfloat16, False),
        ("16-mixed", torch.float16, True),
    ])
    def test_precision_settings_reach_the_recurrent_layer(self, precision, dtype, scaler):
        from rnn_forecast.adapter.inference import can_skip_trainer

        if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
            pytest.skip("this GPU has no bfloat16")
        record = _record_recurrent_output()
        model = _forecaster(trainer={"precision": precision, "callbacks": [record]})
        model.fit(_series())
        assert str(model.trainer.precision) == precision
        assert (getattr(model.trainer.precision_plugin, "scaler", None) is not None) == scaler
        # autocast ran the recurrence (cuDNN) in the reduced precision; where a torch build casts
        # cuDNN's recurrences to float16 under any autocast, bf16-mixed shows float16 there
        reduced = {dtype} if precision != "bf16-mixed" else {torch.bfloat16, torch.float16}
        assert len(record.dtypes) == 1 and record.dtypes <= reduced, record.dtypes
        assert all(p.dtype == torch.float32 for p in model.model.parameters())  # master weights stay fp32
        assert not can_skip_trainer(model, None, 1, False, False, None)  # a GPU predicts through Lightning
        forecast = model.predict(24)
        assert forecast.values().dtype == np.float32 and np.isfinite(forecast.values()).all()

    def test_16_mixed_lets_the_grad_scaler_skip_an_inf_step(self):
        poison = _poison_gradients_at(step=2)
        model = _forecaster(trainer={"precision": "16-mixed", "callbacks": [poison]})
        model.fit(_series())  # the NonFiniteLossGuard leaves inf gradients to the scaler
        assert poison.poisoned == 1
        assert model.trainer.precision_plugin.scaler.get_scale() < 2.0**16  # the scaler saw it and backed off
        assert all(bool(torch.isfinite(p).all()) for p in model.model.parameters())

    @pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
    def test_without_a_grad_scaler_an_inf_gradient_stops_training(self, precision):
        from rnn_forecast.nn.callbacks import NonFiniteLossError

        if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
            pytest.skip("this GPU has no bfloat16")
        model = _forecaster(trainer={"precision": precision, "callbacks": [_poison_gradients_at(step=2)]})
        with pytest.raises(NonFiniteLossError) as caught:
            model.fit(_series())
        assert caught.value.what == "gradient"

    def test_16_mixed_still_stops_on_a_nan_loss(self):
        from rnn_forecast.nn.callbacks import NonFiniteLossError

        class NaNOnThirdTrainingStep(torch.nn.L1Loss):
            steps = 0  # on the class: the forecaster may copy the loss

            def forward(self, prediction, target):
                loss = super().forward(prediction, target)
                if not torch.is_grad_enabled():  # validation
                    return loss
                type(self).steps += 1
                return loss * float("nan") if type(self).steps == 3 else loss

        model = _forecaster(loss_fn=NaNOnThirdTrainingStep(), trainer={"precision": "16-mixed"})
        with pytest.raises(NonFiniteLossError) as caught:
            model.fit(_series())
        assert caught.value.what == "loss"

    def test_same_weights_forecast_the_same_on_cuda_and_after_loading_on_cpu(self, tmp_path):
        from rnn_forecast import RNNForecaster

        series = _series()
        model = _forecaster("lstm")
        model.fit(series)
        torch.backends.cudnn.allow_tf32, saved = False, torch.backends.cudnn.allow_tf32
        try:
            on_gpu = model.predict(36, series=series).values()  # 3 output chunks: the roll-out too
        finally:
            torch.backends.cudnn.allow_tf32 = saved
        model.model.to("cuda")  # the checkpoint then holds CUDA tensors
        model.save(str(tmp_path / "lstm.pt"))
        loaded = RNNForecaster.load(str(tmp_path / "lstm.pt"), map_location="cpu",
                                    pl_trainer_kwargs={**QUIET, "accelerator": "cpu"})
        assert {p.device.type for p in loaded.model.parameters()} == {"cpu"}
        on_cpu = loaded.predict(36, series=series).values()
        np.testing.assert_allclose(on_cpu, on_gpu, rtol=0, atol=1e-4 * np.abs(on_cpu).max())
