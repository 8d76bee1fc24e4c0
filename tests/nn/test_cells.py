"""The cell registry: a cell registered in a test alone passes the conformance suite."""

import pytest
import torch

from rnn_forecast import RNNForecaster
from rnn_forecast.nn.cells import CELLS, Cell, UnknownCellError, get_cell, register_cell, unregister_cell
from rnn_forecast.tools.testing import CHECKS, QUIET_TRAINER, make_series


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
    for layout in ("", "ch", "hh", "h1"):  # the output `h` first, one letter per part
        with pytest.raises(ValueError, match="state"):
            Cell("x", torch.nn.RNN, state=layout)


def test_a_cell_owns_its_state_of_any_number_of_parts():
    from tests.cells.slstm import SLSTM_CELL

    h, c, n, m = (torch.full((2, 3, 4), float(k)) for k in range(4))
    slstm, gru = SLSTM_CELL, get_cell("gru")
    assert (slstm.n_parts, gru.n_parts, get_cell("lstm").n_parts) == (4, 1, 2)
    state = slstm.pack([h, c, n, m])
    assert slstm.output(state) is h and gru.output(h) is h and gru.pack([h]) is h
    shifted = slstm.shift_output(state, torch.ones(1, 3, 4))
    assert torch.equal(shifted[0], h + 1) and all(a is b for a, b in zip(shifted[1:], (c, n, m)))
    repeated = slstm.map_state(state, lambda part: part.repeat_interleave(5, dim=1))
    assert [tuple(p.shape) for p in repeated] == [(2, 15, 4)] * 4
    assert torch.equal(gru.shift_output(h, torch.ones(1, 3, 4)), h + 1)


def test_a_four_part_state_runs_through_the_network_and_its_rolling_forecasts():
    """The sLSTM (state (h, c, n, m)) in both decoders, past covariates and a roll-out beyond the horizon."""
    from rnn_forecast.nn.cells import registered
    from tests.cells.slstm import SLSTM_CELL

    series = make_series(length=80, n_components=1)
    with registered(SLSTM_CELL):
        for decoder in ("parallel", "mlp"):
            model = RNNForecaster(input_chunk_length=12, output_chunk_length=3, cell="slstm", hidden_dim=6,
                                  decoder=decoder, n_epochs=1, random_state=0,
                                  pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(series[:70], past_covariates=series)
            forecast = model.predict(7, past_covariates=series)  # 7 > 3: rolled out
            assert forecast.n_timesteps == 7 and bool(torch.isfinite(torch.from_numpy(forecast.values())).all())
            assert isinstance(model.model.encoder, SLSTM_CELL.torch_class)


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
