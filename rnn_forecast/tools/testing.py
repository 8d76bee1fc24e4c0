"""Conformance checks every forecaster of this library must pass.

``check_forecaster(LSTMForecaster)`` runs the whole Darts / scikit-learn / Lightning
contract on small synthetic data; each check is also importable on its own (see
:data:`CHECKS`) so a test suite can parametrize over them::

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(check):
        check(MyForecaster, {"hidden_dim": 8})

A check raises ``AssertionError`` (or the unexpected exception) on failure.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from darts import TimeSeries
from darts.metrics import mae
from darts.utils.likelihood_models.torch import GaussianLikelihood, QuantileRegression
from sklearn.base import clone

ICL, OCL = 12, 4  # small windows keep each check to about a second on a CPU
QUIET_TRAINER = {
    "accelerator": "cpu",
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "logger": False,
}


def make_series(
    length: int = 120, n_components: int = 2, seed: int = 0, start: str = "2021-01-01"
) -> TimeSeries:
    """A float32 hourly series of noisy sines with ``n_components`` components."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)[:, None]
    phase = np.arange(n_components)[None, :]
    values = np.sin(2 * np.pi * t / 24 + phase) + 0.1 * rng.standard_normal((length, n_components))
    index = pd.date_range(start, periods=length, freq="h")
    return TimeSeries.from_times_and_values(index, values.astype(np.float32))


def _model(model_cls, params: dict, **overrides):
    kwargs = {
        "input_chunk_length": ICL,
        "output_chunk_length": OCL,
        "n_epochs": 2,
        "batch_size": 16,
        "random_state": 0,
        "pl_trainer_kwargs": dict(QUIET_TRAINER),
    }
    kwargs.update(params)
    kwargs.update(overrides)
    return model_cls(**kwargs)


def _raises(exc_type, match: str, fn: Callable, *args, **kwargs) -> str:
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        assert match.lower() in str(exc).lower(), f"error message {exc!s:.300} lacks {match!r}"
        return str(exc)
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not raise {exc_type.__name__}")


class _expect_user_warning:  # like pytest.warns; rnn_forecast.tools.testing must not need pytest
    """Context manager asserting that a ``UserWarning`` containing ``match`` is emitted."""

    def __init__(self, match: str):
        self.match = match

    def __enter__(self):
        self._catcher = warnings.catch_warnings(record=True)
        self.caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        if exc[0] is None:
            texts = [str(w.message) for w in self.caught if issubclass(w.category, UserWarning)]
            assert any(self.match in t for t in texts), f"no UserWarning with {self.match!r}: {texts}"
        return False


def check_params_protocol(model_cls, params: dict) -> None:
    """get_params/set_params/clone follow scikit-learn; the constructor only stores."""
    model = _model(model_cls, params, hidden_dim=8)
    got = model.get_params()
    assert got["hidden_dim"] == 8 and got["input_chunk_length"] == ICL
    rebuilt = type(model)(**got)
    assert rebuilt.get_params() == got
    assert model.set_params(hidden_dim=5) is model
    assert model.get_params()["hidden_dim"] == 5 and model.hidden_dim == 5
    _raises(ValueError, "no_such_param", model.set_params, no_such_param=1)
    model.fit(make_series())
    copy = clone(model)
    assert type(copy) is type(model) and not copy.model_created
    assert copy.get_params().keys() == model.get_params().keys()
    assert copy.get_params()["hidden_dim"] == 5


def check_fit_returns_self_and_keeps_inputs(model_cls, params: dict) -> None:
    """fit returns the model and leaves the caller's series (TimeSeries or pandas) intact."""
    series = make_series()
    frame = series.to_dataframe()
    before_ts, before_df = series.values().copy(), frame.copy()
    model = _model(model_cls, params)
    assert model.fit(series) is model
    assert model.fit(frame) is model
    np.testing.assert_array_equal(series.values(), before_ts)
    pd.testing.assert_frame_equal(frame, before_df)


