"""One-window forecast latency: our ``predict`` against the exported ONNX graph in onnxruntime.

Trains each cell with its defaults for one epoch on ETTh1's oil temperature (lookback 96,
horizon 96; latency does not depend on the weights), exports it with Darts'
``model.to_onnx``, and times, in one process and interleaved, the median of ``--calls``
calls of

* ``model.predict(96, series=window)`` (our path, through Darts' ``predict``);
* ``darts.utils.onnx.run_onnx_prediction(96, session, window)`` (the same call, torch-free);
* ``session.run`` on the prepared ``(1, 96, 1)`` input array (the graph alone).

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks onnx_latency   # ~1 minute

Writes ``benchmarks/results/onnx_latency.md``. Needs the ``[onnx]`` extra.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from darts.utils.onnx import run_onnx_prediction

from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.datasets import load_etth1
from rnn_forecast.evaluation.costs import cpu_name

OUT = Path(__file__).resolve().parent / "results" / "onnx_latency.md"
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False}


def median_ms(fn, calls: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return 1e3 * float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)

    series = load_etth1(args.data_dir, columns=["OT"]).target[:8640]
    window = series[-96:]
    rows = []
    for cls in (LSTMForecaster, GRUForecaster):
        model = cls(input_chunk_length=96, output_chunk_length=96, n_epochs=1, random_state=0,
                    pl_trainer_kwargs=TRAINER)
        model.fit(series)
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "model.onnx")
            model.to_onnx(path)
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: window.values()[None].astype(np.float32)}
        ours = model.predict(96, series=window, verbose=False)
        exported = run_onnx_prediction(96, session, window, verbose=False)
        diff = float(np.abs(ours.values() - exported.values()).max())
        timings = {
            "predict": median_ms(lambda: model.predict(96, series=window, verbose=False), args.calls),
            "run_onnx_prediction": median_ms(lambda: run_onnx_prediction(96, session, window, verbose=False),
                                             args.calls),
            "session.run": median_ms(lambda: session.run(None, feed), args.calls),
        }
        rows.append((cls.__name__, timings, diff))
        print(cls.__name__, {k: round(v, 3) for k, v in timings.items()}, f"max |diff| {diff:.2e}")

    lines = [
        "# One-window latency: predict against onnxruntime",
        "",
        f"`python -m benchmarks onnx_latency --calls {args.calls}`: {cpu_name()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, onnxruntime {ort.__version__}; "
        "ETTh1 OT, lookback 96, horizon 96, defaults, 1 epoch, seed 0. Median of the calls, ms.",
        "",
        "| model | `predict(96)` | `run_onnx_prediction` | `session.run` | predict / session.run "
        "| max abs difference |",
        "|---|---|---|---|---|---|",
    ]
    for name, t, diff in rows:
        lines.append(f"| {name} | {t['predict']:.2f} | {t['run_onnx_prediction']:.2f} | "
                     f"{t['session.run']:.3f} | {t['predict'] / t['session.run']:.1f}x | {diff:.1e} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
