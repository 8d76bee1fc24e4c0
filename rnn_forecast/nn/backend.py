"""Where a recurrent layer runs: the cell's fused CPU kernel, or its ``torch.nn`` module.

:func:`run_rnn` is the one place that chooses (``rnn_backend``); :func:`fused_rnn` runs
any registered cell that has a fused kernel (:mod:`rnn_forecast.nn.cells`), layer by layer,
with the state layout the registry gives (``h`` or ``(h, c)``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from rnn_forecast.nn.cells import cell_of

RNN_BACKENDS = ("auto", "torch", "fused")


def supports_fused(rnn: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`fused_rnn` can run ``rnn`` on ``x``: CPU float32, batch-first, simple.

    ``rnn`` must be the ``torch_class`` of a registered cell with a fused kernel. Never
    while ``torch.export``/``torch.compile`` or the ONNX exporter trace the model: the
    fused kernels are eager-only, and ``torch.nn`` computes the same function.
    """
    cell = cell_of(rnn)
    return (
        not torch.compiler.is_compiling()
        and not torch.onnx.is_in_onnx_export()
        and cell is not None
        and cell.fused is not None
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_autocast_enabled("cpu")
        and rnn.batch_first
        and not rnn.bidirectional
        and rnn.bias
        and getattr(rnn, "proj_size", 0) == 0
        and all(p.dtype == torch.float32 for p in rnn.parameters())
    )


def needs_gradients(rnn: nn.Module, x: torch.Tensor, hx=None) -> bool:
    """Whether a backward pass may follow ``rnn(x, hx)``: grad mode on and any input trainable."""
    states = () if hx is None else (hx if isinstance(hx, tuple) else (hx,))
    return torch.is_grad_enabled() and any(t.requires_grad for t in [x, *rnn.parameters(), *states])


def fused_rnn(rnn: nn.Module, x: torch.Tensor, hx=None):
    """Run ``rnn`` (``batch_first``) on ``x`` with its cell's fused kernel: same results.

    Parameters
    ----------
    rnn
        The ``torch_class`` module of a registered cell with a fused kernel (an
        ``nn.LSTM`` or ``nn.GRU`` built in), ``batch_first=True``; its parameters are
        used and receive gradients as usual.
    x
        Input ``(B, T, D)``, float32 on CPU (see :func:`supports_fused`).
    hx
        Optional initial state as for the module: ``h0`` ``(layers, B, H)`` for a cell
        with state ``"h"`` (GRU), ``(h0, c0)`` for state ``"hc"`` (LSTM); zeros if ``None``.

    Returns
    -------
    output, state
        ``output`` ``(B, T, H)``: the last layer's hidden states; ``state``: ``h_n``
        ``(layers, B, H)``, or ``(h_n, c_n)`` for state ``"hc"``, as ``torch.nn`` returns.
    """
    cell = cell_of(rnn)
    layers = rnn.num_layers
    states = cell.parts(hx) if hx is not None else (x.new_zeros(layers, x.shape[0], rnn.hidden_size),) * cell.n_parts
    trainable = needs_gradients(rnn, x, hx)
    layer_in, last = x, []
    for layer in range(layers):
        weights = [getattr(rnn, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        layer_in, final = cell.fused(layer_in, *weights, tuple(s[layer] for s in states), trainable)
        last.append(final)
        if layer < layers - 1 and rnn.dropout > 0:
            layer_in = F.dropout(layer_in, rnn.dropout, rnn.training)
    return layer_in, cell.pack(torch.stack(part) for part in zip(*last))  # per part: (layers, B, H)


def run_rnn(rnn: nn.Module, x: torch.Tensor, state=None, backend: str = "auto"):
    """``rnn(x, state)`` on the chosen backend (one of :data:`RNN_BACKENDS`).

    ``"auto"``: the fused kernel where :func:`supports_fused` holds, except for calls
    that need gradients to a cell whose ``fused_training`` is ``False`` (the LSTM: oneDNN
    trains it faster), else ``torch.nn``; ``"torch"``: always the module; ``"fused"``:
    always the kernel (a ``RuntimeError`` where it does not apply). Same parameters and
    results either way (to float32 rounding).
    """
    if backend != "torch" and supports_fused(rnn, x):
        if backend == "fused" or cell_of(rnn).fused_training or not needs_gradients(rnn, x, state):
            return fused_rnn(rnn, x, state)
        return rnn(x, state)
    if backend == "fused":
        cell = cell_of(rnn)
        if cell is None or cell.fused is None:
            raise RuntimeError(
                f"rnn_backend='fused': the {cell.name if cell else type(rnn).__name__!r} cell has "
                "no fused kernel; use rnn_backend='auto' or 'torch'."
            )
        raise RuntimeError(
            "rnn_backend='fused' runs on CPU float32 tensors only (got "
            f"{x.dtype} on {x.device.type}); use rnn_backend='auto' or 'torch'."
        )
    return rnn(x, state)
