"""Search spaces for :class:`~rnn_forecast.tools.tune.AutoRNNForecaster`.

A search space maps :class:`~rnn_forecast.RNNForecaster` parameter names (plus
``"lr"``, the Adam learning rate) to a :class:`Choice`, an :class:`IntRange`, a
:class:`FloatRange`, or a plain value, which fixes the parameter.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rnn_forecast.adapter.forecaster import RNNForecaster
from rnn_forecast.nn.cells import cell_names


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (Optuna ``suggest_categorical``)."""

    options: Sequence

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.options))


@dataclass(frozen=True)
class _Range:
    """A number in ``[low, high]``, drawn by the Optuna method ``_suggest`` names."""

    low: float
    high: float
    log: bool = False
    _suggest: ClassVar[str]

    def suggest(self, trial, name: str):
        return getattr(trial, self._suggest)(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class IntRange(_Range):
    """An integer in ``[low, high]`` (Optuna ``suggest_int``)."""

    low: int
    high: int
    _suggest: ClassVar[str] = "suggest_int"


@dataclass(frozen=True)
class FloatRange(_Range):
    """A float in ``[low, high]`` (Optuna ``suggest_float``), log-uniform with ``log=True``."""

    _suggest: ClassVar[str] = "suggest_float"


def searchable_parameters() -> set[str]:
    """Names a search space may use: ``RNNForecaster``'s constructor parameters and ``lr``."""
    params = set(inspect.signature(RNNForecaster.__init__).parameters) - {"self", "kwargs"}
    return params | {"lr", "batch_size"}


def default_search_space(output_chunk_length: int) -> dict:
    """Cell, width, depth, lookback, dropout, learning rate, segments and normalization.

    ``cell`` is every registered cell (:func:`rnn_forecast.nn.cells.cell_names`).

    ``segment_length`` is the default rule (``"auto"``) or one recurrent step per time
    step (``None``); ``normalization`` is the default (``"level_scale"``) or the last
    value only (``"level"``, better on data that is already standardized: docs/defaults.md).

    Parameters
    ----------
    output_chunk_length
        The forecast horizon ``T``; lookbacks of ``T``, ``2T`` and ``4T`` are tried.
    """
    h = output_chunk_length
    return {
        "cell": Choice(cell_names()),
        "hidden_dim": Choice((16, 32, 64, 128)),
        "n_rnn_layers": IntRange(1, 2),
        "input_chunk_length": Choice((h, 2 * h, 4 * h)),
        "dropout": FloatRange(0.0, 0.3),
        "lr": FloatRange(1e-4, 1e-2, log=True),
        "segment_length": Choice(("auto", None)),
        "normalization": Choice(("level_scale", "level")),
    }


def fitting_segments(spec, lookbacks: Sequence[int]):
    """Keep the segment lengths no longer than every lookback (``None``, ``"auto"`` always fit)."""
    if not isinstance(spec, Choice):
        return spec
    return Choice(tuple(s for s in spec.options
                        if s is None or s == "auto" or all(s <= L for L in lookbacks)))


def sample(trial, space: dict) -> dict:
    """Draw one configuration of ``space`` for an Optuna ``trial``."""
    return {name: spec.suggest(trial, name) if hasattr(spec, "suggest") else spec
            for name, spec in space.items()}


def check_space(space: dict) -> None:
    """Raise a ``ValueError`` naming any parameter ``RNNForecaster`` does not have."""
    unknown = sorted(set(space) - searchable_parameters())
    if unknown:
        raise ValueError(f"Unknown search-space parameters {unknown}; RNNForecaster takes "
                         f"{sorted(searchable_parameters())}.")
