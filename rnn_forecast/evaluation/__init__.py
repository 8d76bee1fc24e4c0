"""Evaluating forecasters under one protocol: the library part of "LSTM or GRU?".

=====================  =============================================================
:mod:`.task`           ``Setup`` (protocol and budget) and ``Task`` (data split and
                       scaled under it): ``custom_task`` for a user's own series
:mod:`.metrics`        MSE, MAE, MASE, sMAPE (Darts) and directional accuracy
:mod:`.costs`          train time, parameters, peak memory, latency; the machine
:mod:`.verdict`        the noise test (Welch) and the LSTM-or-GRU recommendation
:mod:`.contenders`     ours and the naive baselines under one budget
:mod:`.scoring`        fit, time and score every contender over the seeds
=====================  =============================================================

:func:`rnn_forecast.compare_cells` is built from these alone; the repository's benchmark
suite (``benchmarks/``, not installed) adds the datasets, the budgets, the peers and
the report. Names
are imported on first use.
"""

from rnn_forecast._lazy import lazy_attributes

_LAZY = {
    "Setup": "rnn_forecast.evaluation.task",
    "Task": "rnn_forecast.evaluation.task",
    "custom_task": "rnn_forecast.evaluation.task",
    "Contender": "rnn_forecast.evaluation.contenders",
    "ours": "rnn_forecast.evaluation.contenders",
    "baselines": "rnn_forecast.evaluation.contenders",
    "Evaluation": "rnn_forecast.evaluation.scoring",
    "evaluate": "rnn_forecast.evaluation.scoring",
    "Difference": "rnn_forecast.evaluation.verdict",
    "Recommendation": "rnn_forecast.evaluation.verdict",
    "recommend": "rnn_forecast.evaluation.verdict",
    "welch": "rnn_forecast.evaluation.verdict",
    "measure": "rnn_forecast.evaluation.costs",
}


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


__all__ = sorted(_LAZY)
