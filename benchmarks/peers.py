"""The benchmark's peers: Darts' recurrent models and DLinear under the shared budget.

Every trained model gets the same lookback, horizon, training windows, epochs, batch
size, learning rate (Adam), loss (L1, the mean absolute error that MASE scores; also
NeuralForecast's default), hidden size, recurrent layers and seed, and normalizes each
input window: ours with their default ``normalization="level_scale"``, every Darts peer
with Darts' reversible instance norm (RevIN): the test periods sit at other levels than
the training data, and a model that cannot follow a level shift loses to the naive
forecast for that reason alone, whatever its cell. The rest of each architecture stays
at its library's defaults (ours: the segment-wise encoder and parallel decoder of
docs/defaults.md). Each model uses every covariate kind its class supports:

=======================  ============  ===================================================
model                    covariates    notes
=======================  ============  ===================================================
LSTM/GRUForecaster       past, future  ours, defaults: segment-wise encoder + parallel
                                       decoder, window normalization
BlockRNNModel (LSTM/GRU) past, future  Darts: encoder + direct multi-step head (future
                                       covariates since Darts 0.48)
RNNModel (LSTM/GRU)      future        Darts: next-step model rolled out over the horizon
                                       (``training_length = lookback + horizon``)
DLinearModel             past, future  Darts: decomposition-linear, the usual strong
                                       simple baseline of the long-horizon literature
Naive / SeasonalNaive /  none          Darts ``NaiveSeasonal(K)`` (K=1: repeat the last
Drift                                  value) and ``NaiveDrift``, refitted at every origin
=======================  ============  ===================================================

NeuralForecast's LSTM and GRU join through ``zoo(..., extra=...)`` when installed
(:mod:`benchmarks.neuralforecast_peers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from darts.models import BlockRNNModel, DLinearModel, RNNModel

from rnn_forecast import GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.evaluation.contenders import Contender, DartsTorchContender, baselines, budget_kwargs, ours
from rnn_forecast.evaluation.task import Setup
from rnn_forecast.nn.cells import get_cell

#: The built-in cells' own classes; any other registered cell runs as ``RNNForecaster(cell=...)``.
NAMED = {"lstm": LSTMForecaster, "gru": GRUForecaster}
#: The cells Darts' ``BlockRNNModel`` and ``RNNModel`` implement.
DARTS_CELLS = ("lstm", "gru", "rnn")


def _peer(setup: Setup, seed: int, trainer: dict) -> dict:
    """A Darts peer's settings: the budget, our loss (L1) and window normalization (RevIN)."""
    return {**budget_kwargs(setup, seed, trainer), "loss_fn": torch.nn.L1Loss(),
            "use_reversible_instance_norm": True}


def _block_rnn(cell: str):
    def build(setup: Setup, seed: int, trainer: dict):
        return BlockRNNModel(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                             model=cell.upper(), hidden_dim=setup.hidden_dim,
                             n_rnn_layers=setup.n_rnn_layers, **_peer(setup, seed, trainer))
    return build


def _rnn(cell: str):
    def build(setup: Setup, seed: int, trainer: dict):
        return RNNModel(input_chunk_length=setup.lookback, model=cell.upper(),
                        training_length=setup.lookback + setup.horizon, hidden_dim=setup.hidden_dim,
                        n_rnn_layers=setup.n_rnn_layers, **_peer(setup, seed, trainer))
    return build


def _dlinear(setup: Setup, seed: int, trainer: dict):
    return DLinearModel(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                        **_peer(setup, seed, trainer))


def ours_for(cell: str) -> Contender:
    """Our forecaster of one registered cell, named ``<display>Forecaster`` (``LSTMForecaster``)."""
    build = ours(NAMED[cell]) if cell in NAMED else ours(RNNForecaster, cell=cell)
    return DartsTorchContender(f"{get_cell(cell).display}Forecaster", "ours", cell, build=build,
                               past=True, future=True)


def zoo(setup: Setup, extra: Sequence[Contender] = (), cells: Sequence[str] = ("lstm", "gru")) -> list[Contender]:
    """Every contender for one dataset: ours, the Darts peers, ``extra``, the baselines.

    Parameters
    ----------
    setup
        The dataset's protocol and budget.
    cells
        The registered cells of ours (:mod:`rnn_forecast.nn.cells`), and of Darts'
        recurrent peers where Darts has the cell.
    extra
        Further peers, listed after the Darts ones (e.g.
        :func:`benchmarks.neuralforecast_peers.peers`).

    Returns
    -------
    list of Contender
    """
    models: list[Contender] = [ours_for(cell) for cell in cells]
    for cell in (c for c in cells if c in DARTS_CELLS):
        models.append(DartsTorchContender(f"Darts BlockRNNModel-{cell.upper()}", "peer", cell,
                                          build=_block_rnn(cell), past=True, future=True))
        models.append(DartsTorchContender(f"Darts RNNModel-{cell.upper()}", "peer", cell,
                                          build=_rnn(cell), future=True))
    models.append(DartsTorchContender("Darts DLinearModel", "peer", build=_dlinear, past=True, future=True))
    return models + list(extra) + baselines(setup)
