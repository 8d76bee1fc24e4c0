"""Long-horizon accuracy of our LSTM/GRU forecasters under the published protocol.

Protocol (the one of the Informer/Autoformer/DLinear/PatchTST/SegRNN tables): the raw
rows split by ``rnn_forecast.datasets.ltsf_split`` (Weather 70/10/20 by rows, ETTh1
12/4/4 months), every variable standardized with training statistics, all 21 (Weather)
or 7 (ETTh1) variables forecast, and MSE/MAE on that scale over every test window
(stride 1). Training stops early on the validation loss; the best epoch is kept.

Rows per (dataset, horizon, lookback): ours (``--cells``, same options for both),
Darts' ``DLinearModel`` trained the same way, and repeat-last-value. Results are merged
into ``benchmarks/results/accuracy.csv`` (one row per run, keyed by dataset, horizon,
lookback, model, seed) and the table ``benchmarks/results/accuracy.md`` is rebuilt
from the whole CSV.

Example (the configuration of docs/accuracy.md)::

    python -m benchmarks accuracy --dataset etth1 weather --horizons 96 192 336 720 \\
        --lookbacks 96 720 --cells lstm gru --seed 0
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

warnings.filterwarnings("ignore")

from darts.models import DLinearModel  # noqa: E402
from pytorch_lightning.callbacks import EarlyStopping  # noqa: E402

from rnn_forecast import RNNForecaster  # noqa: E402
from rnn_forecast.datasets import load_etth1, load_weather, ltsf_split  # noqa: E402
from rnn_forecast.evaluation.costs import cpu_name  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
KEY = ["dataset", "horizon", "lookback", "model", "seed"]
#: The best published test MSE at lookback 96 (issue #19: SegRNN's corrected table, which
#: scores every test window, against iTransformer, TimesNet, PatchTST, Crossformer,
#: DLinear and FEDformer): (dataset, horizon) -> (MSE, model).
PUBLISHED_L96 = {
    ("etth1", 96): (0.368, "SegRNN"), ("etth1", 192): (0.408, "SegRNN"),
    ("etth1", 336): (0.444, "SegRNN"), ("etth1", 720): (0.446, "SegRNN"),
    ("weather", 96): (0.158, "Crossformer"), ("weather", 192): (0.206, "Crossformer"),
    ("weather", 336): (0.270, "SegRNN"), ("weather", 720): (0.345, "DLinear"),
}


def load(dataset: str, lookback: int, data_dir):
    if dataset == "weather":
        return ltsf_split(load_weather(data_dir, raw_order=True).target, "weather", lookback)
    return ltsf_split(load_etth1(data_dir).target, "etth1", lookback)


def trainer_kwargs(patience: int, progress: bool, gradient_clip: str = "default") -> dict:
    clip = {} if gradient_clip == "default" else {
        "gradient_clip_val": None if gradient_clip == "none" else float(gradient_clip)}
    return {
        **clip,
        "accelerator": "auto",
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "logger": False,
        "callbacks": [EarlyStopping(monitor="val_loss", patience=patience, mode="min")],
    }


def our_model(cell: str, horizon: int, lookback: int, args, work_dir: str,
              **overrides) -> RNNForecaster:
    """The configuration of docs/accuracy.md; ``overrides`` replace constructor arguments.

    ``optimizer_kwargs`` in ``overrides`` are added to the configured learning rate
    (``args.lr``) rather than replacing it.
    """
    params = dict(
        input_chunk_length=lookback,
        output_chunk_length=horizon,
        cell=cell,
        hidden_dim=args.hidden_dim,
        segment_length=args.segment_length,
        decoder="parallel",
        channel_independence=True,
        normalization=args.normalization,
        global_level=args.global_level == "on",
        season=args.season,
        early_stopping=args.early_stopping == "on",
        linear_baseline=args.linear_baseline == "on",
        dropout=args.dropout,
        loss_fn=torch.nn.L1Loss(),
        optimizer_kwargs={"lr": args.lr},
        lr_scheduler_cls=torch.optim.lr_scheduler.ExponentialLR,
        lr_scheduler_kwargs={"gamma": args.lr_decay},
        batch_size=args.batch_size,
        n_epochs=args.epochs,
        random_state=args.seed,
        save_checkpoints=True,
        force_reset=True,
        work_dir=work_dir,
        model_name=f"{cell}",
        pl_trainer_kwargs=trainer_kwargs(args.patience, args.progress, args.gradient_clip),
    )
    optimizer_kwargs = {**params["optimizer_kwargs"], **overrides.get("optimizer_kwargs", {})}
    overrides = {**overrides, "optimizer_kwargs": optimizer_kwargs}
    return RNNForecaster(**{**params, **overrides})


def dlinear(horizon: int, lookback: int, args, work_dir: str) -> DLinearModel:
    return DLinearModel(
        input_chunk_length=lookback,
        output_chunk_length=horizon,
        kernel_size=25,
        shared_weights=True,  # DLinear's default "individual=False"
        batch_size=args.batch_size,
        n_epochs=args.epochs,
        optimizer_kwargs={"lr": args.lr},
        random_state=args.seed,
        save_checkpoints=True,
        force_reset=True,
        work_dir=work_dir,
        model_name="dlinear",
        pl_trainer_kwargs=trainer_kwargs(args.patience, args.progress),
    )


def test_windows(test, lookback: int, horizon: int) -> np.ndarray:
    """Actual values of every test window: ``(windows, horizon, components)``."""
    values = test.values()
    windows = np.lib.stride_tricks.sliding_window_view(values[lookback:], horizon, axis=0)
    return windows.transpose(0, 2, 1)


def score(model, test, lookback: int, horizon: int) -> tuple[float, float]:
    forecasts = model.historical_forecasts(
        test, start=lookback, start_format="position", forecast_horizon=horizon, stride=1,
        retrain=False, last_points_only=False, verbose=False,
    )
    predicted = np.stack([f.values() for f in forecasts])
    actual = test_windows(test, lookback, horizon)
    assert predicted.shape == actual.shape, (predicted.shape, actual.shape)
    error = predicted - actual
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


def repeat_last(test, lookback: int, horizon: int) -> tuple[float, float]:
    values = test.values()
    actual = test_windows(test, lookback, horizon)
    last = values[lookback - 1 : lookback - 1 + len(actual)][:, None, :]
    error = actual - last
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


#: how our models are named in the results (``"LSTM (ours)"``)
OURS = " (ours)"


def ours_name(cell: str) -> str:
    """The results' model name of our ``cell`` forecaster."""
    return f"{cell.upper()}{OURS}"


