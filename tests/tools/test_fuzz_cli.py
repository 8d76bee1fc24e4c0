"""The CLI's CSV input, ``rnn-forecast forecast --csv``: real data, then fuzzing (hypothesis).

Fuzzed files have random lengths, frequencies, column layouts and at most one drawn
defect (a duplicated, empty, unparsable or missing timestamp, an empty, non-numeric or
huge value, a text column, shuffled rows, a missing header). Some use a column as past
covariates; some leave the lookback and the horizon to the command's automatic choice.
The command must either print a scored table (both cells and the baselines, finite
errors, every test step scored) and return 0, or raise one of the documented input
errors from rnn_forecast's or Darts' own checks, which ``main`` prints as
``rnn-forecast: error: ...`` with exit status 2; a series too short for the windows
is refused with a message that names ``--lookback`` and ``--horizon``.

Timestamps in other formats (US dates, day-first, month names, digits only) are read
with ``date_format=`` exactly, and refused without it by a message that points at
``--date-format``; the automatic windows are checked for any length and frequency.
"""

from __future__ import annotations

import traceback

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnn_forecast import datasets as ds
from rnn_forecast.tools.cli import build_parser, main

WINDOWS = ["--lookback", "4", "--horizon", "2"]
FAST = [*WINDOWS, "--epochs", "1", "--hidden-dim", "4", "--batch-size", "16", "--test-fraction", "0.3"]
MODELS = ("LSTMForecaster", "GRUForecaster", "Naive (repeat last)")


def scores(out: str) -> dict[str, tuple[float, float]]:
    rows = {}
    for line in out.splitlines():
        name = next((m for m in MODELS if line.startswith(m + " ")), None)
        if name is None and line.startswith("NaiveSeasonal(K="):
            name = line.split()[0]
        if name and name not in rows:
            rows[name] = tuple(float(x) for x in line[len(name):].split()[:2])
    return rows


