"""The benchmark runner end to end on tiny slices of the real data, and its logic on
synthetic numbers (noise test, verdicts, metrics, memory measurement)."""

from __future__ import annotations

import importlib.metadata
import math
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from darts import TimeSeries

from benchmarks.neuralforecast_peers import available as neuralforecast_available
from benchmarks.suite import cli as suite
from benchmarks.suite.report import summary, write_report
from benchmarks.suite.runner import run_dataset
from benchmarks.suite.setups import setup_for
from rnn_forecast.evaluation import metrics
from rnn_forecast.evaluation.costs import measure
from rnn_forecast.evaluation.verdict import recommend, welch

REPO_ROOT = Path(__file__).resolve().parents[2]


TINY = {"epochs": 1, "max_train_windows": 48, "hidden_dim": 8, "lookback": 24, "seeds": (0, 1)}


@pytest.fixture(scope="module")
def results(data_dir, tmp_path_factory) -> Path:
    """Traffic (covariates) and 3 stock tickers (global model, returns) on tiny budgets."""
    out = tmp_path_factory.mktemp("results")
    run_dataset(replace(setup_for("traffic", quick=True), **TINY), out, data_dir=data_dir,
                log=lambda *_: None)
    run_dataset(replace(setup_for("stocks", quick=True), **{**TINY, "lookback": 10}, tickers=3), out,
                data_dir=data_dir, log=lambda *_: None)
    return out


def test_results_have_every_model_metric_and_cost(results):
    frame = pd.read_csv(results / "traffic.csv")
    for column in ("model", "family", "seed", "mse", "mae", "mase", "smape", "train_s", "windows_per_s",
                   "params", "peak_mem_mb", "predict_ms"):
        assert column in frame, column
    models = set(frame["model"])
    assert {"LSTMForecaster", "GRUForecaster", "Darts BlockRNNModel-LSTM", "Darts BlockRNNModel-GRU",
            "Darts RNNModel-LSTM", "Darts RNNModel-GRU", "Darts DLinearModel", "Naive",
            "SeasonalNaive(24)", "SeasonalNaive(168)", "Drift"} <= models
    has_nf = {"NeuralForecast LSTM", "NeuralForecast GRU"} <= models
    assert has_nf == neuralforecast_available()[0]  # the runner decides from what is installed
    trained = frame[frame["family"] != "baseline"]
    assert (trained.groupby("model")["seed"].nunique() == 2).all()  # every trained model, every seed
    assert (trained["train_s"] > 0).all() and (trained["params"] > 0).all()
    assert (trained["predict_ms"] > 0).all()
    assert np.isfinite(frame[["mse", "mae", "mase", "smape"]].to_numpy()).all()
    baselines = frame[frame["family"] == "baseline"]
    assert baselines["seed"].isna().all() and baselines["train_s"].isna().all()
    by_h = pd.read_csv(results / "traffic_by_horizon.csv")
    assert by_h["step"].max() == 24 and set(by_h["model"]) == models
    shown = pd.read_csv(results / "traffic_forecasts.csv", index_col="time")
    # every trained model's forecasts; no copy of the data: neither the actual values nor the
    # naive baselines' forecasts, which repeat them
    assert set(shown.columns) == set(trained["model"])


def test_stocks_are_scored_on_prices_and_directions(results):
    frame = pd.read_csv(results / "stocks.csv")
    assert {"ret_mse", "ret_mae", "dir_acc", "always_up_acc", "n_moves"} <= set(frame.columns)
    naive = frame[frame["model"] == "Naive"].iloc[0]
    assert naive["dir_acc"] == 0.5  # the random walk never calls a direction
    assert 0 < naive["always_up_acc"] < 1
    assert frame["always_up_acc"].nunique() == 1  # a property of the data, not of the model
    # MASE of prices is scaled by the random walk's in-sample error: the random walk
    # forecasting 5 days ahead scores above 1 (its errors grow with the horizon)
    assert naive["mase"] > 1


