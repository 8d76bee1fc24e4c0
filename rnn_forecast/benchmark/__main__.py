"""``python -m rnn_forecast.benchmark``: same as ``rnn-forecast benchmark``."""

import sys

from rnn_forecast.benchmark.cli import main

sys.exit(main())
