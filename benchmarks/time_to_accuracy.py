"""Time to accuracy: test MSE against seconds of training, for our cells and Darts' models.

Users compare how long it takes to get a good forecast, not kernels. Each contender is
built with its defaults (only ``input_chunk_length=96``, ``output_chunk_length=96``,
``random_state`` and a quiet trainer are set) and trained on the standard long-horizon
protocol (``ltsf_split``: train-only standardization) for a fixed wall-clock budget.
A callback copies the weights every ``--every`` seconds of training and at every
epoch's end; the clock is paused while it copies. After training, every copy is scored
on every test window (stride 1, MSE on the standardized scale, the published
protocol), so the curve shows what a user would have got by stopping at that moment.

Contenders: ``LSTMForecaster``, ``GRUForecaster``, Darts' ``DLinearModel`` and
``BlockRNNModel(model="LSTM")``/``("GRU")``; NeuralForecast's LSTM/GRU are not
installed here (the ``[peers]`` extra) and are left out.

Run: ``python -m benchmarks time_to_accuracy`` (about 13 minutes on 2 CPU cores;
``--quick``: a tenth of the budgets, every 8th test window scored), or as one section of
``python -m benchmarks speed``.
Results: ``benchmarks/results/time_to_accuracy.csv``/``.md`` and one plot per dataset in
``benchmarks/plots/``; docs/speed.md explains them.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch

warnings.filterwarnings("ignore")

from darts.models import BlockRNNModel, DLinearModel  # noqa: E402

from benchmarks.tables import markdown_table, section  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_etth1, load_weather, ltsf_split  # noqa: E402

for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
    logging.getLogger(name).setLevel(logging.ERROR)

LOOKBACK = HORIZON = 96
TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
           "logger": False, "enable_checkpointing": False}
HERE = Path(__file__).resolve().parent
# dataset -> (training budget in seconds, the target: MSE within seconds)
DATASETS = {"weather": (60.0, (0.170, 30.0)), "etth1": (30.0, (0.380, 15.0))}
CONTENDERS = {
    "ours LSTM": lambda **kw: LSTMForecaster(**kw),
    "ours GRU": lambda **kw: GRUForecaster(**kw),
    "darts DLinear": lambda **kw: DLinearModel(**kw),
    "darts BlockRNN LSTM": lambda **kw: BlockRNNModel(model="LSTM", **kw),
    "darts BlockRNN GRU": lambda **kw: BlockRNNModel(model="GRU", **kw),
}


class Snapshots(pl.Callback):
    """Copies the weights every ``every`` seconds of training and at each epoch's end.

    Stops training once ``budget`` seconds have passed. Time spent copying is not
    counted. ``taken`` holds ``(training seconds, epoch, state_dict)``.
    """

    def __init__(self, every: float, budget: float):
        self.every, self.budget = every, budget
        self.taken: list[tuple[float, float, dict]] = []

    def on_train_start(self, trainer, pl_module):
        self._paused = 0.0
        self._start = time.perf_counter()
        self._last = 0.0

    def _elapsed(self) -> float:
        return time.perf_counter() - self._start - self._paused

    def _take(self, trainer, pl_module, elapsed: float, epoch: float) -> None:
        began = time.perf_counter()
        self.taken.append((elapsed, epoch, {k: v.detach().clone() for k, v in pl_module.state_dict().items()}))
        self._last = elapsed
        self._paused += time.perf_counter() - began

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        elapsed = self._elapsed()
        if elapsed - self._last >= self.every:
            epoch = trainer.current_epoch + (batch_idx + 1) / trainer.num_training_batches
            self._take(trainer, pl_module, elapsed, epoch)
        if elapsed >= self.budget:
            trainer.should_stop = True

    def on_train_epoch_end(self, trainer, pl_module):
        self._take(trainer, pl_module, self._elapsed(), trainer.current_epoch + 1)


def test_mse(model, test, lookback: int, stride: int = 1) -> float:
    """MSE over the test windows (every one with ``stride=1``), standardized scale."""
    forecasts = model.historical_forecasts(test, start=lookback, start_format="position",
                                           forecast_horizon=HORIZON, stride=stride, retrain=False,
                                           last_points_only=False, verbose=False)
    predicted = np.stack([f.values(copy=False) for f in forecasts])
    values = test.values(copy=False)
    windows = np.lib.stride_tricks.sliding_window_view(values[lookback:], HORIZON, axis=0)[::stride]
    actual = windows.transpose(0, 2, 1)[: len(predicted)]
    return float(np.mean((predicted - actual) ** 2))


def run(dataset: str, budget: float, every: float, seed: int, data_dir, test_stride: int = 1) -> list[dict]:
    raw = load_weather(data_dir, raw_order=True) if dataset == "weather" else load_etth1(data_dir)
    split = ltsf_split(raw.target, dataset, lookback=LOOKBACK)
    rows = []
    for name, make in CONTENDERS.items():
        snapshots = Snapshots(every, budget)
        model = make(input_chunk_length=LOOKBACK, output_chunk_length=HORIZON, n_epochs=10_000,
                     random_state=seed, pl_trainer_kwargs={**TRAINER, "callbacks": [snapshots]})
        model.fit(split.train)
        for seconds, epoch, state in snapshots.taken:
            model.model.load_state_dict(state)
            rows.append({"dataset": dataset, "model": name, "train_s": seconds, "epochs": epoch,
                         "test_mse": test_mse(model, split.test, LOOKBACK, test_stride)})
        last = rows[-1]
        print(f"{dataset} {name}: {len(snapshots.taken)} snapshots, {last['epochs']:.2f} epochs in "
              f"{last['train_s']:.0f} s, last test MSE {last['test_mse']:.4f}", flush=True)
    return rows


def best_by(frame: pd.DataFrame, seconds: float) -> pd.Series:
    """Per model, the lowest test MSE among the copies taken within ``seconds``."""
    within = frame[frame["train_s"] <= seconds]
    return within.groupby("model")["test_mse"].min()


def leader_timeline(frame: pd.DataFrame) -> list[str]:
    """For each moment a copy was taken, which model had the lowest MSE reached so far."""
    moments = sorted(frame["train_s"].unique())
    lines, previous = [], None
    for t in moments:
        reached = best_by(frame, t)
        leader = reached.idxmin()
        if leader != previous:
            lines.append(f"from {t:.1f} s: {leader} ({reached.min():.4f})")
            previous = leader
    return lines


def plot(frame: pd.DataFrame, dataset: str, target: tuple[float, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, group in frame.groupby("model", sort=False):
        ax.plot(group["train_s"], group["test_mse"], marker="o", markersize=3, label=name,
                linewidth=2 if name.startswith("ours") else 1)
    mse, seconds = target
    ax.axhline(mse, color="grey", linestyle=":", linewidth=1)
    ax.axvline(seconds, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("training seconds (2 CPU cores)")
    ax.set_ylabel("test MSE (standardized, every window)")
    ax.set_title(f"{dataset}: L=96, H=96; dotted: target MSE {mse} within {seconds:.0f} s")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="multiply every training budget (e.g. 0.2 for a smoke run)")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between weight copies")
    parser.add_argument("--test-stride", type=int, default=1,
                        help="score every n-th test window (1: every window, the published protocol)")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the budgets, copies every 1.5 s, every 8th test window")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--plots", type=Path, default=HERE / "plots")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget_scale, args.every, args.test_stride = 0.1, 1.5, 8
    torch.set_num_threads(os.cpu_count() or 1)

    started = time.perf_counter()
    frames, summary = [], []
    for dataset in args.datasets:
        budget, target = DATASETS[dataset]
        frame = pd.DataFrame(run(dataset, budget * args.budget_scale, args.every, args.seed, args.data_dir,
                                  args.test_stride))
        frames.append(frame)
        args.plots.mkdir(parents=True, exist_ok=True)
        plot(frame, dataset, target, args.plots / f"time_to_accuracy_{dataset}.png")
        mse, seconds = target
        reached = best_by(frame, seconds)
        ours = reached[[m for m in reached.index if m.startswith("ours")]]
        summary.append({"dataset": dataset, "target": f"MSE <= {mse} within {seconds:.0f} s",
                        "ours, best within": f"{ours.idxmin()} {ours.min():.4f}",
                        "met": ("yes" if ours.min() <= mse else f"no (gap {ours.min() - mse:+.4f})")
                        if budget * args.budget_scale >= seconds else
                        f"not measured (budget {budget * args.budget_scale:.0f} s)",
                        "best of all within": f"{reached.idxmin()} {reached.min():.4f}",
                        "leaders over time": "; ".join(leader_timeline(frame))})
    frame = pd.concat(frames, ignore_index=True)
    table = pd.DataFrame(summary)

    print(table.to_string(index=False))
    budgets = ", ".join(f"{d} {DATASETS[d][0] * args.budget_scale:.0f} s" for d in args.datasets)
    details = (f"seed {args.seed}; budgets {budgets}; weights copied every {args.every:g} s and at each epoch's end; "
               f"{'every' if args.test_stride == 1 else f'every {args.test_stride}th'} test window scored; "
               f"{time.perf_counter() - started:.0f} s in all")
    with section(args.out, "time_to_accuracy", args.quick, "Time to accuracy", details, frame) as f:
        f.write(markdown_table(table) + "\n\n")
        for dataset in args.datasets:
            plot_file = os.path.relpath(args.plots / f"time_to_accuracy_{dataset}.png", args.out)
            f.write(f"![{dataset}]({plot_file})\n\n")
        f.write("Lowest test MSE reached by each time (seconds of training):\n\n")
        marks = [5, 10, 15, 30, 60]
        reached = pd.DataFrame({
            (d, f"{s} s"): best_by(frame[frame["dataset"] == d], s) for d in args.datasets for s in marks
            if s <= DATASETS[d][0] * args.budget_scale
        })
        reached.columns = [f"{d} {s}" for d, s in reached.columns]
        f.write(markdown_table(reached.reset_index()) + "\n")


if __name__ == "__main__":
    main()
