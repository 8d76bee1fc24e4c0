"""Small forecasters for the reliability tests (bad input, faults, resume, persistence)."""

from rnn_forecast import GRUForecaster
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series


def build(cls=GRUForecaster, **kwargs):
    """A tiny ``cls`` (hidden 4, one epoch, quiet trainer); ``kwargs`` override."""
    params = {"input_chunk_length": ICL, "output_chunk_length": OCL, "hidden_dim": 4, "n_epochs": 1,
              "batch_size": 32, "random_state": 0, "pl_trainer_kwargs": dict(QUIET_TRAINER)}
    params.update(kwargs)
    return cls(**params)


def fit_with_covariates():
    """A small model fitted with past and future covariates, and its inputs."""
    series = make_series()
    past = make_series(n_components=1, seed=1)
    future = make_series(length=len(series) + 3 * OCL, n_components=1, seed=2)
    model = build().fit(series, past_covariates=past, future_covariates=future)
    return model, series, past, future


def run_params(work_dir, **kwargs):
    """Parameters of a checkpointed run under ``work_dir`` (4 epochs, dropout, a fixed name)."""
    return {"n_epochs": 4, "dropout": 0.2, "batch_size": 16, "save_checkpoints": True,
            "model_name": "run", "work_dir": str(work_dir), **kwargs}
