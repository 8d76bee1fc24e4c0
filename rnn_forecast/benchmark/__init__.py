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

Names are imported on first use, so that ``rnn-forecast --help`` stays light.
"""

_LAZY = {
    "DATASETS": "rnn_forecast.benchmark.protocol",
    "Setup": "rnn_forecast.benchmark.protocol",
    "Task": "rnn_forecast.benchmark.protocol",
    "build_task": "rnn_forecast.benchmark.protocol",
    "setup_for": "rnn_forecast.benchmark.protocol",
    "write_report": "rnn_forecast.benchmark.report",
    "run_dataset": "rnn_forecast.benchmark.runner",
    "Difference": "rnn_forecast.benchmark.verdict",
    "Recommendation": "rnn_forecast.benchmark.verdict",
    "recommend": "rnn_forecast.benchmark.verdict",
    "welch": "rnn_forecast.benchmark.verdict",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnn_forecast.benchmark' has no attribute {name!r}")


__all__ = sorted(_LAZY)
