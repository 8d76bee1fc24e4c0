"""Pytest plugin: Darts' own test modules with one of our forecasters as ``BlockRNNModel``.

Loaded by ``tests/adapter/darts_suite/run.py`` (``pytest -p stand_in``) and, on a small module
written like Darts' own, by ``tests/adapter/test_darts_suite.py``.
Environment:

``RNN_FORECAST_STAND_IN``
    ``"darts"`` keeps Darts' ``BlockRNNModel``; ``"lstm"`` or ``"gru"`` binds
    ``darts.models.BlockRNNModel`` to :class:`LSTMStandIn` or :class:`GRUStandIn` before
    the test modules import it, so every test written for ``BlockRNNModel`` runs ours.
``RNN_FORECAST_SUITE_ROOT``
    The folder holding the extracted ``darts/tests`` tree; it is added to ``darts``'
    package path so that ``darts.tests.conftest`` (which the modules import) resolves
    (``sitecustomize.py`` next to this file does the same in worker processes).
``RNN_FORECAST_SUITE_SELECT``
    Optional file of test ids, one per line: only those run.
``RNN_FORECAST_SUITE_OUT``
    JSON file written at the end: per test id, its outcome, whether it constructed the
    model under test, and the failure's one-line message.

Only tests that construct the model count for it: the modules also test other models.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
from pathlib import Path

import darts
import darts.models
import darts.models.forecasting.block_rnn_model as block_rnn_module
import pytest
from darts.datasets.dataset_loaders import DatasetLoader

from rnn_forecast import GRUForecaster, LSTMForecaster

_CURRENT_TEST: list[str | None] = [None]
_CONSTRUCTED: set[str] = set()
_RESULTS: dict[str, dict] = {}


def _note_construction() -> None:
    if _CURRENT_TEST[0] is not None:
        _CONSTRUCTED.add(_CURRENT_TEST[0])


def _with_model_argument(cls: type, cell: str):
    """``cls.__init__``'s signature plus ``BlockRNNModel``'s ``model`` (keyword-only).

    Darts records ``model_params`` from the signature, so it must list every parameter.
    """
    signature = inspect.signature(cls.__init__)
    *named, var_keyword = signature.parameters.values()
    model = inspect.Parameter("model", inspect.Parameter.KEYWORD_ONLY, default=cell)
    return signature.replace(parameters=[*named, model, var_keyword])


class LSTMStandIn(LSTMForecaster):
    """``LSTMForecaster`` taking ``BlockRNNModel``'s arguments: ``model`` (the cell) is ignored."""

    def __init__(self, *args, model="LSTM", **kwargs):
        _note_construction()
        super().__init__(*args, **kwargs)

    __init__.__signature__ = _with_model_argument(LSTMForecaster, "LSTM")


class GRUStandIn(GRUForecaster):
    """``GRUForecaster`` taking ``BlockRNNModel``'s arguments: ``model`` (the cell) is ignored."""

    def __init__(self, *args, model="GRU", **kwargs):
        _note_construction()
        super().__init__(*args, **kwargs)

    __init__.__signature__ = _with_model_argument(GRUForecaster, "GRU")


def _record_darts_block_rnn() -> None:
    """Darts' own class, unchanged except that constructing it is recorded."""
    original = block_rnn_module.BlockRNNModel.__init__
    if getattr(original, "_records_construction", False):
        return

    def __init__(self, *args, **kwargs):
        _note_construction()
        original(self, *args, **kwargs)

    __init__.__wrapped__ = original  # Darts reads the signature to record model_params
    __init__._records_construction = True
    block_rnn_module.BlockRNNModel.__init__ = __init__


def _datasets_from(folder: Path) -> None:
    """Darts' dataset loaders read ``folder`` (the repository's ``datasets/``), not the web.

    The test modules load datasets at import; the files are Darts' own and pass its hash
    checks. Loaded copies go to a cache under ``folder``, not into ``~/.darts``.
    """
    def download(self):
        source = folder / os.path.basename(self._metadata.uri)
        target = Path(self._get_path_dataset())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    DatasetLoader._DEFAULT_DIRECTORY = folder / "cache"
    DatasetLoader._download_dataset = download


def _install() -> None:
    """At import (``-p`` loads the plugin before the initial conftests are imported)."""
    root = Path(os.environ["RNN_FORECAST_SUITE_ROOT"]).resolve()
    if str(root / "darts") not in darts.__path__:
        darts.__path__.append(str(root / "darts"))
    _datasets_from(root / "datasets")
    which = os.environ.get("RNN_FORECAST_STAND_IN", "darts")
    if which == "darts":
        _record_darts_block_rnn()
        return
    stand_in = {"lstm": LSTMStandIn, "gru": GRUStandIn}[which]
    darts.models.BlockRNNModel = stand_in
    block_rnn_module.BlockRNNModel = stand_in


_install()


def _test_id(nodeid: str) -> str:
    """The test id as in the Darts run: parameter ids show the class name (``[BlockRNNModel-...]``)."""
    for stand_in in (LSTMStandIn, GRUStandIn):
        nodeid = nodeid.replace(stand_in.__name__, "BlockRNNModel")
    return nodeid


def _model_classes(value, seen=None) -> set[type]:
    """Forecasting model classes (or instances' classes) inside a parameter value."""
    from darts.models.forecasting.forecasting_model import ForecastingModel

    if isinstance(value, type):
        return {value} if issubclass(value, ForecastingModel) else set()
    if isinstance(value, ForecastingModel):
        return {type(value)}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple, set)):
        return set().union(*(_model_classes(v) for v in value)) if value else set()
    return set()


def pytest_collection_modifyitems(config, items):
    """Deselect tests parametrized over other models only (they cannot build ours).

    A test parametrized with ``(TCNModel, kwargs)`` does not construct ``BlockRNNModel``;
    running it would only cost time. Tests without a model among their parameters stay.
    With ``RNN_FORECAST_SUITE_SELECT`` (a file of test ids, one per line), only those run.
    """
    block_rnn = block_rnn_module.BlockRNNModel
    select = os.environ.get("RNN_FORECAST_SUITE_SELECT")
    wanted = set(Path(select).read_text().splitlines()) if select else None
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        classes = _model_classes(list(params.values()))
        other_models_only = classes and block_rnn not in classes
        unwanted = wanted is not None and _test_id(item.nodeid) not in wanted
        (dropped if other_models_only or unwanted else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _CURRENT_TEST[0] = _test_id(item.nodeid)
    yield
    _CURRENT_TEST[0] = None


def pytest_runtest_logreport(report):
    entry = _RESULTS.setdefault(_test_id(report.nodeid), {"outcome": "passed", "message": ""})
    if report.failed and entry["outcome"] != "failed":
        entry["outcome"] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        entry["message"] = (crash.message if crash else str(report.longrepr)).splitlines()[0][:300]
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("RNN_FORECAST_SUITE_OUT")
    if not out:
        return
    for nodeid, entry in _RESULTS.items():
        entry["uses_model"] = nodeid in _CONSTRUCTED
    Path(out).write_text(json.dumps(_RESULTS, indent=1, sort_keys=True))
