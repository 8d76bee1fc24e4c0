"""The private Darts names rnn_forecast relies on still exist in the installed Darts.

Every entry of :data:`rnn_forecast._darts_private.ENTRIES` is checked; a failure names
the entry, what rnn_forecast uses it for and what to do. The tests after those show
that the checker does catch a removed, renamed or re-signed name (on a monkeypatched
Darts), that the list is complete and current, and that the forecaster's overrides of
Darts are explicit.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from darts.models.forecasting.pl_forecasting_module import PLForecastingModule
from darts.models.forecasting.torch_forecasting_model import MixedCovariatesTorchModel, TorchForecastingModel
from darts.utils import timeseries_generation as tsg

from rnn_forecast import RNNForecaster, _darts_private
from rnn_forecast._darts_private import ENTRIES, problem, problems

PACKAGE = Path(_darts_private.__file__).parent


def _entry(path: str):
    return next(e for e in ENTRIES if e.path == path)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path)
def test_each_private_darts_name_still_exists(entry):
    found = problem(entry)
    assert found is None, found


# -- the checker catches what a Darts release could change ----------------------------------


def test_a_removed_method_is_reported_by_name(monkeypatch):
    monkeypatch.delattr(TorchForecastingModel, "_init_trainer")
    entry = _entry("TorchForecastingModel._init_trainer")
    found = problem(entry)
    assert found is not None
    assert "darts.models.forecasting.torch_forecasting_model.TorchForecastingModel._init_trainer" in found
    assert "rnn_forecast/_darts_private.py" in found and "grep rnn_forecast/ for '_init_trainer'" in found
    assert problems() == [found]  # every other entry still holds


def test_a_renamed_module_function_is_reported(monkeypatch):
    monkeypatch.setattr(tsg, "_build_forecast_series", tsg._build_forecast_series_from_schema, raising=False)
    monkeypatch.delattr(tsg, "_build_forecast_series_from_schema")
    found = problem(_entry("_build_forecast_series_from_schema"))
    assert found is not None
    assert "has no darts.utils.timeseries_generation._build_forecast_series_from_schema" in found


def test_reordered_positional_parameters_are_reported(monkeypatch):
    def reordered(self, input_batch, n, roll_size):  # what we pass by position
        raise NotImplementedError

    monkeypatch.setattr(PLForecastingModule, "_get_batch_prediction", reordered)
    found = problem(_entry("PLForecastingModule._get_batch_prediction"))
    assert found is not None
    assert "['input_batch', 'n', 'roll_size'], not ['n', 'input_batch', 'roll_size']" in found


def test_a_dropped_keyword_parameter_is_reported(monkeypatch):
    def without_trusted(self, file_path, **kwargs):
        raise NotImplementedError

    monkeypatch.setattr(TorchForecastingModel, "_load_from_checkpoint", without_trusted)
    found = problem(_entry("TorchForecastingModel._load_from_checkpoint"))
    assert found is not None and "has no parameter trusted" in found


def test_an_instance_attribute_darts_stops_reading_is_reported(monkeypatch):
    def reads_something_else(self):
        return self._static_flag

    monkeypatch.setattr(TorchForecastingModel, "considers_static_covariates", property(reads_something_else))
    found = problem(_entry("TorchForecastingModel._considers_static_covariates"))
    assert found is not None and "no longer uses _considers_static_covariates" in found


# -- the list is complete and current ----------------------------------------------------------


def _package_sources():
    return {path: path.read_text() for path in PACKAGE.rglob("*.py") if path.name != "_darts_private.py"}


def test_private_darts_imports_go_through_the_one_module():
    direct = [
        f"{path.relative_to(PACKAGE)}: from {node.module} import {alias.name}"
        for path, text in _package_sources().items()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "darts"
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert not direct, f"import these through rnn_forecast._darts_private (and list them there): {direct}"


def test_every_entry_is_still_used_by_the_package():
    text = "\n".join(_package_sources().values())
    unused = [e.path for e in ENTRIES if not re.search(rf"\b{re.escape(e.path.rsplit('.', 1)[-1])}\b", text)]
    assert not unused, f"no longer used by rnn_forecast, remove from rnn_forecast/_darts_private.py: {unused}"


def test_the_docstring_states_the_count():
    private = [e for e in ENTRIES
               if any(p.startswith("_") and not p.startswith("__") for p in e.path.split("."))]
    assert f"uses {len(private)} of them" in " ".join(_darts_private.__doc__.split())


# -- the forecaster's overrides of Darts are explicit --------------------------------------------


def _function(attr):
    if isinstance(attr, property):
        return attr.fget
    return getattr(attr, "__func__", attr)


def test_the_forecaster_subclasses_darts_directly():
    assert RNNForecaster.__bases__ == (MixedCovariatesTorchModel,)


def test_every_darts_method_the_forecaster_redefines_is_marked_override():
    darts_names = {name for base in RNNForecaster.__mro__[1:] for name in vars(base)}
    own = {name: _function(attr) for name, attr in vars(RNNForecaster).items()
           if callable(_function(attr)) and not (name.startswith("__") and name.endswith("__"))}
    unmarked = sorted(n for n, f in own.items() if n in darts_names and not getattr(f, "__override__", False))
    assert not unmarked, f"mark these overrides of Darts with @override: {unmarked}"
    stray = sorted(n for n, f in own.items() if n not in darts_names and getattr(f, "__override__", False))
    assert not stray, f"@override on methods that override nothing in Darts: {stray}"


def test_every_listed_hook_is_overridden_in_the_forecaster_itself():
    hooks = ["_create_model", "_build_train_dataset", "_build_inference_dataset", "_setup_for_train",
             "_setup_for_predict", "_setup_checkpointing", "_init_model", "_init_trainer"]
    assert all(f"TorchForecastingModel.{h}" in {e.path for e in ENTRIES} for h in hooks)
    assert [h for h in hooks if h not in vars(RNNForecaster)] == []
