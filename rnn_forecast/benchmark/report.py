"""Markdown report, plots and verdicts, rebuilt from the result files.

``write_report(results_dir, report_path)`` reads every ``<dataset>.csv`` (and its
``_by_horizon.csv``, ``_forecasts.csv`` and ``.json``) written by the runner and
writes ``REPORT.md`` with PNG plots next to it. The forecast plots recompute the actual
values and the naive baseline's forecasts from the dataset (result files hold no copy of
the data). Every sentence that compares models is computed here from the per-seed
numbers (:mod:`.verdict`), never written by hand.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from rnn_forecast.benchmark.models import baselines
from rnn_forecast.benchmark.protocol import DATASETS, Setup, build_task
from rnn_forecast.benchmark.verdict import (ALPHA, SPEED_MARGIN, mean_std, recommend, relation,
                                            versus_best_baseline, welch)

OURS = ("LSTMForecaster", "GRUForecaster")
PRIMARY = "mase"
README_BEGIN = "<!-- benchmark-summary:begin -->"
README_END = "<!-- benchmark-summary:end -->"

COLUMNS = [  # (csv column, header, format)
    ("mse", "MSE", "{:.4g}"),
    ("mae", "MAE", "{:.4g}"),
    ("mase", "MASE", "{:.3f}"),
    ("smape", "sMAPE %", "{:.2f}"),
    ("ret_mae", "MAE log-ret", "{:.4g}"),
    ("dir_acc", "dir. acc.", "{:.3f}"),
    ("train_s", "train s", "{:.2f}"),
    ("windows_per_s", "windows/s", "{:.0f}"),
    ("params", "params", "{:.0f}"),
    ("peak_mem_mb", "peak MiB", "{:.0f}"),
    ("predict_ms", "predict ms", "{:.0f}"),
]


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """Everything the runner wrote, per dataset present (in :data:`DATASETS` order)."""
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


def _values(rows: pd.DataFrame, model: str, column: str) -> list[float]:
    """Per-seed values; a deterministic baseline's single run counts as a zero-variance sample."""
    picked = rows.loc[rows["model"] == model]
    values = picked[column].astype(float).tolist()
    if len(values) == 1 and (picked["family"] == "baseline").all():
        return values * 2
    return values


def _cell(values: list[float], fmt: str) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    mean, std = mean_std(values)
    if len(values) == 1 or std == 0:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {std:.2g}"


def dataset_verdict(rows: pd.DataFrame) -> dict:
    """The LSTM-or-GRU recommendation and the baseline check for one dataset.

    Returns
    -------
    dict
        ``recommendation`` (:class:`~.verdict.Recommendation` of LSTMForecaster vs
        GRUForecaster on MASE and training time), ``baseline`` (sentence comparing
        the better of the two with the best baseline) and ``best_baseline`` (name).
    """
    rec = recommend(("LSTM", "GRU"), (_values(rows, OURS[0], PRIMARY), _values(rows, OURS[1], PRIMARY)),
                    (_values(rows, OURS[0], "train_s"), _values(rows, OURS[1], "train_s")),
                    metric="MASE", cost_name="train time")
    scores = {m: _values(rows, m, PRIMARY) for m in rows["model"].unique()}
    families = rows.groupby("model")["family"].first()
    check = versus_best_baseline(scores, OURS, [m for m in scores if families[m] == "baseline"])
    peers, beaten = _versus_peers(scores, check.model, [m for m in scores if families[m] == "peer"])
    return {"recommendation": rec, "baseline": check.sentence(), "best_baseline": check.baseline,
            "check": check, "peers": peers, "peers_beaten": beaten}