def test_csv_of_real_data_is_forecast_scored_and_plotted(data_dir, tmp_path, capsys):
    frame = ds.load_etth1(data_dir, columns=["OT", "HUFL"]).target[:1500].to_dataframe()
    path = tmp_path / "etth1.csv"
    frame.rename_axis("stamp").reset_index()[["HUFL", "stamp", "OT"]].to_csv(path, index=False)
    plot = tmp_path / "plot.png"
    argv = ["forecast", "--csv", str(path), "--time-col", "stamp", "--target", "OT", "--covariates", "HUFL",
            "--lookback", "48", "--horizon", "24", "--epochs", "1", "--hidden-dim", "16", "--plot", str(plot)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "past covariates ['HUFL']" in out
    rows = scores(out)
    seasonal = [name for name in rows if name.startswith("NaiveSeasonal(K=")]
    assert set(rows) == {*MODELS, *seasonal} and len(seasonal) == 1
    assert int(seasonal[0][len("NaiveSeasonal(K="):-1]) > 1  # a season was detected
    assert all(0 < mae <= rmse for mae, rmse in rows.values())
    assert "LSTMForecaster beats" in out or "LSTMForecaster LOSES TO" in out
    # 300 test steps cut to 12 whole days; the next 24 hours after the file's last row, one column per cell
    assert "train 1212, test 288 (12 forecasts of 24 steps)" in out
    lines = out.split("Forecast of the next 24 steps (models trained on the first 1212 steps):\n")[1].splitlines()
    assert lines[0].split() == ["LSTMForecaster:OT", "GRUForecaster:OT"]
    stamps = [pd.Timestamp(" ".join(line.split()[:2])) for line in lines[2:26]]
    assert stamps == list(pd.date_range(frame.index[-1] + pd.Timedelta(hours=1), periods=24, freq="h"))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_and_version_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from rnn_forecast.tools.cli import build_parser; p = build_parser(); p.format_help(); "
            "print(sorted(m for m in ('torch', 'darts', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    version = subprocess.run([sys.executable, "-m", "rnn_forecast", "--version"], capture_output=True, text=True)
    from rnn_forecast import __version__

    assert version.returncode == 0 and version.stdout.strip() == f"rnn-forecast {__version__}"


def test_covariates_need_a_csv(capsys):
    assert main(["forecast", "--dataset", "etth1", "--covariates", "HUFL"]) == 2
    assert "--covariates names columns of --csv" in capsys.readouterr().err


def test_refused_csv_is_one_line_on_stderr_with_status_2(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("time,y\n2021-01-01,1\n2021-01-01,2\n2021-01-02,3\n")
    assert main(["forecast", "--csv", str(path), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnn-forecast: error: ") and "duplicated timestamp" in err
    assert "Traceback" not in err


DEFECTS = {
    # defect: message fragments any of which the error must contain
    "duplicate_time": ["duplicated timestamp"],
    "empty_time": ["empty timestamp"],
    "bad_time": ["not ISO 8601"],
    "gap": ["not evenly spaced", "missing", "too few"],
    "empty_value": ["empty or NaN"],
    "text_value": ["non-numeric", "empty or NaN"],  # pandas reads "n/a" as NaN
    "huge_value": ["beyond float32"],
    "no_header": ["not a header"],
    "too_short": ["--lookback", "too few to infer a frequency"],  # window errors name --lookback/--horizon
}
FREQS = ["h", "D", "15min", "MS", "W-SUN"]


@st.composite
def csv_files(draw):
    freq = draw(st.sampled_from(FREQS))
    length = draw(st.integers(3, 60))
    width = draw(st.integers(1, 3))
    index = pd.date_range("2021-01-04", periods=length, freq=freq)
    t = np.arange(length)[:, None]
    values = 100 * (1 + np.sin(t / 2 + np.arange(width))) + draw(st.floats(-1e3, 1e3))
    frame = pd.DataFrame(values, columns=[f"v{i}" for i in range(width)])
    frame.insert(0, "time", index.strftime("%Y-%m-%d %H:%M:%S"))
    text_column = draw(st.booleans())
    if text_column:
        frame["site"] = "north"
    possible = ["duplicate_time", "empty_time", "bad_time", "gap", "empty_value", "text_value",
                "huge_value", "no_header"]
    defect = draw(st.sampled_from([None] * len(possible) + possible))
    row = draw(st.integers(1, length - 2))
    column = draw(st.sampled_from([f"v{i}" for i in range(width)]))
    frame = frame.astype({column: object})
    if defect == "duplicate_time":
        frame.loc[row, "time"] = frame.loc[row - 1, "time"]
    elif defect == "empty_time":
        frame.loc[row, "time"] = ""
    elif defect == "bad_time":
        frame.loc[row, "time"] = draw(st.sampled_from(["yesterday", "2021-13-01", "31/01/2021 10:00"]))
    elif defect == "gap":
        frame = frame.drop(index=row)
    elif defect == "empty_value":
        frame.loc[row, column] = ""
    elif defect == "text_value":
        frame.loc[row, column] = draw(st.sampled_from(["n/a", "12,5", "-", "abc"]))
    elif defect == "huge_value":
        frame.loc[row, column] = draw(st.sampled_from(["1e39", "-1e300", "inf"]))
    if draw(st.booleans()):  # shuffled rows are sorted, not refused
        frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 99)))
    text = frame.to_csv(index=False, header=defect != "no_header")
    covariates = [f"v{width - 1}"] if width > 1 and draw(st.booleans()) else None
    values = [f"v{i}" for i in range(width - bool(covariates))]
    columns = values if text_column or draw(st.booleans()) else None
    freq_arg = draw(st.sampled_from([None, freq]))
    return {"text": text, "defect": defect, "columns": columns, "covariates": covariates, "freq": freq_arg,
            "length": length, "automatic": draw(st.booleans())}


def check_csv(case, tmp_path):
    path = tmp_path / "series.csv"
    path.write_text(case["text"])
    argv = ["forecast", "--csv", str(path), *(FAST[len(WINDOWS):] if case["automatic"] else FAST)]
    argv += ["--columns", *case["columns"]] if case["columns"] else []
    argv += ["--covariates", *case["covariates"]] if case["covariates"] else []
    argv += ["--freq", case["freq"]] if case["freq"] else []
    args = build_parser().parse_args(argv)
    event(f"defect: {case['defect']}")
    try:
        rows = args.func(args)
    except (ds.DatasetError, ValueError, TypeError) as exc:
        expected = DEFECTS[case["defect"] or "too_short"]
        if case["defect"] is None:  # only a series too short for the windows may be refused
            event(f"refused clean file of {case['length']} rows")
        assert any(fragment in str(exc) for fragment in expected), (case["defect"], str(exc))
        if "--lookback" in str(exc):
            assert "--horizon" in str(exc) and "too few to infer" not in str(exc), str(exc)
        origin = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
        assert "/rnn_forecast/" in origin or origin.endswith("darts/logging.py"), (origin, str(exc))
        event(f"refused: {type(exc).__name__}")
        return
    assert case["defect"] is None, f"{case['defect']} was not refused"
    assert [r["model"] for r in rows][:2] == ["LSTMForecaster", "GRUForecaster"]
    assert all(np.isfinite(r["mae"]) and np.isfinite(r["rmse"]) for r in rows)
    assert len({r["steps"] for r in rows}) == 1  # every model scored on the same test steps
    event(f"forecast and scored ({'automatic' if case['automatic'] else 'given'} windows)")


@settings(max_examples=20, deadline=None, derandomize=True,  # the same examples every CI run
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=csv_files())
def test_any_csv_is_forecast_or_refused_clearly(case, tmp_path_factory):
    check_csv(case, tmp_path_factory.mktemp("csv"))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=csv_files())
def test_any_csv_is_forecast_or_refused_clearly_many_examples(case, tmp_path_factory):
    check_csv(case, tmp_path_factory.mktemp("csv"))


# -- timestamps in other formats: --date-format / date_format= --------------------------------------

DATE_FORMATS = {
    # format: does it show the time of day (needed for sub-daily steps)
    "%m/%d/%Y": False,               # US: 04/30/2021
    "%d.%m.%Y": False,               # day first: 30.04.2021
    "%d-%b-%Y": False,               # month names: 30-Apr-2021
    "%Y%m%d": False,                 # digits only: read by pandas as a number
    "%m/%d/%Y %I:%M %p": True,       # 04/30/2021 01:00 PM
    "%d.%m.%Y %H:%M": True,
    "%Y%m%d%H%M": True,
}


