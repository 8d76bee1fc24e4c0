"""Run every contender over every seed on one benchmark dataset and write the results.

Outputs, in ``out_dir``:

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
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch

from benchmarks import quiet
from benchmarks.neuralforecast_peers import peers as neuralforecast_peers
from benchmarks.peers import zoo
from benchmarks.suite.setups import build_task, setup_for
from rnn_forecast.datasets.registry import get
from rnn_forecast.evaluation.costs import environment
from rnn_forecast.evaluation.scoring import evaluate
from rnn_forecast.evaluation.task import Setup


def run_dataset(
    setup: Setup,
    out_dir: str | Path,
    data_dir=None,
    device: str = "cpu",
    threads: int = 1,
    neuralforecast: bool = True,
    command: str | None = None,
    log=print,
    cells: Sequence[str] = ("lstm", "gru"),
) -> pd.DataFrame:
    """Benchmark every contender on one dataset; write the CSVs and the JSON record.

    Parameters
    ----------
    setup
        Protocol and budget (:func:`~benchmarks.suite.setups.setup_for`).
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
    cells
        The two registered cells of ours to compare (:func:`benchmarks.peers.zoo`).

    Returns
    -------
    pandas.DataFrame
        The rows of ``<dataset>.csv``.
    """
    quiet()
    torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    task = build_task(setup, data_dir)
    peers, nf_status = neuralforecast_peers(neuralforecast)
    contenders = zoo(setup, extra=peers, cells=cells)
    log(f"[{setup.dataset}] {task.n_train_windows} training windows, {task.n_windows} test windows "
        f"per series, {len(task.series)} series; {nf_status}")
    result = evaluate(task, contenders, device, log=log)
    rows, by_horizon = result.rows, result.by_horizon
    shown = get(setup.dataset).plotted_windows * setup.horizon
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
