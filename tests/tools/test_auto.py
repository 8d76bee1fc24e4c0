"""AutoRNNForecaster: Optuna search, pruning, parallel trials, and the conformance checks that apply."""

from __future__ import annotations

import optuna
import pytest
from darts.dataprocessing.transformers import Scaler
from sklearn.base import clone

from rnn_forecast import AutoRNNForecaster, RNNForecaster
from rnn_forecast.datasets import load_etth1
from rnn_forecast.persistence import ModelFileError
from rnn_forecast.tools.testing import (
    QUIET_TRAINER,
    check_clear_errors,
    check_determinism,
    check_fit_returns_self_and_keeps_inputs,
    check_historical_forecasts_and_backtest,
    check_multiple_series,
    check_predict_shape_and_index,
    check_save_load,
)
from rnn_forecast.tools.tune import Choice, FloatRange
from rnn_forecast.tools.tune.space import default_search_space, fitting_segments

TINY_SPACE = {"hidden_dim": Choice((4, 8)), "n_rnn_layers": 1, "dropout": 0.0, "lr": FloatRange(1e-3, 1e-2, log=True)}


@pytest.fixture(scope="module")
def oil(data_dir):
    """25 days of ETTh1 oil temperature, standardized."""
    series = load_etth1(data_dir, columns=["OT"]).target[-25 * 24 :]
    return Scaler().fit_transform(series)


def test_three_trials_search_refit_and_expose_the_study(oil):
    auto = AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=3, n_epochs=2, batch_size=32,
                             pl_trainer_kwargs=dict(QUIET_TRAINER))
    assert auto.fit(oil) is auto
    study = auto.study_
    assert len(study.trials) == 3
    assert auto.best_value_ == pytest.approx(study.best_value)
    best = auto.best_model_
    assert isinstance(best, RNNForecaster) and best.cell == auto.best_params_["cell"]
    searched = {"cell", "hidden_dim", "input_chunk_length", "lr", "segment_length", "normalization"}
    assert best.segment_length == auto.best_params_["segment_length"]
    assert best.normalization == auto.best_params_["normalization"]
    assert set(auto.best_params_) == searched
    assert best.input_chunk_length == auto.best_params_["input_chunk_length"] in (12, 24, 48)
    assert auto.predict(12).n_timesteps == 12
    assert auto.get_params()["n_trials"] == 3 and clone(auto).get_params()["n_trials"] == 3
    assert not hasattr(clone(auto), "best_model_")


def test_pruned_trials_are_recorded(oil):
    auto = AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=4, n_epochs=3,
                             pruner=optuna.pruners.ThresholdPruner(upper=-1.0),  # prunes every trial
                             pl_trainer_kwargs=dict(QUIET_TRAINER))
    study = auto.search(oil)
    assert [t.state.name for t in study.trials] == ["PRUNED"] * 4
    with pytest.raises(RuntimeError, match="No trial"):
        auto.fit(oil)


def test_progress_bar_counts_trials(oil, capsys):
    AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=2, n_epochs=1, show_progress_bar=True,
                      pl_trainer_kwargs=dict(QUIET_TRAINER)).search(oil)
    assert "2/2" in capsys.readouterr().err  # Optuna's bar: trials done, elapsed and ETA


@pytest.mark.slow
def test_trials_run_in_parallel_processes_through_sqlite(oil, tmp_path):
    url = f"sqlite:///{tmp_path / 'search.db'}"
    auto = AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=4, n_epochs=2, n_jobs=2, storage=url,
                             study_name="shared", pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(oil)
    stored = optuna.load_study(study_name="shared", storage=url)
    assert len(stored.trials) >= 4 and stored.best_value == pytest.approx(auto.best_value_)
    assert len({t.number for t in stored.trials}) == len(stored.trials)
    # a second "machine" joining the same study adds nothing once it holds n_trials
    AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=4, storage=url, study_name="shared").search(oil)
    assert len(optuna.load_study(study_name="shared", storage=url).trials) == len(stored.trials)


def test_clear_errors(oil):
    with pytest.raises(ValueError, match="needs at least one forecast window"):
        AutoRNNForecaster(48, validation_size=0.1).fit(oil[:200])
    with pytest.raises(ValueError, match="Unknown search-space parameters"):
        AutoRNNForecaster(12, search_space={"hiden_dim": Choice((4,))}).fit(oil)
    with pytest.raises(ValueError, match="darts.metrics"):
        AutoRNNForecaster(12, metric="accuracyy").fit(oil)
    with pytest.raises(ValueError, match="not fitted"):
        AutoRNNForecaster(12).predict(3)


CHECKS = [check_fit_returns_self_and_keeps_inputs, check_predict_shape_and_index, check_clear_errors,
          check_multiple_series, check_save_load, check_determinism, check_historical_forecasts_and_backtest]


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance_checks_that_apply(check):
    """The Darts/sklearn checks of rnn_forecast.tools.testing that a search wrapper can meet.

    Not applicable: parameter protocol and gridsearch (they set architecture parameters,
    which are searched here), covariate/probabilistic/callback checks (they read
    attributes of a Darts model, available on ``best_model_``).
    """
    check(AutoRNNForecaster, {"n_trials": 2, "search_space": {"hidden_dim": Choice((4, 8)), "n_rnn_layers": 1}})


def test_default_space_searches_the_defaults_and_keeps_segments_that_fit_every_lookback():
    space = default_search_space(24)
    assert space["input_chunk_length"].options == (24, 48, 96)
    assert space["segment_length"].options == ("auto", None)  # the default rule, or point-wise
    assert space["normalization"].options == ("level_scale", "level")
    assert fitting_segments(Choice((None, "auto", 5, 30)), [24, 48]).options == (None, "auto", 5)


class _RunsCode:
    """Unpickling this calls ``os.system``: what a malicious search record would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


def test_save_load_round_trip_and_no_code_runs_from_a_record(oil, tmp_path):
    import pickle

    from rnn_forecast.persistence import MissingModelFileError, UnsafeModelFileError

    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    auto = AutoRNNForecaster(12, search_space=TINY_SPACE, n_trials=2, n_epochs=1, batch_size=32, pruner=pruner,
                             pl_trainer_kwargs=dict(QUIET_TRAINER)).fit(oil)
    path = str(tmp_path / "auto.pt")
    auto.save(path)
    loaded = AutoRNNForecaster.load(path)  # restricted unpickling: space entries and pruner allowed
    assert loaded.predict(12) == auto.predict(12)
    assert loaded.best_params_ == auto.best_params_ and len(loaded.trials_) == 2
    assert loaded.get_params()["search_space"] == TINY_SPACE
    assert isinstance(loaded.get_params()["pruner"], optuna.pruners.MedianPruner)

    marker = tmp_path / "code-ran"
    with open(path + ".auto", "wb") as fh:
        pickle.dump({"params": _RunsCode(marker)}, fh)
    with pytest.raises(UnsafeModelFileError, match=r"auto\.pt\.auto' was not loaded: it holds `posix.system`"
                                                   r", which would run code") as info:
        AutoRNNForecaster.load(path)
    assert info.value.blocked and not marker.exists()
    with open(path + ".auto", "wb") as fh:
        fh.write(pickle.dumps({"params": {}})[:5])  # truncated
    with pytest.raises(ModelFileError, match="search record .* truncated or corrupted"):
        AutoRNNForecaster.load(path)
    with pytest.raises(MissingModelFileError, match="No search record"):
        AutoRNNForecaster.load(str(tmp_path / "none.pt"))
