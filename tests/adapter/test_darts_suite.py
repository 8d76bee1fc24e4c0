"""The Darts-suite runner's plugin (tests/adapter/darts_suite) on a small module written like Darts' own.

Darts' real test modules are not available in CI (docs/reliability.md); this checks the
mechanism they are run with: our forecaster bound to ``BlockRNNModel`` before the module
imports it, ``darts.tests.*`` importable, tests over other models deselected, and only
tests that construct the model counted for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.adapter.darts_suite.run import failures, summarize

SUITE = Path(__file__).resolve().parent / "darts_suite"

MODULE = """
    import pytest
    from darts.models import BlockRNNModel, NaiveSeasonal
    from darts.tests.helpers import KWARGS  # the modules import darts.tests.conftest like this
    from darts.utils.timeseries_generation import sine_timeseries

    from rnn_forecast import {cls}

    @pytest.mark.parametrize("config", [(BlockRNNModel, KWARGS), (NaiveSeasonal, {{}})])
    def test_models(config):
        cls, kwargs = config
        model = cls(**kwargs)
        assert isinstance(model, {cls}) == {expect_ours}

    def test_builds_and_fails():
        model = BlockRNNModel(**KWARGS)
        model.fit(sine_timeseries(length=30)).predict(3)
        assert model.model_params["hidden_dim"] == 2
        raise AssertionError("on purpose")

    def test_without_the_model():
        assert True
"""


def run_plugin(tmp_path: Path, stand_in: str) -> dict:
    root = tmp_path / "src"
    (root / "darts" / "tests").mkdir(parents=True)
    (root / "darts" / "__init__.py").write_text("")
    (root / "darts" / "tests" / "__init__.py").write_text("")
    (root / "darts" / "tests" / "helpers.py").write_text(
        "KWARGS = {'input_chunk_length': 6, 'output_chunk_length': 3, 'hidden_dim': 2, 'n_epochs': 1,"
        " 'pl_trainer_kwargs': {'accelerator': 'cpu', 'enable_progress_bar': False,"
        " 'enable_model_summary': False, 'logger': False}}\n")
    cls, expect = ("GRUForecaster", True) if stand_in == "gru" else ("LSTMForecaster", False)
    (root / "darts" / "tests" / "test_fake.py").write_text(
        textwrap.dedent(MODULE.format(cls=cls, expect_ours=expect)))
    (root / "pytest.ini").write_text("[pytest]\n")
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "out.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SUITE), os.environ.get("PYTHONPATH", "")]),
               RNN_FORECAST_SUITE_ROOT=str(root), RNN_FORECAST_SUITE_OUT=str(out),
               RNN_FORECAST_STAND_IN=stand_in)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "stand_in", "-c", str(root / "pytest.ini"),
                           "--rootdir", str(root), "-q", "-p", "no:cacheprovider",
                           str(root / "darts" / "tests" / "test_fake.py")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stdout + done.stderr
    return {test_id.split("::", 1)[1]: entry for test_id, entry in json.loads(out.read_text()).items()}


@pytest.mark.parametrize("stand_in", ["darts", "gru"])
def test_stand_in_plugin_runs_ours_as_block_rnn_and_counts_only_its_tests(tmp_path, stand_in):
    results = run_plugin(tmp_path, stand_in)
    # NaiveSeasonal's case is deselected: it cannot construct BlockRNNModel
    assert set(results) == {"test_models[config0]", "test_builds_and_fails", "test_without_the_model"}
    assert results["test_models[config0]"] == {"outcome": "passed", "message": "", "uses_model": True}
    failed = results["test_builds_and_fails"]
    assert failed["uses_model"] and failed["outcome"] == "failed"
    assert failed["message"] == "AssertionError: on purpose"  # fit and predict passed first
    assert results["test_without_the_model"] == {"outcome": "passed", "message": "", "uses_model": False}


def test_summary_counts_only_tests_that_build_the_model():
    one = {"darts/tests/x/test_a.py::test_1": {"outcome": "passed", "message": "", "uses_model": True},
           "darts/tests/x/test_a.py::test_2": {"outcome": "failed", "message": "E", "uses_model": True},
           "darts/tests/x/test_a.py::test_3": {"outcome": "failed", "message": "E", "uses_model": False}}
    ours = {**one, "darts/tests/x/test_a.py::test_2": {"outcome": "passed", "message": "", "uses_model": True}}
    table = summarize({"darts": one, "lstm": ours, "gru": ours})
    assert "| `test_a.py` | 1 of 2 passed | 2 of 2 passed | 2 of 2 passed |" in table
    assert "| **total** | 1 of 2 passed (50.0%) | 2 of 2 passed (100.0%) | 2 of 2 passed (100.0%) |" in table
    listed = failures({"darts": one, "lstm": ours, "gru": ours})
    assert "| `x/test_a.py::test_2` | fails: E | passed | passed |" in listed
    assert "test_3" not in listed  # it does not build the model
