import sys

from rnn_forecast.tools.cli import main

sys.exit(main())