def run(dataset: str, horizon: int, lookback: int, args) -> list[dict]:
    split = load(dataset, lookback, args.data_dir)
    rows = []
    base = {"dataset": dataset, "horizon": horizon, "lookback": lookback, "seed": args.seed}
    mse, mae = repeat_last(split.test, lookback, horizon)
    rows.append({**base, "model": "repeat last value", "mse": mse, "mae": mae, "epochs": 0,
                 "train_s": 0.0, "params": 0})
    candidates = {ours_name(cell): (lambda d, c=cell: our_model(c, horizon, lookback, args, d))
                  for cell in args.cells}
    if not args.no_dlinear:
        candidates["DLinear (Darts)"] = lambda d: dlinear(horizon, lookback, args, d)
    for name, make in candidates.items():
        result = fit_and_score(make, split, lookback, horizon, args)
        rows.append({**base, "model": name, **result})
        print(f"{dataset} H={horizon} L={lookback} {name}: MSE {result['mse']:.4f} "
              f"MAE {result['mae']:.4f} ({result['train_s']:.0f} s)", flush=True)
    return rows


def fit_and_score(make, split, lookback: int, horizon: int, args, validation: bool = True) -> dict:
    """Train ``make(work_dir)`` on ``split`` (best validation epoch kept) and score it on the test part.

    ``validation``: also score the validation part (``val_mse``, ``val_mae``; NaN without).
    """
    with tempfile.TemporaryDirectory() as work_dir:
        model = make(work_dir)
        began = time.perf_counter()
        model.fit(split.train, val_series=split.val, load_best=True,
                  max_samples_per_ts=args.max_train_windows, stride=args.train_stride)
        seconds = time.perf_counter() - began
        epochs = model.trainer.current_epoch  # before predicting: Darts may replace the trainer
        mse, mae = score(model, split.test, lookback, horizon)
        # the same scores on the validation part: what a choice made on held-out data would see
        val_mse, val_mae = score(model, split.val, lookback, horizon) if validation else (math.nan, math.nan)
    return {"mse": mse, "mae": mae, "val_mse": val_mse, "val_mae": val_mae, "epochs": epochs, "train_s": seconds,
            "params": sum(p.numel() for p in model.model.parameters())}


