"""The numbers behind the report, from the result files: verdicts, orders, tests, estimates.

Every comparison the report states is computed here from the per-seed rows the runner
wrote (:mod:`rnn_forecast.evaluation.verdict`); :mod:`.markdown` only formats them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.suite.setups import DATASETS
from rnn_forecast.evaluation.verdict import ALPHA, SPEED_MARGIN, recommend, relation, versus_best_baseline, welch

PRIMARY = "mase"


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Everything the runner wrote, per dataset present (in registry order).

    Returns
    -------
    dict
        Per dataset: ``rows``, ``by_horizon``, ``forecasts`` (DataFrames) and ``meta``
        (the JSON record).
    """
    root = Path(results_dir)
    out = {}
    for name in DATASETS:
        csv = root / f"{name}.csv"
        if not csv.exists():
            continue
        out[name] = {
            "rows": pd.read_csv(csv),
            "by_horizon": pd.read_csv(root / f"{name}_by_horizon.csv"),
            "forecasts": pd.read_csv(root / f"{name}_forecasts.csv", index_col="time", parse_dates=True),
            "meta": json.loads((root / f"{name}.json").read_text()),
        }
    return out


def values(rows: pd.DataFrame, model: str, column: str) -> list[float]:
    """Per-seed values; a deterministic baseline's single run counts as a zero-variance sample."""
    picked = rows.loc[rows["model"] == model]
    found = picked[column].astype(float).tolist()
    if len(found) == 1 and (picked["family"] == "baseline").all():
        return found * 2
    return found


def our_models(rows: pd.DataFrame) -> list[str]:
    """Our models in the rows (family ``"ours"``), in the order they ran: one per cell compared."""
    return list(rows.loc[rows["family"] == "ours", "model"].unique())


def label(model: str) -> str:
    """A cell's name in prose: ``"LSTMForecaster"`` -> ``"LSTM"``."""
    return model.removesuffix("Forecaster")


def dataset_verdict(rows: pd.DataFrame) -> dict:
    """The LSTM-or-GRU recommendation and the baseline check for one dataset.

    Returns
    -------
    dict
        ``cells`` (the two cells compared, in prose: ``("LSTM", "GRU")`` by default),
        ``recommendation`` (:class:`~rnn_forecast.evaluation.verdict.Recommendation` of
        the first against the second on MASE and training time), ``baseline``
        (sentence comparing the better of the two with the best baseline),
        ``best_baseline`` (name), ``check`` (the
        :class:`~rnn_forecast.evaluation.verdict.BaselineCheck`), ``peers`` (sentence)
        and ``peers_beaten`` (``(beaten beyond noise, peers)``).
    """
    models = our_models(rows)
    if len(models) != 2:
        raise ValueError(f"the suite compares two cells; these rows hold {len(models)} of ours: {models}")
    a, b = models
    rec = recommend((label(a), label(b)), (values(rows, a, PRIMARY), values(rows, b, PRIMARY)),
                    (values(rows, a, "train_s"), values(rows, b, "train_s")),
                    metric="MASE", cost_name="train time")
    scores = {m: values(rows, m, PRIMARY) for m in rows["model"].unique()}
    families = rows.groupby("model")["family"].first()
    check = versus_best_baseline(scores, models, [m for m in scores if families[m] == "baseline"])
    peers, beaten = versus_peers(scores, check.model, [m for m in scores if families[m] == "peer"])
    return {"cells": (label(a), label(b)), "models": (a, b), "recommendation": rec,
            "baseline": check.sentence(), "best_baseline": check.baseline,
            "check": check, "peers": peers, "peers_beaten": beaten}


