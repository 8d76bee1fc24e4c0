"""The LSTM-or-GRU benchmark suite behind ``rnn-forecast benchmark``: four real datasets.

================  ==============================================================
:mod:`.setups`    the datasets' tasks and budgets (quick and full)
:mod:`.runner`    runs one dataset, writes ``<out>/<dataset>.csv`` and companions
:mod:`.statistics`  verdicts and tests from the result files
:mod:`.markdown`  the report's tables (``DataFrame.to_markdown``) and sentences
:mod:`.plots`     the report's plots
:mod:`.report`    ``<out>/REPORT.md`` and ``<out>/plots/``, from the result files
:mod:`.cli`       ``rnn-forecast benchmark`` / ``python -m rnn_forecast.benchmark``
================  ==============================================================

The protocol, metrics, costs, contenders and noise test are the library's
(:mod:`rnn_forecast.evaluation`). The repository's own run, which also refreshes the
README, is ``python benchmarks/main.py``. Names are imported on first use, so that
``rnn-forecast --help`` stays light.
"""

_LAZY = {
    "DATASETS": "rnn_forecast.benchmark.setups",
    "build_task": "rnn_forecast.benchmark.setups",
    "setup_for": "rnn_forecast.benchmark.setups",
    "write_report": "rnn_forecast.benchmark.report",
    "run_dataset": "rnn_forecast.benchmark.runner",
    # the library's evaluation names, kept here for code written against the old layout
    "Setup": "rnn_forecast.evaluation.task",
    "Task": "rnn_forecast.evaluation.task",
    "Difference": "rnn_forecast.evaluation.verdict",
    "Recommendation": "rnn_forecast.evaluation.verdict",
    "recommend": "rnn_forecast.evaluation.verdict",
    "welch": "rnn_forecast.evaluation.verdict",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnn_forecast.benchmark' has no attribute {name!r}")


__all__ = sorted(_LAZY)
