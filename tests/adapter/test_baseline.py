"""Never worse than naive by design: the seasonal baseline, its season, and the best epoch.

The network forecasts a correction to the seasonal-naive forecast of its own input
window and starts at zero, so the untrained network *is* that baseline; early stopping
on a held-out tail counts the untrained network as epoch 0 and keeps the best epoch.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from darts import TimeSeries
from darts.utils.data.torch_datasets.utils import PLModuleInput
from darts.utils.likelihood_models.torch import QuantileRegression
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster, RecurrentForecastModule
from rnn_forecast.adapter.seasonality import calendar_seasons, infer_season, select_seasons
from rnn_forecast.datasets import load_etth1, load_stocks, load_weather
from rnn_forecast.nn.early_stopping import BestEpoch, validation_tail
from rnn_forecast.nn.module import baseline_index
from rnn_forecast.tools.testing import QUIET_TRAINER

L, T = 12, 5


def seasonal_naive(x: np.ndarray, m: int, horizon: int) -> np.ndarray:
    """The seasonal-naive forecast after the end of ``x`` (``(L,)``), written plainly."""
    return np.array([x[len(x) - m + (h % m)] for h in range(horizon)])


@pytest.mark.parametrize("decoder, ci, normalization", [
    ("parallel", True, "level_scale"), ("mlp", False, "level_scale"), ("mlp", True, "mean_scale"),
    ("parallel", False, None),
])
@pytest.mark.parametrize("likelihood", [None, QuantileRegression([0.1, 0.5, 0.9])])
def test_the_untrained_network_is_exactly_the_seasonal_naive_forecast(decoder, ci, normalization, likelihood):
    seasons = [4, 1, 12]
    net = RecurrentForecastModule(cell="lstm", past_dim=4, target_dim=3, hidden_dim=8, input_chunk_length=L,
                                  output_chunk_length=T, season=seasons, decoder=decoder, likelihood=likelihood,
                                  channel_independence=ci, normalization=normalization).eval()
    x = torch.randn(2, L, 4) * 100 + 50
    out = net(PLModuleInput(past_target=x[..., :3], past_covariates=x[..., 3:])).prediction
    for b in range(2):
        for c, m in enumerate(seasons):
            expected = seasonal_naive(x[b, :, c].numpy(), m, T)
            for p in range(out.shape[-1]):  # every quantile starts at the baseline
                np.testing.assert_array_equal(out[b, :, c, p].detach().numpy(), expected)


def test_baseline_index_with_an_output_shift():
    """Shift 2, season 3: steps 3..7 after the window's end repeat the values 3, 6, 6, 6, 9 steps earlier."""
    assert baseline_index([3], 6, 5, output_chunk_shift=2)[:, 0].tolist() == [5, 3, 4, 5, 3]


def test_a_season_longer_than_the_window_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"`season` \(24\) must not exceed `input_chunk_length` \(12\)"):
        GRUForecaster(input_chunk_length=12, output_chunk_length=4, season=24)
    with pytest.raises(ValueError, match="one per target component"):
        RecurrentForecastModule(cell="gru", past_dim=2, target_dim=2, input_chunk_length=12,
                                output_chunk_length=4, season=[1, 2, 3])


def test_pointwise_and_season_none_keep_the_earlier_designs():
    assert POINTWISE["season"] is None
    net = RecurrentForecastModule(cell="gru", past_dim=1, target_dim=1, input_chunk_length=L,
                                  output_chunk_length=T, season=None)
    assert net.season is None and net.head.out.weight.abs().sum() > 0  # default initialisation


# -- the season ----------------------------------------------------------------------------


def test_calendar_seasons():
    assert calendar_seasons("h") == (24, 168) and calendar_seasons("10min") == (144, 1008)
    assert calendar_seasons("MS") == (12,) and calendar_seasons("QS-JAN") == (4,)
    assert calendar_seasons("W-SUN") == (52,) and calendar_seasons("D") == (7, 365)
    assert calendar_seasons("YS") == () and calendar_seasons(None) == ()


