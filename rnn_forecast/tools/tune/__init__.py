"""Hyper-parameter search for the recurrent forecasters (needs the ``[tune]`` extra: Optuna).

==========================  ========================================================
:class:`AutoRNNForecaster`  Optuna search over cell, size, depth, lookback, dropout,
                            learning rate; refits the best; parallel/distributed
                            through Optuna storage
``Choice``, ``IntRange``,   search-space entries
``FloatRange``
==========================  ========================================================

Trials are pruned by Darts' own ``darts.utils.callbacks.PyTorchLightningPruningCallback``.
"""

from rnn_forecast.tools.tune.auto import AutoRNNForecaster
from rnn_forecast.tools.tune.space import Choice, FloatRange, IntRange, default_search_space

__all__ = ["AutoRNNForecaster", "Choice", "FloatRange", "IntRange", "default_search_space"]
