"""Shared fixtures: where the real benchmark files are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnn_forecast import datasets as ds

REPO_ROOT = Path(__file__).resolve().parents[1]

# The README's command sets a relative RNN_FORECAST_DATA (../shared/datasets); tests that
# run a command in another working directory would resolve it there. Anchor it to the
# directory pytest was started from, once, before any test runs.
if os.environ.get(ds.DATA_ENV_VAR):
    os.environ[ds.DATA_ENV_VAR] = str(Path(os.environ[ds.DATA_ENV_VAR]).resolve())


def shared_data_dir() -> Path:
    """$RNN_FORECAST_DATA, else ``<repo root>/../shared/datasets``."""
    env = os.environ.get(ds.DATA_ENV_VAR)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder; tests that need it FAIL (never skip) when it is missing."""
    root = shared_data_dir()
    expected = [root / spec.folder / (spec.filename + ".gz") for spec in ds.FILES.values()]
    absent = [str(p) for p in expected if not p.is_file()]
    if absent:
        pytest.fail(
            f"Benchmark data files not found: {absent}. Set {ds.DATA_ENV_VAR} to the "
            f"shared datasets folder (e.g. ../shared/datasets from the repo root).",
            pytrace=False,
        )
    return root