def write(rows: list[dict], args) -> pd.DataFrame:
    new = pd.DataFrame(rows).assign(
        hidden_dim=args.hidden_dim, segment_length=args.segment_length, lr=args.lr,
        batch_size=args.batch_size, max_epochs=args.epochs, train_stride=args.train_stride,
        device=device_name(),
    )
    table = merge_into_csv(args.out / "accuracy.csv", new, KEY)
    _markdown(table, args.out)
    return table


def merge_into_csv(path: Path, new: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Rows of ``path`` with ``new`` merged in (a new run replaces the one of the same ``key``)."""
    path.parent.mkdir(exist_ok=True)
    old = pd.read_csv(path) if path.exists() else new.iloc[:0]
    table = pd.concat([old, new]).drop_duplicates(key, keep="last").sort_values(key)
    table.to_csv(path, index=False, float_format="%.5g")
    return table


def device_name() -> str:
    """The GPU's name, else the CPU's and its core count (recorded with every run)."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    cpu = cpu_name()
    return f"{cpu} ({os.cpu_count()} cores)"


def _markdown(table: pd.DataFrame, out: Path) -> None:
    groups = table.groupby(["dataset", "lookback", "horizon", "model"])
    mean = groups[["mse", "mae"]].mean().join(groups.mse.std().rename("mse_std")).join(
        groups.seed.nunique().rename("seeds"))
    lines = ["# Long-horizon accuracy (test MSE / MAE, standardized scale)", "",
             "Produced by `python -m benchmarks accuracy` (see its docstring); one row per "
             "dataset, lookback and horizon, mean over the seeds in accuracy.csv (with the "
             "standard deviation of the MSE where there is more than one seed).", ""]
    for (dataset, lookback), part in mean.groupby(level=[0, 1]):
        models = sorted(part.index.get_level_values("model").unique())
        lines += [f"## {dataset}, lookback {lookback}", "",
                  "| horizon | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
        for horizon, row in part.groupby(level="horizon"):
            cells = []
            for model in models:
                key = (dataset, lookback, horizon, model)
                cells.append(_cell(row.loc[key]) if key in row.index else "")
            lines.append(f"| {horizon} | " + " | ".join(cells) + " |")
        lines.append("")
        if lookback == 96:
            lines += _against_published(part, dataset)
        trained = table[(table.dataset == dataset) & (table.lookback == lookback) & (table.epochs > 0)]
        if len(trained):
            lines += ["Training: wall seconds of `fit` (epochs run), seed 0; *segments*: our models' "
                      "`--segment-length` over all seeds (`auto` is 24 at lookback 96, 48 at 720).", "",
                      "| horizon | " + " | ".join(sorted(trained.model.unique())) + " | segments |",
                      "|---|" + "---|" * (trained.model.nunique() + 1)]
            for horizon, runs in trained[trained.seed == trained.seed.min()].groupby("horizon"):
                by_model = runs.set_index("model")
                ours = trained[(trained.horizon == horizon) & trained.model.str.endswith(OURS)]
                segments = ", ".join(sorted(ours.segment_length.astype(str).unique()))
                lines.append(f"| {horizon} | " + " | ".join(
                    f"{by_model.loc[m, 'train_s']:.0f} s ({by_model.loc[m, 'epochs']:.0f})"
                    if m in by_model.index else "" for m in sorted(trained.model.unique())) + f" | {segments} |")
            lines.append("")
    (out / "accuracy.md").write_text("\n".join(lines))


def _against_published(part: pd.DataFrame, dataset: str) -> list[str]:
    """Our cells' mean MSE against the best published number at each horizon: the gap."""
    models = part.index.get_level_values("model")
    cells = [ours_name(c) for c in ("lstm", "gru") if ours_name(c) in models]
    lines = ["Against the best published MSE at lookback 96 (gap = ours - published; <= 0 meets it):", "",
             "| horizon | best published | " + " | ".join(f"{c} (seeds) | gap" for c in cells) + " |",
             "|---|---|" + "---|---|" * len(cells)]
    for horizon, row in part.groupby(level="horizon"):
        if (dataset, horizon) not in PUBLISHED_L96:
            continue
        published, source = PUBLISHED_L96[dataset, horizon]
        out = [str(horizon), f"{published:.3f} ({source})"]
        for cell in cells:
            key = (dataset, 96, horizon, cell)
            if key not in row.index:
                out += ["", ""]
                continue
            r = row.loc[key]
            gap = r.mse - published
            out += [f"{r.mse:.4f} ({r.seeds:.0f})", f"{gap:+.4f}" + (" (meets)" if gap <= 0 else "")]
        lines.append("| " + " | ".join(out) + " |")
    return lines + [""]


def _cell(result: pd.Series) -> str:
    """``MSE / MAE`` of one model, with the MSE's spread over seeds when there are several."""
    if result.seeds > 1 and result.mse_std > 0:  # repeat-last does not depend on the seed
        return f"{result.mse:.3f} ± {result.mse_std:.3f} / {result.mae:.3f} ({result.seeds:.0f} seeds)"
    return f"{result.mse:.3f} / {result.mae:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", choices=["weather", "etth1"], default=["etth1"])
    parser.add_argument("--horizons", nargs="+", type=int, default=[96, 192, 336, 720])
    parser.add_argument("--lookbacks", nargs="+", type=int, default=[96, 720])
    # no cells (`--cells` alone): only the baselines
    parser.add_argument("--cells", nargs="*", choices=["lstm", "gru"], default=["lstm", "gru"])
    parser.add_argument("--no-dlinear", action="store_true")
    add_training_arguments(parser)
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder of accuracy.csv/.md (default: benchmarks/results)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    for dataset in args.dataset:
        for lookback in args.lookbacks:
            for horizon in args.horizons:
                write(run(dataset, horizon, lookback, args), args)
    print(f"written {args.out / 'accuracy.csv'} and {args.out / 'accuracy.md'}")


def _segment_length(text: str):
    return text if text == "auto" else int(text)


def _season(text: str):
    return None if text == "none" else text if text == "auto" else int(text)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The training options shared with ``benchmarks/options/long_horizon.py``."""
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--segment-length", type=_segment_length, default=48,
                        help="steps per segment, or 'auto' (the forecasters' default rule)")
    # "level" (subtract the last value, SegRNN's) is what the committed accuracy.csv used;
    # "level_scale" is the forecasters' default since 0.2 (docs/defaults.md)
    parser.add_argument("--normalization", choices=["level", "level_scale"], default="level")
    # off: the committed accuracy.csv rows predate `global_level` (the forecasters' default
    # since 0.3, docs/defaults.md); `options long-horizon --variants "auto segments, global level"`
    parser.add_argument("--global-level", choices=["on", "off"], default="off")
    # the 0.4 defaults: a seasonal-naive baseline and the BestEpoch callback (which also
    # restores the best epoch when a val_series is given); "none"/"off" are 0.3's design
    parser.add_argument("--season", type=_season, default="auto",
                        help="our forecasters' season: 'auto' (the default), an int or 'none'")
    parser.add_argument("--early-stopping", choices=["on", "off"], default="on",
                        help="our forecasters' early_stopping (BestEpoch)")
    parser.add_argument("--linear-baseline", choices=["on", "off"], default="off",
                        help="our forecasters' linear_baseline: a learned linear path on the seasonal baseline")
    parser.add_argument("--gradient-clip", default="default",
                        help="the trainer's gradient_clip_val: 'default' (the forecasters' 1.0), 'none' or a value")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=0.9)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--max-train-windows", type=int, default=None)
    # every k-th training (and validation) window: Weather's 10-minute windows overlap
    # almost entirely, so a stride covers the whole training period at 1/k of the cost
    parser.add_argument("--train-stride", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--data-dir", default=None)


if __name__ == "__main__":
    main()
