"""The report's plots (PNG, matplotlib): forecasts, error by horizon, accuracy against time.

The forecast plots recompute the actual values and the best baseline's forecasts from
the dataset (the result files hold no copy of the data). PNGs are written without
timestamps, so a rerun on the same results gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.suite.setups import build_task
from benchmarks.suite.statistics import PRIMARY, our_models
from rnn_forecast.evaluation.contenders import baselines
from rnn_forecast.evaluation.task import Setup


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files, never a window
    import matplotlib.pyplot as plt

    return plt


def _from_dataset(meta: dict, times: pd.DatetimeIndex, baseline: str, data_dir) -> dict[str, np.ndarray]:
    """The plotted series' actual values and ``baseline``'s forecasts at ``times``.

    Both are recomputed from the dataset (original units) rather than stored with the
    results: a naive forecast repeats the data, so storing it would copy the dataset.
    """
    setup = Setup(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["setup"].items()})
    task = build_task(setup, data_dir)
    contender = next(c for c in baselines(setup) if c.name == baseline)
    return {"actual": task.original[0][times].values()[:, 0],
            baseline: contender.backtest(task)[0][times].values()[:, 0]}


def dataset_plots(name: str, data: dict, out_dir: Path, verdict: dict, data_dir=None) -> list[str]:
    """The first test windows' forecasts and the error by horizon of one dataset.

    Returns
    -------
    list of str
        File names written in ``out_dir``.
    """
    plt = _pyplot()
    rows, paths = data["rows"], []
    means = rows.groupby("model")[PRIMARY].mean()
    peers = rows[rows["family"] == "peer"].groupby("model")[PRIMARY].mean()
    shown = ["actual", *our_models(rows), peers.idxmin(), verdict["best_baseline"]]
    frame = data["forecasts"].assign(
        **_from_dataset(data["meta"], data["forecasts"].index, verdict["best_baseline"], data_dir))
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for col in shown:
        ax.plot(frame.index, frame[col], lw=2 if col == "actual" else 1,
                color="black" if col == "actual" else None, label=col)
    horizon = data["meta"]["setup"]["horizon"]
    for t in frame.index[::horizon]:
        ax.axvline(t, color="grey", lw=0.3)
    seed = data["meta"]["setup"]["seeds"][0]
    ax.set_title(f"{name}: first test windows (seed {seed}; grey lines = forecast origins)")
    ax.legend(fontsize=7, ncol=3)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    paths.append(save(fig, out_dir / f"{name}_forecast.png"))

    by_h = data["by_horizon"].groupby(["model", "step"])["mae"].mean().unstack("model")
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for model in means.sort_values().index:
        family = rows.loc[rows["model"] == model, "family"].iloc[0]
        ax.plot(by_h.index, by_h[model], ls="--" if family == "baseline" else "-",
                lw=2 if family == "ours" else 1, label=model)
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE (original units)")
    ax.set_title(f"{name}: error by horizon (mean over seeds)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    paths.append(save(fig, out_dir / f"{name}_by_horizon.png"))
    return paths


def accuracy_vs_time(results: dict, out_dir: Path) -> str:
    """MASE against train time, one panel per dataset; returns the file name."""
    plt = _pyplot()
    from matplotlib.ticker import FormatStrFormatter

    trained = sorted({m for d in results.values() for m in d["rows"].loc[d["rows"]["family"] != "baseline", "model"]})
    mine = {m for d in results.values() for m in our_models(d["rows"])}
    colors = dict(zip(trained, plt.get_cmap("tab10").colors))  # same colour per model in every panel
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
    for ax, (name, data) in zip(axes[0], results.items()):
        rows = data["rows"]
        for model, group in rows[rows["family"] != "baseline"].groupby("model"):
            x, y = group["train_s"], group[PRIMARY]
            ax.errorbar(x.mean(), y.mean(), xerr=x.std(), yerr=y.std(), fmt="*" if model in mine else "o",
                        ms=10 if model in mine else 5, color=colors[model], label=model)
        for model, group in rows[rows["family"] == "baseline"].groupby("model"):
            level = group[PRIMARY].mean()
            ax.axhline(level, ls="--", lw=0.7, color="grey")
            ax.text(1.0, level, f" {model}", transform=ax.get_yaxis_transform(), fontsize=6, va="center")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.tick_params(labelsize=6, which="both")
        ax.set_xlabel("train time, s (log scale)", fontsize=8)
        ax.set_ylabel("MASE (mean ± std over seeds)", fontsize=8)
        ax.set_title(name)
    handles = [plt.Line2D([], [], marker="*" if m in mine else "o", ls="", color=colors[m]) for m in trained]
    fig.legend(handles, trained, fontsize=7, loc="lower center", ncol=5)
    fig.tight_layout(rect=(0, 0.13, 0.97, 1))
    return save(fig, out_dir / "accuracy_vs_time.png")


def save(fig, path: Path) -> str:
    """Write ``fig`` as a PNG without timestamps, close it, and return the file name."""
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72, metadata={"Software": None})  # no timestamps: same bytes on rerun
    plt.close(fig)
    return path.name
