"""The recurrent forecasting network: an LSTM/GRU (any registered cell) encoder, a decoder.

:class:`RecurrentForecastModule` is a Darts
:class:`~darts.models.forecasting.pl_forecasting_module.PLForecastingModule` (hence a
``pytorch_lightning.LightningModule``). The Darts forecasters build it for you; it also
trains on its own with a plain ``pytorch_lightning.Trainer`` and a ``DataLoader`` of
``(past, future_known, target)`` tensors:

=================  ===================  ===========================================
tensor             shape                content
=================  ===================  ===========================================
``past``           ``(B, L, D_past)``   the last ``L = input_chunk_length`` steps;
                                        the first ``target_dim`` channels are the
                                        target, the rest past-observed covariates
                                        (and the history of future-known ones)
``future_known``   ``(B, T, D_future)`` covariates known for the ``T =
                                        output_chunk_length`` forecast steps
                                        (``D_future`` may be 0)
``target``         ``(B, T, C)``        the values to forecast, ``C = target_dim``
=================  ===================  ===========================================

``predict_step`` on a ``(past, future_known)`` batch returns ``(B, T, C, nr_params)``:
``nr_params`` is 1 without a likelihood, otherwise the likelihood's parameters.

Design options (the defaults are the measured-best design, docs/defaults.md;
:data:`POINTWISE` turns all four off, giving the plain point-wise encoder and MLP head):

* ``segment_length``: segment-wise recurrence (SegRNN, Lin et al. 2023), ``"auto"``
  by default (:func:`resolve_segment_length`);
* ``decoder="parallel"``: SegRNN's parallel multi-step decoder (default), next to the
  direct ``"mlp"`` head (Darts' auto-regressive roll-out applies to either for ``n > T``);
* ``channel_independence``: one univariate series per target component, shared weights
  (PatchTST, Nie et al. 2023), on by default;
* ``normalization``: ``"level_scale"`` (default) subtracts each window's last target
  value and divides by the window's standard deviation, and maps the forecasts back,
  so raw, unscaled series work as they are; ``"mean_scale"`` subtracts the window's
  mean instead (RevIN's statistics without its learned affine map); ``"level"`` only
  subtracts the last value (SegRNN's normalization); Darts'
  ``use_reversible_instance_norm`` gives RevIN (Kim et al. 2022);
* ``season``: the network forecasts a correction to the seasonal-naive forecast read
  from its own input window (the value one season ``m`` back, the last value for
  ``m = 1``), and its output layer starts at zero, so the untrained module returns
  exactly that baseline (:func:`baseline_index`); ``None`` forecasts relative to the
  normalization's level instead (the design before 0.4);
* ``global_level`` (with a normalization, off by default): each window's last value,
  mean and spread, relative to the training data's mean and standard deviation
  (:func:`~rnn_forecast.nn.global_level.global_level_features`), shift the encoder's final
  state. It ties the forecasts to the training data's units, so it is not equivariant
  (:mod:`rnn_forecast.nn.global_level`).

With a normalization the module is *equivariant*: for ``a > 0`` and any ``b``, the
forecast of ``a * x + b`` is ``a * forecast(x) + b`` (to float precision), both for a
trained network and for training itself, whose loss is measured in units of the
training data's typical step (:meth:`RecurrentForecastModule.set_loss_unit`), not in
the data's own units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn
from darts.models.forecasting.pl_forecasting_module import PLForecastingModule, io_processor
from darts.utils.data.torch_datasets.utils import (
    ModuleStage,
    PLModuleInput,
    PLModuleOutput,
    TorchTrainingBatch,
)

from rnn_forecast._checks import check_positive_int
from rnn_forecast.nn.backend import RNN_BACKENDS, run_rnn
from rnn_forecast.nn.cells import TORCH_CLASSES, get_cell
from rnn_forecast.nn.global_level import N_LEVEL_FEATURES, global_level_features
from rnn_forecast.nn.layers import ParallelSegmentDecoder, SegmentEmbedding, build_mlp

#: ``name -> torch.nn class`` of the registered cells (a live view of
#: :data:`rnn_forecast.nn.cells.CELLS`, kept under its old name).
CELLS = TORCH_CLASSES
DECODERS = ("mlp", "parallel")
NORMALIZATIONS = ("level_scale", "mean_scale", "level", None)
#: The plain point-wise architecture (one recurrent step per time step, a direct MLP
#: head, components modelled jointly, no window normalization): the design of Darts'
#: ``BlockRNNModel``, for comparisons. ``LSTMForecaster(..., **POINTWISE)``.
POINTWISE = {"segment_length": None, "decoder": "mlp", "channel_independence": False,
             "normalization": None, "global_level": False, "season": None}
#: ``segment_length="auto"``: at least this many segments, of at most this many steps.
AUTO_MIN_SEGMENTS, AUTO_MAX_SEGMENT = 4, 48
# likelihood -> (indices of its parameters that move with the data's level and scale,
# indices of softplus-activated spread parameters that move with its scale only)
_LOCATION_SCALE_PARAMETERS = {
    "GaussianLikelihood": ([0], [1]), "LaplaceLikelihood": ([0], [1]),
    "CauchyLikelihood": ([0], [1]),
    "QuantileRegression": (None, []),  # every quantile
}


class RecurrentForecastModule(PLForecastingModule):
    """LSTM/GRU (or registered cell) encoder over the lookback window and a multi-step decoder.

    The encoder reads, at each of the ``L`` past steps (or each of the ``L / w``
    segments), the target, past covariates, the history of future covariates and the
    static covariates. The decoder turns its final state into all ``T`` output steps
    at once: the ``"mlp"`` head maps the last hidden state, the flattened future
    covariates and the static covariates to ``T x C x nr_params`` values; the
    ``"parallel"`` decoder steps the recurrent cell once per output segment.

    Parameters
    ----------
    cell
        A registered cell (:mod:`rnn_forecast.nn.cells`): ``"lstm"`` or ``"gru"`` built in.
    past_dim
        Channels per past step: ``target_dim`` + past covariates + future covariates.
    target_dim
        Number of target components ``C``.
    future_dim
        Future-known covariate channels per output step (0 for none).
    static_dim
        Flattened static covariates (``static_components x`` features), 0 for none.
    hidden_dim
        Hidden state size of the recurrent layers (and of the segment embedding).
    n_rnn_layers
        Number of stacked recurrent layers.
    hidden_fc_sizes
        Hidden layer widths of the ``"mlp"`` head (empty: a single linear layer).
    dropout
        Dropout between recurrent layers and on the decoder's inputs.
    activation
        Name of a ``torch.nn`` activation used between head layers.
    nr_params
        Outputs per target value; defaults to the likelihood's number of parameters, or 1.
    rnn_backend
        ``"auto"``: the fused CPU kernels of :mod:`rnn_forecast.nn.recurrence` where they
        apply (CPU, float32, no autocast, a cell with a fused kernel; for the LSTM only
        where no gradient is needed, since oneDNN trains it faster) and ``torch.nn``
        (cuDNN on GPU) elsewhere; ``"torch"``: always ``torch.nn.LSTM``/``GRU`` (the
        cell's ``torch_class``); ``"fused"``: always the fused kernels (an error where
        they do not apply). Same parameters and results (:mod:`rnn_forecast.nn.backend`).
    segment_length
        ``w``: the lookback is cut into ``ceil(L / w)`` segments of ``w`` steps (the
        first one padded by repeating the first step when ``w`` does not divide ``L``),
        each embedded linearly into ``hidden_dim`` features, and the ``"parallel"``
        decoder emits segments of ``w`` steps. ``"auto"``: :func:`resolve_segment_length`;
        ``None``: one recurrent step per time step.
    decoder
        ``"mlp"`` (direct head) or ``"parallel"`` (one recurrent step per output segment).
    channel_independence
        Forecast each target component as its own univariate series (same weights,
        covariates shared by all); the batch holds ``B x C`` such series.
    static_components
        ``C1``, the number of rows of the static covariates (``C`` or 1): with
        ``channel_independence`` each component gets its own row.
    normalization
        ``"level_scale"``: subtract each window's last target value and divide by the
        window's standard deviation (per component), then map the forecasts back (with a
        likelihood: its location parameters, and its spread parameters by the scale);
        ``"level"``: subtract the last value only; ``None``: none.
    global_level
        With a ``normalization``: map each window's
        :func:`~rnn_forecast.nn.global_level.global_level_features` (its last value, mean
        and spread against a reference level and scale, per unit) through a linear
        layer onto the encoder's final hidden state. The reference is the training
        data's mean and standard deviation per component, with a mask of the components
        whose features are used (:meth:`set_reference`; the forecasters set it in
        ``fit``), or, when none was set, the statistics of the first batch the module
        sees, every component used. Ignored without a normalization. Modules saved
        before 0.3 load with ``False``.
    linear_baseline
        With a ``season``: add a learned linear map ``D`` (``T x L``, shared by the
        components) of the window's deviations from its last value to the baseline,
        ``D`` starting at zero: the baseline can learn to average seasons, blend in the
        last value or follow a trend (NLinear's linear path, Zeng et al. 2023), where a
        single value one season back is a noisy anchor.
    season
        ``m``, per target component (a sequence of ``C`` ints) or for all (an int), at
        most ``input_chunk_length``: the network's output is a correction, in window
        scales, to the seasonal-naive forecast from the input window (``m = 1``: the
        last value), which the decoder also reads (normalized, one extra future channel
        per unit), and its output layer is initialised at zero, so that the untrained
        module forecasts exactly that baseline. ``None``: forecasts relative to the
        normalization's level, with the default initialisation (the 0.3 design; modules
        saved before 0.4 load with it).
    subtract_last
        Legacy (rnn_forecast 0.1 checkpoints): ``True`` means ``normalization="level"``,
        ``False`` means ``None``; overrides ``normalization`` when given.
    **kwargs
        Parameters of Darts' ``PLForecastingModule``: ``input_chunk_length`` and
        ``output_chunk_length`` (required), ``likelihood``, ``loss_fn`` (default
        ``torch.nn.L1Loss()``, where Darts' is MSE), ``torch_metrics``,
        ``optimizer_cls``/``optimizer_kwargs``, ``lr_scheduler_cls``/``lr_scheduler_kwargs``,
        ``use_reversible_instance_norm``.
    """

    def __init__(
        self,
        cell: str,
        past_dim: int,
        target_dim: int,
        future_dim: int = 0,
        static_dim: int = 0,
        hidden_dim: int = 64,
        n_rnn_layers: int = 1,
        hidden_fc_sizes: Sequence[int] | None = None,
        dropout: float = 0.0,
        activation: str = "ReLU",
        nr_params: int | None = None,
        rnn_backend: str = "auto",
        segment_length: int | str | None = "auto",
        decoder: str = "parallel",
        channel_independence: bool = True,
        static_components: int = 1,
        normalization: str | None = "level_scale",
        global_level: bool = False,
        season: int | Sequence[int] | None = 1,
        linear_baseline: bool = False,
        subtract_last: bool | None = None,
        **kwargs,
    ):
        if subtract_last is not None:
            normalization = "level" if subtract_last else None
        check_module_options(cell, rnn_backend, decoder, segment_length, kwargs["input_chunk_length"],
                             normalization)
        seasons = check_seasons(season, target_dim, kwargs["input_chunk_length"])
        segment_length = resolve_segment_length(segment_length, kwargs["input_chunk_length"])
        if past_dim < target_dim:
            raise ValueError(
                f"`past_dim` ({past_dim}) must include the {target_dim} target channels."
            )
        if kwargs.get("loss_fn") is None:  # Darts' default is MSE; L1 measured better
            kwargs["loss_fn"] = nn.L1Loss()
        if kwargs.get("train_sample_shape") is None:
            # lets the Darts base class know the target width when built stand-alone
            kwargs["train_sample_shape"] = {
                "past_target": (kwargs["input_chunk_length"], target_dim)
            }
        super().__init__(**kwargs)
        self.cell, self.rnn_backend, self.decoder = cell, rnn_backend, decoder
        self.past_dim, self.target_dim = past_dim, target_dim
        self.future_dim, self.static_dim = future_dim, static_dim
        self.segment_length = segment_length
        self.channel_independence = channel_independence
        self.normalization = normalization
        likelihood = self.likelihood
        self.nr_params = nr_params or (likelihood.num_parameters if likelihood else 1)
        if normalization is not None or seasons is not None:
            location, spread = location_scale_masks(likelihood, self.nr_params,
                                                   f"normalization={normalization!r}" if normalization
                                                   else f"season={season!r}")
            self.register_buffer("_location", location, False)
            self.register_buffer("_spread", spread, False)
            self._has_spread = bool(spread.any())
        self.season = None if seasons is None else seasons.tolist()
        # a learned linear correction of the baseline from the window, zero at first
        self.linear_baseline = bool(linear_baseline and seasons is not None)
        if self.linear_baseline:
            self.baseline_delta = nn.Parameter(torch.zeros(self.output_chunk_length, kwargs["input_chunk_length"]))
        if seasons is not None:
            index = baseline_index(seasons, kwargs["input_chunk_length"], self.output_chunk_length,
                                   kwargs.get("output_chunk_shift", 0))
            self.register_buffer("_baseline_index", index, False)  # (T, C)
        # the loss's unit per component (set_loss_unit); NaN until set
        self.register_buffer("_loss_unit", torch.full((target_dim,), float("nan")))
        self._loss_unit_known = False
        # per component: 1 keeps the network's correction of the baseline, 0 forecasts the
        # baseline itself (set by early stopping where the correction lost on validation)
        self.register_buffer("_correction_gate", torch.ones(target_dim))
        self.global_level = False
        if global_level and normalization is not None:
            self._add_global_level(target_dim, N_LEVEL_FEATURES * (1 if channel_independence else target_dim),
                                   hidden_dim)

        # one "unit" is a batch row, or one component of it with channel independence
        covariates = past_dim - target_dim
        unit_targets = 1 if channel_independence else target_dim
        unit_static = static_dim // static_components if channel_independence else static_dim
        step_features = unit_targets + covariates + unit_static
        T = self.output_chunk_length

        self.embedding = (
            SegmentEmbedding(segment_length, step_features, hidden_dim) if segment_length else None
        )
        torch_class = get_cell(cell).torch_class
        self.encoder = torch_class(
            input_size=hidden_dim if segment_length else step_features,
            hidden_size=hidden_dim,
            num_layers=n_rnn_layers,
            dropout=dropout if n_rnn_layers > 1 else 0.0,
            batch_first=True,
        )
        # the decoder also reads the baseline it corrects, per output step (normalized)
        decoder_future = future_dim + (unit_targets if seasons is not None else 0)
        if decoder == "mlp":
            head_in = hidden_dim + T * decoder_future + unit_static
            self.head = build_mlp(
                head_in, list(hidden_fc_sizes or []), T * unit_targets * self.nr_params,
                activation, dropout,
            )
        else:
            shared = segment_length is not None  # SegRNN steps the encoder's own cell
            step_rnn = self.encoder if shared else torch_class(
                hidden_dim, hidden_dim, num_layers=n_rnn_layers, batch_first=True)
            self.head = ParallelSegmentDecoder(
                step_rnn, self._run_rnn, cell, T, segment_length or T,
                channels=target_dim if channel_independence else 0, future_dim=decoder_future,
                out_per_step=unit_targets * self.nr_params, dropout=dropout,
            )
        if seasons is not None:  # the untrained module forecasts the baseline exactly
            output = [m for m in self.head.modules() if isinstance(m, nn.Linear)][-1]
            nn.init.zeros_(output.weight)
            nn.init.zeros_(output.bias)

    @io_processor
    def forward(self, x_in: PLModuleInput) -> PLModuleOutput:
        """Forecast one output chunk.

        Parameters
        ----------
        x_in
            ``past_target`` ``(B, L, C)``, optional ``past_covariates`` ``(B, L, P)``,
            ``historic_future_covariates`` ``(B, L, F)``, ``future_covariates``
            ``(B, T, F)`` and ``static_covariates`` ``(B, C1, S)``.

        Returns
        -------
        PLModuleOutput
            ``prediction`` of shape ``(B, T, C, nr_params)``.
        """
        target = x_in.past_target  # (B, L, C)
        batch, length, C = target.shape
        if self.training and not self._loss_unit_known:  # stand-alone training: from the first batch
            self.set_loss_unit(target.diff(dim=1).abs().mean(dim=(0, 1)) if length > 1 else target.std(dim=(0, 1)))
        anchor = None if self.season is None else self._baseline(target)  # (B, T, C) in data units
        level = scale = features = None
        if self.normalization is not None:
            if self.global_level:
                if not self._reference_known:  # a Python flag: no data-dependent branch to trace
                    self.set_reference(target.mean(dim=(0, 1)), target.std(dim=(0, 1)))
                features = global_level_features(target, self._reference_level, self._reference_scale)
                features = features * self._level_mask  # (B, 3, C): unused components give 0
            level, scale = window_statistics(target, self.normalization)  # (B, 1, C) each
            target = (target - level) if scale is None else (target - level) / _nonzero(scale)
        covariates = [t for t in (x_in.past_covariates, x_in.historic_future_covariates) if t is not None]
        static, future = x_in.static_covariates, x_in.future_covariates
        guide = None
        if anchor is not None:  # (B, T, C): the baseline in the network's units
            reference = x_in.past_target[:, -1:, :] if level is None else level
            guide = anchor - reference if scale is None else (anchor - reference) / _nonzero(scale)
        channel = None
        if self.channel_independence:
            # (B, L, C) -> (B * C, L, 1); everything else is repeated for each component
            target = target.permute(0, 2, 1).reshape(batch * C, length, 1)
            covariates = [t.repeat_interleave(C, dim=0) for t in covariates]
            if static is not None:
                static = static.expand(batch, C, -1).reshape(batch * C, -1)
            if future is not None:
                future = future.repeat_interleave(C, dim=0)
            if guide is not None:  # (B, T, C) -> (B * C, T, 1)
                guide = guide.permute(0, 2, 1).reshape(batch * C, -1, 1)
            channel = torch.arange(C, device=target.device).repeat(batch)
            if features is not None:  # (B, F, C) -> (B * C, F)
                features = features.permute(0, 2, 1).reshape(batch * C, -1)
        else:
            if static is not None:
                static = static.reshape(batch, -1)
            if features is not None:
                features = features.reshape(batch, -1)
        if guide is not None:
            future = guide if future is None else torch.cat([future, guide], dim=2)
        units = target.shape[0]
        steps = torch.cat([target, *covariates], dim=2)
        if static is not None:
            steps = torch.cat([steps, static.unsqueeze(1).expand(-1, length, -1)], dim=2)
        if self.embedding is not None:
            steps = self.embedding(steps)  # (U, L / w, hidden)
        _, state = self._encode(steps)
        cell = get_cell(self.cell)
        if features is not None:
            shift = self.level_projection(features).unsqueeze(0)  # (1, U, hidden), every layer
            state = cell.shift_output(state, shift)

        if self.decoder == "mlp":
            hidden = cell.output(state)
            inputs = [hidden[-1]] + [t.reshape(units, -1) for t in (future, static) if t is not None]
            out = self.head(torch.cat(inputs, dim=1))
        else:
            out = self.head(state, future, channel)
        # (U, T * unit_targets * P) -> (B, T, C, P)
        if self.channel_independence:
            out = out.reshape(batch, C, self.output_chunk_length, self.nr_params).transpose(1, 2)
        else:
            out = out.reshape(batch, self.output_chunk_length, C, self.nr_params)
        if anchor is not None or level is not None:
            out = self._denormalize(out, level if anchor is None else anchor, scale)
        return PLModuleOutput(prediction=out)

    def _baseline(self, target: torch.Tensor) -> torch.Tensor:
        """``(B, L, C)`` raw window -> ``(B, T, C)`` anchor of the forecast, in data units.

        The seasonal-naive value of each output step (:func:`baseline_index`). With
        ``linear_baseline``, plus ``D @ (window - last value)``, a learned linear map of
        the window's deviations from its last value, zero at first (so the untrained
        baseline is exactly seasonal naive) and equivariant (it acts on differences).
        """
        index = self._baseline_index.unsqueeze(0).expand(target.shape[0], -1, -1)
        baseline = torch.gather(target, 1, index)
        if self.linear_baseline:
            baseline = baseline + torch.einsum("tl,blc->btc", self.baseline_delta, target - target[:, -1:, :])
        return baseline

    @torch.no_grad()
    def set_correction_gate(self, keep) -> None:
        """Weigh the network's correction of the baseline, per component: keep (1) or drop (0) it.

        ``BestEpoch`` drops it where, on the validation data, the trained network
        forecast a component worse than the baseline it corrects; that component is then
        forecast as its seasonal-naive baseline, exactly. A weight between 0 and 1
        (``BestEpoch(correction_weights=...)``) forecasts the baseline plus that share of
        the correction.

        Parameters
        ----------
        keep
            ``(C,)`` booleans, or weights in ``[0, 1]``.
        """
        self._correction_gate.copy_(torch.as_tensor(keep, dtype=self._correction_gate.dtype).reshape(-1))

    @torch.no_grad()
    def set_loss_unit(self, unit) -> None:
        """Measure the training loss in units of ``unit`` (per target component).

        With a normalization, forecasts and targets are divided by ``unit`` before the
        loss (and a likelihood's spread parameters scaled alike), so training sees the
        same numbers whatever the data's units: Adam's epsilon, gradient clipping and
        the divergence guard then act alike on ``x`` and on ``a * x + b``. The
        forecasters set the mean absolute one-step change of their training series;
        a module trained on its own takes its first training batch's. The unit also
        scales the spread of a likelihood forecast from a constant window, which has
        no spread of its own.

        Parameters
        ----------
        unit
            ``(C,)`` positive numbers (others, e.g. 0 for a constant component, become 1).
        """
        unit = torch.as_tensor(unit, dtype=self._loss_unit.dtype, device=self._loss_unit.device).reshape(-1)
        unit = torch.where(torch.isfinite(unit) & (unit > 0), unit, torch.ones_like(unit))
        self._loss_unit.copy_(unit.expand_as(self._loss_unit))
        self._loss_unit_known = True

    def _compute_loss(self, output: PLModuleOutput, target, criterion, sample_weight):
        """Darts' loss, in units of :meth:`set_loss_unit` when the module normalizes."""
        if self.normalization is not None and self._loss_unit_known:
            factor = (1 / self._loss_unit).reshape(1, 1, -1)  # (1, 1, C)
            output = output.replace(prediction=self._scale_outputs(output.prediction, factor.unsqueeze(-1)))
            target = target * factor
        return super()._compute_loss(output, target, criterion, sample_weight)

    @torch.no_grad()
    def set_reference(self, level, scale, used=None) -> None:
        """Set the reference of :func:`~rnn_forecast.nn.global_level.global_level_features`.

        Parameters
        ----------
        level, scale
            ``(C,)`` per-component mean and standard deviation of the training data (a
            scale of 0 or NaN, e.g. a constant component, becomes 1).
        used
            ``(C,)`` booleans: the components whose features reach the network
            (default: all).
        """
        if not self.global_level:
            return
        level = torch.as_tensor(level, dtype=self._reference_level.dtype).reshape(-1)
        scale = torch.as_tensor(scale, dtype=self._reference_scale.dtype).reshape(-1)
        scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, torch.ones_like(scale))
        self._reference_level.copy_(level)
        self._reference_scale.copy_(scale)
        self._reference_known = True
        if used is not None:
            self._level_mask.copy_(torch.as_tensor(np.asarray(used, dtype=float)).reshape(-1))

    def _add_global_level(self, target_dim: int, n_features: int, hidden_dim: int) -> None:
        """The layer and buffers of ``global_level``; the reference is NaN until set."""
        self.global_level = True
        # NaN until set: by the forecaster's fit, or from the first batch seen
        self.register_buffer("_reference_level", torch.full((target_dim,), float("nan")))
        self.register_buffer("_reference_scale", torch.full((target_dim,), float("nan")))
        self.register_buffer("_level_mask", torch.ones(target_dim))
        self._reference_known = False
        self.level_projection = nn.Linear(n_features, hidden_dim)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """``torch.nn.Module.load_state_dict``, also into a module built without the level.

        A forecaster with ``global_level="auto"`` decides in ``fit`` (from the training
        series); one that gets its weights by ``load_weights`` builds its network without
        seeing them, so weights trained with the global level add it here.
        """
        weight = state_dict.get("level_projection.weight")
        if weight is not None and not self.global_level and self.normalization is not None:
            like = next(self.parameters())
            self._add_global_level(state_dict["_reference_level"].shape[0], weight.shape[1], weight.shape[0])
            self.level_projection.to(device=like.device, dtype=like.dtype)
            for name in ("_reference_level", "_reference_scale", "_level_mask"):
                setattr(self, name, getattr(self, name).to(device=like.device, dtype=like.dtype))
            self.hparams["global_level"] = True  # what the weights were trained as, for the next save
        if "_loss_unit" not in state_dict:  # saved before 0.4: no loss unit (set by the next fit)
            state_dict = {**state_dict, "_loss_unit": torch.full_like(self._loss_unit, float("nan"))}
        if "_correction_gate" not in state_dict:  # saved before 0.4: every correction kept
            state_dict = {**state_dict, "_correction_gate": torch.ones_like(self._correction_gate)}
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        if self.global_level:
            self._reference_known = bool(torch.isfinite(self._reference_level).all())
        self._loss_unit_known = bool(torch.isfinite(self._loss_unit).all())
        return result

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        if self.season is not None and "season" not in checkpoint.get("hyper_parameters", {}):
            # saved before 0.4: forecasts relative to the window's level, no baseline
            self.season = None
            del self._baseline_index
            self.hparams["season"] = None
            if self.linear_baseline:
                self.linear_baseline = False
                del self.baseline_delta
        if self.global_level and "level_projection.weight" not in checkpoint["state_dict"]:
            # saved before `global_level` existed: the module it was trained as had none
            self.global_level = False
            del self.level_projection, self._reference_level, self._reference_scale, self._level_mask

    def _denormalize(self, out: torch.Tensor, anchor: torch.Tensor, scale: torch.Tensor | None):
        """Map ``(B, T, C, P)`` outputs of the normalized problem back to the data's units.

        Location parameters (forecasts, quantiles, means) become ``y * scale + anchor``
        (``anchor``: the ``(B, T, C)`` baseline, or the ``(B, 1, C)`` window level);
        softplus-activated spread parameters (a standard deviation) are multiplied by
        ``scale`` through the softplus, so the likelihood still sees raw outputs. A
        constant window has scale 0: its location is the anchor exactly, its spread
        takes the loss unit as scale.
        """
        if self.season is not None:  # a gated component's location is its baseline exactly
            out = out * torch.where(self._location.bool(), self._correction_gate.reshape(1, 1, -1, 1), 1.0)
        if scale is not None:
            scale = scale.unsqueeze(-1)  # (B, 1, C, 1)
            unit = torch.nan_to_num(self._loss_unit, nan=1.0).reshape(1, 1, -1, 1)
            out = self._scale_outputs(out, scale, spread_scale=torch.where(scale > 0, scale, unit))
        return out + anchor.unsqueeze(-1) * self._location

    def _scale_outputs(self, out: torch.Tensor, scale: torch.Tensor, spread_scale: torch.Tensor | None = None):
        """``out`` with location parameters times ``scale``, spread parameters times ``spread_scale``.

        Spread parameters are softplus-activated by the likelihood, so they are scaled
        through it: ``softplus^-1(softplus(y) * s)``.
        """
        spread_scale = scale if spread_scale is None else spread_scale
        if self._has_spread:
            spread = _inverse_softplus(nn.functional.softplus(out) * spread_scale)
            out = torch.where(self._spread.bool(), spread, out)
        return out * torch.where(self._location.bool(), scale, torch.ones_like(scale))

    def _encode(self, x: torch.Tensor):
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # oneDNN has no reduced-precision LSTM primitive on most CPUs ("could not create
            # a primitive descriptor"): under CPU mixed precision the recurrence runs in fp32.
            with torch.autocast("cpu", enabled=False):
                return self._run_rnn(self.encoder, x.float())
        return self._run_rnn(self.encoder, x)

    def _run_rnn(self, rnn: nn.Module, x: torch.Tensor, state=None):
        """``rnn(x, state)`` with the configured backend."""
        return run_rnn(rnn, x, state, self.rnn_backend)

    # -- stand-alone use with a plain Lightning Trainer -------------------------------

    def _tensor_batch(self, batch) -> TorchTrainingBatch:
        """Turn a ``(past, future_known, target)`` tuple into Darts' training batch."""
        if isinstance(batch, TorchTrainingBatch):
            return batch
        if not isinstance(batch, (tuple, list)) or len(batch) != 3:
            raise TypeError(
                "Expected a Darts batch or a tuple (past, future_known, target) of tensors, "
                f"got {type(batch).__name__}"
                + (f" of length {len(batch)}." if isinstance(batch, (tuple, list)) else ".")
            )
        past, future, target = batch
        self._check_tensor_shapes(past, future, target)
        C = self.target_dim
        return TorchTrainingBatch(
            past_target=past[..., :C],
            past_covariates=past[..., C:] if past.shape[-1] > C else None,
            future_covariates=future if self.future_dim else None,
            future_target=target,
        )

    def _check_tensor_shapes(self, past, future, target) -> None:
        L, T = self.input_chunk_length, self.output_chunk_length
        expected = {
            "past": (past, (L, self.past_dim)),
            "target": (target, (T, self.target_dim)),
        }
        expected["future_known"] = (future, (T, self.future_dim))
        for name, (tensor, (steps, width)) in expected.items():
            if tensor is None or tensor.dim() != 3 or tuple(tensor.shape[1:]) != (steps, width):
                got = None if tensor is None else tuple(tensor.shape)
                raise ValueError(
                    f"`{name}` must have shape (batch, {steps}, {width}) for this module "
                    f"(input_chunk_length={L}, output_chunk_length={T}), got {got}."
                )

    def training_step(self, train_batch, batch_idx: int) -> torch.Tensor:
        return super().training_step(self._tensor_batch(train_batch), batch_idx)

    def validation_step(self, val_batch, batch_idx: int) -> torch.Tensor:
        return super().validation_step(self._tensor_batch(val_batch), batch_idx)

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int | None = None):
        """Darts inference batches go through Darts' sampling and auto-regression.

        A tuple ``(past, future_known[, target])`` returns the raw module output of
        shape ``(B, T, C, nr_params)`` (``target``, if present, is ignored).
        """
        if not isinstance(batch, (tuple, list)):
            return super().predict_step(batch, batch_idx, dataloader_idx)
        if len(batch) not in (2, 3):
            raise TypeError(
                "Expected (past, future_known) or (past, future_known, target) tensors, "
                f"got a tuple of length {len(batch)}."
            )
        past, future = batch[0], batch[1]
        dummy_target = past.new_zeros((past.shape[0], self.output_chunk_length, self.target_dim))
        module_input = self._tensor_batch((past, future, dummy_target)).to_module_input(
            stage=ModuleStage.PREDICT
        )
        return self(module_input).prediction


