"""The design options of the recurrent network: shapes, invariances, errors, real data."""

import itertools

import numpy as np
import pytest
import torch
from darts.utils.data.torch_datasets.utils import PLModuleInput
from darts.utils.likelihood_models.torch import GaussianLikelihood, PoissonLikelihood
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_forecast import RecurrentForecastModule, RNNForecaster
from rnn_forecast.testing import QUIET_TRAINER

L, T, C = 12, 5, 3
OPTIONS = list(itertools.product(
    ["lstm", "gru"], [None, 4], ["mlp", "parallel"], [False, True], [False, True]))


def module(cell="gru", segment_length=None, decoder="mlp", channel_independence=False,
           subtract_last=False, past_covariates=2, future_dim=1, static=(C, 2), **kwargs):
    return RecurrentForecastModule(
        cell=cell, past_dim=C + past_covariates + future_dim, target_dim=C, future_dim=future_dim,
        static_dim=static[0] * static[1] if static else 0,
        static_components=static[0] if static else 1, hidden_dim=8,
        input_chunk_length=L, output_chunk_length=T, segment_length=segment_length,
        decoder=decoder, channel_independence=channel_independence, subtract_last=subtract_last,
        **kwargs,
    ).eval()


def inputs(batch=4, past_covariates=2, future_dim=1, static=(C, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    return PLModuleInput(
        past_target=rand(batch, L, C),
        past_covariates=rand(batch, L, past_covariates) if past_covariates else None,
        historic_future_covariates=rand(batch, L, future_dim) if future_dim else None,
        future_covariates=rand(batch, T, future_dim) if future_dim else None,
        static_covariates=rand(batch, *static) if static else None,
    )


@pytest.mark.parametrize("cell, segment_length, decoder, ci, subtract_last", OPTIONS)
def test_every_option_combination_forecasts_the_right_shape(cell, segment_length, decoder, ci, subtract_last):
    net = module(cell, segment_length, decoder, ci, subtract_last)
    out = net(inputs()).prediction
    assert out.shape == (4, T, C, 1) and torch.isfinite(out).all()
    out.sum().backward()  # every parameter takes part
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("decoder", ["mlp", "parallel"])
def test_static_covariates_with_one_row_are_shared_by_all_channels(decoder):
    net = module(decoder=decoder, channel_independence=True, static=(1, 3))
    assert net(inputs(static=(1, 3))).prediction.shape == (4, T, C, 1)


def test_segments_shorten_the_recurrence():
    net = module(segment_length=4)
    seen = []
    net.encoder.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[1]))
    net.rnn_backend = "torch"  # the hook sees torch.nn calls
    net(inputs())
    assert seen[0] == L // 4


@settings(max_examples=20, deadline=None)
@given(shift=st.floats(-50, 50), decoder=st.sampled_from(["mlp", "parallel"]),
       ci=st.booleans(), seed=st.integers(0, 1000))
def test_subtract_last_makes_forecasts_shift_with_the_level(shift, decoder, ci, seed):
    net = module(decoder=decoder, channel_independence=ci, subtract_last=True, past_covariates=0,
                 future_dim=0, static=None)
    x = inputs(past_covariates=0, future_dim=0, static=None, seed=seed)
    moved = x.replace(past_target=x.past_target + shift)
    torch.testing.assert_close(net(moved).prediction, net(x).prediction + shift, atol=1e-3, rtol=1e-5)


def test_subtract_last_shifts_only_location_parameters():
    net = module(subtract_last=True, likelihood=GaussianLikelihood(), past_covariates=0,
                 future_dim=0, static=None)
    x = inputs(past_covariates=0, future_dim=0, static=None)
    delta = net(x.replace(past_target=x.past_target + 10)).prediction - net(x).prediction
    torch.testing.assert_close(delta[..., 0], torch.full_like(delta[..., 0], 10.0))
    torch.testing.assert_close(delta[..., 1], torch.zeros_like(delta[..., 1]))
    with pytest.raises(ValueError, match="location parameter"):
        module(subtract_last=True, likelihood=PoissonLikelihood())


def test_channel_independence_shares_weights_across_components():
    small = sum(p.numel() for p in module(channel_independence=True, static=None).parameters())
    x_wide = RecurrentForecastModule(
        cell="gru", past_dim=10 + 3, target_dim=10, future_dim=1, hidden_dim=8,
        input_chunk_length=L, output_chunk_length=T, channel_independence=True)
    assert sum(p.numel() for p in x_wide.parameters()) == small


@pytest.mark.parametrize("bad, message", [
    ({"segment_length": 5}, "multiple of `segment_length`"),
    ({"segment_length": 0}, "positive integer"),
    ({"decoder": "transformer"}, "`decoder` must be one of"),
])
def test_invalid_options_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        RNNForecaster(input_chunk_length=L, output_chunk_length=T, **bad)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_segrnn_configuration_learns_real_data(cell, data_dir):
    """A short real-data run: ETTh1 oil temperature, SegRNN-style options, beats repeat-last."""
    from darts import concatenate
    from darts.metrics import mse

    from rnn_forecast.datasets import load_etth1, ltsf_split

    split = ltsf_split(load_etth1(data_dir).target, "etth1", lookback=96)
    model = RNNForecaster(
        input_chunk_length=96, output_chunk_length=24, cell=cell, hidden_dim=32,
        segment_length=24, decoder="parallel", channel_independence=True, subtract_last=True,
        n_epochs=2, batch_size=64, random_state=0, loss_fn=torch.nn.L1Loss(),
        optimizer_kwargs={"lr": 3e-3}, pl_trainer_kwargs=dict(QUIET_TRAINER))
    model.fit(split.train, max_samples_per_ts=2000)
    test = split.test[: 96 + 24 * 40]
    forecasts = model.historical_forecasts(test, start=96, start_format="position",
                                           forecast_horizon=24, stride=24, retrain=False,
                                           last_points_only=False)
    naive = [f.with_values(np.repeat(test.drop_after(f.start_time())[-1:].all_values(), 24, axis=0))
             for f in forecasts]
    ours, baseline = mse(test, concatenate(forecasts)), mse(test, concatenate(naive))
    assert ours < baseline, (ours, baseline)
