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
README, is ``python benchmarks/main.py``. Import names from the modules: the package
itself imports nothing, so that ``rnn-forecast --help`` stays light.
"""