def check_module_options(cell, rnn_backend, decoder, segment_length, input_chunk_length,
                         normalization="level_scale") -> None:
    """Raise a ``ValueError`` naming the first invalid architecture option."""
    get_cell(cell)  # an UnknownCellError (a ValueError) naming the registered cells
    for name, value, allowed in [
        ("rnn_backend", rnn_backend, RNN_BACKENDS),
        ("decoder", decoder, DECODERS),
        ("normalization", normalization, NORMALIZATIONS),
    ]:
        if value not in allowed:
            raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}.")
    if segment_length is None or segment_length == "auto":
        return
    check_positive_int(segment_length, "segment_length", alternatives=", 'auto' or None")
    if segment_length > input_chunk_length:
        raise ValueError(
            f"`segment_length` ({segment_length}) must not exceed `input_chunk_length` "
            f"({input_chunk_length}): the lookback holds at least one whole segment."
        )


def resolve_segment_length(segment_length: int | str | None, input_chunk_length: int) -> int | None:
    """The segment length ``w`` that ``segment_length="auto"`` stands for.

    ``w = min(48, ceil(L / 4))`` for a lookback of ``L`` steps: at least four segments,
    of at most 48 steps each (SegRNN's length; ``L = 720`` gives 15 segments, ``L = 168``
    hours 4 segments of 42). Any ``L`` works: when ``w`` does not divide it, the first
    segment is padded. Integers and ``None`` are returned unchanged.

    Examples
    --------
    >>> [resolve_segment_length("auto", L) for L in (7, 24, 96, 97, 168, 720, 2880)]
    [2, 6, 24, 25, 42, 48, 48]
    """
    if segment_length != "auto":
        return segment_length
    return max(1, min(AUTO_MAX_SEGMENT, -(-input_chunk_length // AUTO_MIN_SEGMENTS)))


def window_statistics(target: torch.Tensor, normalization: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Level and scale of each window and component.

    Both follow the data: for ``a > 0`` and any ``b``, the statistics of ``a * x + b``
    are ``a * level + b`` and ``a * scale``, with no absolute floor, and the spread is
    computed on deviations divided by their largest magnitude first, so that neither
    ``1e30`` nor ``1e-30`` scales over- or underflow in float32.

    Parameters
    ----------
    target
        ``(B, L, C)`` past target values.
    normalization
        ``"level"``, ``"level_scale"`` or ``"mean_scale"``.

    Returns
    -------
    (torch.Tensor, torch.Tensor or None)
        The level ``(B, 1, C)``: the last value, or for ``"mean_scale"`` the window's
        mean. For ``"level_scale"``/``"mean_scale"`` also the standard deviation over the
        window ``(B, 1, C)``: 0 for a constant window (which the module then forecasts
        as its baseline, see :func:`_nonzero`).
    """
    level = target.mean(dim=1, keepdim=True) if normalization == "mean_scale" else target[:, -1:, :]
    if normalization == "level":
        return level, None
    deviation = target - level
    largest = deviation.abs().amax(dim=1, keepdim=True)
    unit = _nonzero(largest)
    return level, (deviation / unit).std(dim=1, keepdim=True, unbiased=False) * unit * (largest > 0)


def baseline_index(seasons, input_chunk_length: int, output_chunk_length: int,
                   output_chunk_shift: int = 0) -> torch.Tensor:
    """Where in the input window each output step's seasonal-naive value is.

    The forecast ``h`` steps after the window's end (``h = s + 1 .. s + T`` with shift
    ``s``) repeats the value ``m * ceil(h / m)`` steps before it: one season back, or
    the last value for ``m = 1``.

    Parameters
    ----------
    seasons
        ``(C,)`` integer periods, each at most ``input_chunk_length``.
    input_chunk_length, output_chunk_length, output_chunk_shift
        ``L``, ``T`` and ``s``.

    Returns
    -------
    torch.Tensor
        ``(T, C)`` indices into the ``L`` steps of the window.

    Examples
    --------
    >>> baseline_index([1, 3], 4, 5)[:, 1].tolist()
    [1, 2, 3, 1, 2]
    """
    m = torch.as_tensor(seasons, dtype=torch.long).reshape(1, -1)
    ahead = torch.arange(output_chunk_shift + 1, output_chunk_shift + output_chunk_length + 1).reshape(-1, 1)
    back = m * torch.div(ahead + m - 1, m, rounding_mode="floor")
    return input_chunk_length - back + ahead - 1


def check_seasons(season, target_dim: int, input_chunk_length: int) -> np.ndarray | None:
    """``season`` as ``(C,)`` integer periods (``None`` stays ``None``), or a ``ValueError``."""
    if season is None:
        return None
    values = np.broadcast_to(np.asarray(season), (target_dim,)) if np.ndim(season) == 0 else np.asarray(season)
    if values.shape != (target_dim,):
        raise ValueError(f"`season` must be one integer or one per target component ({target_dim}), "
                         f"got {list(values)}.")
    for m in values.tolist():
        check_positive_int(m, "season", alternatives=", one per target component, or None")
        if m > input_chunk_length:
            raise ValueError(
                f"`season` ({m}) must not exceed `input_chunk_length` ({input_chunk_length}): the "
                "seasonal-naive baseline is read from the input window. Lengthen the window or "
                "pass a shorter season."
            )
    return values.astype(np.int64)


def _nonzero(scale: torch.Tensor) -> torch.Tensor:
    """``scale`` with zeros (constant windows) replaced by 1, for dividing by it."""
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def location_scale_masks(likelihood, nr_params: int, option: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks ``(nr_params,)`` of the location and of the spread outputs.

    ``option`` names what needs them in the error message (e.g. ``"normalization='level'"``).

    Raises
    ------
    ValueError
        For a likelihood whose forecasts cannot be mapped back from a normalized
        window (one without a location parameter, e.g. Poisson).
    """
    location, spread = torch.zeros(nr_params), torch.zeros(nr_params)
    if likelihood is None:
        location[:] = 1
        return location, spread
    name = type(likelihood).__name__
    if name not in _LOCATION_SCALE_PARAMETERS:
        raise ValueError(
            f"`{option}` maps forecasts back by the window's level (or baseline) and scale, which "
            f"{name} has no parameters for. Use one of {sorted(_LOCATION_SCALE_PARAMETERS)}, no "
            "likelihood, or `normalization=None, season=None`."
        )
    loc_index, spread_index = _LOCATION_SCALE_PARAMETERS[name]
    location[loc_index if loc_index is not None else slice(None)] = 1
    spread[spread_index] = 1
    return location, spread


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """``x`` with ``softplus(x) = y`` for ``y > 0`` (floored at the dtype's smallest normal number)."""
    y = y.clamp_min(torch.finfo(y.dtype).tiny)
    return y + torch.log(-torch.expm1(-y))
