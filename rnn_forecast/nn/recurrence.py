"""Fused LSTM/GRU recurrences for the CPU (float32), with hand-written backward passes.

Why: on CPU, ``torch.nn.GRU`` has no fused kernel (oneDNN provides one for the LSTM
only), so every time step runs as a chain of small autograd ops and its training step
is more than twice as slow as the LSTM's, although a GRU does 3/4 of an LSTM's
arithmetic. Here each direction of a layer is one compiled loop:

* the input projections of all steps are one GEMM (``x W_ih^T + b``), done by torch
  outside the loop, as are the weight gradients of all steps after it;
* the loop (compiled with numba) does, per step, one small GEMM ``h W_hh^T`` and the gate
  arithmetic in a single vectorized pass; the backward loop does the chain rule and one
  GEMM for ``dh_{t-1}``;
* ``tanh`` and ``sigmoid`` use a rational approximation (the one Eigen uses for float32,
  absolute error below 3e-7), which, unlike libm calls, the compiler vectorizes.

The parameters are those of an ``nn.LSTM``/``nn.GRU`` (same names, shapes and gate
order): :func:`lstm_layer` and :func:`gru_layer` run one layer and are the cells' fused
kernels in :mod:`rnn_forecast.nn.cells`; :func:`rnn_forecast.nn.backend.fused_rnn` stacks
them into a drop-in for calling the module, which stays the reference path (and the
cuDNN path on GPU). ``tests/nn/test_recurrence.py`` checks
outputs and gradients against ``torch.nn`` to 1e-5.

Layout: batch-major ``(B, T, features)`` as ``batch_first`` modules use, so the input
projection and its gradient are plain GEMMs. Rows of a batch are independent, so the
kernels run on one block of rows per torch thread, in parallel (they release the GIL).
"""

from __future__ import annotations

import sys

import numba
import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import ThreadpoolController

_F = np.float32
# Eigen's float32 tanh: odd rational function on [-c, c], saturated outside
_CLIP = _F(7.99881172180175781)
_A = tuple(_F(a) for a in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                           4.89352455891786e-03))
_B = tuple(_F(b) for b in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                           4.89352518554385e-03))
_HALF, _ONE = _F(0.5), _F(1.0)

# Vectorizable and NaN-preserving: no 'nnan'/'ninf' fast-math flags (a NaN loss must
# stay NaN), and numpy's error model so that division carries no zero check.
_FLAGS = {"error_model": "numpy", "fastmath": {"nsz", "arcp", "contract", "afn", "reassoc"}}
_jit = numba.njit(cache=True, nogil=True, **_FLAGS)
# rows of a batch are independent: the parallel kernels give each thread a block of rows
# that it runs through the whole time loop (numba's OpenMP layer, like torch's threads)
_parallel = numba.njit(cache=True, nogil=True, parallel=True, **_FLAGS)


@numba.njit(inline="always", **_FLAGS)
def _tanh(x):
    x = _CLIP if x > _CLIP else x
    x = -_CLIP if x < -_CLIP else x
    x2 = x * x
    p = x2 * _A[0] + _A[1]
    p = x2 * p + _A[2]
    p = x2 * p + _A[3]
    p = x2 * p + _A[4]
    p = x2 * p + _A[5]
    p = x2 * p + _A[6]
    q = x2 * _B[0] + _B[1]
    q = x2 * q + _B[2]
    q = x2 * q + _B[3]
    return x * p / q


@numba.njit(inline="always", **_FLAGS)
def _sigmoid(x):
    return _HALF + _HALF * _tanh(_HALF * x)


@numba.njit(inline="always", **_FLAGS)
def _start(gx, gates, h0, hs):
    """What each forward kernel starts with: ``hs[:, 0] = h0``; returns ``B, T, H``,
    ``h`` (a copy of ``h0``) and the ``(B, gates * H)`` buffer for ``h W_hh^T``."""
    B, T, G = gx.shape
    hs[:, 0] = h0
    return B, T, G // gates, h0.copy(), np.empty((B, G), gx.dtype)


