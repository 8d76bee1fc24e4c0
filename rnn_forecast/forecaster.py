"""Darts forecasters around :class:`~rnn_forecast.module.RecurrentForecastModule`.

:class:`RNNForecaster` is the one implementation (``cell="lstm"`` or ``"gru"``);
:class:`LSTMForecaster` and :class:`GRUForecaster` fix the cell. All three are Darts
``MixedCovariatesTorchModel`` subclasses, so Darts' whole torch-model API applies
(``fit``/``predict``/``historical_forecasts``/``backtest``/``gridsearch``/``residuals``,
``save``/``load``, ``pl_trainer_kwargs``, ``likelihood``, ``add_encoders``, ...), plus
scikit-learn's ``get_params``/``set_params``/``clone`` and pandas inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from darts import TimeSeries
from darts.models.forecasting.torch_forecasting_model import MixedCovariatesTorchModel
from pytorch_lightning.callbacks import ModelCheckpoint
from darts.utils.data.torch_datasets.utils import TorchTrainingSample

from rnn_forecast.inputs import as_series, check_finite, check_length
from rnn_forecast.module import CELLS, RecurrentForecastModule
from rnn_forecast.params import SklearnParamsMixin


class RNNForecaster(SklearnParamsMixin, MixedCovariatesTorchModel):
    """Recurrent (LSTM or GRU) forecaster with past, future and static covariates.

    An LSTM/GRU encoder reads the last ``input_chunk_length`` steps of the target and
    covariates; an MLP head maps its final hidden state (with the future-known
    covariates of the forecast window) to the next ``output_chunk_length`` steps at
    once. Longer horizons ``n`` are rolled out auto-regressively by Darts.

    Parameters
    ----------
    input_chunk_length
        Lookback window ``L``: past steps fed to the encoder.
    output_chunk_length
        Steps ``T`` forecast at once by the head.
    output_chunk_shift
        Steps between the end of the input and the start of the output chunk.
    cell
        ``"lstm"`` or ``"gru"``.
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
    **kwargs
        Darts ``TorchForecastingModel`` parameters: ``batch_size``, ``n_epochs``,
        ``likelihood``, ``loss_fn``, ``torch_metrics``, ``optimizer_cls``,
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
        **kwargs,
    ):
        super().__init__(**self._extract_torch_model_params(**self.model_params))
        self.pl_module_params = self._extract_pl_module_params(**self.model_params)
        _check_architecture(cell, hidden_dim, n_rnn_layers, hidden_fc_sizes, dropout, activation)
        self.cell = cell
        self.hidden_dim = hidden_dim
        self.n_rnn_layers = n_rnn_layers
        self.hidden_fc_sizes = hidden_fc_sizes
        self.dropout = dropout
        self.activation = activation
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

    def _create_model(self, train_sample: TorchTrainingSample) -> RecurrentForecastModule:
        dims = train_sample.component_dims()
        static = train_sample.static_covariates
        target_dim = dims["past_target"]
        past_dim = target_dim + (dims["past_covariates"] or 0) + (
            dims["historic_future_covariates"] or 0
        )
        return RecurrentForecastModule(
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
            **self.pl_module_params,
        )

    @property
    def supports_static_covariates(self) -> bool:
        return True

    # -- boundary: pandas in, early and specific errors -------------------------------

    def fit(
        self,
        series,
        past_covariates=None,
        future_covariates=None,
        val_series=None,
        val_past_covariates=None,
        val_future_covariates=None,
        **kwargs,
    ):
        """Train on one or many series; returns ``self``.

        Same as Darts' ``TorchForecastingModel.fit`` (all its keyword arguments apply:
        ``trainer``, ``verbose``, ``epochs``, ``max_samples_per_ts``,
        ``dataloader_kwargs``, ``sample_weight``, ``stride``, ``load_best``, ...), and
        every series argument may also be a pandas ``Series``/``DataFrame``. With a single
        ``series`` and ``val_series``, missing validation covariates default to the
        training covariates (Darts slices them by time).
        """
        series, val_series = as_series(series, "series"), as_series(val_series, "val_series")
        covariates = {
            "past_covariates": past_covariates,
            "future_covariates": future_covariates,
            "val_past_covariates": val_past_covariates,
            "val_future_covariates": val_future_covariates,
        }
        covariates = {name: as_series(value, name) for name, value in covariates.items()}
        if isinstance(series, TimeSeries) and isinstance(val_series, TimeSeries):
            # one series: its covariates usually span the validation period too
            for kind in ("past_covariates", "future_covariates"):
                if covariates[f"val_{kind}"] is None:
                    covariates[f"val_{kind}"] = covariates[kind]
        window = self.input_chunk_length + self.output_chunk_shift + self.output_chunk_length
        why = "training (input_chunk_length + output_chunk_shift + output_chunk_length)"
        for name, value in {"series": series, "val_series": val_series, **covariates}.items():
            check_finite(value, name)
        check_length(series, window, "series", why)
        if val_series is not None:
            check_length(val_series, window, "val_series", why)
        return super().fit(series, val_series=val_series, **covariates, **kwargs)

    def predict(
        self,
        n: int,
        series=None,
        past_covariates=None,
        future_covariates=None,
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
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` (the forecast horizon) must be a positive integer, got {n!r}.")
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, {"num_samples": num_samples, "mc_dropout": mc_dropout}
        )
        if series is not None:
            check_length(series, self.input_chunk_length, "series", "prediction (input_chunk_length)")
        return super().predict(
            n,
            series,
            past_covariates=past_covariates,
            future_covariates=future_covariates,
            num_samples=num_samples,
            mc_dropout=mc_dropout,
            **kwargs,
        )

    def historical_forecasts(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``historical_forecasts``; series may be pandas objects."""
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, kwargs
        )
        return super().historical_forecasts(
            series, past_covariates=past_covariates, future_covariates=future_covariates, **kwargs
        )

    def backtest(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``backtest``; series may be pandas objects."""
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, kwargs
        )
        return super().backtest(
            series, past_covariates=past_covariates, future_covariates=future_covariates, **kwargs
        )

    def residuals(self, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``residuals``; series may be pandas objects."""
        series, past_covariates, future_covariates = self._convert_all(
            series, past_covariates, future_covariates, kwargs
        )
        return super().residuals(
            series, past_covariates=past_covariates, future_covariates=future_covariates, **kwargs
        )

    @classmethod
    def gridsearch(cls, parameters: dict, series, past_covariates=None, future_covariates=None, **kwargs):
        """Darts' ``gridsearch``; series may be pandas objects."""
        converted = {
            name: as_series(value, name)
            for name, value in [
                ("series", series),
                ("past_covariates", past_covariates),
                ("future_covariates", future_covariates),
            ]
        }
        for name, value in converted.items():
            check_finite(value, name)
        return super().gridsearch(parameters, **converted, **kwargs)

    def _check_sampling(self, num_samples: int, mc_dropout: bool) -> None:
        """Refuse sample requests that would silently repeat one deterministic forecast."""
        if mc_dropout and self.dropout == 0:
            raise ValueError("`mc_dropout=True` needs a model built with `dropout > 0`.")
        if num_samples > 1 and self.likelihood is None and not mc_dropout:
            raise ValueError(
                f"`num_samples={num_samples}` needs a probabilistic model: build it with a "
                "`likelihood` (e.g. darts' GaussianLikelihood() or QuantileRegression()), "
                "or predict with `mc_dropout=True` (requires dropout > 0)."
            )

    def _convert_all(self, series, past_covariates, future_covariates, kwargs):
        """Convert and check series arguments; fill covariates of the training series.

        Darts reuses the training covariates when ``series`` is omitted; we also do when
        ``series`` *is* the training series, so ``fit(s, past_covariates=c)`` followed by
        ``backtest(s)`` or ``predict(n, series=s)`` works as it reads.
        """
        self._check_sampling(kwargs.get("num_samples", 1), kwargs.get("mc_dropout", False))
        series = as_series(series, "series")
        past_covariates = as_series(past_covariates, "past_covariates")
        future_covariates = as_series(future_covariates, "future_covariates")
        if isinstance(series, TimeSeries) and series == self.training_series:
            if past_covariates is None:
                past_covariates = self.past_covariate_series
            if future_covariates is None:
                future_covariates = self.future_covariate_series
        converted = (series, past_covariates, future_covariates)
        for name, value in zip(("series", "past_covariates", "future_covariates"), converted):
            check_finite(value, name)
        return converted


def _check_architecture(cell, hidden_dim, n_rnn_layers, hidden_fc_sizes, dropout, activation):
    if cell not in CELLS:
        raise ValueError(f"`cell` must be one of {sorted(CELLS)}, got {cell!r}.")
    for name, value in [("hidden_dim", hidden_dim), ("n_rnn_layers", n_rnn_layers)]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    if hidden_fc_sizes is not None and not all(
        isinstance(s, int) and s >= 1 for s in hidden_fc_sizes
    ):
        raise ValueError(f"`hidden_fc_sizes` must be positive integers, got {hidden_fc_sizes!r}.")
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


def _fixed_cell_doc(cell_name: str) -> str:
    return RNNForecaster.__doc__.replace("Recurrent (LSTM or GRU)", cell_name, 1).replace(
        '    cell\n        ``"lstm"`` or ``"gru"``.\n', ""
    )


class LSTMForecaster(RNNForecaster):
    __doc__ = _fixed_cell_doc("LSTM")

    def __init__(self, *args, **kwargs):
        if "cell" in kwargs:
            raise TypeError("LSTMForecaster always uses an LSTM; use RNNForecaster(cell=...).")
        super().__init__(*args, cell="lstm", **kwargs)

    __init__.__signature__ = _signature_without_cell()


class GRUForecaster(RNNForecaster):
    __doc__ = _fixed_cell_doc("GRU")

    def __init__(self, *args, **kwargs):
        if "cell" in kwargs:
            raise TypeError("GRUForecaster always uses a GRU; use RNNForecaster(cell=...).")
        super().__init__(*args, cell="gru", **kwargs)

    __init__.__signature__ = _signature_without_cell()
