"""Out of the box: defaults on raw series beat the naive forecasts (a subset of benchmarks/battery.py).

Each case runs our two forecasters exactly as a new user would build them (only the
window lengths, ``n_epochs`` and a seed; no ``Scaler``) on a raw real series, one seed,
and compares them with the naive forecasts over the case's test period.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BATTERY = Path(__file__).resolve().parents[1] / "benchmarks" / "battery.py"


@pytest.fixture(scope="module")
def battery():
    spec = importlib.util.spec_from_file_location("battery", BATTERY)
    module = importlib.util.module_from_spec(spec)
    sys.modules["battery"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, margin", [
    ("elnino-monthly", 0.9),        # monthly, raw degC: at least 10% better than seasonal naive
    ("gdp-quarterly-short", 0.9),   # 203 quarters in billions of USD, a trend: better than naive
    ("stock-daily-rw", 1.02),       # a random walk: a tie with naive is the honest best
])
def test_default_forecasters_on_raw_series(battery, data_dir, name, margin):
    rows = battery.run_case(battery.CASES_BY_NAME[name], seeds=(0,), data_dir=data_dir, block_rnn=False, log=None)
    mase = rows.groupby("model")["mase"].mean()
    naive = mase[[m for m in mase.index if m == "Naive" or m.startswith("SeasonalNaive")]].min()
    for model in ("LSTMForecaster", "GRUForecaster"):
        assert np.isfinite(mase[model])
        assert mase[model] < margin * naive, (model, mase.to_dict())


def test_every_case_loads_a_regular_raw_series(battery, data_dir):
    for case in battery.CASES:
        series = case.load(data_dir)
        assert len(series) >= 150 and series.freq is not None, case.name
        assert not np.isnan(series.values()).any(), case.name
        assert len(series) * case.test_size >= case.horizon, case.name
