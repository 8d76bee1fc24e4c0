"""Every forecaster through the same Darts / scikit-learn / Lightning contract."""

import contextlib

import pytest

from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.nn.cells import registered
from rnn_forecast.tools.testing import CHECKS
from tests.cells.slstm import SLSTM_CELL

#: Cells of tests/cells/, registered while their parameter set runs.
TEST_CELLS = {SLSTM_CELL.name: SLSTM_CELL}

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
    # a cell whose state has four parts (h, c, n, m), defined in one test file
    pytest.param(RNNForecaster, {"cell": "slstm", "n_rnn_layers": 2}, id="RNNForecaster-slstm"),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("model_cls, params", FORECASTERS)
def test_conformance(model_cls, params, check):
    test_cell = TEST_CELLS.get(params.get("cell"))
    with registered(test_cell) if test_cell else contextlib.nullcontext():
        check(model_cls, params)