def check_predict_shape_and_index(model_cls, params: dict) -> None:
    """Forecasts start right after the series, at its frequency, for n <, = and > OCL."""
    series = make_series()
    model = _model(model_cls, params).fit(series)
    for n in (1, OCL, 3 * OCL + 1):  # the last one rolls out auto-regressively
        forecast = model.predict(n)
        assert forecast.shape == (n, series.width, 1), forecast.shape
        assert forecast.time_index[0] == series.end_time() + series.freq
        assert forecast.freq == series.freq
        assert np.isfinite(forecast.values()).all()
    other = make_series(length=60, seed=3, start="2022-06-01")
    assert model.predict(OCL, series=other).start_time() == other.end_time() + other.freq


def check_clear_errors(model_cls, params: dict) -> None:
    """Unfitted predict, short series, NaNs, bad n and bad types raise clear errors."""
    series = make_series()
    model = _model(model_cls, params)
    _raises(ValueError, "not fitted", model.predict, 3)
    _raises(ValueError, "needs at least", model.fit, series[: ICL + OCL - 1])
    values = series.values().copy()
    values[30, 0] = np.nan
    with_nan = TimeSeries.from_times_and_values(series.time_index, values)
    _raises(ValueError, "NaN", model.fit, with_nan)
    _raises(TypeError, "TimeSeries", model.fit, values)
    model.fit(series)
    _raises(ValueError, "input_chunk_length", model.predict, 3, series=series[: ICL - 1])
    _raises(ValueError, "positive integer", model.predict, 0)
    _raises(ValueError, "NaN", model.predict, 3, series=with_nan)


def check_covariates(model_cls, params: dict) -> None:
    """Past, future and static covariates are used, and shape mismatches are refused."""
    series = make_series().with_static_covariates(pd.DataFrame({"site": [1.0, 2.0]}))
    past = make_series(n_components=1, seed=1)
    future = make_series(length=len(series) + 3 * OCL, n_components=2, seed=2)
    model = _model(model_cls, params)
    model.fit(series, past_covariates=past, future_covariates=future)
    assert model.uses_past_covariates and model.uses_future_covariates
    assert model.uses_static_covariates
    forecast = model.predict(OCL, past_covariates=past, future_covariates=future)
    assert forecast.shape == (OCL, series.width, 1)
    # a different future covariate changes the forecast: the head really reads it
    shifted = future + 5.0
    other = model.predict(OCL, past_covariates=past, future_covariates=shifted)
    assert not np.allclose(forecast.values(), other.values())
    narrow = future.univariate_component(0)
    _raises(ValueError, "components", model.predict, OCL, past_covariates=past, future_covariates=narrow)
    short = future[: len(series)]
    _raises(ValueError, "far enough", model.predict, OCL, past_covariates=past, future_covariates=short)


def check_multiple_series(model_cls, params: dict) -> None:
    """One global model over several series; predict returns one forecast each."""
    many = [make_series(seed=i, length=80 + 20 * i) for i in range(3)]
    model = _model(model_cls, params).fit(many)
    forecasts = model.predict(OCL, series=many)
    assert isinstance(forecasts, list) and len(forecasts) == 3
    for series, forecast in zip(many, forecasts):
        assert forecast.start_time() == series.end_time() + series.freq
    _raises(ValueError, "must be provided", model.predict, OCL)  # which series to continue?


def check_probabilistic(model_cls, params: dict) -> None:
    """Likelihoods give sample paths; quantile regression; likelihood parameters."""
    series = make_series()
    model = _model(model_cls, params, likelihood=GaussianLikelihood()).fit(series)
    samples = model.predict(OCL + 2, num_samples=50)
    assert samples.shape == (OCL + 2, series.width, 50)
    assert samples.all_values().std(axis=2).min() > 0
    assert model.predict(OCL, predict_likelihood_parameters=True).width == 2 * series.width
    quantiles = [0.1, 0.5, 0.9]
    qmodel = _model(model_cls, params, likelihood=QuantileRegression(quantiles)).fit(series)
    q = qmodel.predict(OCL, num_samples=200).all_values()
    assert q.shape == (OCL, series.width, 200)
    dropout = _model(model_cls, params, dropout=0.3).fit(series)
    draws = dropout.predict(OCL, num_samples=20, mc_dropout=True).all_values()
    assert draws.std(axis=2).max() > 0  # Monte Carlo dropout samples differ
    deterministic = _model(model_cls, params).fit(series)
    if deterministic.dropout > 0:  # Darts counts it as probabilistic: repeated samples, and a warning
        with _expect_user_warning("every sample is the same"):
            repeated = deterministic.predict(OCL, num_samples=5).all_values()
        assert repeated.shape[2] == 5 and (repeated == repeated[:, :, :1]).all()
    else:
        _raises(ValueError, "likelihood", deterministic.predict, OCL, num_samples=5)