def _monthly(values) -> TimeSeries:
    return TimeSeries.from_series(pd.Series(np.asarray(values, dtype=np.float32),
                                            index=pd.date_range("1950-01-01", periods=len(values), freq="MS")))


def test_monthly_data_get_the_calendar_season_not_the_autocorrelation_peak():
    """El Nino sea temperatures, monthly (statsmodels): 12, where Darts' detector alone may say otherwise."""
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR").to_numpy().ravel()
    series = _monthly(wide[-144:])  # a short series: 12 years
    assert infer_season(series, horizon=12) == 12


def test_real_series_get_their_seasons(data_dir):
    load = load_etth1(data_dir).target["HUFL"][-24 * 7 * 8:]  # hourly, 8 weeks
    assert infer_season(load, horizon=24, max_season=168) in (24, 168)
    assert infer_season(load, horizon=24, max_season=48) == 24  # the week does not fit: the day
    apple = load_stocks(tickers=["AAPL"], fields=("close",), data_dir=data_dir).target[0]
    assert infer_season(apple, horizon=5, max_season=30) == 1  # a random walk: the last value


def test_white_noise_keeps_the_last_value():
    noise = np.random.default_rng(0).normal(size=240)
    assert select_seasons(_monthly(noise), horizon=6, max_season=24).tolist() == [1]


def test_the_forecaster_finds_a_season_per_component(data_dir):
    weather = load_weather(data_dir, columns=["SWDR (W/m²)", "p (mbar)"]).target
    hourly = weather[-6 * 24 * 21:].resample("h", method="mean")  # three weeks, hourly
    model = GRUForecaster(input_chunk_length=48, output_chunk_length=24, n_epochs=1, random_state=0,
                          pl_trainer_kwargs=QUIET_TRAINER).fit(hourly)
    assert model.model.season == [24, 1]  # sunshine has a day; air pressure does not


# -- validation tail and the best epoch --------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 2000), lookback=st.integers(1, 200), horizon=st.integers(1, 100),
       fraction=st.floats(0, 0.9), stride=st.integers(1, 16))
def test_the_validation_tail_never_shares_a_target_step_and_leaves_most_windows_to_training(
        length, lookback, horizon, fraction, stride):
    window = lookback + horizon
    tail = validation_tail(length, window, horizon, fraction, stride)
    if tail == 0:
        return
    assert tail % stride == 0  # validation windows start at the training windows' phase
    val_windows = tail - horizon + 1
    train_windows = (length - tail) - window + 1
    assert val_windows >= 1 and train_windows >= val_windows
    # the first validation target step comes after the last training target step
    assert length - tail >= lookback + horizon


def test_fit_holds_out_a_tail_but_predicts_after_the_whole_series(data_dir):
    series = load_etth1(data_dir).target["OT"][-400:]
    model = LSTMForecaster(input_chunk_length=24, output_chunk_length=6, n_epochs=1, random_state=0,
                           pl_trainer_kwargs=QUIET_TRAINER).fit(series)
    assert model.training_series == series
    assert model.predict(6).start_time() == series.end_time() + series.freq
    callback = next(cb for cb in model.trainer.callbacks if isinstance(cb, BestEpoch))
    assert callback.best_epoch in (0, 1) and np.isfinite(callback.best_loss)


def test_a_perfect_baseline_is_kept_when_training_cannot_improve_it():
    """An exactly periodic series: seasonal naive is perfect on the tail, epoch 0 is the best."""
    pattern = np.array([3.0, 7.0, 1.0, 9.0, 4.0, 4.5, 2.0])
    series = TimeSeries.from_series(pd.Series(np.tile(pattern, 40).astype(np.float32),
                                              index=pd.date_range("2020-01-01", periods=280, freq="D")))
    model = GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=3, random_state=0,
                          optimizer_kwargs={"lr": 3e-2}, pl_trainer_kwargs=QUIET_TRAINER).fit(series)
    assert model.model.season == [7]
    callback = next(cb for cb in model.trainer.callbacks if isinstance(cb, BestEpoch))
    assert callback.best_epoch == 0 and callback.best_loss == 0.0
    np.testing.assert_array_equal(model.predict(21).values().ravel(), np.tile(pattern, 3))


