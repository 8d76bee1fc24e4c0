"""The LSTM-or-GRU benchmark: a fixed protocol on real data, against peers and baselines.

================  ==============================================================
:mod:`.protocol`  datasets, splits, scaling, budgets (quick and full)
:mod:`.models`    the model zoo under one budget (ours, Darts peers, baselines)
:mod:`.neuralforecast_peers`  NeuralForecast's LSTM/GRU (optional extra ``[peers]``)
:mod:`.metrics`   MSE, MAE, MASE, sMAPE (Darts) and directional accuracy
:mod:`.costs`     train time, throughput, parameters, peak memory, latency
:mod:`.verdict`   the noise test (Welch) and the LSTM-or-GRU recommendation
:mod:`.runner`    runs one dataset, writes ``benchmarks/results/<dataset>.csv``
:mod:`.report`    ``benchmarks/REPORT.md`` and its plots, from the result files
:mod:`.cli`       ``rnn-forecast benchmark`` / ``python -m rnn_forecast.benchmark``
================  ==============================================================
"""

from rnn_forecast.benchmark.protocol import DATASETS, Setup, Task, build_task, setup_for
from rnn_forecast.benchmark.report import write_report
from rnn_forecast.benchmark.runner import run_dataset
from rnn_forecast.benchmark.verdict import Difference, Recommendation, recommend, welch

__all__ = [
    "DATASETS",
    "Difference",
    "Recommendation",
    "Setup",
    "Task",
    "build_task",
    "recommend",
    "run_dataset",
    "setup_for",
    "welch",
    "write_report",
]
