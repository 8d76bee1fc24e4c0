"""Every speed path gives the reference path's results."""

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

CLASSES = [LSTMForecaster, GRUForecaster]


def lightning_trainer():
    return pl.Trainer(**QUIET_TRAINER, enable_checkpointing=False)


def build(cls, **kwargs):
    params = dict(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=8, n_epochs=1,
                  batch_size=16, random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    return cls(**{**params, **kwargs})


@pytest.fixture(scope="module")
def data():
    series = [make_series(length=90, seed=i).with_static_covariates(
        pd.DataFrame({"site": [float(i), 1.0]})) for i in range(3)]
    past = [make_series(length=90 + 3 * OCL, n_components=2, seed=10 + i) for i in range(3)]
    future = [make_series(length=90 + 3 * OCL, n_components=1, seed=20 + i) for i in range(3)]
    return series, past, future


@pytest.mark.parametrize("cls", CLASSES)
def test_trainer_free_predict_equals_lightning_predict(cls, data):
    series, past, future = data
    model = build(cls).fit(series, past_covariates=past, future_covariates=future)
    for n in (1, OCL, 3 * OCL):
        fast = model.predict(n, series=series, past_covariates=past, future_covariates=future)
        slow = model.predict(n, series=series, past_covariates=past, future_covariates=future,
                             trainer=lightning_trainer())
        for a, b in zip(fast, slow):
            assert a.time_index.equals(b.time_index) and list(a.components) == list(b.components)
            np.testing.assert_array_equal(a.values(), b.values())
            assert a.static_covariates.equals(b.static_covariates)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("last_points_only", [True, False])
def test_trainer_free_historical_forecasts_equal_lightning(cls, last_points_only, data):
    series, past, future = data
    model = build(cls).fit(series, past_covariates=past, future_covariates=future)
    kwargs = dict(series=series, past_covariates=past, future_covariates=future, start=0.6,
                  forecast_horizon=OCL + 2, stride=2, retrain=False, last_points_only=last_points_only)
    fast = model.historical_forecasts(**kwargs)
    slow = model.historical_forecasts(**kwargs, predict_kwargs={"trainer": lightning_trainer()})
    flat = (lambda xs: xs) if last_points_only else (lambda xs: [f for per in xs for f in per])
    assert len(flat(fast)) == len(flat(slow)) >= 3
    assert sum(len(f) for f in flat(fast)) > 10
    for a, b in zip(flat(fast), flat(slow)):
        assert a.time_index.equals(b.time_index)
        np.testing.assert_array_equal(a.values(), b.values())


@pytest.mark.parametrize("cls", CLASSES)
def test_fused_training_matches_torch_nn_training(cls):
    series = make_series(length=200)
    fused = build(cls, n_epochs=2, rnn_backend="auto").fit(series).predict(OCL).values()
    reference = build(cls, n_epochs=2, rnn_backend="torch").fit(series).predict(OCL).values()
    np.testing.assert_allclose(fused, reference, atol=1e-4)


def test_probabilistic_and_callback_predictions_still_use_lightning():
    from darts.utils.likelihood_models.torch import GaussianLikelihood

    class CountPredictBatches(pl.Callback):
        batches = 0

        def on_predict_batch_end(self, *args, **kwargs):
            CountPredictBatches.batches += 1

    series = make_series()
    build(GRUForecaster, likelihood=GaussianLikelihood()).fit(series).predict(OCL, num_samples=3)
    model = build(GRUForecaster, pl_trainer_kwargs=dict(QUIET_TRAINER, callbacks=[CountPredictBatches()]))
    model.fit(series).predict(OCL)
    assert CountPredictBatches.batches == 1


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_trainer_free_predict_switches_modes_only_for_mode_dependent_layers(dropout, monkeypatch):
    """Dropout layers get eval() for the forecast and training mode back after it; a model
    without them is left alone (walking every submodule costs a tenth of a forecast)."""
    import torch

    series = make_series(length=90)
    model = build(GRUForecaster, dropout=dropout).fit(series)
    module = model.model
    module.train()
    switched = []
    monkeypatch.setattr(torch.nn.Module, "eval", lambda self: switched.append(self) or self.train(False))
    fast = model.predict(OCL, series=series)
    assert module.training
    assert bool(switched) == (dropout > 0)
    monkeypatch.undo()
    slow = model.predict(OCL, series=series, trainer=lightning_trainer())
    np.testing.assert_array_equal(fast.values(), slow.values())


def test_a_user_layer_is_assumed_mode_dependent():
    import torch

    from rnn_forecast.adapter.inference import _mode_dependent

    class Custom(torch.nn.Module):  # may read self.training: we cannot know
        def forward(self, x):
            return x

    module = build(GRUForecaster).fit(make_series(length=90)).model
    assert not _mode_dependent(module)
    fresh = build(GRUForecaster).fit(make_series(length=90)).model
    fresh.extra = Custom()
    assert _mode_dependent(fresh)