def _stopping_epoch(losses, **options):
    """Feed ``BestEpoch(patience=2, **options)`` the validation losses ``losses`` (``losses[0]``:
    the untrained network's) and return (epochs trained when it stopped, best epoch)."""
    from types import SimpleNamespace

    callback, module = BestEpoch(patience=2, **options), torch.nn.Linear(1, 1)
    callback._keep(None, module, losses[0], 0)
    trainer = SimpleNamespace(sanity_checking=False, should_stop=False, max_epochs=len(losses) - 1)
    for epoch, loss in enumerate(losses[1:]):
        trainer.current_epoch, trainer.callback_metrics = epoch, {"val_loss": torch.tensor(loss)}
        callback.on_validation_end(trainer, module)
        if trainer.should_stop:
            return epoch + 1, callback.best_epoch
    return len(losses) - 1, callback.best_epoch


def test_patience_counts_once_a_trained_epoch_has_beaten_the_baseline():
    """Epochs 1-4 are worse than the untrained network, epoch 5 beats it: patience (2)
    starts counting there, so training stops at epoch 7 and keeps epoch 5; counted from
    the first epoch, it stopped at epoch 2 with the baseline."""
    losses = [1.0, 1.5, 1.4, 1.3, 1.2, 0.9, 0.95, 0.97, 0.8]
    assert _stopping_epoch(losses) == (7, 5)
    assert _stopping_epoch(losses, patience_from_baseline=False) == (2, 0)
    assert _stopping_epoch([1.0, 1.1, 1.2, 1.3]) == (3, 0)  # never beaten: every epoch trains
    assert _stopping_epoch([1.0, 0.9, 1.1, 1.2, 0.5]) == (3, 1)  # beaten at once: as before


def test_a_network_that_never_beats_its_baseline_trains_every_epoch():
    """An exactly periodic series, where no correction can beat seasonal naive: the default
    trains all epochs (and keeps the baseline); ``patience_from_baseline=False`` stops early."""
    pattern = np.array([3.0, 7.0, 1.0, 9.0, 4.0, 4.5, 2.0])
    series = _monthly(np.tile(pattern, 40))
    for from_baseline, epochs in ((True, 6), (False, 2)):
        best = BestEpoch(patience=2, patience_from_baseline=from_baseline)
        model = GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=6, random_state=0, season=[7],
                              optimizer_kwargs={"lr": 3e-2},
                              pl_trainer_kwargs={**QUIET_TRAINER, "callbacks": [best]}).fit(series)
        assert best.best_epoch == 0 and model.trainer.current_epoch == epochs


def test_a_component_whose_correction_loses_on_validation_is_forecast_as_its_baseline():
    """One global model over two components: an exactly periodic one, where no correction
    can beat seasonal naive, and a noisy one; the first keeps its baseline, exactly."""
    pattern = np.array([3.0, 7.0, 1.0, 9.0, 4.0, 4.5, 2.0])
    periodic = np.tile(pattern, 40)
    noisy = 10 + np.cumsum(np.random.default_rng(0).normal(size=280))
    series = TimeSeries.from_dataframe(
        pd.DataFrame({"periodic": periodic, "noisy": noisy}, index=pd.date_range("2020-01-01", periods=280, freq="D"))
    ).astype(np.float32)
    model = GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=4, random_state=0,
                          season=[7, 1], optimizer_kwargs={"lr": 1e-2}, pl_trainer_kwargs=QUIET_TRAINER).fit(series)
    callback = next(cb for cb in model.trainer.callbacks if isinstance(cb, BestEpoch))
    assert model.model._correction_gate[0] == 0 or callback.best_epoch == 0
    np.testing.assert_array_equal(model.predict(14).values()[:, 0], np.tile(pattern, 2))
    assert np.isfinite(model.predict(14).values()).all()


