"""A test cell whose state has four parts: the sLSTM of xLSTM (Beck et al., 2024).

It proves the cell registry's extension point: this file plus one conformance
parameter (``tests/adapter/test_conformance.py``) is all a new cell takes. The sLSTM keeps
``(h, c, n, m)``: the output, the cell, the normalizer and the stabilizer of its
exponential gates. Per layer and step, with ``x`` the input and ``h`` the previous
output::

    z = tanh(W_z x + R_z h + b_z)          o = sigmoid(W_o x + R_o h + b_o)
    i~ = W_i x + R_i h + b_i               f~ = W_f x + R_f h + b_f
    m' = max(f~ + m, i~)                   i = exp(i~ - m'),  f = exp(f~ + m - m')
    c' = f c + i z                         n' = f n + i,      h' = o c' / n'

A plain Python loop over time (no fused kernel): slow, but what the registry needs.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from rnn_forecast.nn.cells import Cell


class SLSTM(nn.Module):
    """Stacked sLSTM layers with ``torch.nn.LSTM``'s constructor and call convention.

    Parameters
    ----------
    input_size, hidden_size
        ``D`` and ``H``.
    num_layers
        Stacked layers; ``dropout`` between them, as ``torch.nn`` does.
    batch_first
        Must be ``True`` (what the forecasters build).

    ``forward(x (B, T, D), state=None) -> (output (B, T, H), (h, c, n, m))``, each part
    ``(num_layers, B, H)``; ``state=None`` starts from zeros.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 batch_first: bool = True):
        super().__init__()
        if not batch_first:
            raise ValueError("SLSTM is batch-first only")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.dropout, self.batch_first = dropout, batch_first
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        # gates in the order z, i, f, o
        self.inputs = nn.ModuleList(nn.Linear(d, 4 * hidden_size) for d in sizes)
        self.recurrent = nn.ModuleList(nn.Linear(hidden_size, 4 * hidden_size, bias=False) for _ in sizes)

    def forward(self, x: torch.Tensor, state=None):
        B, T, _ = x.shape
        if state is None:
            state = (x.new_zeros(self.num_layers, B, self.hidden_size),) * 4
        layer_in, last = x, []
        for layer, (w_in, w_rec) in enumerate(zip(self.inputs, self.recurrent)):
            h, c, n, m = (part[layer] for part in state)
            gx = w_in(layer_in)  # (B, T, 4H)
            outputs = []
            for t in range(T):
                z, i_tilde, f_tilde, o = (gx[:, t] + w_rec(h)).chunk(4, dim=1)
                m_new = torch.maximum(f_tilde + m, i_tilde)
                i, f = torch.exp(i_tilde - m_new), torch.exp(f_tilde + m - m_new)
                c, n = f * c + i * torch.tanh(z), f * n + i
                h, m = torch.sigmoid(o) * c / n, m_new
                outputs.append(h)
            layer_in = torch.stack(outputs, dim=1)
            last.append((h, c, n, m))
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_in = nn.functional.dropout(layer_in, self.dropout, self.training)
        return layer_in, tuple(torch.stack(part) for part in zip(*last))


#: Registered by the tests that use it (``rnn_forecast.nn.cells.registered(SLSTM_CELL)``).
SLSTM_CELL = Cell("slstm", SLSTM, state="hcnm", display="sLSTM")
