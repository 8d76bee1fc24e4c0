"""The contenders: our forecasters, Darts peers and baselines under one budget.

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
(:mod:`rnn_forecast.evaluation.neuralforecast`, which imports this module, not the
other way round).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from darts import TimeSeries
from darts.models import (
    BlockRNNModel,
    DLinearModel,
    NaiveDrift,
    NaiveSeasonal,
    RNNModel,
)

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.evaluation.costs import count_parameters
from rnn_forecast.evaluation.task import Setup, Task, concat_windows


def trainer_kwargs(device: str) -> dict:
    """Quiet Lightning settings on one CPU or one GPU."""
    return {
        "accelerator": "gpu" if device == "gpu" else "cpu",
        "devices": 1,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "logger": False,
    }


@dataclass
class Contender:
    """A model under evaluation: how to fit it, backtest it and time one forecast.

    Attributes
    ----------
    name
        Row label in the results.
    family
        ``"ours"``, ``"peer"`` or ``"baseline"``.
    cell
        ``"lstm"``/``"gru"`` for recurrent models, else ``None``.
    stochastic
        Whether the result depends on the seed (baselines do not: they run once).
    """

    name: str
    family: str
    cell: str | None = None
    stochastic: bool = True
    n_params: int = 0
    windows_seen: int = 0
    epochs: int = 0
    _model: object = field(default=None, repr=False)

    def fit(self, task: Task, seed: int, device: str) -> None:
        """Train on ``task.train`` (timed by the runner)."""

    def backtest(self, task: Task) -> list[TimeSeries]:
        """Rolling-origin forecasts over the test period, in original units."""
        raise NotImplementedError

    def predict_once(self, task: Task) -> None:
        """One ``horizon``-step forecast of the first series (for the latency)."""
        raise NotImplementedError


@dataclass
class DartsTorchContender(Contender):
    """A Darts torch model (ours or a peer), fitted once and backtested without retraining."""

    build: object = field(default=None, repr=False)  # (setup, seed, trainer_kwargs) -> model
    past: bool = False
    future: bool = False

    def _covariates(self, task: Task, index: int | None = None) -> dict:
        covs = {}
        if self.past and task.past_covariates is not None:
            covs["past_covariates"] = task.past_covariates
        if self.future and task.future_covariates is not None:
            covs["future_covariates"] = task.future_covariates
        if index is not None:
            covs = {k: v[index] for k, v in covs.items()}
        return covs

    def fit(self, task: Task, seed: int, device: str) -> None:
        self._model = self.build(task.setup, seed, trainer_kwargs(device))
        self._model.fit(task.train, **self._covariates(task), stride=task.setup.train_stride)
        trainer = self._model.trainer
        self.epochs = trainer.current_epoch
        # optimizer steps x batch: also right when a time budget stops an epoch midway
        self.windows_seen = trainer.global_step * self._model.batch_size
        self.n_params = count_parameters(self._model.model)

    def backtest(self, task: Task) -> list[TimeSeries]:
        h = task.setup.horizon
        windows = self._model.historical_forecasts(
            task.series, **self._covariates(task), start=task.test_start, forecast_horizon=h,
            stride=h, retrain=False, last_points_only=False, overlap_end=False, verbose=False,
        )
        return task.to_original(concat_windows(windows))

    def predict_once(self, task: Task) -> None:
        self._model.predict(task.setup.horizon, series=task.train[0], **self._covariates(task, 0),
                            verbose=False)


@dataclass
class BaselineContender(Contender):
    """A Darts local baseline, refitted on the history at every forecast origin."""

    build: object = field(default=None, repr=False)  # () -> model

    def backtest(self, task: Task) -> list[TimeSeries]:
        h = task.setup.horizon
        windows = self.build().historical_forecasts(
            task.original, start=task.test_start, forecast_horizon=h, stride=h, retrain=True,
            last_points_only=False, overlap_end=False, verbose=False,
        )
        return concat_windows(windows)

    def predict_once(self, task: Task) -> None:
        history = task.original[0].drop_after(task.test_start)
        self.build().fit(history).predict(task.setup.horizon)


def _budget(setup: Setup, seed: int, trainer: dict) -> dict:
    """What every trained Darts model shares: epochs, batch, learning rate, seed, trainer."""
    return {
        "n_epochs": setup.epochs,
        "batch_size": setup.batch_size,
        "optimizer_kwargs": {"lr": setup.lr},
        "random_state": seed,
        "pl_trainer_kwargs": trainer,
    }


def _peer(setup: Setup, seed: int, trainer: dict) -> dict:
    """A Darts peer's settings: the budget, our loss (L1) and window normalization (RevIN)."""
    return {**_budget(setup, seed, trainer), "loss_fn": torch.nn.L1Loss(),
            "use_reversible_instance_norm": True}


def _ours(cls, **options):
    def build(setup: Setup, seed: int, trainer: dict):
        # the defaults (architecture, normalization, L1 loss), changed by `options`
        # (benchmarks/levers.py), plus the shared budget
        return cls(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                   hidden_dim=setup.hidden_dim, n_rnn_layers=setup.n_rnn_layers,
                   **_budget(setup, seed, trainer), **options)
    return build


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


def baselines(setup: Setup) -> list[Contender]:
    """Naive (repeat last), seasonal naive for each of ``setup.naive_seasons`` > 1, drift."""
    out = []
    for k in setup.naive_seasons:
        name = "Naive" if k == 1 else f"SeasonalNaive({k})"
        out.append(BaselineContender(name, "baseline", stochastic=False,
                                     build=lambda k=k: NaiveSeasonal(K=k)))
    out.append(BaselineContender("Drift", "baseline", stochastic=False, build=NaiveDrift))
    return out


def zoo(setup: Setup, extra: Sequence[Contender] = ()) -> list[Contender]:
    """Every contender for one dataset: ours, the Darts peers, ``extra``, the baselines.

    Parameters
    ----------
    setup
        The dataset's protocol and budget.
    extra
        Further peers, listed after the Darts ones (e.g.
        :func:`rnn_forecast.evaluation.neuralforecast.peers`).

    Returns
    -------
    list of Contender
    """
    models: list[Contender] = [
        DartsTorchContender("LSTMForecaster", "ours", "lstm", build=_ours(LSTMForecaster), past=True, future=True),
        DartsTorchContender("GRUForecaster", "ours", "gru", build=_ours(GRUForecaster), past=True, future=True),
    ]
    for cell in ("lstm", "gru"):
        models.append(DartsTorchContender(f"Darts BlockRNNModel-{cell.upper()}", "peer", cell,
                                          build=_block_rnn(cell), past=True, future=True))
        models.append(DartsTorchContender(f"Darts RNNModel-{cell.upper()}", "peer", cell,
                                          build=_rnn(cell), future=True))
    models.append(DartsTorchContender("Darts DLinearModel", "peer", build=_dlinear, past=True, future=True))
    return models + list(extra) + baselines(setup)
