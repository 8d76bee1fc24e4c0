"""Fit, time and score every contender on one task, once per seed.

:func:`evaluate` is the loop shared by :func:`rnn_forecast.compare_cells`, the
benchmark suite (:func:`benchmarks.suite.runner.run_dataset`) and the scripts
under ``benchmarks/``: deterministic contenders (baselines) run once, trained ones once
per seed (seeds outermost), each fit timed and its peak memory measured
(:func:`~rnn_forecast.evaluation.costs.measure`), each backtest scored
(:mod:`~rnn_forecast.evaluation.metrics`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np
from darts import TimeSeries

from rnn_forecast.evaluation import metrics
from rnn_forecast.evaluation.contenders import Contender
from rnn_forecast.evaluation.costs import measure, median_latency_ms
from rnn_forecast.evaluation.task import Task


def _score(task: Task, contender: Contender, seed, fit_m, device: str) -> tuple[dict, np.ndarray, list]:
    began = time.perf_counter()
    by_phase = [contender.backtest(phase) for phase in task.phases()]  # one, unless the setup scores every origin
    backtest_s = time.perf_counter() - began
    scores, errors = [], []
    for forecasts in by_phase:
        score = metrics.accuracy(task.original, forecasts, task.setup.season)
        if task.setup.directional:
            score.update(metrics.direction(task.original, forecasts, task.setup.horizon))
        scores.append(score)
        errors.append(metrics.error_by_horizon(task.original, forecasts, task.setup.horizon))
    row = {
        "model": contender.name,
        "family": contender.family,
        "cell": contender.cell or "",
        "seed": seed,
        **{key: float(np.mean([s[key] for s in scores])) for key in scores[0]},
    }
    trained = fit_m is not None
    row.update({
        "train_s": fit_m.seconds if trained else np.nan,
        "windows_per_s": contender.windows_seen / fit_m.seconds if trained else np.nan,
        "peak_mem_mb": fit_m.peak_mb if trained else np.nan,
        "params": contender.n_params,
        "epochs": contender.epochs if trained else np.nan,
        "windows_seen": contender.windows_seen if trained else np.nan,
        "predict_ms": median_latency_ms(lambda: contender.predict_once(task)),
        "backtest_s": backtest_s,
        "device": device,
    })
    return row, np.mean(errors, axis=0), by_phase[0]


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    rows
        One dict per model and seed (seed ``None`` for deterministic baselines): the
        metrics of :mod:`~rnn_forecast.evaluation.metrics` and the costs of
        :mod:`~rnn_forecast.evaluation.costs`.
    by_horizon
        One dict per model, seed and step ahead: ``{"model", "seed", "step", "mae"}``.
    forecasts
        Per model, the first seed's rolling forecasts of each series (original units).
    """

    rows: list[dict] = field(default_factory=list)
    by_horizon: list[dict] = field(default_factory=list)
    forecasts: dict[str, list[TimeSeries]] = field(default_factory=dict)


def evaluate(task: Task, contenders: list[Contender], device: str = "cpu", warm_up: bool = True,
             log=print) -> Evaluation:
    """Fit, time and score every contender on ``task``, once per seed of ``task.setup``.

    Parameters
    ----------
    task
        The prepared data and protocol.
    contenders
        Models to run; deterministic ones (baselines) run once.
    device
        ``"cpu"`` or ``"gpu"``.
    warm_up
        Fit each trained model once, unmeasured, for one epoch over every eighth
        training window, before the measured runs: lazy imports and kernel set-up would
        otherwise be billed to whichever model happens to run first.
    log
        Progress printer, one line per run, under a progress bar with the ETA (``None``
        for silence: no lines, no bar).

    Returns
    -------
    Evaluation
    """
    from tqdm.auto import tqdm

    setup = task.setup
    runs = sum(1 if not c.stochastic else len(setup.seeds) for c in contenders)
    # with a printer, a progress bar with the ETA (on stderr; the log lines print above it)
    bar = tqdm(total=runs, desc=f"[{setup.dataset}] runs", unit="run", disable=log is None, file=sys.stderr)
    printer = log or (lambda *_: None)

    def log(message: str) -> None:
        with bar.external_write_mode():
            printer(message)
        bar.update(1)

    result = Evaluation()

    def record(contender: Contender, seed, fit_m):
        row, errors, forecasts = _score(task, contender, seed, fit_m, device)
        result.rows.append(row)
        result.by_horizon.extend({"model": contender.name, "seed": seed, "step": i + 1, "mae": float(e)}
                                 for i, e in enumerate(errors))
        if seed in (setup.seeds[0], None):
            result.forecasts[contender.name] = forecasts
        log(f"[{setup.dataset}] {contender.name:<30} seed {seed}: MASE {row['mase']:.4f} "
            f"MAE {row['mae']:.4g} train {row['train_s']:.1f} s")

    for contender in contenders:
        if not contender.stochastic:
            record(contender, None, None)
    if warm_up:  # one epoch over every 8th of the training windows: set-up costs, not training
        short = replace(task, setup=replace(setup, epochs=1, train_stride=8 * setup.train_stride))
        for contender in contenders:
            if contender.stochastic:
                contender.fit(short, setup.seeds[0], device)
    for seed in setup.seeds:  # seeds outermost: slow drifts of the machine hit all models alike
        for contender in contenders:
            if contender.stochastic:
                with measure(device) as fit_m:
                    contender.fit(task, seed, device)
                record(contender, seed, fit_m)
    bar.close()
    return result
