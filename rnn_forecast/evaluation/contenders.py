"""The contenders: our forecasters and the naive baselines, under one budget.

A :class:`Contender` is a model under evaluation, seen by
:func:`~rnn_forecast.evaluation.scoring.evaluate`: how to fit it, backtest it and time
one forecast. :class:`DartsTorchContender` wraps any Darts torch model (ours here,
Darts' and NeuralForecast's peers in the repository's ``benchmarks/`` package), built by
a function ``(setup, seed, trainer_kwargs) -> model`` such as :func:`ours`; every trained
model shares the lookback, horizon, training windows, epochs, batch size, learning rate
(Adam), hidden size, recurrent layers and seed of its :class:`~.task.Setup`
(:func:`budget_kwargs`). :class:`BaselineContender` is a Darts local baseline refitted
at every forecast origin; :func:`baselines` lists naive (repeat the last value),
seasonal naive (Darts ``NaiveSeasonal(K)``) and drift (``NaiveDrift``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from darts import TimeSeries
from darts.models import NaiveDrift, NaiveSeasonal

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


def budget_kwargs(setup: Setup, seed: int, trainer: dict) -> dict:
    """What every trained Darts model shares: epochs, batch, learning rate, seed, trainer."""
    return {
        "n_epochs": setup.epochs,
        "batch_size": setup.batch_size,
        "optimizer_kwargs": {"lr": setup.lr},
        "random_state": seed,
        "pl_trainer_kwargs": trainer,
    }


def ours(cls, **options):
    """A builder ``(setup, seed, trainer) -> model`` of ``cls`` with its defaults, ``options`` and the shared budget."""
    def build(setup: Setup, seed: int, trainer: dict):
        # the defaults (architecture, normalization, L1 loss), changed by `options`
        # (``python -m benchmarks options main-job``), plus the shared budget
        return cls(input_chunk_length=setup.lookback, output_chunk_length=setup.horizon,
                   hidden_dim=setup.hidden_dim, n_rnn_layers=setup.n_rnn_layers,
                   **budget_kwargs(setup, seed, trainer), **options)
    return build


def baselines(setup: Setup) -> list[Contender]:
    """Naive (repeat last), seasonal naive for each of ``setup.naive_seasons`` > 1, drift."""
    out = []
    for k in setup.naive_seasons:
        name = "Naive" if k == 1 else f"SeasonalNaive({k})"
        out.append(BaselineContender(name, "baseline", stochastic=False,
                                     build=lambda k=k: NaiveSeasonal(K=k)))
    out.append(BaselineContender("Drift", "baseline", stochastic=False, build=NaiveDrift))
    return out
