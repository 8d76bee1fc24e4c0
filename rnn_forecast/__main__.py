import sys

from rnn_forecast.cli import main

sys.exit(main())
