"""MLflow: Darts' autologging and model flavour with our forecasters (the ``[mlflow]`` extra).

The per-forecaster contract (Lightning's ``MLFlowLogger``, ``log_model``/``load_model``)
is ``rnn_forecast.tools.testing.check_mlflow``, run by test_conformance. Here: autologging, a
model saved without a run, and that loading through MLflow keeps our restricted loading.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from darts.utils.mlflow import autolog, load_model, save_model

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.persistence import UnsafeModelFileError
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series


@pytest.fixture
def tracking(tmp_path):
    """A local SQLite tracking store and artifact folder, restored afterwards."""
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("tests", artifact_location=str(tmp_path / "artifacts"))
    yield mlflow.MlflowClient(uri), experiment
    mlflow.set_tracking_uri(previous)


def _model(cls, **kwargs):
    return cls(input_chunk_length=ICL, output_chunk_length=OCL, n_epochs=2, batch_size=16, random_state=0,
               pl_trainer_kwargs=dict(QUIET_TRAINER), **kwargs)


def test_autolog_records_parameters_metrics_and_a_loadable_model(tracking):
    client, experiment = tracking
    series = make_series()
    autolog(log_models=True, silent=True)
    try:
        with mlflow.start_run(experiment_id=experiment) as run:
            model = _model(GRUForecaster).fit(series)
            model.backtest(series, start=0.75, forecast_horizon=OCL, retrain=False)
    finally:
        autolog(disable=True)
    data = client.get_run(run.info.run_id).data
    # our architecture arguments are logged next to Darts' own
    assert data.params["input_chunk_length"] == str(ICL)
    assert data.params["segment_length"] == "auto" and data.params["normalization"] == "level_scale"
    assert "train_loss" in data.metrics and any(k.startswith("backtest") for k in data.metrics)
    (logged,) = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list")
    loaded = load_model(logged.model_uri)
    assert type(loaded) is GRUForecaster
    np.testing.assert_array_equal(loaded.predict(OCL, series=series).values(),
                                  model.predict(OCL, series=series).values())


def test_save_model_to_a_folder_and_load_it_back(tmp_path):
    series = make_series()
    model = _model(LSTMForecaster).fit(series)
    save_model(model, str(tmp_path / "mlflow-model"))
    assert (tmp_path / "mlflow-model" / "MLmodel").is_file()
    loaded = load_model(str(tmp_path / "mlflow-model"))
    np.testing.assert_array_equal(loaded.predict(OCL, series=series).values(),
                                  model.predict(OCL, series=series).values())


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_tampered_mlflow_model_is_refused_without_running_code(tmp_path):
    """``load_model`` ends in our ``load``: the restricted unpickler guards MLflow artifacts too."""
    model = _model(LSTMForecaster).fit(make_series())
    folder = tmp_path / "mlflow-model"
    save_model(model, str(folder))
    (model_file,) = [p for p in folder.iterdir() if p.suffix == ".pt"]
    marker = tmp_path / "code-ran"
    torch.save({"model": _RunsCode(marker)}, model_file)
    with pytest.raises(UnsafeModelFileError, match="was not loaded"):
        load_model(str(folder))
    assert not Path(marker).exists()
