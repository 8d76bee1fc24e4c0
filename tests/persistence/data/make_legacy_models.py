"""Write the old model files of tests/persistence/test_legacy_files.py, with the version that wrote them.

0.1.0: `git worktree add /tmp/v01 eed1593 &&
PYTHONPATH=/tmp/v01 python tests/persistence/data/make_legacy_models.py tests/persistence/data`;
0.2.0 (its defaults: level_scale without global_level): `git worktree add /tmp/v02 1551b82 &&
PYTHONPATH=/tmp/v02 python tests/persistence/data/make_legacy_models.py tests/persistence/data 0.2.0`."""
import sys

import numpy as np
import pandas as pd
from darts import TimeSeries

import rnn_forecast
from rnn_forecast import GRUForecaster, LSTMForecaster

out = sys.argv[1]
version = sys.argv[2] if len(sys.argv) > 2 else "0.1.0"
assert rnn_forecast.__version__ == version, rnn_forecast.__file__
t = np.arange(120, dtype=np.float32)
series = TimeSeries.from_times_and_values(pd.date_range("2020-01-01", periods=120, freq="h"),
                                          (np.sin(t / 4) + 0.01 * t).astype(np.float32))
quiet = {"enable_progress_bar": False, "logger": False, "enable_model_summary": False}
legacy_lstm = {"segment_length": 4, "decoder": "parallel", "subtract_last": True}
configs = {"0.1.0": ((GRUForecaster, {}), (LSTMForecaster, legacy_lstm)),
           "0.2.0": ((GRUForecaster, {}), (LSTMForecaster, {}))}  # each version's defaults
for cls, kw in configs[version]:
    model = cls(input_chunk_length=12, output_chunk_length=4, hidden_dim=8, n_epochs=1, random_state=0,
                pl_trainer_kwargs=quiet, **kw).fit(series)
    name = f"{out}/{cls.__name__.lower()}_v{version}.pt"
    model.save(name)
    np.save(f"{out}/{cls.__name__.lower()}_v{version}_forecast.npy", model.predict(6).values())
    print(name)
