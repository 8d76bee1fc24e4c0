"""What the two speed sections against Darts share: timing ``fit``, ``predict`` and rolling forecasts.

``default_speed`` (each side with its own defaults) and ``kernel_speed`` (one
architecture on both sides) time our forecasters and Darts' ``BlockRNNModel`` in one
process, the same way: the models built afresh and fitted in turns (a drift of the
machine hits every model alike) after a warm-up fit, a warm-up call before every timed
prediction, and our trainer-free rolling forecasts checked against the same model's
forecasts through a Lightning trainer. The sections differ in their models, sizes and
tables; the timing is here.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from collections.abc import Callable

import numpy as np
import pytorch_lightning as pl

from rnn_forecast.evaluation.costs import measure

#: A quiet CPU trainer for every model of both sections.
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False, "enable_checkpointing": False}


def quiet_loggers() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
        logging.getLogger(name).setLevel(logging.ERROR)


def timed(fn: Callable, repeats: int = 1, memory: bool = False) -> tuple[list[float], float | None, object]:
    """Wall seconds of each of ``repeats`` calls, the peak memory they added, the last result.

    With ``memory``, one measurement (:func:`rnn_forecast.evaluation.costs.measure`) spans
    all the calls: its set-up (a full garbage collection, a third of a second) must not
    come before every call of a millisecond. Without it, the peak is ``None``.
    """
    seconds = []
    with measure("cpu") if memory else contextlib.nullcontext() as mem:
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            seconds.append(time.perf_counter() - start)
    return seconds, None if mem is None else mem.peak_mb, out


def fit_in_turns(factories: dict[str, Callable], train, windows: int, repeats: int, warm_up_windows: int,
                 memory: bool = False) -> tuple[dict[str, list[float]], dict[str, float | None], dict]:
    """Fit every model ``repeats`` times, in turns, over ``windows`` training windows.

    Returns each model's seconds per fit, the peak memory of its last fit, and the
    models of the last round, fitted.
    """
    for make in factories.values():  # warm-up: imports, kernel compilation caches, oneDNN primitives
        make().fit(train, max_samples_per_ts=warm_up_windows)
    seconds, peak, fitted = {name: [] for name in factories}, {}, {}
    for _ in range(repeats):
        for name, make in factories.items():
            model = fitted[name] = make()
            runs, peak[name], _ = timed(lambda model=model: model.fit(train, max_samples_per_ts=windows),
                                        memory=memory)
            seconds[name] += runs
    return seconds, peak, fitted


def predict_latency(fitted: dict, series, horizon: int, calls: int,
                    memory: bool = False) -> dict[str, tuple[float, float | None]]:
    """Median seconds of ``predict(horizon, series=series)`` over ``calls`` calls, after a
    warm-up call, and the peak memory the calls added, per model."""
    out = {}
    for name, model in fitted.items():
        model.predict(horizon, series=series)  # warm-up
        seconds, peak, _ = timed(lambda model=model: model.predict(horizon, series=series), calls, memory)
        out[name] = (statistics.median(seconds), peak)
    return out


def rolling_kwargs(lookback: int, horizon: int) -> dict:
    """``historical_forecasts`` from the first possible origin, every step, the model as fitted."""
    return dict(start=lookback, start_format="position", forecast_horizon=horizon, stride=1, retrain=False,
                verbose=False)


def warm_up_rolling(models: dict, test, lookback: int, horizon: int) -> None:
    """One short rolling call per model: the first call pays one-off set-up costs."""
    for model in models.values():
        model.historical_forecasts(test[: lookback + 2 * horizon], **rolling_kwargs(lookback, horizon))


def through_lightning(model, test, lookback: int, horizon: int, fast) -> tuple[float, int, float]:
    """Our model's rolling forecasts through a Lightning trainer (Darts' own path).

    Returns their seconds, their count and the largest absolute difference from ``fast``,
    the same forecasts from our trainer-free path.
    """
    kwargs = rolling_kwargs(lookback, horizon)
    start = time.perf_counter()
    slow = model.historical_forecasts(test, **kwargs, predict_kwargs={"trainer": pl.Trainer(**TRAINER)})
    seconds = time.perf_counter() - start
    return seconds, len(slow), float(np.abs(fast.values() - slow.values()).max())
