"""What users run on top of the forecasters.

=====================  ===============================================================
:mod:`.compare`        ``compare_cells``: LSTM or GRU on your data, with the noise test
:mod:`.budget`         training budgets (epochs, wall-clock time) for comparisons
:mod:`.tune`           ``AutoRNNForecaster`` (Optuna; the ``[tune]`` extra)
:mod:`.cli`            the ``rnn-forecast`` command line (``forecast``, ``datasets``)
:mod:`.cli_settings`   how ``rnn-forecast forecast --csv`` picks its windows and budget
:mod:`.testing`        the conformance checks, for forecasters and cells of your own
=====================  ===============================================================
"""
