"""Concurrent predictions on one fitted model return what each returns alone (issue #36).

A network with dropout is switched to evaluation mode for a forecast, and Darts' path
through Lightning also sets the module's prediction parameters, its Monte Carlo
dropout flags and torch's global random generator: unguarded, concurrent calls undid
each other's settings (1-8 of 8 threads returned the serial forecast, differences up
to 0.38). Each test computes every call once, serially, then runs them all again from
many threads at once, in a shuffled order, and compares bit for bit.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from darts.utils.likelihood_models.torch import GaussianLikelihood

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

THREADS = 12
SERIES = make_series(length=240)
OTHER = make_series(length=200, seed=3)


def build(cls=GRUForecaster, **kwargs):
    params = {"input_chunk_length": ICL, "output_chunk_length": OCL, "hidden_dim": 8, "n_epochs": 2,
              "batch_size": 32, "random_state": 0, "pl_trainer_kwargs": dict(QUIET_TRAINER)}
    return cls(**{**params, **kwargs})


@pytest.fixture(scope="module")
def dropout_model():
    """Dropout between two recurrent layers and in the decoder: mode-dependent in every layer."""
    return build(LSTMForecaster, dropout=0.3, n_rnn_layers=2).fit(SERIES)


@pytest.fixture(scope="module")
def gaussian_model():
    return build(dropout=0.2, likelihood=GaussianLikelihood()).fit(SERIES)


def values(result) -> np.ndarray:
    """One array of a forecast, a list of forecasts or a number."""
    if isinstance(result, list):
        return np.concatenate([r.all_values() for r in result])
    return np.asarray(result.all_values() if hasattr(result, "all_values") else result)


def serial_then_concurrent(calls: dict, repeats: int) -> tuple[int, int, list[str]]:
    """Run ``calls`` once each, then ``repeats`` times each from ``THREADS`` threads.

    Returns how many concurrent results equal the serial one, out of how many, and
    the names of those that differ.
    """
    expected = {name: values(call()) for name, call in calls.items()}
    jobs = [name for name in calls for _ in range(repeats)]
    random.Random(0).shuffle(jobs)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda name: (name, values(calls[name]())), jobs))
    differ = [name for name, got in results if not np.array_equal(got, expected[name])]
    return len(results) - len(differ), len(results), differ


def test_deterministic_predictions_with_dropout_from_many_threads(dropout_model):
    # the trainer-free path: predict, historical_forecasts and backtest
    model = dropout_model
    mode = model.model.training
    calls = {
        "predict": lambda: model.predict(2 * OCL),
        "predict other series": lambda: model.predict(OCL, series=OTHER),
        "predict two series": lambda: model.predict(OCL, series=[SERIES, OTHER]),
        "historical_forecasts": lambda: model.historical_forecasts(
            SERIES, start=0.6, forecast_horizon=OCL, retrain=False, last_points_only=False),
        "backtest": lambda: model.backtest(SERIES, start=0.6, forecast_horizon=OCL, retrain=False),
    }
    agree, total, differ = serial_then_concurrent(calls, repeats=8)
    assert (agree, total) == (total, 40), f"{agree} of {total} agree; differing: {sorted(set(differ))}"
    assert model.model.training == mode  # the network's mode is as it was


def test_sampling_and_lightning_predictions_from_many_threads(dropout_model, gaussian_model):
    # through Lightning: Monte Carlo dropout on, likelihood samples and parameters, mixed
    # with the trainer-free forecasts of the same networks (MC dropout off)
    drop, gauss = dropout_model, gaussian_model
    calls = {
        "mc dropout off": lambda: drop.predict(OCL),
        "mc dropout on": lambda: drop.predict(OCL, num_samples=8, mc_dropout=True, random_state=1),
        "mc dropout on, other seed": lambda: drop.predict(OCL, num_samples=8, mc_dropout=True, random_state=2),
        "mc historical_forecasts": lambda: drop.historical_forecasts(
            SERIES, start=0.85, forecast_horizon=OCL, retrain=False, num_samples=4, last_points_only=False,
            random_state=3, predict_kwargs={"mc_dropout": True}),
        "likelihood samples": lambda: gauss.predict(OCL, num_samples=16, random_state=4),
        "likelihood parameters": lambda: gauss.predict(OCL, predict_likelihood_parameters=True),
        "likelihood with mc dropout": lambda: gauss.predict(OCL, num_samples=8, mc_dropout=True,
                                                            random_state=5),
        "likelihood mean": lambda: gauss.predict(OCL, series=OTHER, random_state=6),
    }
    agree, total, differ = serial_then_concurrent(calls, repeats=2)
    assert (agree, total) == (total, 16), f"{agree} of {total} agree; differing: {sorted(set(differ))}"
    # a deterministic forecast after it all is still the serial one: no Monte Carlo
    # dropout flag or training mode was left behind
    np.testing.assert_array_equal(drop.predict(OCL).values(), drop.predict(OCL).values())
    assert not any(getattr(m, "_mc_dropout_enabled", False) for m in drop.model.modules())
