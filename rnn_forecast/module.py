"""The recurrent forecasting network: an LSTM or GRU encoder and a direct multi-step head.

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

``predict_step`` on such a batch returns ``(B, T, C, nr_params)``: ``nr_params`` is 1
without a likelihood, otherwise the likelihood's parameters (e.g. mean and scale).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from darts.models.forecasting.pl_forecasting_module import (
    PLForecastingModule,
    io_processor,
)
from darts.utils.data.torch_datasets.utils import (
    ModuleStage,
    PLModuleInput,
    PLModuleOutput,
    TorchTrainingBatch,
)
from darts.utils.torch import MonteCarloDropout

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def build_mlp(
    in_features: int,
    hidden_sizes: Sequence[int],
    out_features: int,
    activation: str,
    dropout: float,
) -> nn.Sequential:
    """A fully connected stack ``in -> hidden_sizes... -> out``.

    Dropout (Monte Carlo capable, so ``predict(mc_dropout=True)`` works) precedes every
    linear layer; the activation sits between layers, never after the last one.
    """
    layers: list[nn.Module] = []
    width = in_features
    for size in list(hidden_sizes) + [out_features]:
        if dropout > 0:
            layers.append(MonteCarloDropout(dropout))
        layers.append(nn.Linear(width, size))
        layers.append(getattr(nn, activation)())
        width = size
    return nn.Sequential(*layers[:-1])  # no activation on the output


class RecurrentForecastModule(PLForecastingModule):
    """LSTM/GRU encoder over the lookback window and an MLP head for all output steps.

    The encoder reads, at each of the ``L`` past steps, the target, past covariates,
    the history of future covariates and the (time-constant) static covariates. Its
    last-layer final hidden state ``h`` (``(B, hidden_dim)``) is concatenated with the
    flattened future-known covariates of the ``T`` output steps and the static
    covariates, and the head maps that vector to all ``T x C x nr_params`` outputs at
    once (a "direct" multi-step forecast: no error accumulation within a chunk).

    Parameters
    ----------
    cell
        ``"lstm"`` or ``"gru"``.
    past_dim
        Channels per past step: ``target_dim`` + past covariates + future covariates.
    target_dim
        Number of target components ``C``.
    future_dim
        Future-known covariate channels per output step (0 for none).
    static_dim
        Flattened static covariates (components x static features), 0 for none.
    hidden_dim
        Hidden state size of the recurrent layers.
    n_rnn_layers
        Number of stacked recurrent layers.
    hidden_fc_sizes
        Hidden layer widths of the head (empty: a single linear layer).
    dropout
        Dropout between recurrent layers and before each head layer.
    activation
        Name of a ``torch.nn`` activation used between head layers.
    nr_params
        Outputs per target value; defaults to the likelihood's number of parameters, or 1.
    **kwargs
        Parameters of Darts' ``PLForecastingModule``: ``input_chunk_length`` and
        ``output_chunk_length`` (required), ``likelihood``, ``loss_fn``, ``torch_metrics``,
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
        **kwargs,
    ):
        if cell not in CELLS:
            raise ValueError(f"`cell` must be one of {sorted(CELLS)}, got {cell!r}.")
        if past_dim < target_dim:
            raise ValueError(
                f"`past_dim` ({past_dim}) must include the {target_dim} target channels."
            )
        if kwargs.get("train_sample_shape") is None:
            # lets the Darts base class know the target width when built stand-alone
            kwargs["train_sample_shape"] = {
                "past_target": (kwargs["input_chunk_length"], target_dim)
            }
        super().__init__(**kwargs)
        self.cell = cell
        self.past_dim = past_dim
        self.target_dim = target_dim
        self.future_dim = future_dim
        self.static_dim = static_dim
        likelihood = self.likelihood
        self.nr_params = nr_params or (likelihood.num_parameters if likelihood else 1)

        self.encoder = CELLS[cell](
            input_size=past_dim + static_dim,
            hidden_size=hidden_dim,
            num_layers=n_rnn_layers,
            dropout=dropout if n_rnn_layers > 1 else 0.0,
            batch_first=True,
        )
        head_in = hidden_dim + self.output_chunk_length * future_dim + static_dim
        self.head = build_mlp(
            head_in,
            list(hidden_fc_sizes or []),
            self.output_chunk_length * target_dim * self.nr_params,
            activation,
            dropout,
        )

    @io_processor
    def forward(self, x_in: PLModuleInput) -> PLModuleOutput:
        """Forecast one output chunk.

        Parameters
        ----------
        x_in
            ``past_target`` ``(B, L, C)``, optional ``past_covariates`` ``(B, L, P)``,
            ``historic_future_covariates`` ``(B, L, F)``, ``future_covariates``
            ``(B, T, F)`` and ``static_covariates`` ``(B, C or 1, S)``.

        Returns
        -------
        PLModuleOutput
            ``prediction`` of shape ``(B, T, C, nr_params)``.
        """
        past = x_in.concatenate_past_features()  # (B, L, past_dim)
        batch, length = past.shape[:2]
        head_inputs = []
        if x_in.static_covariates is not None:
            static = x_in.static_covariates.reshape(batch, -1)  # (B, static_dim)
            past = torch.cat([past, static.unsqueeze(1).expand(-1, length, -1)], dim=2)
        _, state = self._encode(past)
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        head_inputs.append(hidden[-1])  # last layer: (B, hidden_dim)
        if x_in.future_covariates is not None:
            head_inputs.append(x_in.future_covariates.reshape(batch, -1))
        if x_in.static_covariates is not None:
            head_inputs.append(static)
        out = self.head(torch.cat(head_inputs, dim=1))
        out = out.view(batch, self.output_chunk_length, self.target_dim, self.nr_params)
        return PLModuleOutput(prediction=out)

    def _encode(self, past: torch.Tensor):
        if past.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # oneDNN has no reduced-precision LSTM primitive on most CPUs ("could not create
            # a primitive descriptor"): under CPU mixed precision the recurrence runs in fp32.
            with torch.autocast("cpu", enabled=False):
                return self.encoder(past.float())
        return self.encoder(past)

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