def test_report_sections_plots_and_verdicts(results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{suite.BEGIN}\nold\n{suite.END}\noutro\n")
    report = write_report(results, tmp_path / "REPORT.md")
    assert suite.update_summary(readme, summary(results))
    text = report.read_text()
    for section in ("## Summary", "## LSTM or GRU? Verdict per dataset", "## Protocol", "## traffic",
                    "## stocks", "## Folklore check", "## Reading the numbers"):
        assert section in text, section
    assert "Directional accuracy" in text and "always up" in text
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert {p.name for p in pngs} == {"accuracy_vs_time.png", "traffic_forecast.png", "traffic_by_horizon.png",
                                      "stocks_forecast.png", "stocks_by_horizon.png"}
    assert all(0 < p.stat().st_size < 200_000 for p in pngs)
    new_readme = readme.read_text()
    # a traffic row in the summary table (DataFrame.to_markdown pads cells to the column width)
    assert "old" not in new_readme and new_readme.endswith("outro\n")
    assert re.search(r"^\| traffic +\|", new_readme, re.M)


def test_report_only_command_rebuilds_from_files(results, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(results, out)
    assert suite.main(["--report-only", "--out", str(out)]) == 0
    assert "## traffic" in (out / "REPORT.md").read_text()
    args = suite.build_parser().parse_args(["--dataset", "all", "--quick", "--device", "cpu"])
    assert args.quick and args.dataset == "all" and args.out is None


def test_the_command_writes_only_under_out(results, tmp_path, monkeypatch):
    """With ``--out`` the suite never writes outside it (nor edits a README it finds)."""
    out, cwd = tmp_path / "mine", tmp_path / "cwd"
    shutil.copytree(results, out)
    cwd.mkdir()
    readme = cwd / "README.md"
    readme.write_text("<!-- benchmark-summary:begin -->\nmine\n<!-- benchmark-summary:end -->\n")
    (cwd / "docs").mkdir()
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    monkeypatch.chdir(cwd)
    assert suite.main(["--report-only", "--out", str(out)]) == 0
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    changed = {p for p in after if p not in before or after[p] != before[p]}
    assert changed and all(p.is_relative_to(out) for p in changed), sorted(map(str, changed))
    written = {p.relative_to(out).as_posix() for p in changed if p.is_file()}
    assert written >= {"REPORT.md", "plots/traffic_forecast.png"}
    assert readme.read_text().count("mine") == 1 and sorted(p.name for p in cwd.iterdir()) == ["README.md", "docs"]


def test_the_suite_compares_any_two_registered_cells(data_dir, tmp_path):
    """``--cells``: ours and the report's columns come from the registry, not from "LSTM"/"GRU"."""
    from rnn_forecast.nn.cells import registered
    from tests.cells.slstm import SLSTM_CELL

    with registered(SLSTM_CELL):
        run_dataset(replace(setup_for("traffic", quick=True), **{**TINY, "max_train_windows": 24}), tmp_path,
                    data_dir=data_dir, neuralforecast=False, log=lambda *_: None, cells=("gru", "slstm"))
    frame = pd.read_csv(tmp_path / "traffic.csv")
    assert list(frame.loc[frame["family"] == "ours", "model"].unique()) == ["GRUForecaster", "sLSTMForecaster"]
    assert {m for m in frame["model"] if m.startswith("Darts ") and "RNN" in m} == {
        "Darts BlockRNNModel-GRU", "Darts RNNModel-GRU"}  # Darts has no sLSTM
    text = write_report(tmp_path, tmp_path / "REPORT.md").read_text()
    assert re.search(r"\| GRUForecaster MASE +\| sLSTMForecaster MASE +\| GRU / sLSTM train s +\|", text)
    assert "GRU/sLSTM train-time ratio" in text and "| LSTMForecaster" not in text
    assert re.search(r"\| GRU MASE +\| sLSTM MASE +\| GRU or sLSTM\? +\|", summary(tmp_path, short=True))
    assert text.startswith("# GRU or sLSTM? Benchmark report")


def test_the_library_loads_no_benchmark_code_and_needs_no_tabulate(tmp_path):
    """``import rnn_forecast`` and ``compare_cells`` load nothing of ``benchmarks/`` (nor tabulate),
    and the installed package holds no benchmark module."""
    code = ("import sys; import rnn_forecast; from rnn_forecast import compare_cells; "
            "import rnn_forecast.evaluation.contenders, rnn_forecast.evaluation.scoring, rnn_forecast.tools.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('benchmarks', 'tabulate', 'neuralforecast')"
            " or m.startswith('rnn_forecast.benchmark')))")
    # from another folder: the repository root (where `benchmarks/` lies) is not on the path
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.strip() == "[]"
    package = REPO_ROOT / "rnn_forecast"
    assert not (package / "benchmark").exists()
    core = [r for r in importlib.metadata.requires("rnn_forecast") if "extra ==" not in r]
    assert core and not [r for r in core if r.startswith("tabulate")], core


def test_one_command_line_lists_every_benchmark():
    from benchmarks.__main__ import COMMANDS, main

    scripts = {p.stem for p in (REPO_ROOT / "benchmarks").glob("*.py")} - {"__init__", "__main__"}
    helpers = {"peers", "neuralforecast_peers", "tables", "versus_darts"}  # imported by the commands
    assert set(COMMANDS) == scripts - helpers | {"suite", "options"}  # the two packages
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], capture_output=True, text=True,
                            check=True, cwd=REPO_ROOT)
    assert all(f"  {name} " in result.stdout for name in COMMANDS)
    assert main(["no-such-command"]) == 2


