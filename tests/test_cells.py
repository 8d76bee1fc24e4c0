"""The cell registry: a cell registered in a test alone passes the conformance suite."""

import pytest
import torch

from rnn_forecast import RNNForecaster
from rnn_forecast.cells import CELLS, Cell, UnknownCellError, get_cell, register_cell, unregister_cell
from rnn_forecast.testing import CHECKS, QUIET_TRAINER, make_series


@pytest.fixture
def rnn_cell():
    """A plain tanh ``nn.RNN`` cell (state ``h``, no fused kernel), registered for one test."""
    cell = register_cell(Cell("rnn", torch.nn.RNN, state="h"))
    try:
        yield cell
    finally:
        unregister_cell("rnn")


def test_builtin_cells_are_registered():
    assert list(CELLS)[:2] == ["lstm", "gru"]
    assert get_cell("lstm").state == "hc" and get_cell("gru").state == "h"
    assert all(CELLS[name].fused is not None for name in ("lstm", "gru"))


def test_unknown_cell_names_the_registered_ones_and_how_to_register():
    with pytest.raises(UnknownCellError, match=r"\('lstm', 'gru'\).*register_cell"):
        get_cell("rnn")
    with pytest.raises(ValueError, match="already registered"):
        register_cell(Cell("lstm", torch.nn.LSTM, state="hc"))
    with pytest.raises(ValueError, match="state"):
        Cell("x", torch.nn.RNN, state="hcz")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_registered_cell_passes_conformance(rnn_cell, check):
    check(RNNForecaster, {"cell": "rnn"})


def test_registered_cell_runs_on_torch_only(rnn_cell):
    model = RNNForecaster(input_chunk_length=8, output_chunk_length=2, cell="rnn", hidden_dim=4,
                          rnn_backend="fused", n_epochs=1, pl_trainer_kwargs=dict(QUIET_TRAINER))
    with pytest.raises(RuntimeError, match="'rnn' cell has no fused kernel"):
        model.fit(make_series())


def test_loading_a_model_with_an_unregistered_cell_says_to_register_it(rnn_cell, tmp_path):
    model = RNNForecaster(input_chunk_length=8, output_chunk_length=2, cell="rnn", hidden_dim=4,
                          n_epochs=1, pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(make_series())
    path = str(tmp_path / "rnn.pt")
    model.save(path)
    unregister_cell("rnn")
    try:
        with pytest.raises(UnknownCellError, match="'rnn'.*not registered.*register_cell"):
            RNNForecaster.load(path)
    finally:
        register_cell(rnn_cell)
    assert RNNForecaster.load(path).cell == "rnn"
