"""ONNX export with Darts' ``model.to_onnx``, run torch-free in onnxruntime.

The default ``rnn_backend="auto"`` runs fused CPU kernels that ``torch.export`` cannot
trace; while exporting, the module falls back to ``torch.nn`` (the same function), so
every configuration exports. The exported graph must reproduce ``predict`` to 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from darts.utils.onnx import run_onnx_prediction

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.tools.testing import QUIET_TRAINER, make_series

ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra (part of [dev]) is not installed")

CONFIGS = {
    "defaults": {},
    "point-wise, mlp decoder": {"segment_length": None, "decoder": "mlp", "normalization": None},
    "two layers, covariates": {"n_rnn_layers": 2},
}


@pytest.mark.parametrize("cls", [LSTMForecaster, GRUForecaster], ids=["LSTM", "GRU"])
@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_exported_graph_matches_predict(cls, config, tmp_path):
    series = make_series(length=200, n_components=2, seed=0) * 40 + 1000  # raw, unscaled
    covariates = {}
    if "covariates" in config:
        covariates = {"past_covariates": make_series(length=200, n_components=1, seed=1),
                      "future_covariates": make_series(length=230, n_components=1, seed=2)}
    model = cls(input_chunk_length=48, output_chunk_length=12, n_epochs=2, random_state=0,
                pl_trainer_kwargs=dict(QUIET_TRAINER), **CONFIGS[config])
    model.fit(series, **covariates)
    path = tmp_path / "model.onnx"
    model.to_onnx(str(path))

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    history = series[:180]
    exported = run_onnx_prediction(n=12, session=session, series=history, verbose=False, **covariates)
    expected = model.predict(12, series=history, verbose=False, **covariates)
    assert exported.time_index.equals(expected.time_index)
    np.testing.assert_allclose(exported.values(), expected.values(), rtol=1e-5, atol=1e-5)
    # a different window gives a different forecast: the graph reads its input
    other = run_onnx_prediction(n=12, session=session, series=series[:150], verbose=False, **covariates)
    assert not np.allclose(other.values(), exported.values())


def test_export_does_not_change_the_model(tmp_path):
    model = GRUForecaster(input_chunk_length=24, output_chunk_length=6, n_epochs=1,
                          pl_trainer_kwargs=dict(QUIET_TRAINER))
    series = make_series(length=120, n_components=1)
    model.fit(series)
    before = model.predict(6, verbose=False)
    model.to_onnx(str(tmp_path / "gru.onnx"))
    np.testing.assert_array_equal(model.predict(6, verbose=False).values(), before.values())
