"""Models saved by rnn_forecast 0.1.0, whose defaults were the point-wise design, still load.

The files in ``tests/persistence/data`` were written by rnn_forecast 0.1.0 (commit eed1593) with
``tests/persistence/data/make_legacy_models.py``: a ``GRUForecaster`` with 0.1's defaults (point-wise
recurrence, MLP head, no normalization) and an ``LSTMForecaster`` with segments, the
parallel decoder and ``subtract_last=True``, both trained on a synthetic sine, with
their 6-step forecasts. The ``_v0.2.0`` files, written by 0.2.0 (commit 1551b82) with the
same script, hold both cells with 0.2's defaults: window normalization without
``global_level``.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from rnn_forecast import GRUForecaster, LSTMForecaster, RNNForecaster

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("cls, normalization, decoder", [
    (GRUForecaster, None, "mlp"), (LSTMForecaster, "level", "parallel")])
def test_a_model_saved_by_0_1_forecasts_as_it_did(cls, normalization, decoder):
    name = cls.__name__.lower()
    model = cls.load(str(DATA / f"{name}_v0.1.0.pt"))
    np.testing.assert_allclose(model.predict(6).values(), np.load(DATA / f"{name}_v0.1.0_forecast.npy"),
                               rtol=1e-5, atol=1e-6)
    # the old defaults stay recorded: refits and clones rebuild the same design
    assert model.normalization == normalization and model.model.normalization == normalization
    assert model.model_params["decoder"] == decoder and "subtract_last" not in model.model_params
    assert isinstance(model.model.criterion, torch.nn.MSELoss)  # 0.1 trained on Darts' MSE
    fresh = model.untrained_model()
    assert fresh.normalization == normalization and fresh.decoder == decoder
    assert isinstance(fresh.model_params["loss_fn"], torch.nn.MSELoss)


def test_a_model_saved_by_0_1_can_be_trained_further():
    model = GRUForecaster.load(str(DATA / "gruforecaster_v0.1.0.pt"))
    series = model.training_series
    before = model.predict(4).values()
    model.fit(series, epochs=1)
    assert model.model.normalization is None and model.model.segment_length is None
    assert np.isfinite(model.predict(4).values()).all() and model.predict(4).values().shape == before.shape


def test_the_old_parameter_name_is_refused_with_its_replacement():
    with pytest.raises(TypeError, match="normalization='level'"):
        RNNForecaster(input_chunk_length=12, output_chunk_length=4, subtract_last=True)


@pytest.mark.parametrize("cls", [GRUForecaster, LSTMForecaster])
def test_a_model_saved_by_0_2_forecasts_as_it_did_without_global_level(cls):
    name = cls.__name__.lower()
    model = cls.load(str(DATA / f"{name}_v0.2.0.pt"))
    np.testing.assert_allclose(model.predict(6).values(), np.load(DATA / f"{name}_v0.2.0_forecast.npy"),
                               rtol=1e-5, atol=1e-6)
    assert model.normalization == "level_scale" and model.global_level is False
    assert model.model.global_level is False and not hasattr(model.model, "level_projection")
    fresh = model.untrained_model()  # refits and clones keep 0.2's design
    assert fresh.global_level is False and fresh.get_params()["global_level"] is False
    model.fit(model.training_series, epochs=1)  # and it trains further as it was
    assert model.model.global_level is False and np.isfinite(model.predict(4).values()).all()
