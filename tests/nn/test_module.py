"""RecurrentForecastModule on its own: tensor contract, plain Lightning Trainer."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from darts.utils.data.torch_datasets.utils import PLModuleInput
from darts.utils.likelihood_models.torch import GaussianLikelihood
from torch.utils.data import DataLoader, TensorDataset

from rnn_forecast import RecurrentForecastModule
from rnn_forecast.nn.cells import cell_names

L, T, C, P, F = 16, 4, 2, 3, 1  # lookback, horizon, targets, past covariates, future covariates


def windows(n=256, seed=0):
    """(past, future_known, target) windows of a noisy sine, its cosine covariates."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n + L + T, dtype=torch.float32)
    signal = torch.stack([torch.sin(t / 3 + k) for k in range(C)], dim=1)
    cov = torch.stack([torch.cos(t / 3 + k) for k in range(P)], dim=1)
    fut = torch.sin(t / 5)[:, None]
    past = torch.stack([torch.cat([signal[i : i + L], cov[i : i + L]], 1) for i in range(n)])
    future = torch.stack([fut[i + L : i + L + T] for i in range(n)])
    target = torch.stack([signal[i + L : i + L + T] for i in range(n)])
    return past + 0.01 * torch.randn(past.shape, generator=g), future, target


def module(cell, **kwargs):
    return RecurrentForecastModule(
        cell=cell, past_dim=C + P, target_dim=C, future_dim=F,
        input_chunk_length=L, output_chunk_length=T, hidden_dim=16,
        optimizer_kwargs={"lr": 1e-2}, **kwargs,
    )


def trainer(epochs):
    return pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_checkpointing=False,
                      enable_model_summary=False)


@pytest.mark.parametrize("cell", cell_names())
def test_trains_with_plain_trainer_and_tensor_dataloader(cell):
    torch.manual_seed(0)
    past, future, target = windows()
    loader = DataLoader(TensorDataset(past, future, target), batch_size=32, shuffle=True)
    net = module(cell)
    untrained = torch.nn.functional.mse_loss(net.predict_step((past, future), 0)[..., 0], target)
    trainer(8).fit(net, train_dataloaders=loader, val_dataloaders=loader)
    out = trainer(1).predict(net, DataLoader(TensorDataset(past, future), batch_size=64))
    prediction = torch.cat(out)
    assert prediction.shape == (len(past), T, C, 1)
    trained = torch.nn.functional.mse_loss(prediction[..., 0], target)
    assert trained < 0.25 * untrained, (float(untrained), float(trained))


@pytest.mark.parametrize("cell", cell_names())
def test_likelihood_outputs_parameters(cell):
    net = module(cell, likelihood=GaussianLikelihood())
    past, future, _ = windows(8)
    assert net.predict_step((past, future), 0).shape == (8, T, C, 2)


def test_forward_takes_darts_module_input():
    net = module("gru").eval()
    past, future, _ = windows(4)
    x = PLModuleInput(past_target=past[..., :C], past_covariates=past[..., C:],
                      future_covariates=future)
    np.testing.assert_allclose(
        net(x).prediction.detach().numpy(), net.predict_step((past, future), 0).detach().numpy()
    )


def test_encoder_cell_types():
    assert isinstance(module("lstm").encoder, torch.nn.LSTM)
    assert isinstance(module("gru").encoder, torch.nn.GRU)
    with pytest.raises(ValueError, match="cell"):
        module("rnn")


@pytest.mark.parametrize(
    "batch, message",
    [
        ((torch.zeros(2, L - 1, C + P), torch.zeros(2, T, F), torch.zeros(2, T, C)), "`past`"),
        ((torch.zeros(2, L, C + P), torch.zeros(2, T, F + 1), torch.zeros(2, T, C)), "`future_known`"),
        ((torch.zeros(2, L, C + P), torch.zeros(2, T, F), torch.zeros(2, T + 1, C)), "`target`"),
    ],
)
def test_wrong_tensor_shapes_are_named(batch, message):
    with pytest.raises(ValueError, match=message):
        module("lstm").training_step(batch, 0)


def test_wrong_batch_structure():
    with pytest.raises(TypeError, match="past, future_known, target"):
        module("lstm").training_step([torch.zeros(2, L, C + P)], 0)