def check_save_load(model_cls, params: dict) -> None:
    """save then a plain ``cls.load`` give identical forecasts."""
    series = make_series()
    model = _model(model_cls, params).fit(series)
    expected = model.predict(OCL + 3).values()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        model.save(path)
        loaded = type(model).load(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(OCL + 3).values(), expected)


def check_determinism(model_cls, params: dict) -> None:
    """Same random_state, same data: identical forecasts; another seed differs."""
    series = make_series()
    first = _model(model_cls, params, random_state=7).fit(series).predict(OCL).values()
    second = _model(model_cls, params, random_state=7).fit(series).predict(OCL).values()
    other = _model(model_cls, params, random_state=8).fit(series).predict(OCL).values()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


class _CountingCallback(pl.Callback):
    def __init__(self):
        self.epochs = 0
        self.batches = 0

    def on_train_epoch_end(self, trainer, pl_module):
        self.epochs += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batches += 1


def check_callbacks(model_cls, params: dict) -> None:
    """User callbacks in pl_trainer_kwargs are called; EarlyStopping can stop training."""
    counter = _CountingCallback()
    stopper = pl.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=1e9)
    trainer = dict(QUIET_TRAINER, callbacks=[counter, stopper])
    series = make_series()
    model = _model(model_cls, params, n_epochs=6, pl_trainer_kwargs=trainer)
    model.fit(series[:90], val_series=series[70:])
    assert counter.batches > 0
    # min_delta is huge, so no epoch counts as an improvement: stops after patience
    assert 1 <= counter.epochs < 6, counter.epochs


def check_historical_forecasts_and_backtest(model_cls, params: dict) -> None:
    """Darts' rolling evaluation runs with and without retraining."""
    series = make_series()
    model = _model(model_cls, params).fit(series)
    forecasts = model.historical_forecasts(
        series, start=0.8, forecast_horizon=OCL, retrain=False, last_points_only=False
    )
    starts = [f.start_time() for f in forecasts]
    assert abs(series.get_index_at_point(starts[0]) - 0.8 * len(series)) <= 1
    assert all(b - a == series.freq for a, b in zip(starts, starts[1:]))
    assert forecasts[-1].end_time() == series.end_time()
    assert all(f.shape == (OCL, series.width, 1) for f in forecasts)
    error = model.backtest(series, start=0.8, forecast_horizon=OCL, retrain=False, metric=mae)
    assert np.isfinite(error) and error >= 0
    retrained = model.historical_forecasts(
        series, start=len(series) - OCL - 2, forecast_horizon=OCL, retrain=True
    )
    assert len(retrained) == 3
    residuals = model.residuals(series, start=0.8, forecast_horizon=1, retrain=False)
    assert residuals.width == series.width and np.isfinite(residuals.values()).all()


def check_gridsearch(model_cls, params: dict) -> None:
    """Darts' gridsearch rebuilds the model from parameters and picks the best."""
    series = make_series()
    grid = {"hidden_dim": [4, 8], "n_epochs": [1]}
    base = {k: [v] for k, v in params.items()}
    fixed = {"input_chunk_length": [ICL], "output_chunk_length": [OCL], "random_state": [0],
             "pl_trainer_kwargs": [dict(QUIET_TRAINER)]}
    best, best_params, score = model_cls.gridsearch(
        parameters={**base, **fixed, **grid},
        series=series,
        start=0.8,
        forecast_horizon=OCL,
        metric=mae,
    )
    assert type(best) is model_cls and best_params["hidden_dim"] in (4, 8)
    assert np.isfinite(score)