# -- the logic, on synthetic numbers ---------------------------------------------------


def test_welch_flags_noise_and_real_differences():
    assert welch([1.0, 1.1, 0.9], [5.0, 5.1, 4.9]).within_noise is False
    noisy = welch([1.0, 2.0, 0.5], [1.2, 0.4, 1.9])
    assert noisy.within_noise and noisy.p_value > 0.5
    single = welch([1.0], [2.0])
    assert single.within_noise and math.isnan(single.p_value)  # one run each: no claim
    assert welch([0.5], [0.5]).within_noise  # two deterministic baselines, equal
    assert not welch([0.5, 0.5], [0.6, 0.6]).within_noise  # deterministic and different
    assert not welch([1.0, 1.01, 0.99], [2.0]).within_noise  # a sample against a fixed value


def test_recommendation_is_derived_from_the_numbers():
    same_accuracy = ([0.50, 0.52, 0.51], [0.51, 0.50, 0.52])
    gru_faster = ([10.0, 10.2, 9.9], [7.0, 7.1, 6.9])
    rec = recommend(("LSTM", "GRU"), same_accuracy, gru_faster)
    assert rec.choice == "GRU" and "within noise" in rec.reason and "1.43x faster" in rec.reason
    lstm_better = recommend(("LSTM", "GRU"), ([0.30, 0.31, 0.30], [0.50, 0.52, 0.51]), gru_faster)
    assert lstm_better.choice == "LSTM" and "beyond noise" in lstm_better.reason
    tie = recommend(("LSTM", "GRU"), same_accuracy, ([10.0, 12.0, 8.0], [11.0, 9.0, 10.5]))
    assert tie.choice == "tie" and tie.reason.startswith("Tie")
    accuracy_up = recommend(("LSTM", "GRU"), ([0.55, 0.56, 0.55], [0.50, 0.51, 0.50]), gru_faster,
                            higher_is_better=True)
    assert accuracy_up.choice == "LSTM"
    # 5 % faster beyond noise is under the 10 % that counts: a tie, and the reason says why
    slightly = recommend(("LSTM", "GRU"), same_accuracy, ([1.11, 1.10, 1.12], [1.06, 1.05, 1.07]))
    assert not slightly.cost.within_noise and slightly.choice == "tie"
    assert "under the 1.10x that counts" in slightly.reason


