"""The Darts adapter: the forecasters and what turns series into batches and back.

===================  =================================================================
:mod:`.forecaster`   ``RNNForecaster``, ``LSTMForecaster``, ``GRUForecaster`` (Darts
                     ``TorchForecastingModel`` subclasses with scikit-learn parameters)
:mod:`.inputs`       the single input gate: every check on series, covariates and
                     arguments, with errors that name the fix
:mod:`.windows`      batched training and inference windows (vectorized Darts datasets)
:mod:`.inference`    the trainer-free predict path
:mod:`.seasonality`  the season rule: calendar season, confirmed by the data
:mod:`.params`       scikit-learn's ``get_params``/``set_params``/``clone``
===================  =================================================================
"""
