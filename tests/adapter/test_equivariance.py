"""Equivariance as a contract: forecasts of ``a * x + b`` are ``a * forecast(x) + b``.

For the default design and every ``normalization`` that divides by the window's
spread, for any ``a > 0`` from 1e-30 to 1e30 and any ``b``: for the network with
arbitrary weights, for a fitted forecaster asked about a transformed or a different
series (``predict(series=...)``, ``historical_forecasts``, likelihood quantiles), and
for a forecaster fitted on the transformed data. The tolerance is float32's, relative
to the magnitudes involved: ``1e-4 * a * (spread of x) + 1e-5 * |b|``.
"""

import numpy as np
import pytest
import torch
from darts import TimeSeries
from darts.utils.data.torch_datasets.utils import PLModuleInput
from darts.utils.likelihood_models.torch import GaussianLikelihood, QuantileRegression
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnn_forecast import GRUForecaster, LSTMForecaster, RecurrentForecastModule
from rnn_forecast.datasets import load_etth1
from rnn_forecast.tools.testing import QUIET_TRAINER

L, T = 24, 6

scales = st.integers(-30, 30).map(lambda k: 10.0 ** k) | st.floats(1e-3, 1e3)
shifts = st.just(0.0) | st.floats(-1e6, 1e6) | st.tuples(st.floats(-1, 1), st.integers(-30, 30)).map(
    lambda pair: pair[0] * 10.0 ** pair[1])


def close(moved, expected, a, b, spread):
    moved, expected = (np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
                       for v in (moved, expected))
    tolerance = 1e-4 * a * spread + 1e-5 * abs(b) + 1e-6 * np.abs(expected)
    assert np.isfinite(moved).all()
    assert (np.abs(moved - expected) <= tolerance).all(), (a, b, np.abs(moved - expected).max(), tolerance.max())


def random_module(normalization, season, likelihood=None, decoder="parallel", seed=0):
    torch.manual_seed(seed)
    net = RecurrentForecastModule(cell="gru", past_dim=2, target_dim=2, hidden_dim=8, input_chunk_length=L,
                                  output_chunk_length=T, normalization=normalization, season=season,
                                  decoder=decoder, likelihood=likelihood).eval()
    with torch.no_grad():  # not the zero-initialised output layer: an arbitrary trained network
        for p in net.parameters():
            p.normal_(0, 0.5)
    net.set_loss_unit([0.3, 2.0])
    return net


@pytest.mark.parametrize("normalization, season, decoder", [
    ("level_scale", [4, 1], "parallel"), ("level_scale", None, "mlp"), ("mean_scale", [1, 6], "mlp"),
    ("mean_scale", 3, "parallel"),
])
@settings(max_examples=20, deadline=None)
@given(a=scales, b=shifts, seed=st.integers(0, 10_000))
def test_the_network_follows_the_data_at_any_scale(normalization, season, decoder, a, b, seed):
    net = random_module(normalization, season, decoder=decoder, seed=seed % 7)
    x = torch.randn(3, L, 2, generator=torch.Generator().manual_seed(seed)) * torch.tensor([1.0, 30.0])
    out = net(PLModuleInput(past_target=x)).prediction
    moved = net(PLModuleInput(past_target=x * a + b)).prediction
    close(moved, out.detach().double() * a + b, a, b, float(x.std()) * 10)


@pytest.mark.parametrize("likelihood", [QuantileRegression([0.1, 0.5, 0.9]), GaussianLikelihood()])
@settings(max_examples=15, deadline=None)
@given(a=scales, b=shifts, seed=st.integers(0, 10_000))
def test_likelihood_parameters_follow_the_data(likelihood, a, b, seed):
    """Quantiles and means move as the data; a standard deviation scales with ``a`` only.

    Except for a window that ``a * x + b`` makes constant in float32 (``b`` swamps ``a * x``):
    it has no spread of its own, and its standard deviation takes the loss unit's scale."""
    net = random_module("level_scale", [2, 5], likelihood=likelihood, seed=seed % 5)
    x = torch.randn(2, L, 2, generator=torch.Generator().manual_seed(seed))
    assume(bool(((x * a + b).std(dim=1) > 0).all()))
    params = net(PLModuleInput(past_target=x)).prediction.double()
    moved = net(PLModuleInput(past_target=x * a + b)).prediction.double()
    if isinstance(likelihood, QuantileRegression):
        close(moved, params * a + b, a, b, 10.0)
    else:
        close(moved[..., 0], params[..., 0] * a + b, a, b, 10.0)
        sd, moved_sd = torch.nn.functional.softplus(params[..., 1]), torch.nn.functional.softplus(moved[..., 1])
        close(moved_sd, sd * a, a, b, 10.0)  # b's rounding in float32 moves the spread too