@_jit
def _gru_forward_rows(w_hh_t, b_hn, gx, h0, hs, rz, ghn, n):
    """GRU steps for a block of rows. ``gx (B,T,3H)``: ``x W_ih^T + b_ih + (b_hr, b_hz, 0)``.

    Writes ``hs (B,T+1,H)`` (``hs[:, 0] = h0``), the gates ``rz (B,T,2H)``, ``n (B,T,H)``
    and ``ghn = W_hn h + b_hn (B,T,H)``; ``w_hh_t`` is ``W_hh^T`` ``(H, 3H)``.
    """
    B, T, H, h, gh = _start(gx, 3, h0, hs)
    for t in range(T):
        np.dot(h, w_hh_t, gh)
        for b in range(B):
            for j in range(2 * H):
                rz[b, t, j] = _sigmoid(gx[b, t, j] + gh[b, j])
            for j in range(H):
                g = gh[b, 2 * H + j] + b_hn[j]
                ghn[b, t, j] = g
                n[b, t, j] = _tanh(gx[b, t, 2 * H + j] + rz[b, t, j] * g)
            for j in range(H):
                v = n[b, t, j]
                h[b, j] = v + rz[b, t, H + j] * (h[b, j] - v)  # (1 - z) n + z h
                hs[b, t + 1, j] = h[b, j]

@_jit
def _gru_infer_rows(w_hh_t, b_hn, gx, h0, hs):
    """:func:`_gru_forward_rows` without the gates backward needs (inference): ``hs`` only."""
    B, T, H, h, gh = _start(gx, 3, h0, hs)
    rz, n = np.empty(2 * H, gx.dtype), np.empty(H, gx.dtype)
    for t in range(T):
        np.dot(h, w_hh_t, gh)
        for b in range(B):
            for j in range(2 * H):
                rz[j] = _sigmoid(gx[b, t, j] + gh[b, j])
            for j in range(H):
                n[j] = _tanh(gx[b, t, 2 * H + j] + rz[j] * (gh[b, 2 * H + j] + b_hn[j]))
            for j in range(H):
                h[b, j] = n[j] + rz[H + j] * (h[b, j] - n[j])
                hs[b, t + 1, j] = h[b, j]


@_parallel
def _gru_infer(blocks, w_hh_t, b_hn, gx, h0, hs):
    """``_gru_infer_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = gx.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _gru_infer_rows(w_hh_t, b_hn, gx[lo:hi], h0[lo:hi], hs[lo:hi])


@_parallel
def _gru_forward(blocks, w_hh_t, b_hn, gx, h0, hs, rz, ghn, n):
    """``_gru_forward_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = gx.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _gru_forward_rows(w_hh_t, b_hn, gx[lo:hi], h0[lo:hi], hs[lo:hi], rz[lo:hi], ghn[lo:hi], n[lo:hi])