def _series(values, start="2021-01-04"):
    index = pd.bdate_range(start, periods=len(values))
    return TimeSeries.from_times_and_values(index, np.asarray(values, dtype=np.float64).reshape(-1, 1))


def test_mase_of_the_naive_forecast_on_a_trend():
    actual = _series(np.arange(1.0, 41.0))
    horizon = 4
    # repeat-last forecasts of 4-step windows from t = 20: errors 1, 2, 3, 4 in each window
    windows = [actual[t - 1 : t].values()[0, 0] * np.ones(horizon) for t in range(20, 40, horizon)]
    forecast = TimeSeries.from_times_and_values(actual.time_index[20:40], np.concatenate(windows)[:, None])
    scores = metrics.accuracy([actual], [forecast], season=1)
    assert scores["mae"] == pytest.approx(2.5) and scores["mase"] == pytest.approx(2.5)  # in-sample naive MAE is 1
    np.testing.assert_allclose(metrics.error_by_horizon([actual], [forecast], horizon), [1, 2, 3, 4])


def test_every_origin_scores_the_mean_over_the_interleaved_window_sets():
    from rnn_forecast.evaluation.contenders import baselines
    from rnn_forecast.evaluation.scoring import evaluate
    from rnn_forecast.evaluation.task import Setup, custom_task

    rng = np.random.default_rng(0)
    series = _series(np.cumsum(rng.normal(size=60)) + 50)
    horizon, test = 4, 12  # 3 back-to-back windows from step 48
    setup = Setup("custom", "walk", lookback=8, horizon=horizon, season=1, naive_seasons=(1,))
    naive = [b for b in baselines(setup) if b.name == "Naive"]
    task = custom_task(series, replace(setup, every_origin=True), test_size=test, scale=False)
    phases = task.phases()
    assert [p.test_start for p in phases] == list(series.time_index[48:52])
    assert [p.n_windows for p in phases] == [3, 2, 2, 2]
    assert all(len(p.train[0]) >= 48 for p in phases) and phases[0] is task

    values = series.values()[:, 0]
    by_phase = []
    for start in range(48, 52):  # the naive forecast by hand: the last value, over whole windows only
        origins = range(start, 60 - horizon + 1, horizon)
        errors = np.concatenate([np.abs(values[t:t + horizon] - values[t - 1]) for t in origins])
        by_phase.append(errors.mean() / np.abs(np.diff(values[:start])).mean())
    every = pd.DataFrame(evaluate(task, naive, log=None).rows)
    assert every["mase"].item() == pytest.approx(np.mean(by_phase))
    once = pd.DataFrame(evaluate(custom_task(series, setup, test_size=test, scale=False), naive, log=None).rows)
    assert once["mase"].item() == pytest.approx(by_phase[0])
    assert by_phase[0] != pytest.approx(np.mean(by_phase))  # the phases differ: the option changes the score


def test_directional_accuracy_against_coin_flip_and_always_up():
    rng = np.random.default_rng(0)
    prices = _series(100 * np.exp(np.cumsum(rng.normal(0.001, 0.01, 60))))
    t0, horizon = 40, 5
    test_index = prices.time_index[t0:]
    perfect = TimeSeries.from_times_and_values(test_index, prices.values()[t0:])
    scores = metrics.direction([prices], [perfect], horizon)
    assert scores["dir_acc"] == 1.0 and scores["ret_mae"] == pytest.approx(0, abs=1e-12)
    last = np.repeat(prices.values()[t0 - 1 : -1 : horizon, 0], horizon)[:, None]
    walk = TimeSeries.from_times_and_values(test_index, last)
    scores = metrics.direction([prices], [walk], horizon)
    true_returns = np.diff(np.log(prices.values()[t0 - 1 :, 0]))
    assert scores["dir_acc"] == 0.5
    assert scores["always_up_acc"] == pytest.approx((true_returns > 0).mean())


def test_peak_memory_sees_torch_allocations():
    import torch

    with measure("cpu") as m:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB of float32
        block += 1
    del block
    assert m.seconds > 0
    if not math.isnan(m.peak_mb):  # Linux: measured; elsewhere reported as missing
        assert m.peak_mb >= 60


