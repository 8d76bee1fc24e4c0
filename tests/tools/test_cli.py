"""The README's main job: `rnn-forecast forecast` on real data."""

import pytest

from rnn_forecast.tools.cli import build_parser, main


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["etth1", "traffic"])
def test_forecast_command_scores_models_and_baselines(dataset, data_dir, capsys):
    argv = ["forecast", "--dataset", dataset, "--data-dir", str(data_dir), "--epochs", "1",
            "--max-length", "3000", "--lookback", "48", "--horizon", "24", "--hidden-dim", "16"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for name in ("LSTMForecaster", "GRUForecaster", "NaiveSeasonal(K=24)", "Naive (repeat last)"):
        line = next(line for line in out.splitlines() if line.startswith(name))
        mae, rmse = (float(x) for x in line[len(name):].split()[:2])
        assert 0 < mae <= rmse


@pytest.mark.slow
def test_readme_quickstart_runs(data_dir, tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"## Quickstart\s+```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.setenv("RNN_FORECAST_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["forecast"].n_timesteps == 72
    assert (namespace["same"].predict(n=72).values() == namespace["forecast"].values()).all()


# -- rnn-forecast forecast --csv on a 144-month series: automatic windows, baseline, dates ----------

FAST = ["--epochs", "1", "--hidden-dim", "8"]  # where a test is not about the training budget


def elnino_months(n: int = 144):
    """The last ``n`` months of El Nino sea surface temperatures (degC), shipped with statsmodels."""
    import pandas as pd
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR")  # one row per year, a column per month
    values = wide.to_numpy().ravel()
    index = pd.date_range(f"{int(wide.index[0])}-01-01", periods=values.size, freq="MS")
    return pd.Series(values, index=index, name="temp").iloc[-n:]


def write_csv(series, path, date_format=None):
    frame = series.rename_axis("month").reset_index()
    if date_format:
        frame["month"] = frame["month"].dt.strftime(date_format)
    frame.to_csv(path, index=False)
    return str(path)


def settings_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith("settings:"))


def table(out: str) -> dict[str, tuple[float, float]]:
    """``model -> (MAE, RMSE)`` from the printed table."""
    import re

    rows = re.findall(r"^(\S.*?) +(\d+\.\d+) +(\d+\.\d+) +\d+\.\d +(?:\d+|-)$", out, re.M)
    return {name: (float(mae), float(rmse)) for name, mae, rmse in rows}


def test_monthly_csv_runs_with_automatic_windows_and_calendar_season(tmp_path, capsys):
    path = write_csv(elnino_months(), tmp_path / "elnino.csv")
    assert main(["forecast", "--csv", path, *FAST]) == 0
    out = capsys.readouterr().out
    # 144 months: the last 20 % (29) cut to two forecasts of a year; 24 months back, 85 windows
    assert "144 steps (MS), train 120, test 24 (2 forecasts of 12 steps)" in out
    settings = settings_line(out)
    assert "horizon 12 (one season of MS steps)" in settings and "lookback 24 (2 horizons)" in settings
    assert "epochs 1 (given)" in settings and "baseline season 12 (calendar" in settings
    rows = table(out)
    assert set(rows) == {"LSTMForecaster", "GRUForecaster", "NaiveSeasonal(K=12)", "Naive (repeat last)"}
    assert all(0 < mae <= rmse for mae, rmse in rows.values())
    assert "over the last 24 steps, every test step: 2 non-overlapping 12-step forecasts" in out
    assert "Forecast of the next 12 steps (models trained on the first 120 steps)" in out


def test_cells_come_from_the_registry_and_an_unknown_one_is_named(tmp_path, capsys):
    path = write_csv(elnino_months(100), tmp_path / "short.csv")
    assert main(["forecast", "--csv", path, "--horizon", "7", "--lookback", "14", "--cells", "gru", "xlstm",
                 *FAST]) == 2
    err = capsys.readouterr().err
    assert "rnn-forecast: error:" in err and "'xlstm'" in err and "('lstm', 'gru')" in err
    args = build_parser().parse_args(["forecast", "--csv", path, "--horizon", "7", "--lookback", "14",
                                      "--cells", "gru", *FAST])
    assert [row["model"] for row in args.func(args)][:1] == ["GRUForecaster"]


def test_every_test_step_is_scored_once_by_every_model(tmp_path, capsys):
    path = write_csv(elnino_months(100), tmp_path / "short.csv")  # 20 test steps: not whole years
    args = build_parser().parse_args(["forecast", "--csv", path, "--horizon", "7", "--lookback", "14", *FAST])
    rows = args.func(args)
    out = capsys.readouterr().out
    assert "train 86, test 14 (2 forecasts of 7 steps)" in out  # 20 test steps cut to whole horizons
    assert {row["steps"] for row in rows} == {14}  # the backtests' own lengths
    assert "over the last 14 steps" in out


@pytest.mark.slow
def test_monthly_csv_with_the_automatic_budget_beats_naive(tmp_path, capsys):
    path = write_csv(elnino_months(), tmp_path / "elnino.csv")
    assert main(["forecast", "--csv", path]) == 0
    out = capsys.readouterr().out
    assert "epochs 300 (at most; 85 training windows, 1 batch(es) an epoch)" in settings_line(out)
    rows = table(out)
    naive = rows["Naive (repeat last)"]
    for cell in ("LSTMForecaster", "GRUForecaster"):
        assert rows[cell][0] < naive[0] and rows[cell][1] < naive[1]


def test_us_dates_need_and_accept_date_format(tmp_path, capsys):
    path = write_csv(elnino_months(), tmp_path / "us.csv", date_format="%m/%d/%Y")
    assert main(["forecast", "--csv", path, *FAST]) == 2
    err = capsys.readouterr().err
    assert "'01/01/1999' at data row 1" in err and "--date-format" in err
    assert "passing `format`" not in err and "format=" not in err.replace("date_format=", "")
    assert main(["forecast", "--csv", path, "--date-format", "%m/%d/%Y", *FAST]) == 0
    out = capsys.readouterr().out
    assert "144 steps (MS)" in out and "baseline season 12" in out


def test_window_errors_name_lookback_and_horizon(tmp_path, capsys):
    path = write_csv(elnino_months(), tmp_path / "elnino.csv")
    assert main(["forecast", "--csv", path, "--lookback", "144", "--horizon", "36"]) == 2  # the weather windows
    err = capsys.readouterr().err
    assert "has 144 steps, too few for the given --lookback 144 and --horizon 36" in err
    assert "test period of 29 steps is shorter than a horizon of 36" in err and "at least 216 steps" in err
    assert main(["forecast", "--csv", path, "--lookback", "144", "--horizon", "12"]) == 2
    err = capsys.readouterr().err
    assert "--lookback 144 and --horizon 12" in err and "training part of 120 steps" in err
    assert main(["forecast", "--csv", path, "--lookback", "144"]) == 2  # the automatic horizon: 12
    assert "--lookback 144 with" in capsys.readouterr().err


def test_too_short_series_says_what_it_has_and_needs(tmp_path, capsys):
    path = write_csv(elnino_months(14), tmp_path / "tiny.csv")
    assert main(["forecast", "--csv", path]) == 2
    err = capsys.readouterr().err
    assert "has 14 steps" in err and "at least 15" in err and "--lookback" in err and "--horizon" in err
    assert main(["forecast", "--csv", write_csv(elnino_months(15), tmp_path / "ok.csv"), *FAST]) == 0


@pytest.mark.parametrize("defect", ["dates", "short"])
def test_bad_file_fails_fast_without_importing_torch(tmp_path, defect):
    import json
    import subprocess
    import sys

    months = elnino_months(144 if defect == "dates" else 10)
    path = write_csv(months, tmp_path / "bad.csv", date_format="%m/%d/%Y" if defect == "dates" else None)
    code = ("import json, sys, time; began = time.perf_counter(); from rnn_forecast.tools.cli import main; "
            f"status = main(['forecast', '--csv', {path!r}]); seconds = time.perf_counter() - began; "
            "heavy = sorted(m for m in ('torch', 'darts', 'lightning', 'pytorch_lightning', 'sklearn') "
            "if m in sys.modules); print(json.dumps([status, seconds, heavy]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, seconds, heavy = json.loads(result.stdout)
    assert status == 2 and heavy == [], result.stderr
    assert result.stderr.startswith("rnn-forecast: error: ")
    # pandas and the file only: about 0.4 s on an idle core (importing torch alone takes seconds);
    # the bound leaves room for a loaded CI machine
    assert seconds < 3, seconds


def test_verdicts_report_mae_and_rmse_and_their_disagreement():
    from rnn_forecast.tools.cli import verdicts

    seasonal = {"model": "NaiveSeasonal(K=12)", "mae": 1.0, "rmse": 2.0}
    last = {"model": "Naive (repeat last)", "mae": 1.5, "rmse": 1.8}
    lstm = {"model": "LSTMForecaster", "mae": 0.9, "rmse": 1.7}
    gru = {"model": "GRUForecaster", "mae": 0.8, "rmse": 1.9}
    lines = verdicts([lstm, gru], [seasonal, last])
    assert lines[0] == ("The best baseline is NaiveSeasonal(K=12) on MAE but Naive (repeat last) on RMSE: "
                        "the two metrics disagree.")
    assert lines[1] == ("LSTMForecaster beats NaiveSeasonal(K=12) on MAE (0.9000 vs 1.0000) and beats "
                        "Naive (repeat last) on RMSE (1.7000 vs 1.8000).")
    assert lines[2].startswith("GRUForecaster beats NaiveSeasonal(K=12) on MAE (0.8000 vs 1.0000) but LOSES TO "
                               "Naive (repeat last) on RMSE (1.9000 vs 1.8000): the two metrics disagree")
    assert lines[3] == ("The better cell: GRUForecaster on MAE but LSTMForecaster on RMSE: "
                        "the two metrics disagree.")
    one = verdicts([{"model": "GRUForecaster", "mae": 1.2, "rmse": 2.1}], [seasonal])
    assert one == ["GRUForecaster LOSES TO NaiveSeasonal(K=12) on MAE (1.2000 vs 1.0000) and on RMSE "
                   "(2.1000 vs 2.0000)."]


# -- the automatic settings (rnn_forecast.tools.cli_settings) ------------------------------------------


@pytest.mark.parametrize("n, freq, horizon, lookback", [
    (144, "MS", 12, 24),       # a year ahead, two years back
    (60, "MS", 6, 12),         # half the 12-step test period; a season back
    (203, "QS-JAN", 4, 8),
    (172, "W-SUN", 13, 52),    # a quarter ahead, a year back
    (17420, "h", 24, 168),     # a day ahead, a week back
    (1000, "D", 7, 14),
    (309, "YS", 6, 12),        # no calendar season
])
def test_automatic_windows(n, freq, horizon, lookback):
    from rnn_forecast.tools.cli_settings import choose_settings

    settings = choose_settings(n, freq, 0.2)
    assert (settings.horizon, settings.lookback) == (horizon, lookback)
    assert settings.n_test % settings.horizon == 0 and settings.n_test >= 2 * settings.horizon
    assert settings.windows == settings.n_train - settings.lookback - settings.horizon + 1


def test_automatic_settings_for_144_months_leave_enough_windows_and_given_values_win():
    from rnn_forecast.tools.cli_settings import WANTED_WINDOWS, choose_settings

    auto = choose_settings(144, "MS", 0.2)
    assert auto.windows >= WANTED_WINDOWS and auto.reasons["lookback"] == "2 horizons"
    given = choose_settings(144, "MS", 0.2, horizon=6, lookback=30, epochs=7)
    assert (given.horizon, given.lookback, given.epochs) == (6, 30, 7)
    assert set(given.reasons.values()) == {"given"}
    longer = choose_settings(144, "MS", 0.2, horizon=24)  # two horizons (48) would leave 25 windows
    assert (longer.lookback, longer.windows) == (47, WANTED_WINDOWS)
    assert choose_settings(144, "MS", 0.2, horizon=3).lookback == 12  # at least a season
    # epochs: many for a short series (one batch an epoch), few for a long one
    assert choose_settings(144, "MS", 0.2).epochs > choose_settings(17420, "h", 0.2).epochs >= 3


def test_help_states_the_rule_the_code_applies():
    from rnn_forecast.tools import cli_settings as rule

    text = " ".join(build_parser()._subparsers._group_actions[0].choices["forecast"].format_help().split())
    for phrase in (f"{rule.LOOKBACK_HORIZONS} horizons", f"up to {rule.MAX_LOOKBACK} steps",
                   f"at most {rule.MAX_HORIZON})", f"leave {rule.WANTED_WINDOWS} training windows",
                   f"fewer than {rule.MIN_WINDOWS} windows", f"about {rule.TARGET_STEPS} batches",
                   f"{rule.MIN_EPOCHS} to {rule.MAX_EPOCHS} epochs", f"{rule.FALLBACK_HORIZON} without a calendar",
                   f"lookback {rule.MIN_LOOKBACK}, {rule.MIN_WINDOWS} training windows"):
        assert phrase in text, phrase
