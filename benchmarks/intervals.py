"""Are the 80% prediction intervals 80%? Likelihood, quantile regression and conformal, on a real backtest.

ETTh1's oil temperature (``OT``), the standard split (train 12 months, validation and
test 4 months each, standardized on the training rows), lookback 96, horizon 24. The
LSTM forecaster with its defaults is trained on the training part (``--epochs``, seed
0) as

* ``GaussianLikelihood()``: sample paths (500);
* ``QuantileRegression([0.1, 0.5, 0.9])``: the predicted quantiles;
* deterministic (MSE), wrapped in Darts' ``ConformalNaiveModel``;
* quantile regression, wrapped in Darts' ``ConformalQRModel``.

The conformal wrappers calibrate on the forecasts of the last ``--cal-length`` steps
before each test window (validation data at first: nothing from the test period leaks
into a window's own calibration). Every model forecasts the test period in
non-overlapping 24-hour windows (120 windows, 2,880 hours); the interval is the 10-90%
quantile range, nominal coverage 80%. Coverage is the share of actual values inside it,
width its mean in degrees Celsius.

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks intervals   # a few minutes

Writes ``benchmarks/results/intervals.md``.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

import numpy as np
from darts import concatenate
from darts.models import ConformalNaiveModel, ConformalQRModel
from darts.utils.likelihood_models.torch import GaussianLikelihood, QuantileRegression

from rnn_forecast import LSTMForecaster
from rnn_forecast.datasets import load_etth1, ltsf_split

OUT = Path(__file__).resolve().parent / "results" / "intervals.md"
L, H, LOW, HIGH = 96, 24, 0.1, 0.9
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False}


def interval(forecast):
    """(low, high) of the 10-90% interval of one forecast, in its units, shape (H,)."""
    if forecast.n_samples > 1:
        values = forecast.all_values()[:, 0, :]
        return np.quantile(values, LOW, axis=1), np.quantile(values, HIGH, axis=1)
    names = list(forecast.components)  # quantile components, e.g. OT_q0.100, OT_q0.500, OT_q0.900
    low = next(i for i, c in enumerate(names) if c.endswith(f"_q{LOW:.3f}"))
    high = next(i for i, c in enumerate(names) if c.endswith(f"_q{HIGH:.3f}"))
    values = forecast.values()
    return values[:, low], values[:, high]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cal-length", type=int, default=720, help="calibration forecasts (steps)")
    parser.add_argument("--cal-samples", type=int, default=100,
                        help="samples per calibration forecast of the quantile model (Darts' default: 500)")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)

    split = ltsf_split(load_etth1(args.data_dir, columns=["OT"]).target, "etth1", L)
    history = concatenate([split.val, split.test[L:]])  # validation, then the test period
    test_start = split.test.time_index[L]
    actual = split.scaler.inverse_transform(split.test[L:])
    std = float(split.scaler.inverse_transform(split.train).values().std())  # StandardScaler's scale

    def build(likelihood=None):
        return LSTMForecaster(input_chunk_length=L, output_chunk_length=H, n_epochs=args.epochs,
                              likelihood=likelihood, random_state=0, pl_trainer_kwargs=TRAINER)

    trained = {}
    for name, likelihood in [("mse", None), ("gaussian", GaussianLikelihood()),
                             ("quantile", QuantileRegression([LOW, 0.5, HIGH]))]:
        began = time.perf_counter()
        trained[name] = build(likelihood).fit(split.train)
        print(f"{name}: trained in {time.perf_counter() - began:.0f} s")

    rolling = {"start": test_start, "forecast_horizon": H, "stride": H, "retrain": False,
               "last_points_only": False, "verbose": False}
    contenders = {
        "GaussianLikelihood (500 samples)": (trained["gaussian"], {"num_samples": 500}),
        "QuantileRegression([0.1, 0.5, 0.9])": (trained["quantile"], {"predict_likelihood_parameters": True}),
        "ConformalNaiveModel(MSE model)": (
            ConformalNaiveModel(trained["mse"], quantiles=[LOW, 0.5, HIGH], cal_length=args.cal_length),
            {"predict_likelihood_parameters": True}),
        "ConformalQRModel(quantile model)": (
            ConformalQRModel(trained["quantile"], quantiles=[LOW, 0.5, HIGH], cal_length=args.cal_length,
                             cal_num_samples=args.cal_samples),
            {"predict_likelihood_parameters": True}),
    }
    rows = []
    for name, (model, kwargs) in contenders.items():
        began = time.perf_counter()
        forecasts = model.historical_forecasts(history, **rolling, **kwargs)
        seconds = time.perf_counter() - began
        lows, highs, truth = [], [], []
        for forecast in forecasts:
            low, high = interval(forecast)
            lows.append(low)
            highs.append(high)
            truth.append(split.test.slice_intersect(forecast).values()[:, 0])
        low, high, y = (np.concatenate(a) for a in (lows, highs, truth))
        coverage = float(np.mean((y >= low) & (y <= high)))
        width = float(np.mean(high - low)) * std  # standardized -> degrees C
        rows.append((name, len(forecasts), coverage, width, seconds))
        print(f"{name}: {len(forecasts)} windows, coverage {coverage:.1%}, width {width:.2f} degC, "
              f"{seconds:.0f} s")

    lines = [
        "# 80% prediction intervals on the ETTh1 test period",
        "",
        f"`python -m benchmarks intervals --epochs {args.epochs} --cal-length {args.cal_length} "
        f"--cal-samples {args.cal_samples}`: "
        f"LSTMForecaster defaults, lookback {L}, horizon {H}, seed 0, 2 CPU cores. "
        f"{len(actual)} test hours in {rows[0][1]} non-overlapping windows; interval = 10-90% quantiles "
        "(nominal 80%). Coverage more than 2 points off nominal is marked.",
        "",
        "| model | coverage | off nominal | mean width (degC) | backtest s |",
        "|---|---|---|---|---|",
    ]
    for name, _, coverage, width, seconds in rows:
        off = 100 * (coverage - 0.8)
        mark = "" if abs(off) <= 2 else (" (too wide)" if off > 0 else " (too narrow)")
        lines.append(f"| {name} | {coverage:.1%} | {off:+.1f} points{mark} | {width:.2f} | {seconds:.0f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
