"""Darts forecasters around :class:`~rnn_forecast.nn.module.RecurrentForecastModule`.

:class:`RNNForecaster` is the one implementation (``cell="lstm"`` or ``"gru"``);
:class:`LSTMForecaster` and :class:`GRUForecaster` fix the cell. All three are Darts
``MixedCovariatesTorchModel`` subclasses, so Darts' whole torch-model API applies
(``fit``/``predict``/``historical_forecasts``/``backtest``/``gridsearch``/``residuals``,
``save``/``load``, ``pl_trainer_kwargs``, ``likelihood``, ``add_encoders``, ...), plus
scikit-learn's ``get_params``/``set_params``/``clone`` and pandas inputs.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Sequence
from functools import partial

import numpy as np
import pytorch_lightning as pl
import torch
from darts import TimeSeries
from darts.models.forecasting.forecasting_model import ForecastingModel
from darts.models.forecasting.torch_forecasting_model import (
    MixedCovariatesTorchModel,
    TorchForecastingModel,
)
from darts.utils.data.torch_datasets.utils import TorchTrainingSample
from darts.utils.serialization import add_safe_globals
from pytorch_lightning.callbacks import ModelCheckpoint
from typing_extensions import override  # `typing.override` is Python 3.12+; we support 3.11

from rnn_forecast._darts_private import _build_forecast_series_from_schema
from rnn_forecast._moved import with_old_paths
from rnn_forecast.adapter import params as sklearn_params
from rnn_forecast.adapter.inference import can_skip_trainer, exclusive_prediction, predict_windows
from rnn_forecast.adapter.inputs import check_positive_int, fit_inputs, inference_inputs
from rnn_forecast.adapter.seasonality import select_seasons
from rnn_forecast.adapter.windows import BatchedInferenceDataset, BatchedTrainingDataset, collate_batch
from rnn_forecast.nn.callbacks import LossExplosionError, with_default_callback, with_training_guards
from rnn_forecast.nn.cells import get_cell
from rnn_forecast.nn.early_stopping import BestEpoch, validation_tail
from rnn_forecast.nn.global_level import training_reference
from rnn_forecast.nn.module import (
    RecurrentForecastModule,
    check_module_options,
    check_seasons,
    location_scale_masks,
)
from rnn_forecast.persistence import files, runs


def _loader_kwargs(dataset, user_kwargs: dict | None) -> dict:
    """``DataLoader`` arguments: ours for the batched datasets, then the user's on top.

    Darts pins memory by default, which is useless on CPU and warns on every loader;
    batched datasets need their pass-through ``collate_fn``.
    """
    defaults = {"pin_memory": torch.cuda.is_available()}
    if isinstance(dataset, (BatchedTrainingDataset, BatchedInferenceDataset)):
        defaults["collate_fn"] = collate_batch
    return {**defaults, **(user_kwargs or {})}


def _keyword_only_after(method, last_positional: str, *extra: inspect.Parameter) -> inspect.Signature:
    """Darts' signature of ``method`` with every parameter after ``last_positional`` keyword-only.

    Our ``fit``/``predict`` take the series arguments by position, as Darts' do, and the
    rest by keyword only: a positional ``trainer`` would otherwise bind to another
    parameter of ours. ``extra`` parameters (keyword-only) are appended.
    """
    signature = inspect.signature(method)
    names = list(signature.parameters)
    cut = names.index(last_positional) + 1
    parameters = [p if i < cut else p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                  for i, p in enumerate(signature.parameters.values())]
    return signature.replace(parameters=[*parameters, *extra])


class RNNForecaster(MixedCovariatesTorchModel):
    """Recurrent (LSTM or GRU) forecaster with past, future and static covariates.

    By default (the measured-best design, docs/defaults.md) each input window is
    normalized by its last value and its standard deviation, each target component is
    forecast on its own with shared weights, the LSTM/GRU encoder reads the lookback in
    segments of several steps, and a parallel decoder steps the same cell once per
    output segment, with the future-known covariates of that segment; the forecasts are
    mapped back to the data's units. Raw, unscaled series work as they are. Training
    minimizes the mean absolute error (``loss_fn=torch.nn.L1Loss()``). Longer horizons
    ``n > output_chunk_length`` are rolled out auto-regressively by Darts.

    ``**POINTWISE`` (:data:`rnn_forecast.POINTWISE`) gives the plain point-wise design
    instead (one recurrent step per time step, a direct MLP head on the last hidden
    state, components modelled jointly, no normalization), the design of Darts'
    ``BlockRNNModel``.

    Parameters
    ----------
    input_chunk_length
        Lookback window ``L``: past steps fed to the encoder.
    output_chunk_length
        Steps ``T`` forecast at once by the head.
    output_chunk_shift
        Steps between the end of the input and the start of the output chunk.
    cell
        A registered cell (:mod:`rnn_forecast.nn.cells`): ``"lstm"`` or ``"gru"`` built in.
    hidden_dim
        Hidden state size of each recurrent layer.
    n_rnn_layers
        Number of stacked recurrent layers.
    hidden_fc_sizes
        Hidden layer widths of the head; ``None`` for a single linear layer.
    dropout
        Dropout between recurrent layers and before each head layer (also enables
        Monte Carlo dropout with ``predict(..., mc_dropout=True)``).
    activation
        ``torch.nn`` activation between head layers.
    use_static_covariates
        Use the static covariates of the target series, if any.
    segment_length
        Segment-wise recurrence (SegRNN, Lin et al. 2023): the lookback is cut into
        segments of ``segment_length`` steps, each embedded linearly, so the recurrence
        runs ``ceil(input_chunk_length / segment_length)`` steps (the first segment is
        padded when the length does not divide the lookback); also the output segment
        length of the ``"parallel"`` decoder. ``"auto"`` (default):
        ``min(48, ceil(input_chunk_length / 4))``, at least four segments of at most 48
        steps. ``None``: one recurrent step per time step.
    decoder
        ``"parallel"`` (default): SegRNN's parallel multi-step decoder, one recurrent
        step per output segment with learned position (and channel) embeddings;
        ``"mlp"``: a direct head from the final hidden state to all output steps.
    channel_independence
        Forecast each target component as a univariate series with shared weights
        (PatchTST, Nie et al. 2023; default); covariates are shared by all components.
    normalization
        ``"level_scale"`` (default): subtract each input window's last value and divide
        by its standard deviation (per component), and map the forecast back, so the
        network sees the same scale whatever the data's units; ``"mean_scale"``: the same
        with the window's mean as the level (better on strongly seasonal raw series such
        as hourly traffic, where the last value is a noisy level: docs/defaults.md);
        ``"level"``: subtract the last value only (SegRNN's normalization); ``None``: no
        normalization.
        ``use_reversible_instance_norm=True`` (with ``normalization=None``) gives Darts'
        RevIN (Kim et al. 2022) instead. With a likelihood, its location parameters are
        mapped back (and its spread parameters scaled): Gaussian, Laplace, Cauchy and
        quantile regression; other likelihoods need ``normalization=None``.
    season
        The network forecasts a correction to the seasonal-naive forecast of its own
        input window (each output step repeats the value one season back), and starts
        from it: the untrained network returns exactly that baseline.
        ``"auto"`` (default): per target component, the season of
        :mod:`rnn_forecast.adapter.seasonality` found on the training series in ``fit`` (the
        frequency's calendar, e.g. 24 or 168 for hourly data, 12 for monthly, confirmed
        by the data), at most ``input_chunk_length``, or the last value when no season
        beats it (``fit_from_dataset``, which has no series to look at, uses the last
        value); an integer ``m`` (at most ``input_chunk_length``; 1: the last value):
        that season for every component; ``None``: no baseline, forecasts relative to
        the window's level (the 0.3 design, part of ``**POINTWISE``).
    linear_baseline
        With a ``season``: the baseline also learns a linear correction from the
        window (``T x L`` weights on its deviations from the last value, starting at
        zero; NLinear's linear path), so it can average several seasons or follow a
        trend. Off by default: it helps some short series a lot and costs 2-4 % MASE on
        the main benchmark's ETTh1 (docs/defaults.md).
    early_stopping
        Keep the epoch with the lowest validation loss, counting the untrained network
        (the baseline) as epoch 0, and stop once half the epochs (at least 5) bring no
        improvement, counted from the first trained epoch that beats the baseline
        (:class:`~rnn_forecast.nn.early_stopping.BestEpoch`; pass your own in
        ``pl_trainer_kwargs["callbacks"]`` for another patience, or
        ``BestEpoch(within_noise=True)`` for the earliest trained epoch within one
        standard error of the lowest loss). Without a ``val_series``,
        ``fit`` holds out the end of each training series
        (:func:`~rnn_forecast.nn.early_stopping.validation_tail`: the last
        ``validation_fraction`` of its training windows, at most 500, with no target
        step shared with training); a series too short to spare them trains whole. ``False``:
        train ``n_epochs`` on everything and keep the last weights.
    validation_fraction
        Share of each series' training windows held out when ``early_stopping`` has no
        ``val_series``.
    global_level
        With a ``normalization``: let the network also see where each window lies
        against the training series' overall level and spread (the window's last value,
        mean and standard deviation, relative to the per-component mean and standard
        deviation of the series given to the first ``fit``), through a linear map onto
        the encoder's final state (:mod:`rnn_forecast.nn.global_level`). Off by default
        since 0.4: it ties the network to the training data's units, so a forecast for
        another series, or for the same data in other units, changes (the default is
        equivariant: ``a * x + b`` is forecast as ``a * forecast(x) + b``).
        ``"auto"``: on for the target components that are stationary in every training
        series (ADF and KPSS tests, in ``fit``); ``True``: on for every component;
        ``False`` (default): window normalization only. docs/defaults.md has the
        measurements.
    loss_fn
        Training loss without a likelihood; ``None`` (default): ``torch.nn.L1Loss()``.
    rnn_backend
        ``"auto"`` (default): fused CPU kernels for float32 training and inference on
        CPU (:mod:`rnn_forecast.nn.recurrence`), except LSTM training, which oneDNN's
        ``torch.nn.LSTM`` does faster (docs/speed.md); ``torch.nn`` (cuDNN) elsewhere;
        ``"torch"``: always ``torch.nn.LSTM``/``GRU``; ``"fused"``: always the fused
        kernels. Same parameters and results either way.
    **kwargs
        Darts ``TorchForecastingModel`` parameters: ``batch_size``, ``n_epochs``,
        ``likelihood``, ``torch_metrics``, ``optimizer_cls``,
        ``optimizer_kwargs``, ``lr_scheduler_cls``, ``lr_scheduler_kwargs``,
        ``use_reversible_instance_norm``, ``random_state``, ``pl_trainer_kwargs``,
        ``add_encoders``, ``model_name``, ``work_dir``, ``save_checkpoints``,
        ``force_reset``, ``log_tensorboard``, ``nr_epochs_val_period``,
        ``show_warnings``, ``enable_finetuning``.

    Examples
    --------
    >>> from rnn_forecast import GRUForecaster
    >>> model = GRUForecaster(input_chunk_length=96, output_chunk_length=24, n_epochs=5)
    >>> model.fit(series).predict(n=48)  # doctest: +SKIP
    """

    # The state of a checkpointed run between building, fit and resuming, kept by
    # rnn_forecast.persistence (defer_existing_run, prepare_run, building_network):
    # the checkpoint folder of a run found when the model was built, and the input
    # dimensions of the run being resumed. Saved files carry them.
    _earlier_run: str | None = None
    _resume_dims: dict | None = None

    def __init__(
        self,
        input_chunk_length: int,
        output_chunk_length: int,
        output_chunk_shift: int = 0,
        cell: str = "lstm",
        hidden_dim: int = 64,
        n_rnn_layers: int = 1,
        hidden_fc_sizes: Sequence[int] | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        use_static_covariates: bool = True,
        segment_length: int | str | None = "auto",
        decoder: str = "parallel",
        channel_independence: bool = True,
        normalization: str | None = "level_scale",
        season: int | str | Sequence[int] | None = "auto",
        linear_baseline: bool = False,
        early_stopping: bool = True,
        validation_fraction: float = 0.2,
        global_level: bool | str = False,
        rnn_backend: str = "auto",
        loss_fn: torch.nn.Module | None = None,
        **kwargs,
    ):
        if "subtract_last" in kwargs:
            raise TypeError(
                "`subtract_last` was replaced by `normalization` in rnn_forecast 0.2: "
                "`subtract_last=True` is `normalization='level'`, `subtract_last=False` is "
                "`normalization=None` (the default is now 'level_scale')."
            )
        super().__init__(**self._extract_torch_model_params(**self.model_params))
        # loss_fn=None reaches the module, whose default is L1 (also when Darts reloads it)
        self.pl_module_params = self._extract_pl_module_params(**self.model_params)
        _check_architecture(hidden_dim, n_rnn_layers, hidden_fc_sizes, dropout, activation)
        if not (isinstance(global_level, bool) or global_level == "auto"):
            raise ValueError(f"`global_level` must be True, False or 'auto', got {global_level!r}.")
        check_module_options(cell, rnn_backend, decoder, segment_length, input_chunk_length,
                             normalization)
        if season != "auto" and (season is None or np.ndim(season) == 0):
            check_seasons(season, 1, input_chunk_length)
        elif season != "auto":
            check_seasons(season, len(season), input_chunk_length)
        if not isinstance(early_stopping, (bool, np.bool_)):
            raise ValueError(f"`early_stopping` must be True or False, got {early_stopping!r}.")
        if not (isinstance(validation_fraction, float | int) and 0 <= validation_fraction < 1):
            raise ValueError(f"`validation_fraction` must be in [0, 1), got {validation_fraction!r}.")
        if normalization is not None or season is not None:  # fails early for a likelihood that cannot be mapped back
            likelihood = kwargs.get("likelihood")
            location_scale_masks(likelihood, likelihood.num_parameters if likelihood else 1,
                                 f"normalization={normalization!r}" if normalization else f"season={season!r}")
        self.cell = cell
        self.hidden_dim = hidden_dim
        self.n_rnn_layers = n_rnn_layers
        self.hidden_fc_sizes = hidden_fc_sizes
        self.dropout = dropout
        self.activation = activation
        self.rnn_backend = rnn_backend
        self.segment_length = segment_length
        self.decoder = decoder
        self.channel_independence = channel_independence
        self.normalization = normalization
        self.season = season
        self.linear_baseline = linear_baseline
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.global_level = global_level
        self._considers_static_covariates = use_static_covariates
        self._enable_user_checkpoints(kwargs.get("pl_trainer_kwargs") or {})

    def _enable_user_checkpoints(self, pl_trainer_kwargs: dict) -> None:
        """A ``ModelCheckpoint`` in ``pl_trainer_kwargs["callbacks"]`` should just work.

        Darts sets ``enable_checkpointing=save_checkpoints`` (False by default), which
        makes Lightning reject a user's own ``ModelCheckpoint``.
        """
        wants = any(isinstance(cb, ModelCheckpoint) for cb in pl_trainer_kwargs.get("callbacks", []))
        if wants and "enable_checkpointing" not in pl_trainer_kwargs:
            self.trainer_params["enable_checkpointing"] = True

    @override
    def _create_model(self, train_sample: TorchTrainingSample) -> RecurrentForecastModule:
        """The network, sized from a training sample (Darts calls this once, in ``fit``)."""
        dims = train_sample.component_dims()
        static = train_sample.static_covariates
        target_dim = dims["past_target"]
        past_dim = target_dim + (dims["past_covariates"] or 0) + (
            dims["historic_future_covariates"] or 0
        )
        # what `fit` measured on the training series (nothing after fit_from_dataset)
        context = self.__dict__.pop("_fit_context", None) or {}
        reference = context.get("reference")
        seasons = context.get("seasons")
        if seasons is None and self.season is not None:  # fit_from_dataset: no series to look at
            seasons = 1 if self.season == "auto" else self.season
        loss_unit = context.get("loss_unit")
        uses_level = self.normalization is not None and (
            self.global_level is True
            or (self.global_level == "auto" and reference is not None and bool(reference.used.any()))
        )  # a plain bool: the checkpoint's hyperparameters load with weights_only
        module = RecurrentForecastModule(
            cell=self.cell,
            past_dim=past_dim,
            target_dim=target_dim,
            future_dim=dims["future_covariates"] or 0,
            static_dim=static.size if static is not None else 0,
            hidden_dim=self.hidden_dim,
            n_rnn_layers=self.n_rnn_layers,
            hidden_fc_sizes=self.hidden_fc_sizes,
            dropout=self.dropout,
            activation=self.activation,
            rnn_backend=self.rnn_backend,
            segment_length=self.segment_length,
            decoder=self.decoder,
            channel_independence=self.channel_independence,
            static_components=static.shape[0] if static is not None else 1,
            normalization=self.normalization,
            global_level=uses_level,
            season=_plain(seasons),
            linear_baseline=self.linear_baseline,
            **self.pl_module_params,
        )
        if uses_level and reference is not None:
            module.set_reference(*reference)
        if loss_unit is not None:
            module.set_loss_unit(loss_unit)
        return module

    @property
    @override
    def supports_static_covariates(self) -> bool:
        """``True``: the network reads the target's static covariates."""
        return True

    @override
    def _build_train_dataset(
        self, series, past_covariates, future_covariates, sample_weight, max_samples_per_ts, stride=1
    ) -> BatchedTrainingDataset:
        """Darts' training dataset with the same samples, fetched a whole batch at a time."""
        return BatchedTrainingDataset(**self._dataset_kwargs(series, past_covariates, future_covariates),
                                      stride=stride, max_samples_per_ts=max_samples_per_ts, sample_weight=sample_weight)

    @override
    def _build_inference_dataset(
        self, n, series, past_covariates, future_covariates, stride=0, bounds=None
    ) -> BatchedInferenceDataset:
        """Darts' inference dataset with the same windows, fetched a whole batch at a time."""
        return BatchedInferenceDataset(**self._dataset_kwargs(series, past_covariates, future_covariates),
                                       n=n, stride=stride, bounds=bounds)

    def _dataset_kwargs(self, series, past_covariates, future_covariates) -> dict:
        """What both batched datasets take from the call and from the model's window settings."""
        return dict(series=series, past_covariates=past_covariates, future_covariates=future_covariates,
                    input_chunk_length=self.input_chunk_length, output_chunk_length=self.output_chunk_length,
                    output_chunk_shift=self.output_chunk_shift, use_static_covariates=self.uses_static_covariates)

    @override
    def predict_from_dataset(
        self,
        n: int,
        dataset,
        trainer=None,
        batch_size: int | None = None,
        verbose: bool | None = None,
        n_jobs: int = 1,
        roll_size: int | None = None,
        num_samples: int = 1,
        dataloader_kwargs: dict | None = None,
        mc_dropout: bool = False,
        predict_likelihood_parameters: bool = False,
        random_state: int | None = None,
        values_only: bool = False,
    ):
        """Darts' ``predict_from_dataset``, without a Lightning ``Trainer`` where possible.

        Deterministic CPU predictions with no custom ``trainer``, ``dataloader_kwargs``
        or prediction callbacks run the module's roll-out directly
        (:mod:`rnn_forecast.adapter.inference`): the same forecasts, without the per-call cost of
        a trainer. ``predict``/``historical_forecasts``/``backtest`` all come through here.
        """
        if num_samples > 1 and self.likelihood is None and not mc_dropout:
            # Darts counts a dropout model as probabilistic and its conformal wrappers ask
            # it for `cal_num_samples` (500) samples; without mc_dropout all are the same
            # forecast, so it is computed once and repeated (Darts computes it 500 times).
            once = self.predict_from_dataset(
                n, dataset, trainer=trainer, batch_size=batch_size, verbose=verbose, n_jobs=n_jobs,
                roll_size=roll_size, num_samples=1, dataloader_kwargs=dataloader_kwargs,
                predict_likelihood_parameters=predict_likelihood_parameters,
                random_state=random_state, values_only=values_only,
            )
            if values_only:
                values, schemas, starts = once
                return [np.repeat(v, num_samples, axis=-1) for v in values], schemas, starts
            return [f.with_values(np.repeat(f.all_values(copy=False), num_samples, axis=2)) for f in once]
        fast = isinstance(dataset, BatchedInferenceDataset) and can_skip_trainer(
            self, trainer, num_samples, mc_dropout, predict_likelihood_parameters, dataloader_kwargs
        )
        if not fast:
            dataloader_kwargs = _loader_kwargs(dataset, dataloader_kwargs)
            with exclusive_prediction(self.model):  # thread safety: rnn_forecast/adapter/inference.py
                return super().predict_from_dataset(
                    n, dataset, trainer=trainer, batch_size=batch_size, verbose=verbose,
                    n_jobs=n_jobs, roll_size=roll_size, num_samples=num_samples,
                    dataloader_kwargs=dataloader_kwargs, mc_dropout=mc_dropout,
                    predict_likelihood_parameters=predict_likelihood_parameters,
                    random_state=random_state, values_only=values_only,
                )
        # the checks Darts makes before predicting
        ForecastingModel.predict(self, n, num_samples)
        self._validate_predict_ds_output(train_sample=self.train_sample, inference_sample=dataset[0])
        roll_size = self.output_chunk_length if roll_size is None else roll_size
        if not 0 < roll_size <= self.output_chunk_length:
            raise ValueError("`roll_size` must be an integer between 1 and `output_chunk_length`.")
        values, schemas, starts = predict_windows(
            self.model, dataset, n, roll_size, batch_size or self.batch_size
        )
        if values_only:
            return values, schemas, starts
        return [
            _build_forecast_series_from_schema(v, schema, start, predict_likelihood_parameters=False)
            for v, schema, start in zip(values, schemas, starts)
        ]

    @override
    def _setup_for_train(self, train_dataset, val_dataset=None, *args, dataloader_kwargs=None, **kwargs):
        """Darts' training setup, with our ``DataLoader`` arguments (:func:`_loader_kwargs`).

        Every training entry point (fit, fit_from_dataset, lr_find, scale_batch_size)
        builds its DataLoaders here.
        """
        dataloader_kwargs = _loader_kwargs(train_dataset, dataloader_kwargs)
        return super()._setup_for_train(
            train_dataset, val_dataset, *args, dataloader_kwargs=dataloader_kwargs, **kwargs
        )

    @override
    def _setup_for_predict(self, n, dataset, *args, dataloader_kwargs=None, **kwargs):
        """Darts' prediction setup, with our ``DataLoader`` arguments (:func:`_loader_kwargs`).

        Every prediction entry point that builds a DataLoader (predict through a
        trainer, scale_batch_size(method="predict")) gets the batched collate function.
        """
        dataloader_kwargs = _loader_kwargs(dataset, dataloader_kwargs)
        return super()._setup_for_predict(n, dataset, *args, dataloader_kwargs=dataloader_kwargs, **kwargs)

    # -- checkpointed runs and every Trainer: rnn_forecast/persistence/runs.py, nn/callbacks.py

    @override
    def _setup_checkpointing(self, create_save_dirs: bool, force_reset: bool = False):
        """Darts' checkpoint setup, with its refusal of an existing run deferred to ``fit``.

        See :func:`rnn_forecast.persistence.runs.defer_existing_run`.
        """
        create_save_dirs = runs.defer_existing_run(self, create_save_dirs, force_reset)
        return super()._setup_checkpointing(create_save_dirs=create_save_dirs, force_reset=force_reset)

    @override
    def _init_model(self, trainer: pl.Trainer | None = None) -> RecurrentForecastModule:
        """Darts builds the network here: a resumed run's inputs are checked first.

        See :func:`rnn_forecast.persistence.runs.building_network`.
        """
        with runs.building_network(self):
            return super()._init_model(trainer)

    @override
    def _init_trainer(self, trainer_params: dict, max_epochs: int | None = None) -> pl.Trainer:
        """Every Lightning ``Trainer`` the forecaster builds, with our defaults added.

        An instance method here, a staticmethod in Darts (which calls it on the model).
        A trainer passed to ``fit(..., trainer=...)`` does not come through here.
        """
        # The order the former mixins' MRO gave (PersistenceMixin's _init_trainer ran before
        # TrainingGuardMixin's), kept: checkpoint defaults first, then the guards. After the
        # user's and Darts' own callbacks come RNGStateCheckpoint, NonFiniteLossGuard and
        # LossExplosionGuard, in that order (each unless the user gave one); AtomicCheckpointIO
        # joins the plugins; gradient_clip_val defaults to DEFAULT_GRADIENT_CLIP_VAL.
        params = runs.with_checkpoint_defaults(trainer_params)
        params = with_training_guards(params)
        if getattr(self, "early_stopping", False):
            params["callbacks"] = with_default_callback(params["callbacks"], BestEpoch)
        return super()._init_trainer(trainer_params=params, max_epochs=max_epochs)

    # -- saving and loading: rnn_forecast/persistence/files.py --------------------------

    @override
    def save(self, path: str | os.PathLike | None = None, clean: bool = False) -> None:
        """Save the forecaster to ``path`` and its weights to ``path + ".ckpt"``.

        As Darts' ``save``, but both files are written to temporary files and renamed
        into place only once complete, so an interrupted save never replaces a good
        file with a partial one. ``path`` also records the file format, the library
        versions and the SHA-256 of ``path.ckpt``, which :meth:`load` verifies.

        Parameters
        ----------
        path
            Target file; default ``"{ClassName}_{YYYY-mm-dd_HH_MM_SS}.pt"``.
        clean
            Drop the training series and trainer settings (Darts' ``clean``).
        """
        files.save_forecaster(self, path, clean)

    @classmethod
    @override
    def load(cls, path: str | os.PathLike, pl_trainer_kwargs: dict | None = None,
             trusted: bool = False, **kwargs):
        """Load a forecaster written by :meth:`save`.

        Parameters
        ----------
        path
            The file given to ``save`` (its weights are read from ``path + ".ckpt"``).
        pl_trainer_kwargs
            Replace the trainer settings (e.g. ``{"accelerator": "gpu"}``).
        trusted
            Disable Darts' restricted unpickling (only for files you fully trust).
        **kwargs
            For Lightning's ``load_from_checkpoint``, e.g. ``map_location="cpu"``.

        Raises
        ------
        MissingModelFileError
            If ``path`` or ``path.ckpt`` does not exist (a ``FileNotFoundError`` and a
            ``ValueError``).
        ModelFileError
            If a file is truncated or corrupted, ``path.ckpt`` comes from another save, or
            the file was written by an incompatible version.
        TypeError
            If the file holds another forecaster class.
        """
        return files.load_forecaster(cls, path, pl_trainer_kwargs, trusted, **kwargs)

    @classmethod
    @override
    def load_from_checkpoint(cls, model_name: str, work_dir: str | None = None,
                             file_name: str | None = None, best: bool = True,
                             trusted: bool = False, **kwargs):
        """Darts' ``load_from_checkpoint``, with the file checks of :meth:`load`.

        Fitting the returned model continues the checkpointed run (as
        ``fit(..., resume=True)`` does).

        Raises
        ------
        MissingModelFileError
            If the run, or the checkpoint named by ``file_name``, does not exist (a
            ``FileNotFoundError`` and, as in Darts, a ``ValueError``).
        ModelFileError
            If a file is truncated, corrupted or written by an incompatible version.
        """
        return files.load_forecaster_from_checkpoint(
            cls, super().load_from_checkpoint, model_name, work_dir=work_dir, file_name=file_name,
            best=best, trusted=trusted, **kwargs,
        )

    @override
    def load_weights(self, path: str | os.PathLike, load_encoders: bool = True, skip_checks: bool = False,
                     trusted: bool = False, **kwargs):
        """Darts' ``load_weights``, with the file checks and errors of :meth:`load`.

        Raises
        ------
        MissingModelFileError
            If ``path + ".ckpt"`` or ``path`` does not exist.
        UnsafeModelFileError, ModelFileError
            If a file holds refused objects, is truncated or corrupted, or comes from an
            incompatible version (each error names the file).
        """
        files.load_weights(self, super().load_weights_from_checkpoint, path, load_encoders=load_encoders,
                                 skip_checks=skip_checks, trusted=trusted, **kwargs)

    @override
    def load_weights_from_checkpoint(self, model_name: str | None = None, work_dir: str | None = None,
                                     file_name: str | None = None, best: bool = True, strict: bool = True,
                                     load_encoders: bool = True, skip_checks: bool = False,
                                     trusted: bool = False, **kwargs):
        """Darts' ``load_weights_from_checkpoint``, with the file checks and errors of :meth:`load`.

        Raises
        ------
        MissingModelFileError
            If the checkpoint, or the forecaster file saved with it, does not exist.
        UnsafeModelFileError, ModelFileError
            If a file holds refused objects, is truncated or corrupted, or comes from an
            incompatible version (each error names the file).
        """
        files.load_weights_from_checkpoint(
            self, super().load_weights_from_checkpoint, model_name=model_name, work_dir=work_dir,
            file_name=file_name, best=best, strict=strict, load_encoders=load_encoders,
            skip_checks=skip_checks, trusted=trusted, **kwargs,
        )

    def load_lightning_checkpoint(self, path: str | os.PathLike, strict: bool = True):
        """Load the network weights of any Lightning checkpoint file into this forecaster.

        For a file written by a ``ModelCheckpoint`` you passed in ``pl_trainer_kwargs``
        (e.g. the best epoch's, ``checkpoint.best_model_path``). The file is read with Darts' safe
        loading (``weights_only``, allow-listed classes): it cannot run code. The
        forecaster must already hold a network of the same shape (after ``fit`` or
        ``load``): the file's ``state_dict`` replaces its weights.

        Parameters
        ----------
        path
            A ``.ckpt`` file holding a ``"state_dict"``.
        strict
            Require the file's parameter names to match the network's exactly.

        Returns
        -------
        self

        Raises
        ------
        MissingModelFileError
            If ``path`` does not exist.
        UnsafeModelFileError, ModelFileError
            If the file holds refused objects, or cannot be read.
        ValueError
            If the forecaster has no network yet, the file has no ``state_dict``, or
            its parameters do not fit the network (the message names them).
        """
        return files.load_lightning_checkpoint(self, path, strict)

    # -- scikit-learn's parameter protocol (no Darts hooks): rnn_forecast/adapter/params.py -----

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters: the signature's (with defaults) and any keyword passed.

        ``type(model)(**model.get_params())`` builds an equal, unfitted model. ``deep`` is
        accepted for scikit-learn compatibility; parameters are returned as stored.
        """
        return sklearn_params.get_params(self, deep)

    def set_params(self, **params):
        """Change constructor parameters; returns ``self``, now an unfitted model.

        The model is rebuilt from the merged parameters, as Darts derives its trainer
        and network settings from them at construction; any fitted network is dropped
        (as with scikit-learn, set parameters before ``fit``).

        Raises
        ------
        ValueError
            If a name is not a parameter of this model.
        """
        return sklearn_params.set_params(self, **params)

    def __sklearn_clone__(self):
        """An unfitted model with deep copies of the same parameters (``sklearn.base.clone``)."""
        return sklearn_params.sklearn_clone(self)

    # -- boundary: pandas in, early and specific errors -------------------------------

    @override
    def fit(
        self,
        series,
        past_covariates=None,
        future_covariates=None,
        val_series=None,
        val_past_covariates=None,
        val_future_covariates=None,
        *,
        resume: bool = False,
        **kwargs,
    ):
        """Train on one or many series; returns ``self``.

        Same as Darts' ``TorchForecastingModel.fit`` (all its keyword arguments apply:
        ``trainer``, ``verbose``, ``epochs``, ``max_samples_per_ts``,
        ``dataloader_kwargs``, ``sample_weight``, ``stride``, ``load_best``, ...), and
        every series argument may also be a pandas ``Series``/``DataFrame``. With a single
        ``series`` and ``val_series``, missing validation covariates default to the
        training covariates (Darts slices them by time). Inputs are checked first (see
        :mod:`rnn_forecast.adapter.inputs`).

        With ``resume=True`` (needs ``save_checkpoints=True`` and a fixed ``model_name``),
        training continues the run checkpointed under ``work_dir/model_name`` from its
        last epoch-end checkpoint, up to ``n_epochs`` (or ``epochs``) in total; without a
        checkpoint it starts from scratch. See docs/reliability.md.

        Raises
        ------
        NonFiniteLossError
            If a loss or gradient became NaN/inf (before that step changed the weights).
        LossExplosionError
            If the finite loss exploded; the model keeps its last good weights and can
            predict with them.
        """
        inputs = fit_inputs(
            series, past_covariates, future_covariates, val_series, val_past_covariates,
            val_future_covariates, input_chunk_length=self.input_chunk_length,
            output_chunk_length=self.output_chunk_length, output_chunk_shift=self.output_chunk_shift,
            stride=kwargs.get("stride", 1), max_samples_per_ts=kwargs.get("max_samples_per_ts"),
        )
        whole = inputs["series"]
        if self.early_stopping and inputs["val_series"] is None:
            inputs = _hold_out_validation(inputs, self.input_chunk_length + self.output_chunk_shift
                                          + self.output_chunk_length,
                                          self.output_chunk_length + self.output_chunk_shift,
                                          self.validation_fraction, kwargs.get("stride", 1))
        train, context = inputs["series"], None
        if not self.model_created:
            # measured on the training series, for `_create_model` when Darts builds the
            # network (which it does from a training sample only); it takes them out again
            context = {"loss_unit": typical_step(train)}
            if self.normalization is not None and self.global_level:
                context["reference"] = training_reference(train, self.global_level)
            if self.season == "auto":
                context["seasons"] = select_seasons(train, self.output_chunk_length + self.output_chunk_shift,
                                                    max_season=self.input_chunk_length)
        elif self.normalization is not None:
            self.model.set_loss_unit(typical_step(train))
        runs.prepare_run(self, resume)
        if context is not None:
            self._fit_context = context
        with runs.interruptible(self):
            try:
                return super().fit(**inputs, **kwargs)
            except LossExplosionError as exc:
                # the guard gave the module its last good weights: keep them usable
                if exc.module is not None:
                    self.model = exc.module
                raise
            finally:
                self.__dict__.pop("_fit_context", None)  # never saved with the model, even after a failed fit
                if isinstance(whole, TimeSeries) and self.training_series is not None:
                    # `predict(n)` forecasts after the series given, not after its training part
                    self.training_series = whole

    @override
    def predict(
        self,
        n: int,
        series=None,
        past_covariates=None,
        future_covariates=None,
        *,
        num_samples: int = 1,
        mc_dropout: bool = False,
        **kwargs,
    ):
        """Forecast ``n`` steps after the end of ``series`` (or of the training series).

        Same as Darts' ``TorchForecastingModel.predict``; ``n > output_chunk_length``
        rolls the model out auto-regressively. Series may be pandas objects.
        """
        if not self.model_created:
            raise ValueError(
                f"This {type(self).__name__} is not fitted yet: call `fit(series)` (or "
                "`load()` a saved model) before `predict()`."
            )
        n = check_positive_int(n, "n", "the forecast horizon")
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, {"num_samples": num_samples, "mc_dropout": mc_dropout},
            min_length=self.input_chunk_length,
        )
        predict, exclusive = super().predict, exclusive_prediction(self.model)
        if self._deterministic_call(num_samples, mc_dropout, kwargs):
            # Darts' @random_method seeds torch's global generator (which every thread
            # shares; on a CPU build a sizeable share of a small forecast) from the
            # model's random instance. A deterministic forecast draws no random numbers,
            # so it touches neither (its trainer-free path holds the network's lock itself)
            predict, exclusive = partial(TorchForecastingModel.predict.__wrapped__, self), contextlib.nullcontext()
        with exclusive:  # thread safety: rnn_forecast/adapter/inference.py
            return predict(
                n,
                series,
                past_covariates=past_covariates,
                future_covariates=future_covariates,
                num_samples=num_samples,
                mc_dropout=mc_dropout,
                **kwargs,
            )

    def _deterministic_call(self, num_samples: int, mc_dropout: bool, kwargs: dict) -> bool:
        return (
            kwargs.get("random_state") is None
            and can_skip_trainer(self, kwargs.get("trainer"), num_samples, mc_dropout,
                                 kwargs.get("predict_likelihood_parameters", False),
                                 kwargs.get("dataloader_kwargs"))
        )

    @override
    def historical_forecasts(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``historical_forecasts``; series may be pandas objects."""
        return self._accepting_pandas(super().historical_forecasts, series, past_covariates, future_covariates,
                                      kwargs)

    @override
    def backtest(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``backtest``; series may be pandas objects."""
        return self._accepting_pandas(super().backtest, series, past_covariates, future_covariates, kwargs)

    @override
    def residuals(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``residuals``; series may be pandas objects."""
        return self._accepting_pandas(super().residuals, series, past_covariates, future_covariates, kwargs)

    def _accepting_pandas(self, darts_method, series, past_covariates, future_covariates, kwargs: dict):
        """``darts_method`` on the series converted and checked by :meth:`_convert_all`."""
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, kwargs
        )
        return darts_method(series, past_covariates=past_covariates, future_covariates=future_covariates, **kwargs)

    # Darts checks `predict_kwargs`/`fit_kwargs` against `inspect.signature(model.historical_forecasts)`
    # and users read these signatures: the pandas-accepting wrappers keep Darts' own.
    historical_forecasts.__signature__ = inspect.signature(TorchForecastingModel.historical_forecasts)
    backtest.__signature__ = inspect.signature(TorchForecastingModel.backtest)
    residuals.__signature__ = inspect.signature(TorchForecastingModel.residuals)
    predict.__signature__ = _keyword_only_after(TorchForecastingModel.predict, "future_covariates")
    fit.__signature__ = _keyword_only_after(
        TorchForecastingModel.fit, "val_future_covariates",
        inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool))

    @classmethod
    @override
    def gridsearch(cls, parameters: dict, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``gridsearch``; series may be pandas objects."""
        converted = dict(zip(("series", "past_covariates", "future_covariates"),
                             inference_inputs(series, past_covariates, future_covariates)))
        return super().gridsearch(parameters, **converted, **kwargs)

    def _check_sampling(self, num_samples: int, mc_dropout: bool) -> None:
        """Refuse sample requests that would silently repeat one deterministic forecast.

        A model with dropout is the exception: Darts counts it as probabilistic, and its
        conformal wrappers depend on that; it gets a warning instead.
        """
        if mc_dropout and self.dropout == 0:
            raise ValueError("`mc_dropout=True` needs a model built with `dropout > 0`.")
        if num_samples > 1 and self.likelihood is None and not mc_dropout and self.dropout > 0:
            warnings.warn(
                f"num_samples={num_samples} without mc_dropout=True or a likelihood: every sample is "
                "the same deterministic forecast (as in Darts). Pass mc_dropout=True for Monte Carlo "
                "dropout samples.", UserWarning, stacklevel=4)
        elif num_samples > 1 and self.likelihood is None and not mc_dropout:
            raise ValueError(
                f"`num_samples={num_samples}` needs a probabilistic model: build it with a "
                "`likelihood` (e.g. darts' GaussianLikelihood() or QuantileRegression()), "
                "or predict with `mc_dropout=True` (requires dropout > 0)."
            )

    def _convert_all(self, series, past_covariates, future_covariates, kwargs, min_length=None):
        """Convert and check series arguments; fill covariates of the training series.

        Inputs are cast to the dtype the model was trained in; see
        :func:`rnn_forecast.adapter.inputs.inference_inputs`.
        """
        self._check_sampling(kwargs.get("num_samples", 1), kwargs.get("mc_dropout", False))
        if min_length is None and kwargs.get("retrain", True) is False:
            min_length = self.input_chunk_length
        trained = self.train_sample.past_target.dtype if self.train_sample is not None else None
        return inference_inputs(
            series, past_covariates, future_covariates, dtype=trained,
            training=(self.training_series, self.past_covariate_series, self.future_covariate_series),
            min_length=min_length, why="prediction (input_chunk_length)",
        )


def _hold_out_validation(inputs: dict, window: int, horizon: int, fraction: float, stride: int = 1) -> dict:
    """``fit``'s inputs with the end of each training series moved to ``val_series``.

    Each series keeps its first ``length - tail`` steps for training and gives its last
    ``input_chunk_length + tail`` steps to validation, with
    ``tail = validation_tail(...)`` (0 for a series too short to spare them, which
    trains whole). Covariates are shared: Darts reads them by time.
    """
    single = isinstance(inputs["series"], TimeSeries)
    series = [inputs["series"]] if single else list(inputs["series"])
    lookback = window - horizon
    train, val, held = [], [], []
    for i, s in enumerate(series):
        tail = validation_tail(len(s), window, horizon, fraction, stride)
        train.append(s[: len(s) - tail] if tail else s)
        if tail:
            val.append(s[len(s) - tail - lookback:])
            held.append(i)
    if not val:
        return inputs
    out = dict(inputs, series=train[0] if single else train, val_series=val[0] if single else val)
    for kind in ("past_covariates", "future_covariates"):
        covariates = inputs[kind]
        if covariates is not None:
            out[f"val_{kind}"] = covariates if single else [covariates[i] for i in held]
    return out


def typical_step(series) -> np.ndarray:
    """``(C,)`` mean absolute one-step change of each component over the series (the loss's unit).

    Falls back to the standard deviation, then the mean magnitude, for a component
    that never changes; 1 where all are 0.
    """
    values = [np.asarray(s.values(copy=False), dtype=np.float64) for s in
              ([series] if isinstance(series, TimeSeries) else series)]
    steps = np.mean([np.abs(np.diff(v, axis=0)).mean(axis=0) if len(v) > 1 else np.zeros(v.shape[1])
                     for v in values], axis=0)
    for fallback in (np.std, lambda v, axis: np.abs(v).mean(axis=axis)):
        spare = np.mean([fallback(v, axis=0) for v in values], axis=0)
        steps = np.where(steps > 0, steps, spare)
    return np.where(np.isfinite(steps) & (steps > 0), steps, 1.0)


def _plain(seasons):
    """Seasons as plain Python ints (the checkpoint's hyperparameters load with weights_only)."""
    if seasons is None or np.ndim(seasons) == 0:
        return None if seasons is None else int(seasons)
    return [int(m) for m in seasons]


def _check_architecture(hidden_dim, n_rnn_layers, hidden_fc_sizes, dropout, activation):
    check_positive_int(hidden_dim, "hidden_dim")
    check_positive_int(n_rnn_layers, "n_rnn_layers")
    for i, size in enumerate(hidden_fc_sizes or ()):
        check_positive_int(size, f"hidden_fc_sizes[{i}]")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), got {dropout!r}.")
    import torch.nn as nn

    if not isinstance(getattr(nn, str(activation), None), type):
        raise ValueError(f"`activation` must name a torch.nn activation, got {activation!r}.")


def _signature_without_cell() -> inspect.Signature:
    """``RNNForecaster.__init__``'s signature minus ``cell``.

    Darts records ``model_params`` from ``inspect.signature(cls.__init__)``, and
    ``untrained_model()``, ``historical_forecasts(retrain=True)``, ``gridsearch`` and
    sklearn's ``get_params`` rebuild models from it: the fixed-cell subclasses advertise
    the full parameter list instead of copying it.
    """
    parent = inspect.signature(RNNForecaster.__init__)
    return parent.replace(parameters=[p for p in parent.parameters.values() if p.name != "cell"])


def _fixed_cell_doc(cell: str) -> str:
    """``RNNForecaster``'s docstring for a class fixing ``cell``: its name, no ``cell`` entry."""
    return RNNForecaster.__doc__.replace("Recurrent (LSTM or GRU)", get_cell(cell).display, 1).replace(
        '    cell\n        A registered cell (:mod:`rnn_forecast.nn.cells`): ``"lstm"`` or ``"gru"`` built in.\n', ""
    )


class _FixedCellForecaster(RNNForecaster):
    """An :class:`RNNForecaster` whose subclass fixes ``cell`` (the class attribute ``fixed_cell``)."""

    fixed_cell: str

    def __init__(self, *args, **kwargs):
        if "cell" in kwargs:
            raise TypeError(
                f"{type(self).__name__} always uses cell={self.fixed_cell!r}; use RNNForecaster(cell=...)."
            )
        super().__init__(*args, cell=self.fixed_cell, **kwargs)

    __init__.__signature__ = _signature_without_cell()


class LSTMForecaster(_FixedCellForecaster):
    __doc__ = _fixed_cell_doc("lstm")
    fixed_cell = "lstm"


class GRUForecaster(_FixedCellForecaster):
    __doc__ = _fixed_cell_doc("gru")
    fixed_cell = "gru"


# Darts loads models with an allow-list of classes; ours must be on it so that a plain
# `GRUForecaster.load(path)` works. Registered here: loading needs these classes imported.
add_safe_globals(with_old_paths([RNNForecaster, LSTMForecaster, GRUForecaster, RecurrentForecastModule]))