def test_a_constant_window_is_forecast_as_its_baseline_at_any_scale():
    """No spread, no scale to learn from: the forecast is the seasonal-naive one, exactly."""
    net = random_module("level_scale", 1)
    for value in (0.0, 1e-30, -7.5, 1e30):
        x = torch.full((1, L, 2), value)
        out = net(PLModuleInput(past_target=x)).prediction
        assert torch.equal(out, torch.full_like(out, value))


# -- fitted forecasters, on a real series ------------------------------------------------


@pytest.fixture(scope="module")
def load(data_dir):
    """Hourly high useful load of ETTh1 (MW), 600 hours, raw units."""
    return load_etth1(data_dir).target["HUFL"][-600:]


@pytest.fixture(scope="module")
def fitted(load):
    return GRUForecaster(input_chunk_length=L, output_chunk_length=T, n_epochs=2, random_state=0,
                         pl_trainer_kwargs=QUIET_TRAINER).fit(load[:500])


@pytest.fixture(scope="module")
def quantile_model(load):
    return LSTMForecaster(input_chunk_length=L, output_chunk_length=T, n_epochs=1, random_state=0,
                          likelihood=QuantileRegression([0.05, 0.5, 0.95]),
                          pl_trainer_kwargs=QUIET_TRAINER).fit(load[:500])


def moved(series: TimeSeries, a: float, b: float) -> TimeSeries:
    return series.with_values((series.values(copy=False).astype(np.float64) * a + b).astype(np.float32))


@settings(max_examples=15, deadline=None)
@given(a=scales, b=shifts)
def test_a_fitted_model_forecasts_another_series_in_its_own_units(fitted, load, a, b):
    """``predict(series=other)``: a series the model was not trained on, at another scale and level."""
    other = load[500:]  # never seen in training
    base = fitted.predict(2 * T, series=other).values()  # also rolled out past the output chunk
    close(fitted.predict(2 * T, series=moved(other, a, b)).values(), base * a + b, a, b, float(other.values().std()))


@settings(max_examples=8, deadline=None)
@given(a=scales, b=shifts)
def test_historical_forecasts_follow_the_data(fitted, load, a, b):
    kwargs = dict(start=0.7, forecast_horizon=T, stride=T, retrain=False, last_points_only=False)
    base = fitted.historical_forecasts(load, **kwargs)
    shifted = fitted.historical_forecasts(moved(load, a, b), **kwargs)
    assert len(base) == len(shifted) > 1
    for f, g in zip(base, shifted):
        close(g.values(), f.values() * a + b, a, b, float(load.values().std()))


@settings(max_examples=8, deadline=None)
@given(a=scales, b=shifts)
def test_likelihood_quantiles_of_a_fitted_model_follow_the_data(quantile_model, load, a, b):
    other = load[500:]
    kwargs = dict(predict_likelihood_parameters=True)
    base = quantile_model.predict(T, series=other, **kwargs).values()
    close(quantile_model.predict(T, series=moved(other, a, b), **kwargs).values(), base * a + b, a, b,
          float(other.values().std()))


REFIT = dict(input_chunk_length=L, output_chunk_length=T, n_epochs=2, random_state=1,
             pl_trainer_kwargs=QUIET_TRAINER)


@pytest.fixture(scope="module")
def refit_base(load):
    return GRUForecaster(**REFIT).fit(load[:300]).predict(T).values()


@pytest.mark.parametrize("a, b", [(1e-30, 0.0), (1e30, -3e30), (1e-6, 1e-5), (1000.0, 5e6)])
def test_fitting_on_the_transformed_data_gives_the_transformed_forecast(load, refit_base, a, b):
    """Training itself is unit-free: the loss is measured in the training data's typical step."""
    train = load[:300]
    refit = GRUForecaster(**REFIT).fit(moved(train, a, b)).predict(T).values()
    close(refit, refit_base * a + b, a, b, float(train.values().std()) * 10)
