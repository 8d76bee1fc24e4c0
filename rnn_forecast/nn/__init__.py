"""The network: recurrent cells, their layers and the Lightning module, with no Darts adapter.

====================  ================================================================
:mod:`.cells`         the cell registry: a ``Cell`` names its torch class, its state's
                      parts (``"h"``, ``"hc"``, ...) and its fused kernel
:mod:`.recurrence`    fused CPU LSTM/GRU kernels (numba) with their backward passes
:mod:`.backend`       where a recurrent layer runs: the fused kernel or ``torch.nn``
:mod:`.layers`        segment embedding, parallel segment decoder, MLP head
:mod:`.global_level`  the training data's level, fed to networks on normalized windows
:mod:`.module`        ``RecurrentForecastModule``: encoder, decoder, normalization,
                      seasonal anchor (a Darts ``PLForecastingModule``)
:mod:`.callbacks`     training-fault guards and the trainer defaults
:mod:`.early_stopping` ``BestEpoch`` and the validation-tail rule
====================  ================================================================
"""
