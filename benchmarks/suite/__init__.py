"""The LSTM-or-GRU benchmark suite (``python -m benchmarks suite``): four real datasets.

================  ==============================================================
:mod:`.setups`    the datasets' tasks and budgets (quick and full)
:mod:`.runner`    runs one dataset, writes ``<out>/<dataset>.csv`` and companions
:mod:`.statistics`  verdicts and tests from the result files
:mod:`.markdown`  the report's tables (``DataFrame.to_markdown``) and sentences
:mod:`.plots`     the report's plots
:mod:`.report`    ``<out>/REPORT.md`` and ``<out>/plots/``, from the result files
:mod:`.cli`       ``python -m benchmarks suite``: run, report, README summaries
================  ==============================================================

The protocol, metrics, costs, our contenders and the noise test are the library's
(:mod:`rnn_forecast.evaluation`, which :func:`rnn_forecast.compare_cells` uses too); the
peers are :mod:`benchmarks.peers` and :mod:`benchmarks.neuralforecast_peers`. Import
names from the modules: the package itself imports nothing, so that
``python -m benchmarks --help`` stays light.
"""
