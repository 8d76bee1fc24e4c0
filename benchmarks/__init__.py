"""The repository's benchmarks: one package, one command line (``python -m benchmarks``).

Every number in the README, ``docs/`` and ``benchmarks/results/`` comes from one of the
commands that ``python -m benchmarks --help`` lists; each command is a module here with a
``main(argv)``. The library (``rnn_forecast``) installs none of this: the benchmark
suite, the peers (Darts' and NeuralForecast's models) and the report live only in the
repository. Run from the repository root.
"""

from __future__ import annotations

import logging
import warnings


def quiet() -> None:
    """Silence warnings and the chatter of Lightning, Darts and NeuralForecast (errors still show).

    For the benchmark commands, which own their process: it changes the warning filters
    and logger levels of the whole process, so a library function never calls it.
    """
    warnings.filterwarnings("ignore")
    for name in ("pytorch_lightning", "lightning_fabric", "lightning", "darts", "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)
