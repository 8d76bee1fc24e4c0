"""The report's Markdown: tables (``pandas.DataFrame.to_markdown``) and sentences.

Numbers come from :mod:`.statistics`; nothing here compares models. Tables go through
``DataFrame.to_markdown`` (the ``tabulate`` package) with ``disable_numparse=True``:
every cell is already formatted text, and tabulate must not re-format numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmarks.suite import statistics as st
from rnn_forecast.datasets.registry import get
from rnn_forecast.evaluation.verdict import ALPHA, mean_std

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


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown (pipe) table of already formatted cells."""
    return pd.DataFrame(rows, columns=header).to_markdown(index=False, disable_numparse=True)


def cell(values: list[float], fmt: str) -> str:
    """``mean ± std`` over seeds (the mean alone for one value or no spread; ``–`` for none)."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    mean, std = mean_std(values)
    if len(values) == 1 or std == 0:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {std:.2g}"


def dataset_table(rows: pd.DataFrame) -> str:
    """One line per model, best mean MASE first: accuracy and costs (mean ± std over seeds)."""
    cols = [c for c in COLUMNS if c[0] in rows.columns and rows[c[0]].notna().any()]
    order, best, tied = st.ranking(rows)
    lines = []
    for model in order:
        family = rows.loc[rows["model"] == model, "family"].iloc[0]
        label = f"**{model}**" if model == best else model + (" ≈" if model in tied else "")
        lines.append([label, family, *[cell(st.values(rows, model, c), f) for c, _, f in cols]])
    return table(lines, ["model", "family", *[h for _, h, _ in cols]])


def _relation(check) -> str:
    words = {"better than": "**beats** it", "within noise of": "ties (within noise)",
             "worse than": "**loses**"}
    return f"{check.model.replace('Forecaster', '')} {words[check.relation]} (p={check.difference.p_value:.2g})"


def summary_table(results: dict, verdicts: dict, short: bool = False) -> str:
    """One line per dataset: the two cells (LSTM vs GRU), the best model and the verdict.

    ``short``: the answer only (both cells' MASE, the verdict, the best baseline and ours
    against it, the peers beaten), the README's table.
    """
    lines = []
    (a, b), (model_a, model_b) = _cells(verdicts)
    for name, data in results.items():
        rows, verdict = data["rows"], verdicts[name]
        rec, base, beaten = verdict["recommendation"], verdict["best_baseline"], verdict["peers_beaten"]
        ours = [cell(st.values(rows, model, st.PRIMARY), "{:.3f}") for model in verdict["models"]]
        choice = f"**{rec.choice.upper() if rec.choice != 'tie' else 'tie'}**"
        peers = f"{beaten[0]} of {beaten[1]}"
        if short:
            lines.append([name, *ours, choice, f"{base}: {_relation(verdict['check'])}", peers])
            continue
        means = rows.groupby("model")[st.PRIMARY].mean()
        best = means.idxmin()
        train_s = " / ".join(f"{np.mean(st.values(rows, model, 'train_s')):.1f}" for model in verdict["models"])
        lines.append([name, *ours, train_s, f"{best} ({means[best]:.3f})", f"{base} ({means[base]:.3f})",
                      _relation(verdict["check"]), peers, choice])
    if short:
        return table(lines, ["dataset", f"{a} MASE", f"{b} MASE", f"{a} or {b}?",
                             "the best baseline, and ours against it", "peers beaten"])
    return table(lines, ["dataset", f"{model_a} MASE", f"{model_b} MASE", f"{a} / {b} train s",
                         "best model (MASE)", "best baseline (MASE)", "better of ours vs best baseline",
                         "peers it beats", f"{a} or {b}?"])


def _cells(verdicts: dict) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two cells every dataset compared (prose names, model names), the same in all."""
    found = {(v["cells"], v["models"]) for v in verdicts.values()}
    if len(found) != 1:
        raise ValueError(f"the result files compare different cells per dataset: {sorted(found)}")
    return found.pop()


def verdict_line(name: str, verdict: dict) -> str:
    """The recommendation, the baseline check and the peers, for one dataset."""
    return f"{verdict['recommendation'].reason} {verdict['baseline']} {verdict['peers']}"


def summary_block(results: dict, verdicts: dict, short: bool = False) -> str:
    """The summary table and one verdict line per dataset; ``short``: the answer's table alone."""
    if short:
        return "\n".join(["", summary_table(results, verdicts, short=True), ""])
    return "\n".join(["", summary_table(results, verdicts), "",
                      *[f"- **{n}**: {verdict_line(n, verdicts[n])}" for n in results], ""])


def _stride(setup: dict) -> str:
    k = setup.get("train_stride", 1)
    return f" (every {k}th)" if k > 1 else ""


