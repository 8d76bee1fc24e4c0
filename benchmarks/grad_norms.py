"""Gradient norms in normal training, against the default ``gradient_clip_val``.

Trains the configuration of ``tests/bench/test_accuracy_smoke.py`` (the last 40 days of Jena
air temperature, scaled, LSTM and GRU) and the conformance suite's synthetic series,
records the global L2 norm of the gradients before every optimizer step (before
clipping), and reports its percentiles and how often it exceeds
``DEFAULT_GRADIENT_CLIP_VAL``. It then refits each weather model with clipping off and
compares the held-out MAE: where no step exceeds the bound, clipping changes nothing.

Run from the repository root (about 3 minutes on 2 CPU cores)::

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks grad_norms
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytorch_lightning as pl
import torch


class GradNorms(pl.Callback):
    """Records the global gradient norm before each optimizer step (clipping comes after)."""

    def __init__(self):
        self.norms: list[float] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        grads = [p.grad.detach().flatten() for p in pl_module.parameters() if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.cat(grads))))


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from darts import concatenate
    from darts.dataprocessing.transformers import Scaler
    from darts.metrics import mae

    from rnn_forecast import GRUForecaster, LSTMForecaster
    from rnn_forecast.datasets import load_weather
    from rnn_forecast.nn.callbacks import DEFAULT_GRADIENT_CLIP_VAL
    from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

    day, horizon = 144, 36
    series = load_weather(columns=["T (degC)"]).target[-40 * day:]
    train, _ = series.split_after(0.8)
    series, n_train = Scaler().fit(train).transform(series), len(train)

    def weather_model(cls, callbacks, **trainer):
        return cls(input_chunk_length=day, output_chunk_length=horizon, hidden_dim=32, n_epochs=4,
                   batch_size=64, optimizer_kwargs={"lr": 3e-3}, random_state=0,
                   pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=callbacks, **trainer))

    def held_out_mae(model):
        forecasts = model.historical_forecasts(series, start=n_train, forecast_horizon=horizon,
                                               stride=horizon, retrain=False, last_points_only=False)
        return mae(series, concatenate(forecasts))

    print(f"global gradient L2 norm before clipping; default gradient_clip_val = {DEFAULT_GRADIENT_CLIP_VAL}")
    print(f"{'run':<40}{'steps':>6}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}{'> clip':>8}")

    def report(name, norms):
        a = np.asarray(norms)
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        print(f"{name:<40}{len(a):>6}{p50:>10.3g}{p90:>10.3g}{p99:>10.3g}{a.max():>10.3g}"
              f"{(a > DEFAULT_GRADIENT_CLIP_VAL).mean():>8.1%}")

    maes = []
    for cls in (LSTMForecaster, GRUForecaster):
        recorder = GradNorms()
        model = weather_model(cls, [recorder]).fit(series[:n_train])
        report(f"weather {cls.__name__}", recorder.norms)
        off = weather_model(cls, [], gradient_clip_val=None).fit(series[:n_train])
        maes.append((cls.__name__, held_out_mae(model), held_out_mae(off)))
    for cls in (LSTMForecaster, GRUForecaster):
        recorder = GradNorms()
        cls(input_chunk_length=ICL, output_chunk_length=OCL, n_epochs=2, batch_size=16, random_state=0,
            pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[recorder])).fit(make_series())
        report(f"synthetic (conformance) {cls.__name__}", recorder.norms)
    recorder = GradNorms()
    GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, n_epochs=2, batch_size=16, random_state=0,
                  pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[recorder])).fit(make_series() * 1000)
    report("synthetic x 1000 (unscaled) GRU", recorder.norms)

    print(f"\n{'held-out weather MAE (scaled)':<40}{'clipped':>10}{'no clip':>10}")
    for name, clipped, unclipped in maes:
        print(f"{name:<40}{clipped:>10.5f}{unclipped:>10.5f}")


if __name__ == "__main__":
    main()