def check_sample_weight(model_cls, params: dict) -> None:
    """``sample_weight``/``val_sample_weight`` reach the loss: zero weight on a span ignores it."""
    series = make_series(length=160)
    noisy = series.values().copy()
    noisy[:80] += 50.0  # a corrupt first half
    corrupt = TimeSeries.from_times_and_values(series.time_index, noisy)
    weights = TimeSeries.from_times_and_values(series.time_index, (np.arange(160) >= 80).astype(np.float32))
    plain = _model(model_cls, params).fit(corrupt).predict(OCL, series=series)
    weighted = _model(model_cls, params).fit(corrupt, sample_weight=weights, val_series=series,
                                             val_sample_weight="linear").predict(OCL, series=series)
    assert not np.allclose(plain.values(), weighted.values())
    _raises(ValueError, "sample_weight", _model(model_cls, params).fit, series, sample_weight="cubic")


def check_ensembles(model_cls, params: dict) -> None:
    """Our forecasters as members of Darts' naive and regression ensembles."""
    from darts.models import NaiveDrift, NaiveEnsembleModel, RegressionEnsembleModel

    series = make_series()
    naive = NaiveEnsembleModel([_model(model_cls, params), NaiveDrift()])
    forecast = naive.fit(series).predict(OCL)
    assert forecast.shape == (OCL, series.width, 1) and np.isfinite(forecast.values()).all()
    stacked = RegressionEnsembleModel([_model(model_cls, params), NaiveDrift()], regression_train_n_points=24)
    forecast = stacked.fit(series).predict(OCL)
    assert forecast.start_time() == series.end_time() + series.freq
    assert np.isfinite(forecast.values()).all()


def check_conformal(model_cls, params: dict) -> None:
    """Darts' conformal wrappers (naive, and around quantile regression) give calibrated quantiles."""
    from darts.models import ConformalNaiveModel, ConformalQRModel

    series = make_series(length=200)
    model = _model(model_cls, params).fit(series[:120])
    conformal = ConformalNaiveModel(model, quantiles=[0.1, 0.5, 0.9], cal_length=40)
    quantiles = conformal.predict(OCL, series=series, predict_likelihood_parameters=True)
    assert quantiles.shape == (OCL, 3 * series.width, 1)
    values = quantiles.values().reshape(OCL, series.width, 3)
    assert (np.diff(values, axis=-1) >= 0).all()  # q0.1 <= q0.5 <= q0.9
    samples = conformal.predict(OCL, series=series, num_samples=50)
    assert samples.shape == (OCL, series.width, 50)
    quantile_model = _model(model_cls, params, likelihood=QuantileRegression([0.1, 0.5, 0.9])).fit(series[:120])
    qr = ConformalQRModel(quantile_model, quantiles=[0.1, 0.5, 0.9], cal_length=40, cal_num_samples=50)
    assert qr.predict(OCL, series=series, predict_likelihood_parameters=True).shape == (OCL, 3 * series.width, 1)


def check_scale_batch_size(model_cls, params: dict) -> None:
    """Lightning's batch-size finder through Darts, for training and for prediction."""
    series = make_series()
    model = _model(model_cls, params).fit(series)  # predict's search needs a fitted model
    found = model.scale_batch_size(series, max_trials=3, steps_per_trial=1, init_val=4)
    assert isinstance(found, int) and found >= 4
    found = model.scale_batch_size(series, method="predict", n=OCL, max_trials=3, steps_per_trial=1, init_val=4)
    assert isinstance(found, int) and found >= 4


