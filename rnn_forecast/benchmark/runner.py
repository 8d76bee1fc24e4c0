"""Run every contender over every seed on one dataset and write the results.

Outputs, in ``out_dir`` (``benchmarks/results`` by default):

=============================  =========================================================
``<dataset>.csv``              one row per model and seed: accuracy, costs, budget
``<dataset>_by_horizon.csv``   MAE at each step ahead, per model and seed
``<dataset>_forecasts.csv``    every trained model's first test windows of seed 0 (the
                               actual values and the baselines' forecasts, which are
                               copies of the data, are not stored: the report
                               recomputes them from the dataset)
``<dataset>.json``             protocol, notes, environment, command and wall time
=============================  =========================================================
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from darts import TimeSeries

from rnn_forecast.benchmark import metrics
from rnn_forecast.benchmark.costs import measure, median_latency_ms
from rnn_forecast.benchmark.models import Contender, zoo
from rnn_forecast.benchmark.protocol import Setup, Task, build_task, setup_for

PLOTTED_WINDOWS = {"traffic": 7, "weather": 8, "stocks": 12, "etth1": 7}


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_summary() -> str:
    """One line for a results file: CPU, cores, torch (threads), Darts, rnn_forecast."""
    import darts

    import rnn_forecast

    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), darts {darts.__version__}, "
            f"rnn_forecast {rnn_forecast.__version__}")


def environment(threads: int, device: str) -> dict:
    """Hardware and library versions, for the report."""
    import darts
    import pytorch_lightning

    env = {
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": threads,
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "gpu" and torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "darts": darts.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }
    try:
        import neuralforecast

        env["neuralforecast"] = neuralforecast.__version__
    except ImportError:
        env["neuralforecast"] = None
    return env


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning_fabric", "lightning", "darts", "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _score(task: Task, contender: Contender, seed, fit_m, device: str) -> tuple[dict, np.ndarray, list]:
    began = time.perf_counter()
    forecasts = contender.backtest(task)
    backtest_s = time.perf_counter() - began
    row = {
        "model": contender.name,
        "family": contender.family,
        "cell": contender.cell or "",
        "seed": seed,
        **metrics.accuracy(task.original, forecasts, task.setup.season),
    }
    if task.setup.dataset == "stocks":
        row.update(metrics.direction(task.original, forecasts, task.setup.horizon))
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
    return row, metrics.error_by_horizon(task.original, forecasts, task.setup.horizon), forecasts


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes
    ----------
    rows
        One dict per model and seed (seed ``None`` for deterministic baselines): the
        metrics of :mod:`.metrics` and the costs of :mod:`.costs`.
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


def run_dataset(
    setup: Setup,
    out_dir: str | Path,
    data_dir=None,
    device: str = "cpu",
    threads: int = 1,
    neuralforecast: bool = True,
    command: str | None = None,
    log=print,
) -> pd.DataFrame:
    """Benchmark every contender on one dataset; write the CSVs and the JSON record.

    Parameters
    ----------
    setup
        Protocol and budget (:func:`~rnn_forecast.benchmark.protocol.setup_for`).
    out_dir
        Folder for the outputs (created).
    data_dir
        Dataset folder (default ``$RNN_FORECAST_DATA``).
    device
        ``"cpu"`` or ``"gpu"``.
    threads
        ``torch.set_num_threads``: 1 by default, because on a shared 2-core machine
        two intra-op threads spin-wait on each other whenever another process takes a
        core, which made training times vary 20-fold between identical runs.
    neuralforecast
        Include NeuralForecast's LSTM/GRU when installed.
    command
        The command line, recorded in the JSON.
    log
        Progress printer.

    Returns
    -------
    pandas.DataFrame
        The rows of ``<dataset>.csv``.
    """
    _quiet()
    torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    task = build_task(setup, data_dir)
    contenders, nf_status = zoo(setup, neuralforecast=neuralforecast)
    log(f"[{setup.dataset}] {task.n_train_windows} training windows, {task.n_windows} test windows "
        f"per series, {len(task.series)} series; {nf_status}")
    result = evaluate(task, contenders, device, log=log)
    rows, by_horizon = result.rows, result.by_horizon
    shown = PLOTTED_WINDOWS[setup.dataset] * setup.horizon
    trained = {c.name for c in contenders if c.family != "baseline"}
    plotted = {name: forecasts[0][:shown] for name, forecasts in result.forecasts.items()
               if name in trained}
    frame = pd.DataFrame(rows)
    frame.insert(0, "dataset", setup.dataset)
    frame.to_csv(out / f"{setup.dataset}.csv", index=False, float_format="%.6g")
    pd.DataFrame(by_horizon).to_csv(out / f"{setup.dataset}_by_horizon.csv", index=False, float_format="%.6g")
    times = pd.Index(next(iter(plotted.values())).time_index, name="time")
    pd.DataFrame({name: f.values()[:, 0] for name, f in plotted.items()}, index=times).to_csv(
        out / f"{setup.dataset}_forecasts.csv", float_format="%.6g")
    full = setup_for(setup.dataset, quick=False)
    full_windows = task.n_train_windows if full == setup else build_task(full, data_dir).n_train_windows
    record_json = {
        "setup": asdict(setup),
        "full_setup": asdict(full),
        "full_train_windows": full_windows,
        "series": task.names[0] if len(task.names) == 1 else f"{len(task.names)} series",
        "n_series": len(task.names),
        "n_train_windows": task.n_train_windows,
        "n_test_windows_per_series": task.n_windows,
        "test_start": str(task.test_start),
        "notes": task.notes,
        "neuralforecast": nf_status,
        "environment": environment(threads, device),
        "command": command or " ".join(sys.argv),
        "wall_s": time.perf_counter() - began,
    }
    (out / f"{setup.dataset}.json").write_text(json.dumps(record_json, indent=2, default=str) + "\n")
    log(f"[{setup.dataset}] done in {record_json['wall_s']:.0f} s -> {out / (setup.dataset + '.csv')}")
    return frame
