"""The fused CPU recurrences compute exactly what torch.nn.LSTM/GRU compute."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_forecast.nn.backend import fused_rnn, supports_fused

CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _grads(rnn, x, hx, run, weights):
    """Outputs and gradients of a scalar loss using every output and the final state."""
    for p in list(rnn.parameters()) + [x] + ([*hx] if isinstance(hx, tuple) else [hx]):
        p.grad = None
    out, state = run(rnn, x, hx)
    h_n = state[0] if isinstance(state, tuple) else state
    loss = (out * weights[0]).sum() + (h_n * weights[1]).sum()
    if isinstance(state, tuple):
        loss = loss + (state[1] * weights[1]).sum()
    loss.backward()
    grads = [p.grad.clone() for p in rnn.parameters()] + [x.grad.clone()]
    grads += [t.grad.clone() for t in (hx if isinstance(hx, tuple) else (hx,))]
    return [out.detach(), h_n.detach()], grads


def _assert_close(actual, expected, tol=1e-5):
    """Within ``tol`` of the reference, relative to its largest magnitude (float32 sums)."""
    scale = max(1.0, expected.abs().max().item())
    assert (actual - expected).abs().max().item() <= tol * scale


@settings(max_examples=30, deadline=None)
@given(
    cell=st.sampled_from(sorted(CELLS)),
    batch=st.integers(1, 5),
    steps=st.integers(1, 12),
    inputs=st.integers(1, 4),
    hidden=st.integers(1, 9),
    layers=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_outputs_and_gradients_match_torch_nn(cell, batch, steps, inputs, hidden, layers, seed):
    torch.manual_seed(seed)
    rnn = CELLS[cell](inputs, hidden, num_layers=layers, batch_first=True)
    x = torch.randn(batch, steps, inputs, requires_grad=True)
    h0 = torch.randn(layers, batch, hidden, requires_grad=True)
    hx = (h0, torch.randn_like(h0).requires_grad_()) if cell == "lstm" else h0
    weights = (torch.randn(batch, steps, hidden), torch.randn(layers, batch, hidden))
    assert supports_fused(rnn, x)
    ref_out, ref_grads = _grads(rnn, x, hx, lambda m, a, h: m(a, h), weights)
    new_out, new_grads = _grads(rnn, x, hx, fused_rnn, weights)
    for a, b in zip(ref_out + ref_grads, new_out + new_grads):
        _assert_close(b, a)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_float32_forecasting_shapes_within_1e_5(cell):
    """The benchmark configuration: batch 64, lookback 96, 21 inputs, hidden 64."""
    torch.manual_seed(0)
    rnn = CELLS[cell](21, 64, batch_first=True)
    x = torch.randn(64, 96, 21, requires_grad=True)
    head = torch.nn.Linear(64, 8)

    def loss_and_grads(run):
        for p in list(rnn.parameters()) + list(head.parameters()) + [x]:
            p.grad = None
        out, state = run()
        h = state[0] if isinstance(state, tuple) else state
        loss = head(h[-1]).pow(2).mean()
        loss.backward()
        return [out.detach()] + [p.grad.clone() for p in rnn.parameters()] + [x.grad.clone()]

    reference = loss_and_grads(lambda: rnn(x))
    fused = loss_and_grads(lambda: fused_rnn(rnn, x))
    for a, b in zip(reference, fused):
        _assert_close(b, a)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    rnn = torch.nn.GRU(3, 5, num_layers=2, dropout=0.5, batch_first=True).eval()
    x = torch.randn(2, 7, 3)
    torch.testing.assert_close(fused_rnn(rnn, x)[0], rnn(x)[0])
    rnn.train()
    first, second = fused_rnn(rnn, x)[0], fused_rnn(rnn, x)[0]
    assert not torch.equal(first, second)


def test_unsupported_configurations_are_reported():
    x = torch.randn(2, 3, 4)
    assert not supports_fused(torch.nn.GRU(4, 5, batch_first=False), x)
    assert not supports_fused(torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True), x)
    assert not supports_fused(torch.nn.GRU(4, 5, batch_first=True), x.double())
    assert supports_fused(torch.nn.GRU(4, 5, batch_first=True), x)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_auto_backend_trains_the_lstm_with_torch_nn_and_infers_with_the_fused_kernel(cell, monkeypatch):
    """``"auto"``: oneDNN's LSTM trains faster than our fused one (docs/speed.md); inference,
    and every GRU call, stay on the fused kernels; ``"fused"`` always means fused."""
    import rnn_forecast.nn.backend as backend

    calls = []
    monkeypatch.setattr(backend, "fused_rnn", lambda *a: calls.append(1) or fused_rnn(*a))
    rnn, x = CELLS[cell](4, 5, batch_first=True), torch.randn(3, 7, 4)
    out, _ = backend.run_rnn(rnn, x, None, "auto")
    assert len(calls) == (0 if cell == "lstm" else 1)
    torch.testing.assert_close(out, rnn(x)[0])
    out.sum().backward()
    assert all(p.grad is not None for p in rnn.parameters())
    with torch.no_grad():
        backend.run_rnn(rnn, x, None, "auto")
    rnn.requires_grad_(False)  # frozen weights, no trainable input: inference, fused
    backend.run_rnn(rnn, x, None, "auto")
    rnn.requires_grad_(True)
    backend.run_rnn(rnn, x, None, "fused")
    assert len(calls) == (3 if cell == "lstm" else 4)
    backend.run_rnn(rnn, x, None, "torch")
    assert len(calls) == (3 if cell == "lstm" else 4)


def test_non_finite_values_propagate():
    """Fast math must not turn a NaN into a number: the training guard relies on it."""
    rnn = torch.nn.LSTM(2, 3, batch_first=True)
    x = torch.zeros(1, 4, 2)
    x[0, 1, 0] = float("nan")
    out, _ = fused_rnn(rnn, x)
    assert torch.isnan(out[0, 1:]).all() and torch.isfinite(out[0, 0]).all()


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_inference_kernels_equal_the_training_kernels(cell):
    """Without gradients the kernels skip what backward needs: same outputs and states
    (to float32 rounding: the compiler may fuse a multiply-add differently)."""
    torch.manual_seed(1)
    rnn = CELLS[cell](5, 16, num_layers=2, batch_first=True)
    x = torch.randn(40, 30, 5)
    with torch.no_grad():
        light_out, light_state = fused_rnn(rnn, x)
    full_out, full_state = fused_rnn(rnn, x.requires_grad_())
    torch.testing.assert_close(light_out, full_out.detach(), rtol=0, atol=1e-6)
    for a, b in zip(light_state if cell == "lstm" else (light_state,),
                    full_state if cell == "lstm" else (full_state,)):
        torch.testing.assert_close(a, b.detach(), rtol=0, atol=1e-6)
