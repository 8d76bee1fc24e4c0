"""Hyper-parameter search for the recurrent forecasters (needs the ``[tune]`` extra: Optuna).

==========================  ========================================================
:class:`AutoRNNForecaster`  Optuna search over cell, size, depth, lookback, dropout,
                            learning rate; refits the best; parallel/distributed
                            through Optuna storage
:class:`OptunaPruning`      Lightning callback: report ``val_loss``, stop pruned trials
``Choice``, ``IntRange``,   search-space entries
``FloatRange``
==========================  ========================================================
"""

from rnn_forecast.tune.auto import AutoRNNForecaster
from rnn_forecast.tune.pruning import OptunaPruning
from rnn_forecast.tune.space import Choice, FloatRange, IntRange, default_search_space

__all__ = ["AutoRNNForecaster", "Choice", "FloatRange", "IntRange", "OptunaPruning", "default_search_space"]
