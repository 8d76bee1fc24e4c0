"""Building blocks of :class:`~rnn_forecast.nn.module.RecurrentForecastModule`.

* :class:`SegmentEmbedding`: cut the lookback into segments and embed each one
  linearly (SegRNN, Lin et al. 2023, https://arxiv.org/abs/2308.11200), so the
  recurrence runs over ``L / segment_length`` steps instead of ``L``;
* :func:`build_mlp`: the direct multi-step head;
* :class:`ParallelSegmentDecoder`: SegRNN's parallel multi-step decoding, one recurrent
  step per output segment from the encoder's final state, with learned position (and
  channel) embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn as nn
from darts.utils.torch import MonteCarloDropout

from rnn_forecast.nn.cells import get_cell


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


class SegmentEmbedding(nn.Module):
    """``(U, L, D) -> (U, ceil(L / w), d)``: each run of ``w`` steps (all features) -> ``d``.

    When ``w`` does not divide ``L``, the window is padded in front by repeating its
    first step, so the last segment always ends at the most recent step.

    Parameters
    ----------
    segment_length
        ``w``, steps per segment.
    in_features
        ``D``, features per time step.
    out_features
        ``d``, the embedding (and recurrent input) size.
    """

    def __init__(self, segment_length: int, in_features: int, out_features: int):
        super().__init__()
        self.segment_length = segment_length
        self.proj = nn.Linear(segment_length * in_features, out_features)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        units, length, features = x.shape
        w = self.segment_length
        pad = -length % w
        if pad:
            x = torch.cat([x[:, :1].expand(-1, pad, -1), x], dim=1)
        segments = x.reshape(units, (length + pad) // w, w * features)
        return self.act(self.proj(segments))


class ParallelSegmentDecoder(nn.Module):
    """One recurrent step per output segment, all segments at once.

    For output segment ``j`` of ``m = ceil(T / w)``, the query ``pos[j] (+ channel[c])
    (+ W_f f_j)`` (``f_j``: the future covariates of the segment) is fed for one step
    to the recurrent cell started from the encoder's final state; a linear layer maps
    each step's output to the segment's ``w`` values.

    Parameters
    ----------
    rnn
        The recurrent cell to step (input and hidden size ``d``); SegRNN shares the
        encoder's.
    step
        ``rnn`` runner: ``step(rnn, x, state) -> (output, state)`` (``torch.nn`` or fused).
    cell
        The registered cell's name (:mod:`rnn_forecast.nn.cells`), whose state ``rnn`` takes.
    horizon, segment_length
        ``T`` and ``w``.
    channels
        Number of channel embeddings (channel-independent mode), 0 for none.
    future_dim
        Future covariates per output step ``F`` (0 for none).
    out_per_step
        Values per output step (target components x likelihood parameters).
    dropout
        Dropout on the step outputs (Monte Carlo capable).
    """

    def __init__(self, rnn: nn.Module, step: Callable, cell: str, horizon: int, segment_length: int,
                 channels: int, future_dim: int, out_per_step: int, dropout: float):
        super().__init__()
        d = rnn.hidden_size
        self.rnn, self.step, self.cell = rnn, step, cell
        self.horizon, self.segment_length = horizon, segment_length
        self.n_segments = -(-horizon // segment_length)
        self.position = nn.Parameter(torch.randn(self.n_segments, d) * 0.02)
        self.channel = nn.Parameter(torch.randn(channels, d) * 0.02) if channels else None
        self.future = nn.Linear(segment_length * future_dim, d) if future_dim else None
        self.dropout = MonteCarloDropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(d, segment_length * out_per_step)
        self.out_per_step = out_per_step

    def forward(self, state, future: torch.Tensor | None, channel_of_unit: torch.Tensor | None):
        """Decode ``T`` steps for every unit.

        Parameters
        ----------
        state
            Encoder final state: ``h (layers, U, d)``, or a tuple of such parts (an LSTM's
            ``(h, c)``) as the cell's :attr:`~rnn_forecast.nn.cells.Cell.state` names them.
        future
            ``(U, T, F)`` future covariates, or ``None``.
        channel_of_unit
            ``(U,)`` channel index of each unit (channel-independent mode), or ``None``.

        Returns
        -------
        torch.Tensor
            ``(U, T, out_per_step)``.
        """
        m, w = self.n_segments, self.segment_length
        cell = get_cell(self.cell)
        units = cell.output(state).shape[1]
        query = self.position.unsqueeze(0).expand(units, -1, -1)  # (U, m, d)
        if self.channel is not None:
            query = query + self.channel[channel_of_unit].unsqueeze(1)
        if self.future is not None:
            padded = nn.functional.pad(future, (0, 0, 0, m * w - self.horizon))
            query = query + self.future(padded.reshape(units, m, -1))

        # every part (layers, U, d) -> (layers, U * m, d)
        start = cell.map_state(state, lambda part: part.repeat_interleave(m, dim=1))
        out, _ = self.step(self.rnn, query.reshape(units * m, 1, -1), start)
        values = self.out(self.dropout(out[:, 0]))  # (U * m, w * out_per_step)
        return values.reshape(units, m * w, self.out_per_step)[:, : self.horizon]