@_jit
def _gru_backward_rows(w_hh, d_all, dh, hs, rz, ghn, n, d_gx, d_gh):
    """Backward through the GRU steps of a block of rows.

    ``d_all (B,T,H)``: gradients w.r.t. every output (zeros if unused); ``dh (B,H)``: the
    one w.r.t. the last state, replaced by the gradient w.r.t. ``h0``. Writes ``d_gx
    (B,T,3H)`` (w.r.t. the pre-activations of r, z, n) and ``d_gh (B,T,3H)`` (w.r.t.
    ``W_hh h + (0, 0, b_hn)``, for the weight gradients).
    """
    B, T, H = n.shape
    step = np.empty((B, 3 * H), dh.dtype)
    back = np.empty((B, H), dh.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                g = dh[b, j] + d_all[b, t, j]
                r, z, v = rz[b, t, j], rz[b, t, H + j], n[b, t, j]
                dn = g * (_ONE - z) * (_ONE - v * v)
                dr = dn * ghn[b, t, j] * r * (_ONE - r)
                step[b, j] = dr
                step[b, H + j] = g * (hs[b, t, j] - v) * z * (_ONE - z)
                step[b, 2 * H + j] = dn * r
                d_gx[b, t, 2 * H + j] = dn
                dh[b, j] = g * z
            for j in range(2 * H):
                d_gx[b, t, j] = step[b, j]
            for j in range(3 * H):
                d_gh[b, t, j] = step[b, j]
        np.dot(step, w_hh, back)
        dh += back

@_parallel
def _gru_backward(blocks, w_hh, d_all, dh, hs, rz, ghn, n, d_gx, d_gh):
    """``_gru_backward_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = d_all.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _gru_backward_rows(w_hh, d_all[lo:hi], dh[lo:hi], hs[lo:hi], rz[lo:hi], ghn[lo:hi], n[lo:hi],
                           d_gx[lo:hi], d_gh[lo:hi])


@_jit
def _lstm_forward_rows(w_hh_t, gx, h0, c0, hs, cs, gates, tanh_c):
    """LSTM steps for a block of rows. ``gx (B,T,4H)``: ``x W_ih^T + b_ih + b_hh`` (i, f, g, o).

    Writes ``hs, cs (B,T+1,H)``, the activated ``gates (B,T,4H)`` and ``tanh(c_t)``.
    """
    B, T, H, h, pre = _start(gx, 4, h0, hs)
    c = c0.copy()
    cs[:, 0] = c0
    for t in range(T):
        np.dot(h, w_hh_t, pre)
        for b in range(B):
            # separate simple loops: each one vectorizes
            for j in range(2 * H):
                gates[b, t, j] = _sigmoid(gx[b, t, j] + pre[b, j])
            for j in range(2 * H, 3 * H):
                gates[b, t, j] = _tanh(gx[b, t, j] + pre[b, j])
            for j in range(3 * H, 4 * H):
                gates[b, t, j] = _sigmoid(gx[b, t, j] + pre[b, j])
            for j in range(H):
                c[b, j] = gates[b, t, H + j] * c[b, j] + gates[b, t, j] * gates[b, t, 2 * H + j]
                tanh_c[b, t, j] = _tanh(c[b, j])
            for j in range(H):
                h[b, j] = gates[b, t, 3 * H + j] * tanh_c[b, t, j]
                hs[b, t + 1, j] = h[b, j]
                cs[b, t + 1, j] = c[b, j]

@_jit
def _lstm_infer_rows(w_hh_t, gx, h0, c0, hs, c_last):
    """:func:`_lstm_forward_rows` without what backward needs (inference): ``hs``, last ``c``."""
    B, T, H, h, pre = _start(gx, 4, h0, hs)
    c_last[:] = c0
    g = np.empty(4 * H, gx.dtype)
    for t in range(T):
        np.dot(h, w_hh_t, pre)
        for b in range(B):
            for j in range(2 * H):
                g[j] = _sigmoid(gx[b, t, j] + pre[b, j])
            for j in range(2 * H, 3 * H):
                g[j] = _tanh(gx[b, t, j] + pre[b, j])
            for j in range(3 * H, 4 * H):
                g[j] = _sigmoid(gx[b, t, j] + pre[b, j])
            for j in range(H):
                c_last[b, j] = g[H + j] * c_last[b, j] + g[j] * g[2 * H + j]
                h[b, j] = g[3 * H + j] * _tanh(c_last[b, j])
                hs[b, t + 1, j] = h[b, j]


@_parallel
def _lstm_infer(blocks, w_hh_t, gx, h0, c0, hs, c_last):
    """``_lstm_infer_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = gx.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _lstm_infer_rows(w_hh_t, gx[lo:hi], h0[lo:hi], c0[lo:hi], hs[lo:hi], c_last[lo:hi])


@_parallel
def _lstm_forward(blocks, w_hh_t, gx, h0, c0, hs, cs, gates, tanh_c):
    """``_lstm_forward_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = gx.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _lstm_forward_rows(w_hh_t, gx[lo:hi], h0[lo:hi], c0[lo:hi], hs[lo:hi], cs[lo:hi], gates[lo:hi], tanh_c[lo:hi])


@_jit
def _lstm_backward_rows(w_hh, d_all, dh, dc, cs, gates, tanh_c, d_gates):
    """Backward through the LSTM steps of a block of rows.

    ``dh``/``dc (B,H)`` come in as gradients w.r.t. the last state and leave as those
    w.r.t. ``h0``/``c0``. Writes ``d_gates (B,T,4H)``, w.r.t. the gate pre-activations.
    """
    B, T, H = tanh_c.shape
    step = np.empty((B, 4 * H), dh.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                i, f = gates[b, t, j], gates[b, t, H + j]
                g, o = gates[b, t, 2 * H + j], gates[b, t, 3 * H + j]
                tc = tanh_c[b, t, j]
                gh = dh[b, j] + d_all[b, t, j]
                gc = dc[b, j] + gh * o * (_ONE - tc * tc)
                step[b, j] = gc * g * i * (_ONE - i)
                step[b, H + j] = gc * cs[b, t, j] * f * (_ONE - f)
                step[b, 2 * H + j] = gc * i * (_ONE - g * g)
                step[b, 3 * H + j] = gh * tc * o * (_ONE - o)
                dc[b, j] = gc * f
            for j in range(4 * H):
                d_gates[b, t, j] = step[b, j]
        np.dot(step, w_hh, dh)


@_parallel
def _lstm_backward(blocks, w_hh, d_all, dh, dc, cs, gates, tanh_c, d_gates):
    """``_lstm_backward_rows`` on ``blocks`` blocks of rows, in parallel."""
    B = d_all.shape[0]
    for k in numba.prange(blocks):
        lo, hi = k * B // blocks, (k + 1) * B // blocks
        _lstm_backward_rows(w_hh, d_all[lo:hi], dh[lo:hi], dc[lo:hi], cs[lo:hi], gates[lo:hi], tanh_c[lo:hi],
                            d_gates[lo:hi])


def _row_blocks(batch: int) -> int:
    """How many blocks of rows to run in parallel: one per torch thread, >= 8 rows each."""
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS, batch // 8))


_BLAS: ThreadpoolController | None = None


def _single_threaded_blas():
    """Hold OpenBLAS (which numba's ``np.dot`` calls) to one thread while kernels run.

    With its own thread pool on, the many small per-step GEMMs of concurrent row blocks
    oversubscribe the cores and serialize.
    """
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController().select(internal_api="openblas")
    return _BLAS.limit(limits=1)


class _Workspace:
    """Reuses the kernels' buffers between training steps.

    A fresh multi-megabyte ``np.empty`` comes from ``mmap``: its first touch page-faults
    on every page, which cost about as much as the arithmetic. Internal buffers go back
    with :meth:`give` when a step is done with them; buffers handed to torch (outputs,
    gradients) are reused by :meth:`lend` only once no tensor refers to them any more.
    """

    def __init__(self, keep: int = 4):
        self.free: dict[tuple, list[np.ndarray]] = {}
        self.lent: dict[tuple, list[np.ndarray]] = {}
        self.keep = keep

    def lend(self, *shape: int) -> np.ndarray:
        """A buffer for an array handed to torch, reused once nothing references it."""
        lent = self.lent.setdefault(shape, [])
        for a in lent:
            if sys.getrefcount(a) == 3:  # the list, the loop variable, this call
                return a
        a = np.empty(shape, _F)
        if len(lent) < self.keep:
            lent.append(a)
        return a

    def take(self, *shape: int) -> np.ndarray:
        stack = self.free.get(shape)
        return stack.pop() if stack else np.empty(shape, _F)

    def give(self, *arrays: np.ndarray) -> None:
        for a in arrays:
            stack = self.free.setdefault(a.shape, [])
            if len(stack) < self.keep:
                stack.append(a)


_WORKSPACE = _Workspace()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _state_grad(d: torch.Tensor | None, B: int, H: int) -> np.ndarray:
    """A writable copy of the gradient w.r.t. a last state (zeros if none flowed back)."""
    return np.zeros((B, H), _F) if d is None else _np(d).copy()


def _sum_outer(grads: np.ndarray, states: np.ndarray, bias: bool) -> torch.Tensor:
    """``sum_{b,t} grads[b,t]^T states[b,t]``: ``(B,T,G), (B,T,H) -> (G, H)``.

    One GEMM over all steps. With ``bias``, a column of ones is appended to the states,
    so the result's last column ``(G, H + 1)`` is the bias gradient ``sum_{b,t} grads[b,t]``.
    """
    (B, T, G), H = grads.shape, states.shape[-1]
    width = H + bias
    flat = _WORKSPACE.take(B * T, width)
    packed = flat.reshape(B, T, width)  # a view: flat is contiguous
    packed[..., :H] = states
    if bias:
        packed[..., H] = 1
    out = torch.from_numpy(grads.reshape(-1, G)).t() @ torch.from_numpy(flat)
    _WORKSPACE.give(flat)
    return out


class _GRUSteps:
    """The GRU's kernels behind :class:`_Recurrence`: state ``(h,)``; ``b_hn (H,)`` apart.

    ``b_hn`` is the one bias outside ``gx``: it is multiplied by the reset gate.
    """

    gates = 3

    @staticmethod
    def run(blocks, w_t, b_hn, gx, state0, hs, trainable):
        """Fill ``hs (B,T+1,H)``; return the buffers backward needs and the states after ``h``."""
        B, T, H = gx.shape[0], gx.shape[1], hs.shape[2]
        args = (w_t, _np(b_hn), gx, _np(state0[0]), hs)
        if not trainable:
            _gru_infer(blocks, *args)
            return None, ()
        saved = (_WORKSPACE.take(B, T, 2 * H), _WORKSPACE.take(B, T, H), _WORKSPACE.take(B, T, H))
        _gru_forward(blocks, *args, *saved)  # rz, ghn, n
        return saved, ()

    @staticmethod
    def grad(blocks, w, grads, d_state, hs, saved):
        """Run backward; ``d_state`` is updated in place to the gradients w.r.t. the first state.

        Returns ``d_gx`` (lent), the gradient w.r.t. ``h W_hh^T`` and the buffers to give back.
        """
        rz, ghn, n = saved
        B, T, H = n.shape
        d_gx, d_gh = _WORKSPACE.lend(B, T, 3 * H), _WORKSPACE.take(B, T, 3 * H)
        _gru_backward(blocks, w, grads, d_state[0], hs, rz, ghn, n, d_gx, d_gh)
        return d_gx, d_gh, (*saved, d_gh)


class _LSTMSteps:
    """The LSTM's kernels behind :class:`_Recurrence`: state ``(h, c)``, all biases in ``gx``."""

    gates = 4

    @staticmethod
    def run(blocks, w_t, no_bias, gx, state0, hs, trainable):
        """Fill ``hs (B,T+1,H)``; return the buffers backward needs and the states after ``h``."""
        B, T, H = gx.shape[0], gx.shape[1], hs.shape[2]
        args = (w_t, gx, _np(state0[0]), _np(state0[1]), hs)
        if not trainable:
            c_last = np.empty((B, H), _F)
            _lstm_infer(blocks, *args, c_last)
            return None, (c_last,)
        cs = _WORKSPACE.lend(B, T + 1, H)
        gates, tanh_c = _WORKSPACE.take(B, T, 4 * H), _WORKSPACE.take(B, T, H)
        _lstm_forward(blocks, *args, cs, gates, tanh_c)
        return (cs, gates, tanh_c), (cs[:, T],)

    @staticmethod
    def grad(blocks, w, grads, d_state, hs, saved):
        """As :meth:`_GRUSteps.grad`; the gates' gradient is both ``d_gx`` and that of ``h W_hh^T``."""
        cs, gates, tanh_c = saved
        d_gates = _WORKSPACE.lend(*gates.shape)
        _lstm_backward(blocks, w, grads, *d_state, cs, gates, tanh_c, d_gates)
        return d_gates, d_gates, (gates, tanh_c)


class _Recurrence(torch.autograd.Function):
    """``(steps, trainable, gx (B,T,G), w_hh (G,H), bias, *state0 (B,H)) -> (out (B,T,H), *state_T)``.

    ``steps`` is :class:`_GRUSteps` or :class:`_LSTMSteps` (``G = steps.gates * H``);
    ``bias`` is a recurrent bias kept out of ``gx`` (``(H,)``, the GRU's ``b_hn``) or
    ``None``. ``trainable``: whether backward may follow (else the lighter inference
    kernel runs).
    """

    @staticmethod
    def forward(ctx, steps, trainable, gx, w_hh, bias, *state0):
        B, T, G = gx.shape
        H = G // steps.gates
        hs, w, blocks = _WORKSPACE.lend(B, T + 1, H), _np(w_hh), _row_blocks(B)
        with _single_threaded_blas():
            saved, rest = steps.run(blocks, np.ascontiguousarray(w.T), bias, _np(gx), state0, hs, trainable)
        if trainable:
            ctx.state = (steps, hs, saved, w, blocks, bias is not None)
        ctx.set_materialize_grads(False)
        out = torch.from_numpy(hs)
        return out[:, 1:], out[:, T], *(torch.from_numpy(a) for a in rest)

    @staticmethod
    def backward(ctx, d_all, *d_last):
        steps, hs, saved, w, blocks, has_bias = ctx.state
        B, T1, H = hs.shape
        d_state = [_state_grad(d, B, H) for d in d_last]
        if d_all is None:
            grads = _WORKSPACE.take(B, T1 - 1, H)
            grads.fill(0)
        else:
            grads = _np(d_all)
        with _single_threaded_blas():
            d_gx, d_gh, internal = steps.grad(blocks, w, grads, d_state, hs, saved)
        # one GEMM for W_hh's gradient (and the bias kept out of gx, as a column of ones)
        d_wb = _sum_outer(d_gh, hs[:, :-1], bias=has_bias)
        d_bias = d_wb[-H:, H] if has_bias else None
        _WORKSPACE.give(*internal, *([grads] if d_all is None else []))
        del ctx.state
        return (None, None, torch.from_numpy(d_gx), d_wb[:, :H], d_bias,
                *(torch.from_numpy(d) for d in d_state))


# -- one layer per cell: the kernels of the registry (rnn_forecast.nn.cells.Cell.fused) ----


def gru_layer(x, w_ih, w_hh, b_ih, b_hh, state, trainable):
    """One ``nn.GRU`` layer, fused: ``x (B,T,D)``, ``state = (h0 (B,H),)``.

    Returns ``output (B,T,H)`` and ``(h_T (B,H),)``.
    """
    H = w_hh.shape[1]
    # b_hn stays apart: it is multiplied by the reset gate
    b_rz = torch.cat([b_hh[: 2 * H], b_hh.new_zeros(H)])
    gx = F.linear(x, w_ih, b_ih + b_rz)
    out, h = _Recurrence.apply(_GRUSteps, trainable, gx, w_hh, b_hh[2 * H :], state[0])
    return out, (h,)


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, state, trainable):
    """One ``nn.LSTM`` layer, fused: ``x (B,T,D)``, ``state = (h0, c0)`` each ``(B,H)``.

    Returns ``output (B,T,H)`` and ``(h_T, c_T)``.
    """
    gx = F.linear(x, w_ih, b_ih + b_hh)
    out, h, c = _Recurrence.apply(_LSTMSteps, trainable, gx, w_hh, None, state[0], state[1])
    return out, (h, c)
