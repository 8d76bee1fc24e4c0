"""NeuralForecast's LSTM and GRU as peers (optional: ``pip install rnn_forecast[peers]``).

Same budget as the Darts models: lookback (``input_size`` and
``inference_input_size``), horizon, hidden size and layers of the encoder, learning
rate, L1 loss (NeuralForecast's default ``MAE()``), seed, and as many optimizer steps
of ``batch_size`` windows as the
Darts models take over their epochs (NeuralForecast samples windows per step instead
of iterating over epochs). The decoder MLP's width is set to the hidden size; its
depth stays at the default. The fitted model forecasts the test windows without
retraining (``cross_validation(..., use_fitted=True)``).

Scaling: the inputs are the protocol's globally standardized series, and
NeuralForecast's own per-window scaler is off (``scaler_type="identity"``). Its
default (``"robust"``) scales every exogenous feature by its spread *within each
window*, so a covariate that is constant over most windows (holiday and weather
flags, rain, month encodings) is divided by a tiny floor whenever it changes within a
window, and the forecasts of such windows come out orders of magnitude off (seen on the
traffic data around month boundaries). The Darts models' window normalization (RevIN)
touches the target only, so it has no such failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from darts import TimeSeries

from rnn_forecast.evaluation.contenders import Contender, trainer_kwargs
from rnn_forecast.evaluation.costs import count_parameters
from rnn_forecast.evaluation.task import Task


def available() -> tuple[bool, str]:
    """Whether NeuralForecast can be imported, and a line for the report."""
    try:
        import neuralforecast
    except ImportError as exc:
        return False, (f"NeuralForecast peers skipped: not installed ({exc}); "
                       "install them with `pip install 'rnn_forecast[peers]'`")
    return True, f"NeuralForecast {neuralforecast.__version__} peers included"


def peers(requested: bool = True) -> tuple[list[Contender], str]:
    """NeuralForecast's LSTM and GRU when requested and installed, and a line saying so.

    Parameters
    ----------
    requested
        ``False`` leaves them out (``--no-neuralforecast``).

    Returns
    -------
    (list of Contender, str)
        The contenders (empty when left out) and the line for the report.
    """
    if not requested:
        return [], "NeuralForecast not requested (--no-neuralforecast)"
    ok, status = available()
    if not ok:
        return [], status
    return [NeuralForecastContender(f"NeuralForecast {c.upper()}", "peer", c) for c in ("lstm", "gru")], status


def _frame(task: Task, stop: pd.Timestamp | None = None, only: int | None = None) -> pd.DataFrame:
    """Long table ``unique_id, ds, y, p_*, f_*`` of the model-space series and covariates."""
    frames = []
    for i, series in enumerate(task.series):
        if only is not None and i != only:
            continue
        if stop is not None:
            series = series.drop_after(stop)
        frame = pd.DataFrame({"unique_id": task.names[i], "ds": series.time_index,
                              "y": series.values(copy=False)[:, 0]})
        for prefix, covs in (("p_", task.past_covariates), ("f_", task.future_covariates)):
            if covs is not None:
                cov = covs[i].slice_intersect(series)
                for j, name in enumerate(cov.components):
                    frame[prefix + str(name)] = cov.values(copy=False)[:, j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _exog(task: Task, kind: str) -> list[str] | None:
    covs = task.past_covariates if kind == "p_" else task.future_covariates
    return None if covs is None else [kind + str(c) for c in covs[0].components]


@dataclass
class NeuralForecastContender(Contender):
    """NeuralForecast ``LSTM``/``GRU`` with the shared budget of the task's setup."""

    def fit(self, task: Task, seed: int, device: str) -> None:
        from neuralforecast import NeuralForecast
        from neuralforecast.losses.pytorch import MAE
        from neuralforecast.models import GRU, LSTM

        setup = task.setup
        steps = setup.epochs * math.ceil(task.n_train_windows / setup.batch_size)
        trainer = {k: v for k, v in trainer_kwargs(device).items()}
        model = {"lstm": LSTM, "gru": GRU}[self.cell](
            h=setup.horizon, input_size=setup.lookback, inference_input_size=setup.lookback,
            encoder_n_layers=setup.n_rnn_layers, encoder_hidden_size=setup.hidden_dim,
            decoder_hidden_size=setup.hidden_dim, futr_exog_list=_exog(task, "f_"),
            hist_exog_list=_exog(task, "p_"), loss=MAE(), max_steps=steps,
            learning_rate=setup.lr, scaler_type="identity", batch_size=min(len(task.series), 32),
            windows_batch_size=setup.batch_size, random_seed=seed, alias=self.name, **trainer,
        )
        self._model = NeuralForecast(models=[model], freq=task.series[0].freq)
        self._model.fit(_frame(task, stop=task.test_start), val_size=0)
        self.epochs = setup.epochs
        self.windows_seen = steps * setup.batch_size
        self.n_params = count_parameters(self._model.models[0])

    def backtest(self, task: Task) -> list[TimeSeries]:
        h = task.setup.horizon
        cv = self._model.cross_validation(_frame(task), n_windows=task.n_windows, step_size=h,
                                          use_fitted=True)
        out = []
        for i, name in enumerate(task.names):
            rows = cv[cv["unique_id"] == name].sort_values("ds")
            out.append(TimeSeries.from_times_and_values(
                pd.DatetimeIndex(rows["ds"], freq=task.series[i].freq),
                rows[self.name].to_numpy(np.float32)[:, None],
                columns=task.series[i].components))
        return task.to_original(out)

    def predict_once(self, task: Task) -> None:
        history = _frame(task, stop=task.test_start, only=0)
        futr = None
        if task.future_covariates is not None:
            future = _frame(task, only=0)
            futr = future[future["ds"] >= task.test_start].head(task.setup.horizon).drop(columns="y")
            futr = futr[["unique_id", "ds", *_exog(task, "f_")]]
        self._model.predict(df=history, futr_df=futr)