def test_correction_weights_pick_the_blend_with_the_lowest_validation_loss():
    """BestEpoch(correction_weights=...): per component, the weight of the correction whose
    validation loss is lowest; the forecast is the baseline plus that share of the correction."""
    noisy = 10 + np.sin(np.arange(300) * 2 * np.pi / 7) + np.random.default_rng(1).normal(size=300)
    series = _monthly(noisy)
    weights = (0.0, 0.25, 0.5, 0.75, 1.0)

    def fit(callback):
        return GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=3, random_state=0, season=[7],
                             pl_trainer_kwargs={**QUIET_TRAINER, "callbacks": [callback]}).fit(series)

    blend = fit(BestEpoch(correction_weights=weights))
    gate = float(blend.model._correction_gate[0])
    assert gate in weights
    full = fit(BestEpoch(correction_weights=(0.0, 1.0)))  # same training, same seed: the same network
    full.model.set_correction_gate([1.0])
    base = fit(BestEpoch(correction_weights=(0.0, 1.0)))
    base.model.set_correction_gate([0.0])
    forecast, with_all, baseline = (m.predict(7).values().ravel() for m in (blend, full, base))
    np.testing.assert_allclose(forecast, baseline + gate * (with_all - baseline), rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="must ascend from 0"):
        BestEpoch(correction_weights=(0.5, 1.0))


def test_correction_evidence_drops_a_gain_the_held_out_windows_do_not_show():
    from rnn_forecast.nn.early_stopping import _one_sided_p

    assert _one_sided_p(torch.full((9,), 0.3, dtype=torch.float64)) == 0.0  # every window gains
    assert _one_sided_p(torch.tensor([0.2, -0.2, 0.1, -0.1], dtype=torch.float64)) > 0.4  # no gain shown
    assert _one_sided_p(torch.linspace(0.5, 1.5, 30, dtype=torch.float64)) < 1e-10
    # windows of 10 steps, one step apart: 30 of them carry the evidence of about 3
    noisy = torch.tensor(np.random.default_rng(0).normal(0.5, 1.0, 30))
    assert _one_sided_p(noisy) < 0.05 < _one_sided_p(noisy, overlap=10)
    assert _one_sided_p(torch.full((9,), 0.3, dtype=torch.float64), overlap=9) == 0.0  # one window's worth, all gain
    assert _one_sided_p(torch.full((9,), 0.3, dtype=torch.float64), overlap=10) == 1.0  # less than one window
    with pytest.raises(ValueError, match="between 0 and 1"):
        BestEpoch(correction_evidence=1.5)
    # a level no noisy gain can pass: every correction is dropped, the forecast is the baseline exactly
    series = _monthly(10 + np.sin(np.arange(300) * 2 * np.pi / 7) + np.random.default_rng(1).normal(size=300))
    model = GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=3, random_state=0, season=[7],
                          pl_trainer_kwargs={**QUIET_TRAINER, "callbacks": [BestEpoch(correction_evidence=1e-300)]})
    model.fit(series)
    callback = next(cb for cb in model.trainer.callbacks if isinstance(cb, BestEpoch))
    if callback.best_epoch:  # (epoch 0 is the baseline anyway)
        assert float(model.model._correction_gate[0]) == 0.0
    np.testing.assert_allclose(model.predict(14).values().ravel(), np.tile(series.values().ravel()[-7:], 2))


def test_without_early_stopping_every_window_trains_and_the_last_epoch_stays():
    series = _monthly(np.sin(np.arange(200) * 2 * np.pi / 12) * 10 + np.arange(200) * 0.1)
    model = GRUForecaster(input_chunk_length=24, output_chunk_length=6, n_epochs=1, early_stopping=False,
                          random_state=0, pl_trainer_kwargs=QUIET_TRAINER).fit(series)
    assert not any(isinstance(cb, BestEpoch) for cb in model.trainer.callbacks)
    assert model.trainer.num_val_batches == []