def check_load_best(model_cls, params: dict) -> None:
    """``fit(load_best=True)`` with a validation series keeps the best epoch's weights."""
    series = make_series()
    with tempfile.TemporaryDirectory() as tmp:
        model = _model(model_cls, params, n_epochs=4, save_checkpoints=True, work_dir=tmp,
                       model_name="best", force_reset=True)
        model.fit(series[:90], val_series=series[70:], load_best=True, epochs=4)
        best = type(model).load_from_checkpoint("best", work_dir=tmp, best=True)
        last = type(model).load_from_checkpoint("best", work_dir=tmp, best=False)
    ours = model.predict(OCL, series=series).values()
    np.testing.assert_allclose(ours, best.predict(OCL, series=series).values(), rtol=1e-6)
    if best.epochs_trained != last.epochs_trained:  # where they differ, the best one was kept
        assert not np.allclose(ours, last.predict(OCL, series=series).values())


def check_finetuning(model_cls, params: dict) -> None:
    """``load_weights`` then ``fit`` fine-tunes; ``enable_finetuning`` freezes what it names."""
    series, other = make_series(), make_series(seed=5, length=80)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "base.pt")
        _model(model_cls, params).fit(series).save(path)
        tuned = _model(model_cls, params, n_epochs=1, enable_finetuning={"freeze": ["encoder.*"]})
        tuned.load_weights(path)
    base = {n: p.detach().clone() for n, p in tuned.model.named_parameters()}
    tuned.fit(other)
    after = dict(tuned.model.named_parameters())
    frozen = [n for n in base if n.startswith("encoder.")]
    assert frozen and all(torch.equal(base[n], after[n]) for n in frozen)
    assert any(not torch.equal(base[n], after[n]) for n in base if n not in frozen)


def check_mlflow(model_cls, params: dict) -> None:
    """Lightning's ``MLFlowLogger`` records the training; Darts' MLflow flavour stores the model.

    Everything goes to a local SQLite tracking store and an artifact folder in a temporary
    directory (MLflow 3 refuses its plain-file store by default). Needs the ``[mlflow]``
    extra.
    """
    import mlflow
    from darts.utils.mlflow import load_model, log_model
    from pytorch_lightning.loggers import MLFlowLogger

    series = make_series()
    previous_uri = mlflow.get_tracking_uri()
    with tempfile.TemporaryDirectory() as tmp:
        uri = "sqlite:///" + os.path.join(tmp, "mlflow.db")
        try:
            mlflow.set_tracking_uri(uri)
            logger = MLFlowLogger(experiment_name="conformance", tracking_uri=uri,
                                  artifact_location=os.path.join(tmp, "artifacts"))
            trainer = {**QUIET_TRAINER, "logger": logger, "log_every_n_steps": 1}
            model = _model(model_cls, params, pl_trainer_kwargs=trainer).fit(series)
            client = mlflow.MlflowClient(uri)
            run = client.get_run(logger.run_id)
            assert run.data.params["input_chunk_length"] == str(ICL)
            steps = client.get_metric_history(logger.run_id, "train_loss")
            assert len(steps) == model.trainer.global_step and steps[0].value > 0
            with mlflow.start_run(run_id=logger.run_id):
                info = log_model(model, name="model")
            loaded = load_model(info.model_uri)  # our restricted loading, through Darts
        finally:
            mlflow.set_tracking_uri(previous_uri)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(OCL, series=series).values(),
                                  model.predict(OCL, series=series).values())


CHECKS: tuple[Callable[[type, dict], None], ...] = (
    check_params_protocol,
    check_fit_returns_self_and_keeps_inputs,
    check_predict_shape_and_index,
    check_clear_errors,
    check_covariates,
    check_multiple_series,
    check_probabilistic,
    check_save_load,
    check_determinism,
    check_callbacks,
    check_historical_forecasts_and_backtest,
    check_gridsearch,
    check_sample_weight,
    check_ensembles,
    check_conformal,
    check_scale_batch_size,
    check_load_best,
    check_finetuning,
    check_mlflow,
)


def check_forecaster(model_cls: type, params: dict | None = None) -> None:
    """Run every conformance check in :data:`CHECKS` against ``model_cls``.

    Parameters
    ----------
    model_cls
        A forecaster class taking Darts' constructor parameters.
    params
        Extra constructor parameters (e.g. architecture options) for every check.
    """
    for check in CHECKS:
        check(model_cls, dict(params or {}))