def test_indicator_covariates_stay_zero_one_and_the_rest_is_standardized():
    from rnn_forecast.evaluation.task import Setup, covariate_scaler, custom_task

    rng = np.random.default_rng(0)
    n = 400
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    rare = (rng.random(n) < 0.01).astype(np.float32)  # standardized, its ones would be ~10 sigma
    covariates = TimeSeries.from_times_and_values(
        index, np.c_[rare, 20 + 5 * rng.standard_normal(n)].astype(np.float32), columns=["holiday", "temp"])
    scaled = covariate_scaler(covariates[:300]).transform(covariates)
    assert scaled.components.tolist() == ["holiday", "temp"]
    np.testing.assert_array_equal(scaled["holiday"].values(), covariates["holiday"].values())
    train_temp = scaled["temp"][:300].values()
    assert abs(train_temp.mean()) < 1e-4 and abs(train_temp.std() - 1) < 1e-3
    assert covariate_scaler(covariates["holiday"]) is None  # nothing to scale

    target = TimeSeries.from_times_and_values(index, rng.standard_normal(n).astype(np.float32) * 100)
    setup = Setup("custom", "test", lookback=24, horizon=12, season=24, naive_seasons=(1,))
    task = custom_task(target, setup, past_covariates=covariates, future_covariates=covariates, test_size=0.2)
    for kind in (task.past_covariates, task.future_covariates):
        np.testing.assert_array_equal(kind[0]["holiday"].values(), covariates["holiday"].values())
        assert abs(kind[0]["temp"].values()[:300].mean()) < 0.2


def test_every_options_protocol_reads_variants_the_same_way():
    import argparse

    from benchmarks.options.variants import LONG_HORIZON, MAIN_JOB, parse

    assert parse("defaults", MAIN_JOB) == ({}, True)
    assert parse("no past covariates", MAIN_JOB) == ({}, False)
    assert parse("segments of 21", MAIN_JOB) == ({"segment_length": 21}, True)
    assert parse("no past covariates, segments of 6", MAIN_JOB) == ({"segment_length": 6}, False)
    with pytest.raises(argparse.ArgumentTypeError, match="unknown variant 'segments of eight'"):
        parse("segments of eight", MAIN_JOB)
    assert parse("normalization=mean_scale; segment_length=8;past=False", MAIN_JOB) == (
        {"normalization": "mean_scale", "segment_length": 8}, False)
    assert parse("hidden_fc_sizes=[64, 32];normalization=None;decoder='mlp'", MAIN_JOB) == (
        {"hidden_fc_sizes": [64, 32], "normalization": None, "decoder": "mlp"}, True)
    with pytest.raises(argparse.ArgumentTypeError, match="'segment_length 8' is not option=value"):
        parse("dropout=0.1;segment_length 8", MAIN_JOB)
    with pytest.raises(argparse.ArgumentTypeError, match="past must be True or False"):
        parse("past=0", MAIN_JOB)
    # the long-horizon protocol: its own names, the same grammar, fresh objects per run
    assert parse("auto segments, dropout 0.5", LONG_HORIZON) == ({"segment_length": "auto", "dropout": 0.5}, True)
    assert parse("segments of 36", LONG_HORIZON) == ({"segment_length": 36}, True)
    loss = parse("MSE loss", LONG_HORIZON)[0]["loss_fn"]
    assert isinstance(loss, torch.nn.MSELoss) and loss is not parse("MSE loss", LONG_HORIZON)[0]["loss_fn"]


def test_the_options_command_names_its_protocols(capsys):
    from benchmarks.options import main

    assert main(["sideways"]) == 2 and "{long-horizon,main-job,battery}" in capsys.readouterr().err
    assert main(["--help"]) == 0 and "main-job" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a typo fails before any data is read or any model trained
        main(["long-horizon", "--variants", "segments of eight"])
    assert "unknown variant 'segments of eight'" in capsys.readouterr().err