def protocol_lines(results: dict) -> list[str]:
    """The protocol table (one line per dataset) and each dataset's notes."""
    lines = []
    for name, data in results.items():
        m, s = data["meta"], data["meta"]["setup"]
        lines.append([name, s["target"], str(s["lookback"]), str(s["horizon"]), str(s["season"]),
                      str(m["n_series"]), f"{m['n_train_windows']}{_stride(s)}",
                      str(m["n_test_windows_per_series"]), str(s["epochs"]), str(s["hidden_dim"]),
                      str(s["batch_size"]), str(s["lr"]), ", ".join(map(str, s["seeds"]))])
    out = [table(lines, ["dataset", "target", "lookback", "horizon", "MASE m", "series", "train windows",
                         "test windows/series", "epochs", "hidden", "batch", "lr", "seeds"]), ""]
    for name, data in results.items():
        out.append(f"- **{name}**: " + "; ".join(data["meta"]["notes"]))
    return out


def stocks_lines(rows: pd.DataFrame, horizon: int) -> list[str]:
    """Directional accuracy of ours against a coin flip and against always-up."""
    t = st.direction_tests(rows)
    lines = [f"Directional accuracy is scored on {t['n']} ticker-days with a price move; "
             f"\"always up\" scores {t['up']:.3f}, a coin flip 0.5. MASE on prices is scaled by the "
             f"in-sample error of the random walk (m=1); at a {horizon}-day "
             f"horizon the random walk itself scores {t['naive']:.3f} (errors grow with the horizon), so a "
             "MASE near the random walk's is the expected, honest result for daily prices."]
    for model, (acc, p_half, p_up) in t["models"].items():
        lines.append(f"- {model}: directional accuracy {acc:.3f} (mean of seeds); binomial test vs 0.5: "
                     f"p={p_half:.2g} ({'beyond' if p_half < ALPHA else 'within'} noise), vs always-up "
                     f"{t['up']:.3f}: p={p_up:.2g} ({'beyond' if p_up < ALPHA else 'within'} noise).")
    return lines


def folklore_lines(results: dict, verdicts: dict) -> list[str]:
    """"GRU trains ~40% faster": what each dataset's train times say."""
    lines = ["## Folklore check", ""]
    a, b = _cells(verdicts)[0]
    for name in results:
        speedup, p, said = st.train_time_verdict(verdicts[name])
        lines.append(f"- {name}: {a}/{b} train-time ratio {speedup:.2f} (p={p:.2g}): {said}.")
    lines += ["",
              "\"GRU trains ~40% faster\" holds only where the lines above say so. \"LSTM is better on long "
              "dependencies\" is not tested here: lookbacks are at most a week of hourly steps, and the "
              "accuracy verdicts above are the only evidence this benchmark gives.", ""]
    return lines


def report(results: dict, verdicts: dict, plots: dict, source: str, commands: list[str], program: str) -> str:
    """The whole report.

    Parameters
    ----------
    results, verdicts
        From :func:`.statistics.load_results` and :func:`.statistics.dataset_verdict`.
    plots
        File names in the ``plots/`` folder next to the report: ``"scatter"`` and, per
        dataset, its list of plots.
    source
        The results folder, as the report names it.
    commands
        The commands that regenerate the results.
    program
        The command that runs the suite (for the full-protocol estimate).
    """
    first = next(iter(results.values()))["meta"]
    env = first["environment"]
    quick = all(d["meta"]["setup"] != d["meta"]["full_setup"] for d in results.values())
    question = "{} or {}?".format(*_cells(verdicts)[0])
    out = [
        f"# {question} Benchmark report",
        "",
        f"Generated by `benchmarks.suite` from `{source}/`; every number and verdict "
        "below is computed from those files. Regenerate with:",
        "",
        *[f"```bash\n{c}\n```" for c in commands],
        "",
        f"Mode: **{'quick' if quick else 'full'}**. Hardware: {env['cpu']}, {env['cpu_cores']} cores, "
        f"torch threads {env['torch_threads']}, device {env['device']}"
        f"{' (' + env['gpu'] + ')' if env.get('gpu') else ''}. "
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
        f"## {question} Verdict per dataset",
        "",
    ]
    for name in results:
        out.append(f"- **{name}**: {verdict_line(name, verdicts[name])}")
    out += ["", "## Protocol", "", *protocol_lines(results), ""]
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
        f"![accuracy vs time](plots/{plots['scatter']})",
        "",
    ]
    for name, data in results.items():
        rows = data["rows"]
        out += [f"## {name}", "", dataset_table(rows), "",
                "Bold: best mean MASE; ≈: within noise of it (Welch p ≥ 0.05).", "",
                f"Verdict: {verdict_line(name, verdicts[name])}", ""]
        if get(name).directional:
            out += [*stocks_lines(rows, int(data["meta"]["setup"]["horizon"])), ""]
        out += [f"![{p[:-4].replace('_', ' ')}](plots/{p})" for p in plots[name]]
        out.append("")
    if quick:
        hours = {name: st.full_mode_hours(data) for name, data in results.items()}
        out += ["## The full benchmark", "",
                f"This report is the quick protocol. The full one (`{program} --dataset all`) trains "
                "on every window with the budgets of `benchmarks.suite.setups` "
                "(`setup_for(dataset, quick=False)`); from this run's per-window training speed it would take at "
                "least " + ", ".join(f"{n} {h:.1f} h" for n, h in hours.items())
                + f" (total at least {sum(hours.values()):.0f} h) on this machine, not counting its wider networks.",
                ""]
    out += folklore_lines(results, verdicts)
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
    return "\n".join(out)