def versus_peers(scores: dict, ours: str, peers: list[str]) -> tuple[str, tuple[int, int]]:
    """The better of ours against every peer: which it beats beyond noise, ties, loses to.

    Returns
    -------
    (str, (int, int))
        The sentence and ``(peers beaten beyond noise, peers)``.
    """
    if not peers:
        return "No peer ran.", (0, 0)
    groups: dict[str, list[str]] = {"better than": [], "within noise of": [], "worse than": []}
    for peer in sorted(peers, key=lambda p: float(np.mean(scores[p]))):
        d = welch(scores[ours], scores[peer])
        groups[relation(d)].append(f"{peer} ({d.mean_b:.3f}, p={d.p_value:.2g})")
    beaten = (len(groups["better than"]), len(peers))
    if beaten[0] == beaten[1]:
        return f"{ours} beats every peer beyond noise: " + ", ".join(groups["better than"]) + ".", beaten
    parts = [f"{how} {', '.join(names)}" for how, names in groups.items() if names]
    return f"{ours} is " + "; ".join(parts) + ".", beaten


def ranking(rows: pd.DataFrame) -> tuple[list[str], str, set[str]]:
    """Models by mean MASE, the best, and those within noise of the best (Welch).

    Returns
    -------
    (list of str, str, set of str)
    """
    means = rows.groupby("model")[PRIMARY].mean()
    best = means.idxmin()
    tied = {m for m in means.index if m != best
            and welch(values(rows, m, PRIMARY), values(rows, best, PRIMARY)).within_noise}
    return list(means.sort_values().index), best, tied


def direction_tests(rows: pd.DataFrame) -> dict:
    """Directional accuracy of ours against a coin flip and against "always up" (binomial tests).

    Returns
    -------
    dict
        ``n`` (ticker-days with a move), ``up`` (always-up accuracy), ``naive`` (the
        random walk's MASE) and ``models``: per model of ours, ``(accuracy, p vs 0.5,
        p vs always up)``.
    """
    n = int(rows["n_moves"].iloc[0])
    up = float(rows["always_up_acc"].iloc[0])
    naive = float(rows.loc[rows["model"] == "Naive", PRIMARY].mean())
    models = {}
    for model in our_models(rows):
        acc = float(np.mean(values(rows, model, "dir_acc")))
        k = int(round(acc * n))
        models[model] = (acc, stats.binomtest(k, n, 0.5).pvalue, stats.binomtest(k, n, up).pvalue)
    return {"n": n, "up": up, "naive": naive, "models": models}


def full_mode_hours(data: dict) -> float:
    """Lower bound of the full benchmark's training time for one dataset, in hours.

    Each trained model's seconds per training window in this run, times the windows
    the full protocol trains on (all of them, over its epochs and seeds), times the
    ratio of lookbacks (the recurrence is sequential in time). The full protocol's
    wider networks only add to that, so it is a lower bound.
    """
    rows, meta = data["rows"], data["meta"]
    quick, full = meta["setup"], meta.get("full_setup")
    if full is None:
        return float("nan")
    trained = rows[rows["family"] != "baseline"]
    per_window = (trained["train_s"] / trained["windows_seen"]).groupby(trained["model"]).mean()
    windows = meta["full_train_windows"] * full["epochs"] * len(full["seeds"])
    return float(per_window.sum() * windows * full["lookback"] / quick["lookback"] / 3600)


def train_time_verdict(verdict: dict) -> tuple[float, float, str]:
    """First/second cell train-time ratio (LSTM/GRU), its p-value and what it says about
    "the second (GRU) trains faster"."""
    cost, second = verdict["recommendation"].cost, verdict["cells"][1]
    speedup = cost.mean_a / cost.mean_b
    if cost.within_noise:
        said = "training times within noise"
    elif max(speedup, 1 / speedup) < SPEED_MARGIN:
        said = f"training times within {SPEED_MARGIN - 1:.0%} of each other"
    elif speedup > 1:
        said = f"{second} trains {100 * (speedup - 1):.0f}% faster"
    else:
        said = f"{second} trains {100 * (1 / speedup - 1):.0f}% *slower*"
    return speedup, cost.p_value, said


__all__ = ["ALPHA", "PRIMARY", "dataset_verdict", "direction_tests", "full_mode_hours", "label",
           "load_results", "our_models", "ranking", "train_time_verdict", "values", "versus_peers"]
