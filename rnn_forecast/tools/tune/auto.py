"""``AutoRNNForecaster``: Optuna searches the architecture, then the best is refitted.

Why a wrapper and not a Darts model subclass: a Darts ``ForecastingModel`` must know
its lookback (``input_chunk_length``, hence ``extreme_lags``, encoders, minimum
series lengths) when it is constructed, and the lookback is one of the things searched
here. So, like scikit-learn's ``GridSearchCV``, :class:`AutoRNNForecaster` is an
estimator whose ``fit`` runs the search and refits the best
:class:`~rnn_forecast.RNNForecaster` (``best_model_``); ``predict``,
``historical_forecasts``, ``backtest``, ``residuals`` and ``save`` go to that model.

Parallel and distributed search use Optuna's shared storage: every worker process
(``n_jobs`` on this machine, or any process on any machine given the same
``storage`` URL and ``study_name``) pulls trials from the same study until it holds
``n_trials`` finished trials.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field

import numpy as np
from darts import concatenate
from darts import metrics as darts_metrics
from darts.utils.callbacks import PyTorchLightningPruningCallback
from darts.utils.serialization import add_safe_globals
from darts.utils.serialization.base import restricted_pickle_load
from sklearn.base import BaseEstimator

from rnn_forecast._moved import with_old_paths
from rnn_forecast.adapter.forecaster import RNNForecaster
from rnn_forecast.adapter.inputs import as_series, check_finite, check_positive_int
from rnn_forecast.persistence.errors import MissingModelFileError, read_error
from rnn_forecast.tools.tune.space import (
    Choice,
    FloatRange,
    IntRange,
    check_space,
    default_search_space,
    fitting_segments,
    sample,
)

QUIET = {"enable_progress_bar": False, "enable_model_summary": False, "logger": False}


def _as_list(value):
    return None if value is None else (value if isinstance(value, list) else [value])


@dataclass
class _Objective:
    """One Optuna trial: fit on the series minus its validation tail, score the tail.

    Picklable, so that worker processes can run it. The score is the Darts metric of
    non-overlapping rolling forecasts over the validation tail (``historical_forecasts``,
    no retraining); the validation loss after each epoch feeds the pruner.
    """

    series: list
    past: list | None
    future: list | None
    n_val: list[int]
    space: dict
    fixed: dict
    metric: str
    horizon: int
    pl_trainer_kwargs: dict = field(default_factory=dict)

    def build(self, params: dict, callbacks: list) -> RNNForecaster:
        params = dict(params)
        lr = params.pop("lr", None)
        kwargs = {**self.fixed, **params}
        if lr is not None:
            kwargs["optimizer_kwargs"] = {**kwargs.get("optimizer_kwargs", {}), "lr": lr}
        trainer = {**QUIET, **self.pl_trainer_kwargs}
        trainer["callbacks"] = [*trainer.get("callbacks", []), *callbacks]
        return RNNForecaster(output_chunk_length=self.horizon, pl_trainer_kwargs=trainer, **kwargs)

    def __call__(self, trial) -> float:
        params = sample(trial, self.space)
        # Darts' callback raises optuna.TrialPruned from inside fit: Optuna records the trial as pruned
        model = self.build(params, [PyTorchLightningPruningCallback(trial, monitor="val_loss")])
        L = model.input_chunk_length
        train = [s[:-n] for s, n in zip(self.series, self.n_val)]
        val = [s[-(n + L):] for s, n in zip(self.series, self.n_val)]
        model.fit(train, past_covariates=self.past, future_covariates=self.future, val_series=val,
                  val_past_covariates=self.past, val_future_covariates=self.future)
        return self.score(model)

    def score(self, model: RNNForecaster) -> float:
        scores = []
        for i, (s, n) in enumerate(zip(self.series, self.n_val)):
            windows = model.historical_forecasts(
                s, past_covariates=self.past[i] if self.past else None,
                future_covariates=self.future[i] if self.future else None,
                start=s.time_index[len(s) - n], forecast_horizon=self.horizon, stride=self.horizon,
                retrain=False, last_points_only=False, overlap_end=False, verbose=False)
            scores.append(getattr(darts_metrics, self.metric)(s, concatenate(windows)))
        return float(np.mean(scores))


def _optuna():
    try:
        import optuna
    except ImportError as exc:
        raise ImportError("AutoRNNForecaster needs Optuna: pip install 'rnn_forecast[tune]'") from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _worker(storage: str, study_name: str, objective: _Objective, n_trials: int, timeout, threads: int):
    """Body of one search process: pull trials from the shared study until it holds ``n_trials``.

    Running trials of other processes count, so that the workers stop together.
    """
    import torch

    optuna = _optuna()
    torch.set_num_threads(threads)
    study = optuna.load_study(study_name=study_name, storage=_storage(storage))
    if len(study.trials) >= n_trials:
        return
    done = optuna.study.MaxTrialsCallback(n_trials, states=None)
    study.optimize(objective, timeout=timeout, callbacks=[done])


def _storage(url: str):
    optuna = _optuna()
    if url.startswith("sqlite"):
        # SQLite serializes writers: wait for the lock rather than fail with "database is locked"
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return url


class AutoRNNForecaster(BaseEstimator):
    """Search cell, size, depth, lookback, dropout and learning rate; refit the best.

    Parameters
    ----------
    output_chunk_length
        Forecast horizon ``T`` (fixed).
    input_chunk_length
        Fix the lookback instead of searching it (default: searched among ``T``, ``2T``,
        ``4T``, those that fit the series).
    search_space
        Overrides of :func:`~rnn_forecast.tools.tune.space.default_search_space`: parameter
        name -> ``Choice``/``IntRange``/``FloatRange`` or a fixed value.
    n_trials
        Trials the study should hold; trials already in a shared study (or running in
        other search processes) count.
    timeout
        Seconds after which each search process stops starting trials.
    n_epochs
        Training epochs of every trial and of the final refit.
    batch_size
        Batch size of every trial and of the final refit.
    validation_size
        Tail of each series held out to score trials: a fraction or a number of steps.
    metric
        A Darts metric name scored on the validation tail (lower is better), e.g.
        ``"mae"``, ``"mse"``, ``"rmse"``.
    n_jobs
        Search processes on this machine. Above 1 they share the study through
        ``storage`` (an SQLite file in a temporary folder when ``storage`` is None).
    storage
        Optuna storage URL (``"sqlite:///search.db"``, ``"postgresql://..."``); any
        process given the same URL and ``study_name`` joins the search.
    study_name
        Name of the study in ``storage`` (loaded if it exists).
    pruner
        An Optuna pruner; default ``MedianPruner(n_startup_trials=2, n_warmup_steps=1)``.
    random_state
        Seed of the sampler (TPE) and of every trained model.
    model_kwargs
        Fixed :class:`~rnn_forecast.RNNForecaster` parameters for every trial.
    pl_trainer_kwargs
        Lightning settings for every trial and the refit (quiet by default).
    show_progress_bar
        Show Optuna's progress bar (trials done, elapsed time and ETA) during a
        sequential search (``n_jobs=1``).

    Attributes
    ----------
    best_model_ : RNNForecaster
        The best configuration, refitted on the whole series.
    best_params_ : dict
        Its searched parameters.
    best_value_ : float
        Its validation score.
    study_ : optuna.Study
        The study (in memory; also in ``storage`` when one was given).
    """

    def __init__(
        self,
        output_chunk_length: int,
        input_chunk_length: int | None = None,
        *,
        search_space: dict | None = None,
        n_trials: int = 20,
        timeout: float | None = None,
        n_epochs: int = 10,
        batch_size: int = 32,
        validation_size: float = 0.2,
        metric: str = "mae",
        n_jobs: int = 1,
        storage: str | None = None,
        study_name: str | None = None,
        pruner=None,
        random_state: int = 0,
        model_kwargs: dict | None = None,
        pl_trainer_kwargs: dict | None = None,
        show_progress_bar: bool = False,
    ):
        self.output_chunk_length = output_chunk_length
        self.input_chunk_length = input_chunk_length
        self.search_space = search_space
        self.n_trials = n_trials
        self.timeout = timeout
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.validation_size = validation_size
        self.metric = metric
        self.n_jobs = n_jobs
        self.storage = storage
        self.study_name = study_name
        self.pruner = pruner
        self.random_state = random_state
        self.model_kwargs = model_kwargs
        self.pl_trainer_kwargs = pl_trainer_kwargs
        self.show_progress_bar = show_progress_bar

    # -- search ----------------------------------------------------------------------

    def _objective(self, series, past_covariates, future_covariates) -> _Objective:
        series = _as_list(as_series(series, "series"))
        past = _as_list(as_series(past_covariates, "past_covariates"))
        future = _as_list(as_series(future_covariates, "future_covariates"))
        for name, value in (("series", series), ("past_covariates", past), ("future_covariates", future)):
            check_finite(value, name)
        h = self.output_chunk_length
        check_positive_int(h, "output_chunk_length")
        if not hasattr(darts_metrics, self.metric):
            raise ValueError(f"`metric` must name a darts.metrics function, got {self.metric!r}.")
        space = {**default_search_space(h), **(self.search_space or {})}
        if self.input_chunk_length is not None:
            space["input_chunk_length"] = self.input_chunk_length
        check_space(space)
        n_val = [self._validation_steps(len(s)) for s in series]
        shortest = min(len(s) - n for s, n in zip(series, n_val))
        lookbacks = self._fitting_lookbacks(space["input_chunk_length"], shortest, len(series[0]))
        space["input_chunk_length"] = lookbacks
        # the default space has a segment_length entry, so the merged space always does
        options = lookbacks.options if isinstance(lookbacks, Choice) else [lookbacks]
        space["segment_length"] = fitting_segments(space["segment_length"], options)
        fixed = {"n_epochs": self.n_epochs, "batch_size": self.batch_size, "random_state": self.random_state,
                 **(self.model_kwargs or {})}
        return _Objective(series, past, future, n_val, space, fixed, self.metric, h,
                          dict(self.pl_trainer_kwargs or {}))

    def _validation_steps(self, length: int) -> int:
        v, h = self.validation_size, self.output_chunk_length
        n = int(round(length * v)) if isinstance(v, float) and 0 < v < 1 else v
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(
                f"`validation_size` must be a fraction in (0, 1) or a positive number of steps, got {v!r}.")
        if n < h:
            raise ValueError(
                f"The validation tail needs at least one forecast window (output_chunk_length={h} steps) "
                f"but has {n} of the series' {length} steps: enlarge `validation_size` or use a longer series.")
        return n

    def _fitting_lookbacks(self, spec, train_length: int, length: int):
        """Keep only the lookbacks that leave at least one training window."""
        h = self.output_chunk_length
        options = list(spec.options) if isinstance(spec, Choice) else [spec]
        fitting = [L for L in options if L + h <= train_length]
        if not fitting:
            raise ValueError(
                f"The series needs at least {min(options) + h} steps before its validation tail for "
                f"input_chunk_length + output_chunk_length = {min(options)} + {h}, but has {train_length} "
                f"(of {length}); use a longer series, a smaller `validation_size` or a shorter lookback.")
        return Choice(tuple(fitting)) if isinstance(spec, Choice) else fitting[0]

    def _study(self, storage):
        optuna = _optuna()
        pruner = self.pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        return optuna.create_study(
            study_name=self.study_name, storage=storage, load_if_exists=True, direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=self.random_state), pruner=pruner)

    def search(self, series, past_covariates=None, future_covariates=None):
        """Run trials until the study holds ``n_trials``; no refit.

        This is what each worker of a multi-machine search calls (see
        docs/choosing-a-cell.md). Returns the ``optuna.Study``.
        """
        objective = self._objective(series, past_covariates, future_covariates)
        if self.n_jobs <= 1:
            storage = _storage(self.storage) if self.storage else None
            study = self._study(storage)
            remaining = self.n_trials - _finished(study)
            if remaining > 0:
                study.optimize(objective, n_trials=remaining, timeout=self.timeout,
                               show_progress_bar=self.show_progress_bar)
            self.study_ = study
            return study
        return self._search_in_processes(objective)

    def _search_in_processes(self, objective: _Objective):
        optuna = _optuna()
        folder = None
        url = self.storage
        if url is None:
            folder = tempfile.mkdtemp(prefix="autornn-")
            url = f"sqlite:///{os.path.join(folder, 'study.db')}"
        try:
            study = self._study(_storage(url))
            name = study.study_name
            threads = max(1, (os.cpu_count() or 1) // self.n_jobs)
            # "spawn": a forked child of a process that already ran torch can deadlock in OpenMP
            ctx = multiprocessing.get_context("spawn")
            workers = [ctx.Process(target=_worker, args=(url, name, objective, self.n_trials, self.timeout, threads))
                       for _ in range(self.n_jobs)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            failed = [w.exitcode for w in workers if w.exitcode != 0]
            if failed:
                raise RuntimeError(f"{len(failed)} search process(es) failed (exit codes {failed}); "
                                   "run with n_jobs=1 to see the error.")
            if folder is not None:  # keep the study after the temporary file is gone
                memory = optuna.storages.InMemoryStorage()
                optuna.copy_study(from_study_name=name, from_storage=_storage(url), to_storage=memory)
                study = optuna.load_study(study_name=name, storage=memory)
            else:
                study = optuna.load_study(study_name=name, storage=_storage(url))
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self.study_ = study
        return study

    def fit(self, series, past_covariates=None, future_covariates=None) -> AutoRNNForecaster:
        """Search (see :meth:`search`), then refit the best configuration on the whole series.

        Returns
        -------
        AutoRNNForecaster
            ``self``, with ``best_model_``, ``best_params_``, ``best_value_`` and ``study_``.
        """
        study = self.search(series, past_covariates, future_covariates)
        complete = [t for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
        if not complete:
            raise RuntimeError(f"No trial of the {len(study.trials)} in the study completed (all pruned or "
                               "failed); raise `n_trials` or use a less aggressive `pruner`.")
        objective = self._objective(series, past_covariates, future_covariates)
        best = study.best_trial
        self.best_params_ = dict(best.params)
        self.best_value_ = float(best.value)
        chosen = {k: best.params.get(k, v) for k, v in objective.space.items()
                  if not hasattr(v, "suggest") or k in best.params}
        self.best_model_ = objective.build(chosen, [])
        self.best_model_.fit(objective.series if len(objective.series) > 1 else objective.series[0],
                             past_covariates=_one(objective.past), future_covariates=_one(objective.future))
        return self

    # -- the fitted model ------------------------------------------------------------

    def _fitted(self) -> RNNForecaster:
        if not hasattr(self, "best_model_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet: call `fit(series)` first.")
        return self.best_model_

    def predict(self, n: int, series=None, past_covariates=None, future_covariates=None, **kwargs):
        """``best_model_.predict``: forecast ``n`` steps."""
        return self._fitted().predict(n, series=series, past_covariates=past_covariates,
                                      future_covariates=future_covariates, **kwargs)

    def historical_forecasts(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """``best_model_.historical_forecasts``; ``retrain=True`` retrains the best architecture
        (it does not search again)."""
        return self._fitted().historical_forecasts(series, past_covariates=past_covariates,
                                                   future_covariates=future_covariates, **kwargs)

    def backtest(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """``best_model_.backtest``."""
        return self._fitted().backtest(series, past_covariates=past_covariates,
                                       future_covariates=future_covariates, **kwargs)

    def residuals(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """``best_model_.residuals``."""
        return self._fitted().residuals(series, past_covariates=past_covariates,
                                        future_covariates=future_covariates, **kwargs)

    def save(self, path: str) -> None:
        """Save ``best_model_`` at ``path`` (Darts format) and the search record at ``path + ".auto"``."""
        self._fitted().save(path)
        record = {"params": self.get_params(), "best_params_": self.best_params_, "best_value_": self.best_value_,
                  "trials": self.study_.trials_dataframe() if getattr(self, "study_", None) else None}
        with open(path + ".auto", "wb") as fh:
            pickle.dump(record, fh)

    @classmethod
    def load(cls, path: str, trusted: bool = False) -> AutoRNNForecaster:
        """Load what :meth:`save` wrote (the study's trials come back as ``trials_``, a DataFrame).

        The search record is read with Darts' restricted unpickling, as forecaster files
        are: besides plain data, pandas, torch and Darts objects, only the search-space
        entries and Optuna's own pruners are allowed; nothing in the file can run code.

        Parameters
        ----------
        path
            The path given to :meth:`save`.
        trusted
            Disable restricted unpickling (only for files you fully trust, e.g. with a
            pruner class of your own; ``add_safe_globals`` allows one class instead).

        Raises
        ------
        MissingModelFileError
            If ``path + ".auto"`` (or the model files) do not exist.
        UnsafeModelFileError
            If the record holds an object that is not allowed; it is not loaded.
        ModelFileError
            If the record is truncated or corrupted.
        """
        record_path = path + ".auto"
        if not os.path.isfile(record_path):
            raise MissingModelFileError(f"No search record at {record_path!r} (written by `save`).")
        _allow_search_record_globals()
        try:
            with open(record_path, "rb") as fh:
                record = restricted_pickle_load(fh, trusted=trusted)
        except Exception as exc:
            raise read_error(record_path, exc, "search record", zip_archive=False) from exc
        model = cls(**record["params"])
        model.best_params_, model.best_value_ = record["best_params_"], record["best_value_"]
        model.trials_ = record["trials"]
        model.best_model_ = RNNForecaster.load(path, trusted=trusted)
        return model


def _allow_search_record_globals() -> None:
    """Allow the classes a search record holds beyond Darts' list: space entries, Optuna pruners."""
    pruners = _optuna().pruners
    classes = [getattr(pruners, name) for name in pruners.__all__]
    add_safe_globals(with_old_paths([Choice, IntRange, FloatRange, *(c for c in classes if isinstance(c, type))]))


def _finished(study) -> int:
    return sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)


def _one(items):
    return None if items is None else (items if len(items) > 1 else items[0])
