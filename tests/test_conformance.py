"""Every forecaster through the same Darts / scikit-learn / Lightning contract."""

import pytest

from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.testing import CHECKS

FORECASTERS = [
    pytest.param(LSTMForecaster, {}, id="LSTMForecaster"),
    pytest.param(GRUForecaster, {}, id="GRUForecaster"),
    pytest.param(RNNForecaster, {"cell": "gru", "n_rnn_layers": 2, "dropout": 0.1,
                                 "hidden_fc_sizes": [16]}, id="RNNForecaster-gru-deep"),
    pytest.param(RNNForecaster, {"cell": "gru", "segment_length": 5, "normalization": "level"},
                 id="RNNForecaster-segrnn-level"),
    pytest.param(RNNForecaster, {"cell": "lstm", "segment_length": None, "normalization": None,
                                 "use_reversible_instance_norm": True},
                 id="RNNForecaster-lstm-parallel-revin"),
    pytest.param(RNNForecaster, {"cell": "lstm", **POINTWISE}, id="RNNForecaster-pointwise"),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("model_cls, params", FORECASTERS)
def test_conformance(model_cls, params, check):
    check(model_cls, params)