def _versus_peers(scores: dict, ours: str, peers: list[str]) -> tuple[str, tuple[int, int]]:
    """The better of ours against every peer: which it beats beyond noise, ties, loses to.

    Returns the sentence and ``(peers beaten beyond noise, peers)``.
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


def _table(rows: pd.DataFrame) -> str:
    cols = [c for c in COLUMNS if c[0] in rows.columns and rows[c[0]].notna().any()]
    best = rows.groupby("model")[PRIMARY].mean().idxmin()
    order = rows.groupby("model")[PRIMARY].mean().sort_values().index
    head = "| model | family | " + " | ".join(h for _, h, _ in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for model in order:
        family = rows.loc[rows["model"] == model, "family"].iloc[0]
        flag = ""
        if model != best:
            d = welch(_values(rows, model, PRIMARY), _values(rows, best, PRIMARY))
            flag = " ≈" if d.within_noise else ""
        label = f"**{model}**" if model == best else model + flag
        cells = [_cell(_values(rows, model, c), f) for c, _, f in cols]
        lines.append(f"| {label} | {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _stocks_lines(rows: pd.DataFrame) -> list[str]:
    lines = []
    n = int(rows["n_moves"].iloc[0])
    up = float(rows["always_up_acc"].iloc[0])
    naive = float(rows.loc[rows["model"] == "Naive", PRIMARY].mean())
    lines.append(f"Directional accuracy is scored on {n} ticker-days with a price move; "
                 f"\"always up\" scores {up:.3f}, a coin flip 0.5. MASE on prices is scaled by the "
                 f"in-sample error of the random walk (m=1); at a {int(rows['horizon'].iloc[0]) if 'horizon' in rows else 'multi'}-day "
                 f"horizon the random walk itself scores {naive:.3f} (errors grow with the horizon), so a "
                 "MASE near the random walk's is the expected, honest result for daily prices.")
    for model in OURS:
        acc = float(np.mean(_values(rows, model, "dir_acc")))
        k = int(round(acc * n))
        p_half = stats.binomtest(k, n, 0.5).pvalue
        p_up = stats.binomtest(k, n, up).pvalue
        lines.append(f"- {model}: directional accuracy {acc:.3f} (mean of seeds); binomial test vs 0.5: "
                     f"p={p_half:.2g} ({'beyond' if p_half < ALPHA else 'within'} noise), vs always-up "
                     f"{up:.3f}: p={p_up:.2g} ({'beyond' if p_up < ALPHA else 'within'} noise).")
    return lines


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


def _plots(name: str, data: dict, out_dir: Path, verdict: dict, data_dir=None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, paths = data["rows"], []
    means = rows.groupby("model")[PRIMARY].mean()
    peers = rows[rows["family"] == "peer"].groupby("model")[PRIMARY].mean()
    shown = ["actual", *OURS, peers.idxmin(), verdict["best_baseline"]]
    frame = data["forecasts"].assign(
        **_from_dataset(data["meta"], data["forecasts"].index, verdict["best_baseline"], data_dir))
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for col in shown:
        ax.plot(frame.index, frame[col], lw=2 if col == "actual" else 1,
                color="black" if col == "actual" else None, label=col)
    horizon = data["meta"]["setup"]["horizon"]
    for t in frame.index[::horizon]:
        ax.axvline(t, color="grey", lw=0.3)
    ax.set_title(f"{name}: first test windows (seed {data['meta']['setup']['seeds'][0]}; grey lines = forecast origins)")
    ax.legend(fontsize=7, ncol=3)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    paths.append(_save(fig, out_dir / f"{name}_forecast.png"))

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
    paths.append(_save(fig, out_dir / f"{name}_by_horizon.png"))
    return paths


def _scatter(results: dict, out_dir: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    trained = sorted({m for d in results.values() for m in d["rows"].loc[d["rows"]["family"] != "baseline", "model"]})
    colors = dict(zip(trained, plt.get_cmap("tab10").colors))  # same colour per model in every panel
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
    for ax, (name, data) in zip(axes[0], results.items()):
        rows = data["rows"]
        for model, group in rows[rows["family"] != "baseline"].groupby("model"):
            x, y = group["train_s"], group[PRIMARY]
            ax.errorbar(x.mean(), y.mean(), xerr=x.std(), yerr=y.std(), fmt="*" if model in OURS else "o",
                        ms=10 if model in OURS else 5, color=colors[model], label=model)
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
    handles = [plt.Line2D([], [], marker="*" if m in OURS else "o", ls="", color=colors[m]) for m in trained]
    fig.legend(handles, trained, fontsize=7, loc="lower center", ncol=5)
    fig.tight_layout(rect=(0, 0.13, 0.97, 1))
    return _save(fig, out_dir / "accuracy_vs_time.png")


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72, metadata={"Software": None})  # no timestamps: same bytes on rerun
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path.name


def summary_table(results: dict, verdicts: dict) -> str:
    """One line per dataset: LSTM vs GRU, the best model and the verdict."""
    lines = ["| dataset | LSTMForecaster MASE | GRUForecaster MASE | LSTM / GRU train s | best model (MASE) | "
             "best baseline (MASE) | better of ours vs best baseline | peers it beats | LSTM or GRU? |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, data in results.items():
        rows = data["rows"]
        means = rows.groupby("model")[PRIMARY].mean()
        best = means.idxmin()
        base = verdicts[name]["best_baseline"]
        rec = verdicts[name]["recommendation"]
        beaten = verdicts[name]["peers_beaten"]
        lines.append(
            f"| {name} | {_cell(_values(rows, OURS[0], PRIMARY), '{:.3f}')} | "
            f"{_cell(_values(rows, OURS[1], PRIMARY), '{:.3f}')} | "
            f"{np.mean(_values(rows, OURS[0], 'train_s')):.1f} / {np.mean(_values(rows, OURS[1], 'train_s')):.1f} | "
            f"{best} ({means[best]:.3f}) | {base} ({means[base]:.3f}) | "
            f"{_relation(verdicts[name]['check'])} | {beaten[0]} of {beaten[1]} | "
            f"**{rec.choice.upper() if rec.choice != 'tie' else 'tie'}** |")
    return "\n".join(lines)


def _stride(setup: dict) -> str:
    k = setup.get("train_stride", 1)
    return f" (every {k}th)" if k > 1 else ""


def _relation(check) -> str:
    words = {"better than": "**beats** it", "within noise of": "ties (within noise)",
             "worse than": "**loses**"}
    return f"{check.model.replace('Forecaster', '')} {words[check.relation]} (p={check.difference.p_value:.2g})"


def _protocol(results: dict) -> list[str]:
    lines = ["| dataset | target | lookback | horizon | MASE m | series | train windows | test windows/series | epochs | hidden | batch | lr | seeds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, data in results.items():
        m, s = data["meta"], data["meta"]["setup"]
        lines.append(f"| {name} | {s['target']} | {s['lookback']} | {s['horizon']} | {s['season']} | {m['n_series']} | "
                     f"{m['n_train_windows']}{_stride(s)} | {m['n_test_windows_per_series']} | {s['epochs']} | {s['hidden_dim']} | "
                     f"{s['batch_size']} | {s['lr']} | {', '.join(map(str, s['seeds']))} |")
    lines.append("")
    for name, data in results.items():
        lines.append(f"- **{name}**: " + "; ".join(data["meta"]["notes"]))
    return lines


def write_report(results_dir: str | Path = "benchmarks/results", report_path: str | Path = "benchmarks/REPORT.md",
                 readme: str | Path | list | None = None, data_dir=None) -> Path:
    """Write the Markdown report and its plots from the result files.

    Parameters
    ----------
    results_dir
        Where the runner wrote its files.
    report_path
        The Markdown file; plots go to a ``plots/`` folder next to it.
    readme
        A file (or a list of files) whose summary block, between the
        ``benchmark-summary`` markers, is replaced by this run's summary (so the README
        and docs show the numbers of the last run). Files without the markers are left alone.
    data_dir
        Folder of the dataset files, for the actual values in the forecast plots
        (default: ``$RNN_FORECAST_DATA``, else downloaded; see :mod:`rnn_forecast.datasets`).

    Returns
    -------
    Path
        ``report_path``.
    """
    results = load_results(results_dir)
    if not results:
        raise FileNotFoundError(f"no benchmark results in {results_dir}: run `rnn-forecast benchmark` first")
    report_path = Path(report_path)
    plots = report_path.parent / "plots"
    verdicts = {name: dataset_verdict(data["rows"]) for name, data in results.items()}
    first = next(iter(results.values()))["meta"]
    env = first["environment"]
    commands = sorted({d["meta"]["command"] for d in results.values()})
    quick = all(d["meta"]["setup"] != d["meta"]["full_setup"] for d in results.values())
    out = [
        "# LSTM or GRU? Benchmark report",
        "",
        "Generated by `rnn_forecast.benchmark` from `benchmarks/results/`; every number and verdict "
        "below is computed from those files. Regenerate with:",
        "",
        *[f"```bash\n{c}\n```" for c in commands],
        "",
        f"Mode: **{'quick' if quick else 'full'}**. Hardware: {env['cpu']}, {env['cpu_cores']} cores, "
        f"torch threads {env['torch_threads']}, device {env['device']}{' (' + env['gpu'] + ')' if env.get('gpu') else ''}. "
        f"Software: Python {env['python']}, torch {env['torch']}, Darts {env['darts']}, "
        f"pytorch-lightning {env['pytorch_lightning']}, pandas {env['pandas']}, "
        f"NeuralForecast {env.get('neuralforecast') or 'not installed'}. "
        f"Wall time: " + ", ".join(f"{n} {d['meta']['wall_s']:.0f} s" for n, d in results.items())
        + f" (total {sum(d['meta']['wall_s'] for d in results.values()):.0f} s).",
        "",
        "## Summary",
        "",
        summary_table(results, verdicts),
        "",
        "MASE < 1 beats the in-sample seasonal naive forecast. Mean ± standard deviation over "
        "seeds; a difference is *within noise* unless Welch's t-test gives p < 0.05 "
        "(see [Reading the numbers](#reading-the-numbers)).",
        "",
        "## LSTM or GRU? Verdict per dataset",
        "",
    ]
    for name in results:
        out.append(f"- **{name}**: {verdicts[name]['recommendation'].reason} {verdicts[name]['baseline']} "
                   f"{verdicts[name]['peers']}")
    out += ["", "## Protocol", "", *_protocol(results), ""]
    out += [
        "Rules for every dataset: chronological split, scaler fitted on the training rows, "
        "non-overlapping rolling-origin forecasts over the whole test period with Darts' "
        "`historical_forecasts` (trained models fitted once, `retrain=False`; baselines refitted "
        "at each origin), scores in original units. Every trained model gets the same training "
        "windows, epochs, batch size, learning rate (Adam), L1 loss, hidden size and seeds, and "
        "normalizes each input window (ours: their default `normalization='level_scale'`; Darts "
        "peers: RevIN); ours otherwise run with their defaults (docs/defaults.md). Each model "
        "uses every covariate kind its class supports (ours, BlockRNNModel, DLinear and "
        "NeuralForecast: past + future; RNNModel: future). "
        f"{first['neuralforecast']}.",
        "",
        "Costs: `train s` is the wall time of `fit`; `windows/s` training windows processed per "
        "second (epochs x windows / train s); `params` trainable parameters; `peak MiB` the "
        "peak resident memory during `fit` above its start (Linux `VmHWM`, reset before each "
        "fit); `predict ms` the median latency of one `predict(horizon)` call on one series, "
        "after a warm-up call. Baselines are deterministic and run once.",
        "",
        "![accuracy vs time](plots/" + _scatter(results, plots) + ")",
        "",
    ]
    for name, data in results.items():
        rows = data["rows"]
        out += [f"## {name}", "", _table(rows), "",
                "Bold: best mean MASE; ≈: within noise of it (Welch p ≥ 0.05).", "",
                f"Verdict: {verdicts[name]['recommendation'].reason} {verdicts[name]['baseline']} "
                f"{verdicts[name]['peers']}", ""]
        if name == "stocks":
            out += [*_stocks_lines(rows.assign(horizon=data["meta"]["setup"]["horizon"])), ""]
        out += [f"![{p[:-4].replace('_', ' ')}](plots/{p})" for p in _plots(name, data, plots, verdicts[name], data_dir)]
        out.append("")
    if quick:
        hours = {name: full_mode_hours(data) for name, data in results.items()}
        out += ["## The full benchmark", "",
                "This report is the quick protocol. The full one (`rnn-forecast benchmark --dataset all`) trains "
                "on every window with the budgets of `rnn_forecast.benchmark.protocol` "
                "(`setup_for(dataset, quick=False)`); from this run's per-window training speed it would take at "
                "least " + ", ".join(f"{n} {h:.1f} h" for n, h in hours.items())
                + f" (total at least {sum(hours.values()):.0f} h) on this machine, not counting its wider networks.",
                ""]
    out += _folklore(results, verdicts)
    out += [
        "## Reading the numbers",
        "",
        "- Each trained model runs once per seed; the tables show mean ± sample standard deviation.",
        "- Two models differ *beyond noise* when Welch's t-test (unequal variances) gives p < 0.05 "
        "on their per-seed scores; with three seeds only large, consistent differences pass, so "
        "\"within noise\" means \"not shown to differ\", not \"shown equal\".",
        "- Timings come from one shared machine; they are comparable within a run, not across machines.",
        "",
    ]
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text("\n".join(out))
    for path in readme if isinstance(readme, list) else [readme] if readme is not None else []:
        update_readme(path, results, verdicts, commands)
    return report_path


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


def _folklore(results: dict, verdicts: dict) -> list[str]:
    lines = ["## Folklore check", ""]
    for name in results:
        cost = verdicts[name]["recommendation"].cost
        speedup = cost.mean_a / cost.mean_b
        if cost.within_noise:
            verdict = "training times within noise"
        elif max(speedup, 1 / speedup) < SPEED_MARGIN:
            verdict = f"training times within {SPEED_MARGIN - 1:.0%} of each other"
        elif speedup > 1:
            verdict = f"GRU trains {100 * (speedup - 1):.0f}% faster"
        else:
            verdict = f"GRU trains {100 * (1 / speedup - 1):.0f}% *slower*"
        lines.append(f"- {name}: LSTM/GRU train-time ratio {speedup:.2f} (p={cost.p_value:.2g}): {verdict}.")
    lines += ["",
              "\"GRU trains ~40% faster\" holds only where the lines above say so. \"LSTM is better on long "
              "dependencies\" is not tested here: lookbacks are at most a week of hourly steps, and the "
              "accuracy verdicts above are the only evidence this benchmark gives.", ""]
    return lines


def update_readme(readme: str | Path, results: dict, verdicts: dict, commands: list[str]) -> bool:
    """Replace the summary between the README's markers; False if it has none."""
    path = Path(readme)
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        return False
    block = "\n".join([README_BEGIN, "", summary_table(results, verdicts), "",
                       *[f"- **{n}**: {verdicts[n]['recommendation'].reason} {verdicts[n]['baseline']} "
                         f"{verdicts[n]['peers']}" for n in results], "", README_END])
    path.write_text(re.sub(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), lambda _: block, text, flags=re.DOTALL))
    return True