@st.composite
def dated_files(draw):
    fmt = draw(st.sampled_from(sorted(DATE_FORMATS)))
    freq = draw(st.sampled_from(FREQS if DATE_FORMATS[fmt] else ["D", "MS", "W-SUN"]))
    length = draw(st.integers(3, 40))
    index = pd.date_range(draw(st.sampled_from(["1999-12-27", "2021-04-30", "2024-02-26"])), periods=length,
                          freq=freq)
    stamps = list(index.strftime(fmt))
    defect = draw(st.sampled_from([None, None, "empty", "other_format"]))
    row = draw(st.integers(0, length - 1))
    if defect == "empty":
        stamps[row] = ""
    elif defect == "other_format":
        stamps[row] = index[row].strftime("%Y-%m-%dT%H:%M:%S")
    text = pd.DataFrame({"when": stamps, "y": np.arange(length, dtype=float)}).to_csv(index=False)
    return {"text": text, "format": fmt, "index": index, "defect": defect, "row": row, "freq": freq}


def check_dates(case, path):
    path.write_text(case["text"])
    event(f"defect: {case['defect']}")
    try:
        data = ds.load_csv(path, date_format=case["format"], freq=case["freq"] if len(case["index"]) < 3 else None)
    except ds.SchemaError as exc:
        message = str(exc)
        assert case["defect"] is not None, message
        if case["defect"] == "empty":
            assert f"empty timestamp at data row {case['row'] + 1}" in message, message
        else:
            assert f"at data row {case['row'] + 1}" in message and "--date-format" in message, message
        assert "passing `format`" not in message
        return
    assert case["defect"] is None, f"{case['defect']} was not refused"
    assert list(data.target.time_index) == list(case["index"])
    frames = ds.load_csv(path, date_format=case["format"], freq=case["freq"] if len(case["index"]) < 3 else None,
                         as_frames=True)  # the same checks, pandas frames (what the command line reads)
    assert type(frames).__name__ == "CsvTable" and frames.freq == data.target.freq_str
    assert np.array_equal(frames.target.to_numpy(float).ravel(), data.target.values().ravel())
    try:  # without the format: the same timestamps (ISO-like formats), or a pointer to --date-format
        same = ds.load_csv(path, freq=case["freq"] if len(case["index"]) < 3 else None)
    except ds.SchemaError as exc:
        assert "date_format=" in str(exc) and "--date-format" in str(exc), str(exc)
        assert "passing `format`" not in str(exc)
        event("refused without date_format")
    else:
        assert list(same.target.time_index) == list(case["index"]), case["format"]
        event("read without date_format too")


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=dated_files())
def test_any_date_format_is_read_exactly_or_refused_clearly(case, tmp_path):
    check_dates(case, tmp_path / "dates.csv")


def test_a_malformed_date_format_is_an_input_error(tmp_path, capsys):
    path = tmp_path / "us.csv"
    path.write_text("when,y\n04/30/2021,1\n05/01/2021,2\n05/02/2021,3\n")
    assert main(["forecast", "--csv", str(path), "--date-format", "%Q", *FAST]) == 2
    assert "is not a strftime format" in capsys.readouterr().err


# -- the automatic windows for any length, frequency and test fraction ----------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(n=st.integers(2, 5000), freq=st.sampled_from(["h", "30min", "10min", "D", "B", "W-SUN", "MS", "QS-JAN",
                                                      "YS", "2D"]),
       test_fraction=st.sampled_from([0.1, 0.2, 0.3, 0.5]))
def test_automatic_windows_fit_or_say_what_is_needed(n, freq, test_fraction):
    from rnn_forecast.adapter.seasonality import calendar_seasons
    from rnn_forecast.tools.cli_settings import (
        MAX_EPOCHS,
        MAX_LOOKBACK,
        MIN_EPOCHS,
        MIN_LOOKBACK,
        MIN_WINDOWS,
        WindowError,
        choose_settings,
        minimum_length,
    )

    try:
        s = choose_settings(n, freq, test_fraction)
    except WindowError as exc:
        message = str(exc)
        assert f"has {n} steps" in message and "--lookback" in message and "--horizon" in message
        assert n < minimum_length(freq, test_fraction)
        event("refused: too short")
        return
    assert n >= minimum_length(freq, test_fraction)
    assert s.n_train + s.n_test == n and s.n_test % s.horizon == 0 and s.n_test >= 2 * s.horizon
    assert MIN_LOOKBACK <= s.lookback <= MAX_LOOKBACK and s.windows >= MIN_WINDOWS
    assert s.windows == s.n_train - s.lookback - s.horizon + 1
    assert MIN_EPOCHS <= s.epochs <= MAX_EPOCHS
    season = min(calendar_seasons(freq), default=1)
    if s.lookback < season:  # below the season only when the series is short
        assert s.windows == MIN_WINDOWS
    event("fits")
