"""What our training guards cost: the same nn.LSTM in Darts' BlockRNNModel and in ours.

Point-wise design (``**POINTWISE``, MSE, ``rnn_backend="torch"``: PyTorch's own
``nn.LSTM`` on both sides), Weather, lookback 96, horizon 96, hidden 64, batch 64, one
epoch over 12,800 windows; 4 interleaved repeats, medians. Ours once as shipped and once
with gradient clipping, the gradient check of ``NonFiniteLossGuard`` and the
``LossExplosionGuard`` turned off.

Run: ``python -m benchmarks guard_overhead`` (about 1.5 minutes on 2 CPU cores;
``--quick``: 1,600 windows, 2 repeats), or as one section of ``python -m
benchmarks speed``. Results: ``benchmarks/results/guard_overhead.md``; docs/speed.md
explains them.
"""
import argparse
import logging
import statistics
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from darts.models import BlockRNNModel  # noqa: E402

from benchmarks.tables import section  # noqa: E402
from rnn_forecast import POINTWISE, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_weather, ltsf_split  # noqa: E402
from rnn_forecast.nn.callbacks import LossExplosionGuard, NonFiniteLossGuard  # noqa: E402

for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
    logging.getLogger(name).setLevel(logging.ERROR)

TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False, "enable_checkpointing": False}
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,600 windows, 2 repeats")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    windows, repeats = (1600, 2) if args.quick else (12_800, 4)
    split = ltsf_split(load_weather(args.data_dir, raw_order=True).target, "weather", lookback=96)
    common = dict(input_chunk_length=96, output_chunk_length=96, hidden_dim=64, batch_size=64,
                  n_epochs=1, random_state=0)
    same = dict(POINTWISE, loss_fn=torch.nn.MSELoss(), rnn_backend="torch")
    unguarded = {**TRAINER, "gradient_clip_val": None,
                 "callbacks": [NonFiniteLossGuard(check_gradients=False), LossExplosionGuard(None, None)]}
    makers = {
        "Darts BlockRNNModel LSTM": lambda: BlockRNNModel(model="LSTM", pl_trainer_kwargs=dict(TRAINER), **common),
        "ours, torch.nn": lambda: LSTMForecaster(pl_trainer_kwargs=dict(TRAINER), **same, **common),
        "ours, torch.nn, no clipping or guards": lambda: LSTMForecaster(pl_trainer_kwargs=unguarded, **same, **common),
    }
    for make in makers.values():  # warm-up
        make().fit(split.train, max_samples_per_ts=128)
    seconds = {name: [] for name in makers}
    for _ in range(repeats):
        for name, make in makers.items():  # interleaved
            model = make()
            start = time.perf_counter()
            model.fit(split.train, max_samples_per_ts=windows)
            seconds[name].append(time.perf_counter() - start)
    darts = statistics.median(seconds["Darts BlockRNNModel LSTM"])
    lines = []
    for name, runs in seconds.items():
        median = statistics.median(runs)
        lines.append(f"{name}: median {median:.3f} s ({windows / median:.0f} windows/s, "
                     f"{darts / median:.2f}x Darts); runs {[round(r, 2) for r in runs]}")
    print("\n".join(lines))
    details = f"one epoch over {windows} windows, {repeats} interleaved repeats; seed 0"
    with section(args.out, "guard_overhead", args.quick, "What the training guards cost", details) as f:
        f.write("".join(f"- {line}\n" for line in lines))


if __name__ == "__main__":
    main()
