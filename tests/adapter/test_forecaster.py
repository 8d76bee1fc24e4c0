"""Forecaster behaviour beyond the shared conformance suite."""

import inspect

import numpy as np
import pytest
from darts.metrics import mae

from rnn_forecast import GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.tools.testing import QUIET_TRAINER, make_series


def test_issue_example_runs_as_written(tmp_path):
    """The usage example of the core issue, with covariates and validation series."""
    series = make_series(length=300)
    pc = make_series(length=300, n_components=1, seed=1)
    fc = make_series(length=300 + 48, n_components=1, seed=2)
    val = make_series(length=300, seed=3)[-150:]
    model = GRUForecaster(input_chunk_length=96, output_chunk_length=24, hidden_dim=64,
                          n_epochs=2, random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    assert model.fit(series, past_covariates=pc, future_covariates=fc, val_series=val) is model
    with pytest.raises(ValueError, match="past_covariates"):
        model.predict(n=48, series=series, num_samples=1)  # pc ends with series: too short
    pc_longer = make_series(length=300 + 24, n_components=1, seed=1)
    forecast = model.predict(n=48, series=series, past_covariates=pc_longer, num_samples=1)
    assert forecast.n_timesteps == 48
    bt = model.backtest(series, start=0.8, forecast_horizon=24, retrain=False, metric=mae)
    hf = model.historical_forecasts(series, start=0.8, forecast_horizon=24, retrain=False)
    assert np.isfinite(bt) and hf.n_timesteps > 0
    model.save(str(tmp_path / "m.pt"))
    loaded = GRUForecaster.load(str(tmp_path / "m.pt"))
    np.testing.assert_array_equal(
        loaded.predict(n=24).values(), model.predict(n=24).values())


def test_fixed_cell_classes_share_one_implementation():
    assert issubclass(LSTMForecaster, RNNForecaster) and issubclass(GRUForecaster, RNNForecaster)
    params = inspect.signature(GRUForecaster.__init__).parameters
    assert "cell" not in params and "hidden_dim" in params
    assert GRUForecaster(input_chunk_length=4, output_chunk_length=2).cell == "gru"
    assert LSTMForecaster(input_chunk_length=4, output_chunk_length=2).cell == "lstm"
    with pytest.raises(TypeError, match="always uses cell='gru'"):
        GRUForecaster(input_chunk_length=4, output_chunk_length=2, cell="lstm")
    lstm = LSTMForecaster(input_chunk_length=4, output_chunk_length=2, hidden_dim=8)
    assert type(lstm.untrained_model()) is LSTMForecaster
    assert "cell" not in lstm.model_params


@pytest.mark.parametrize("bad, message", [
    ({"cell": "rnn"}, "cell"),
    ({"hidden_dim": 0}, "hidden_dim"),
    ({"n_rnn_layers": 1.5}, "n_rnn_layers"),
    ({"dropout": 1.0}, "dropout"),
    ({"hidden_fc_sizes": [8, -1]}, "hidden_fc_sizes"),
    ({"activation": "NoSuchActivation"}, "activation"),
    ({"no_such_parameter": 1}, "no_such_parameter"),
])
def test_invalid_constructor_parameters_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        RNNForecaster(input_chunk_length=4, output_chunk_length=2, **bad)


def test_pandas_inputs_give_the_same_forecast_as_timeseries():
    series = make_series()
    frame = series.to_dataframe()
    params = dict(input_chunk_length=12, output_chunk_length=4, hidden_dim=8, n_epochs=1,
                  random_state=3, pl_trainer_kwargs=dict(QUIET_TRAINER))
    from_ts = LSTMForecaster(**params).fit(series).predict(4)
    model = LSTMForecaster(**params).fit(frame)
    np.testing.assert_array_equal(model.predict(4).values(), from_ts.values())
    np.testing.assert_array_equal(model.predict(4, series=frame).values(), from_ts.values())
    backtest = model.backtest(frame, start=0.8, forecast_horizon=4, retrain=False, metric=mae)
    assert np.isfinite(backtest)
    best, best_params, _ = LSTMForecaster.gridsearch(
        {**{k: [v] for k, v in params.items()}, "hidden_dim": [4, 8]},
        series=frame, start=0.8,
        forecast_horizon=4, metric=mae)
    assert best_params["hidden_dim"] in (4, 8)


def test_val_covariates_default_to_training_covariates_for_one_series():
    series = make_series(length=150)
    past = make_series(length=150, n_components=1, seed=5)
    model = GRUForecaster(input_chunk_length=12, output_chunk_length=4, n_epochs=1,
                          pl_trainer_kwargs=dict(QUIET_TRAINER))
    model.fit(series[:100], past_covariates=past, val_series=series[80:])
    assert model.uses_past_covariates
    many = [series[:100], series[:90]]
    with pytest.raises(ValueError, match="validation"):
        model.untrained_model().fit(many, past_covariates=[past, past], val_series=many)


def test_what_fit_measures_for_the_network_is_never_left_on_the_model():
    """``fit`` hands the loss unit and seasons to ``_create_model`` in ``_fit_context``;
    neither a failed fit nor a finished one leaves it behind (it would be saved)."""
    model = GRUForecaster(input_chunk_length=24, output_chunk_length=6, hidden_dim=4, n_epochs=1,
                          random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(make_series(), sample_weight="bogus")  # Darts refuses it before building the network
    assert "_fit_context" not in vars(model) and not model.model_created
    model.fit(make_series())
    assert "_fit_context" not in vars(model) and model.model_created


def test_a_deterministic_forecast_leaves_every_random_state_alone():
    """Deterministic ``predict`` calls skip Darts' ``@random_method``: they neither seed
    torch's global generator (shared by every thread) nor draw from the model's own random
    instance, so the Monte Carlo dropout forecasts that follow are those of a model never asked."""
    import torch

    series = make_series(length=120, n_components=1)
    kwargs = dict(input_chunk_length=12, output_chunk_length=4, hidden_dim=8, hidden_fc_sizes=[8], dropout=0.3,
                  n_epochs=1, random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER))
    asked, untouched = GRUForecaster(**kwargs).fit(series), GRUForecaster(**kwargs).fit(series)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    asked.predict(4)
    asked.predict(4, series=series[:60])
    np.testing.assert_array_equal(torch.get_rng_state().numpy(), before.numpy())
    sampled = asked.predict(4, num_samples=20, mc_dropout=True).all_values()
    assert sampled.std(axis=2).min() > 0  # dropout is on: the samples differ
    np.testing.assert_array_equal(sampled, untouched.predict(4, num_samples=20, mc_dropout=True).all_values())