def test_a_long_forecast_keeps_the_daily_cycle(data_dir):
    """720 hours of solar radiation rolled out from a 48-hour model: the cycle does not fade."""
    sun = load_weather(data_dir, columns=["SWDR (W/m²)"]).target[-6 * 24 * 42:].resample("h", method="mean")
    model = GRUForecaster(input_chunk_length=48, output_chunk_length=24, n_epochs=1, random_state=0,
                          pl_trainer_kwargs=QUIET_TRAINER).fit(sun)
    forecast = model.predict(720).values().ravel()
    first, last = forecast[:24].std(), forecast[-24:].std()
    assert last > 0.5 * first > 0, (first, last)


def test_short_series_of_sixty_points_train_and_too_short_ones_say_what_they_need():
    series = _monthly(np.sin(np.arange(60) * 2 * np.pi / 12) * 5 + 20)
    model = GRUForecaster(input_chunk_length=12, output_chunk_length=6, n_epochs=2, random_state=0,
                          pl_trainer_kwargs=QUIET_TRAINER).fit(series)
    assert model.model.season == [12] and np.isfinite(model.predict(6).values()).all()
    with pytest.raises(ValueError, match=r"has 15 time steps but training .* needs at least 18"):
        GRUForecaster(input_chunk_length=12, output_chunk_length=6, n_epochs=1).fit(series[:15])


def test_earliest_within_noise_is_the_one_standard_error_rule():
    from rnn_forecast.nn.early_stopping import earliest_within_noise

    rng = np.random.default_rng(0)
    noise = torch.tensor(rng.normal(0, 0.05, (40, 1)))
    base, trained = 2.0 + noise, 1.0 + noise  # a gain on every window: far beyond noise
    # a later epoch 0.001 lower on average, window by window noisy: within noise of the earlier
    later = trained - 0.001 + torch.tensor(rng.normal(0, 0.1, (40, 1)))
    later = later - (later.mean() - (trained.mean() - 0.001))
    assert earliest_within_noise([base, trained]) == 1
    assert earliest_within_noise([base, trained, later]) == 1
    # an excess of 0.1 with a spread of 0.5 over 40 windows: beyond one standard error (0.079)
    # if they are independent, within it (0.25) if they are windows of 10 steps, one step apart
    z = torch.tensor(rng.normal(size=(40, 1)))
    lower = base - 0.1 - 0.5 * (z - z.mean()) / z.std()
    assert earliest_within_noise([base, lower]) == 1
    assert earliest_within_noise([base, lower], overlap=10) == 0
    assert earliest_within_noise([base[:1], trained[:1]]) == 1  # one window: no spread to judge, the lowest
    assert earliest_within_noise([base, trained], overlap=80) == 1  # less than one window's worth


@pytest.mark.parametrize("within_noise", [True, False])
def test_the_kept_weights_are_those_of_the_chosen_epoch(within_noise):
    """Early stopping restores exactly the weights the chosen epoch had; without
    ``within_noise`` that is the epoch with the lowest validation loss."""
    import copy

    import pytorch_lightning as pl

    class Snapshots(pl.Callback):
        def __init__(self):
            self.states = []

        def on_train_start(self, trainer, pl_module):
            self.states.append(copy.deepcopy(pl_module.state_dict()))

        def on_validation_end(self, trainer, pl_module):
            if not trainer.sanity_checking:
                self.states.append(copy.deepcopy(pl_module.state_dict()))

    series = _monthly(10 + np.sin(np.arange(300) * 2 * np.pi / 7) + np.random.default_rng(1).normal(size=300))
    snapshots, best = Snapshots(), BestEpoch(within_noise=within_noise)
    model = GRUForecaster(input_chunk_length=14, output_chunk_length=7, n_epochs=6, random_state=0, season=[7],
                          pl_trainer_kwargs={**QUIET_TRAINER, "callbacks": [snapshots, best]}).fit(series)
    assert best.best_epoch is not None and best.best_epoch <= best.lowest_epoch
    if not within_noise:
        assert best.best_epoch == best.lowest_epoch
    kept = model.model.state_dict()
    for name, value in snapshots.states[best.best_epoch].items():
        if name != "_correction_gate":  # set after training, per component
            torch.testing.assert_close(kept[name], value, rtol=0, atol=0)
