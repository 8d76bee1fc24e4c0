"""Tests of rnn_forecast.datasets on the real benchmark files.

The files are read from $RNN_FORECAST_DATA, else from <repo root>/../shared/datasets.
If neither holds them the data-dependent tests FAIL (not skip): a green run must mean
the loaders were exercised on the real data. Downloads are tested against a local
HTTP server on 127.0.0.1 and file:// URLs only; any other URL makes a test fail.
"""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import io
import re
import threading
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from darts import TimeSeries
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_forecast import datasets as ds
from rnn_forecast.datasets import _download
from rnn_forecast.datasets._common import run_lengths

ETTH1 = ("etth1", "ETTh1.csv")


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch, tmp_path):
    """Keep every test off the internet and out of the real user cache."""
    real_send = requests.adapters.HTTPAdapter.send

    def local_only(self, request, *args, **kwargs):
        assert urllib.parse.urlsplit(request.url).hostname == "127.0.0.1", (
            f"network access to {request.url}"
        )
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", local_only)
    monkeypatch.setattr(_download, "RETRIES", 0)  # pooch would wait seconds between tries
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(ds.DATA_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def traffic(data_dir):
    return ds.load_traffic(data_dir)


@pytest.fixture(scope="module")
def weather(data_dir):
    return ds.load_weather(data_dir)


@pytest.fixture(scope="module")
def weather_raw(data_dir):
    return ds.load_weather(data_dir, raw_order=True)


@pytest.fixture(scope="module")
def stocks(data_dir):
    return ds.load_stocks(data_dir=data_dir)


@pytest.fixture(scope="module")
def etth1(data_dir):
    return ds.load_etth1(data_dir)


@pytest.fixture(scope="module")
def etth1_csv(data_dir) -> bytes:
    return gzip.decompress((data_dir / "etth1" / "ETTh1.csv.gz").read_bytes())


def _assert_clean(series: TimeSeries) -> None:
    assert series.dtype == np.float32
    assert not np.isnan(series.values(copy=False)).any()


def _note(data: ds.ForecastData, pattern: str) -> str:
    matches = [n for n in data.notes if re.search(pattern, n)]
    assert matches, f"no note matches {pattern!r} in {data.notes}"
    return matches[0]


# ------------------------------------------------------------------------------ traffic


def test_traffic_target_is_the_segment_after_the_long_gap(traffic):
    target = traffic.target
    assert target.freq_str == "h"
    assert target.components.tolist() == ["traffic_volume"]
    assert target.start_time() == pd.Timestamp("2015-06-11 20:00")
    assert target.end_time() == pd.Timestamp("2018-09-30 23:00")
    assert len(target) == 28_972
    _assert_clean(target)
    assert target.values().min() >= 0


def test_traffic_covariates_are_aligned_and_clean(traffic):
    past, future = traffic.past_covariates, traffic.future_covariates
    assert past.components.tolist()[:4] == ["temp", "rain_1h", "snow_1h", "clouds_all"]
    assert "weather_Rain" in past.components and "traffic_volume_imputed" in past.components
    assert future.components.tolist() == [
        "hour_sin", "hour_cos", "day_of_week_sin", "day_of_week_cos",
        "month_sin", "month_cos", "holiday",
    ]
    for cov in (past, future):
        assert cov.time_index.equals(traffic.target.time_index)
        _assert_clean(cov)
    temp = past["temp"].values()
    assert temp.min() > 200  # the 0 K sensor zeros were removed
    assert past["rain_1h"].values().max() < 300  # and the 9831 mm reading
    weather_flags = past[[c for c in past.components if c.startswith("weather_")]].values()
    assert set(np.unique(weather_flags)) <= {0.0, 1.0}
    assert (weather_flags.sum(axis=1) >= 1).all()  # every hour has a condition


def test_traffic_holiday_covers_the_whole_day(traffic):
    holiday = traffic.future_covariates["holiday"].to_series()
    # The file names observed holidays: Christmas 2016 (a Sunday) on Monday 26.
    assert holiday["2016-12-26"].eq(1).all() and len(holiday["2016-12-26"]) == 24
    assert holiday["2016-12-25"].eq(0).all()
    assert holiday["2017-07-04"].eq(1).all()
    assert holiday["2016-08-25"].eq(1).all()  # Minnesota State Fair, not federal
    assert holiday["2016-01-18"].eq(1).all()  # MLK day: midnight row missing in the file
    per_day = holiday.groupby(holiday.index.normalize()).agg(["min", "max"])
    assert (per_day["min"] == per_day["max"]).all()  # never only part of a day


def test_traffic_notes_report_the_cleaning(traffic):
    assert "7,629 extra rows" in _note(traffic, "Duplicated timestamps")
    assert "differed within 0 duplicated hours" in _note(traffic, "Duplicated timestamps")
    assert "10 temp values" in _note(traffic, "Impossible readings")
    assert "53 holidays named" in _note(traffic, "holiday")
    assert "12 US federal holidays" in _note(traffic, "holiday")
    assert "11,976 of them missing" in _note(traffic, "Regularized to hourly")
    filled = _note(traffic, "Filled in the returned data")
    assert "1,799 hours in 1,664 gaps" in filled and "496 hours in 28 gaps" in filled
    imputed = traffic.past_covariates["traffic_volume_imputed"].values().sum()
    assert imputed == 1_799 + 496


def test_traffic_all_segments(data_dir):
    data = ds.load_traffic(data_dir, segment="all")
    assert [len(t) for t in data.target] == [9_353, 6_598, 28_972]
    assert data.target[0].start_time() == pd.Timestamp("2012-10-02 09:00")
    for target, past, future in zip(
        data.target, data.past_covariates, data.future_covariates, strict=True
    ):
        assert target.time_index.equals(past.time_index)
        assert target.time_index.equals(future.time_index)
        _assert_clean(target)
        _assert_clean(past)


def test_traffic_without_seasonal_fill_returns_longest_clean_stretch(data_dir):
    data = ds.load_traffic(data_dir, seasonal_fill_limit=3)
    assert len(data.target) == 7_001
    assert data.target.start_time() == pd.Timestamp("2016-04-27 23:00")
    _assert_clean(data.target)


def test_traffic_rejects_bad_options(data_dir):
    with pytest.raises(ds.UnknownNameError, match="segment"):
        ds.load_traffic(data_dir, segment="first")
    with pytest.raises(ValueError, match="interpolate_limit"):
        ds.load_traffic(data_dir, interpolate_limit=10, seasonal_fill_limit=5)


# ------------------------------------------------------------------------------ weather


def test_weather_regular_index(weather):
    target = weather.target
    assert target.freq_str == "10min"
    assert target.start_time() == pd.Timestamp("2020-01-01 00:10")
    assert target.end_time() == pd.Timestamp("2021-01-01 00:00")
    assert len(target) == 52_704 and target.n_components == 21
    assert target.components.tolist() == ds.WEATHER_COLUMNS
    assert "SWDR (W/m\u00b2)" in target.components  # header mojibake repaired
    _assert_clean(target)
    assert target.values().min() > -9000  # -9999 missing-value codes interpolated
    assert weather.past_covariates is None and weather.future_covariates is None


def test_weather_notes(weather):
    assert "1 duplicated timestamp(s) removed" in _note(weather, "duplicated")
    assert "2020-05-12 06:00:00" in _note(weather, "duplicated")
    assert "9 missing step(s) in 1 gap(s)" in _note(weather, "regularized")
    assert "81 cells" in _note(weather, "-9999")


def test_weather_raw_order_keeps_the_file_rows(weather_raw, data_dir):
    target = weather_raw.target
    assert len(target) == 52_696 and target.n_components == 21
    assert isinstance(target.time_index, pd.RangeIndex)
    raw = pd.read_csv(data_dir / "weather" / "weather.csv.gz", encoding="latin-1")
    np.testing.assert_allclose(target.values(), raw.iloc[:, 1:].to_numpy(), rtol=1e-6)
    stamps = target.metadata["timestamps"]
    assert stamps[19043] == stamps[19044] == pd.Timestamp("2020-05-12 06:00")
    assert (target.values() == -9999).sum() == 81  # kept, as in the published tables


def test_weather_columns_subset(data_dir):
    data = ds.load_weather(data_dir, columns=["OT", "T (degC)"])
    assert data.target.components.tolist() == ["OT", "T (degC)"]
    with pytest.raises(ds.UnknownNameError, match=r"'T \(degC\)'"):
        ds.load_weather(data_dir, columns=["T (C)"])


# ------------------------------------------------------------------------------- stocks


def test_stocks_all_tickers(stocks):
    assert len(stocks.target) == len(stocks.series_names) == 505
    assert stocks.series_names == sorted(stocks.series_names)
    for series, name in zip(stocks.target, stocks.series_names, strict=True):
        assert series.metadata["ticker"] == name
        assert series.freq_str == "B"
        assert series.components.tolist() == ["close"]
        _assert_clean(series)
    aal = stocks.target[stocks.series_names.index("AAL")]
    assert aal.start_time() == pd.Timestamp("2013-02-08")
    assert aal.end_time() == pd.Timestamp("2018-02-07")
    assert len(aal) == 1_304
    aptv = stocks.target[stocks.series_names.index("APTV")]
    assert aptv.start_time() == pd.Timestamp("2017-12-05")  # listed later: not back-filled
    assert stocks.past_covariates is None


def test_stocks_notes(stocks):
    assert "45 exchange holidays" in _note(stocks, "exchange holidays")
    assert "11 rows with missing open/high/low" in _note(stocks, "open/high/low")
    assert "51 ticker-days missing for that ticker only" in _note(stocks, "no-trade")
    assert "29 start after 2013-02-08" in _note(stocks, "start after")


def test_stocks_fill_policy(data_dir):
    data = ds.load_stocks(["AAPL"], fields=("open", "close", "volume"), data_dir=data_dir)
    frame = data.target[0].to_dataframe()
    christmas = frame.loc["2017-12-25"]  # exchange holiday: a no-trade day
    before = frame.loc["2017-12-22"]
    assert christmas["open"] == christmas["close"] == before["close"]
    assert christmas["volume"] == 0


def test_stocks_subset_and_log_returns(data_dir):
    prices = ds.load_stocks(["msft", "AAPL"], fields=("close", "volume"), data_dir=data_dir)
    returns = ds.load_stocks(
        ["MSFT", "AAPL"], fields=("close", "volume"), log_returns=True, data_dir=data_dir
    )
    assert returns.series_names == ["MSFT", "AAPL"]
    for p, r in zip(prices.target, returns.target, strict=True):
        assert len(r) == len(p) - 1
        assert r.start_time() == p.time_index[1]
        close = p["close"].values()[:, 0].astype(np.float64)
        np.testing.assert_allclose(r["close"].values()[:, 0], np.diff(np.log(close)), atol=1e-6)
        np.testing.assert_array_equal(r["volume"].values(), p["volume"].values()[1:])
        _assert_clean(r)


def test_stocks_unknown_ticker_lists_close_matches(data_dir):
    with pytest.raises(ds.UnknownNameError, match="AAPL") as info:
        ds.load_stocks(["APPL"], data_dir=data_dir)
    assert "close matches" in str(info.value)
    with pytest.raises(ds.UnknownNameError, match="close"):
        ds.load_stocks(["AAPL"], fields=("closing",), data_dir=data_dir)


# -------------------------------------------------------------------------------- ETTh1


def test_etth1(etth1):
    target = etth1.target
    assert (len(target), target.n_components) == (17_420, 7)
    assert target.components.tolist() == ds.ETTH1_COLUMNS
    assert target.freq_str == "h"
    assert target.start_time() == pd.Timestamp("2016-07-01 00:00")
    assert target.end_time() == pd.Timestamp("2018-06-26 19:00")
    _assert_clean(target)
    assert "no gaps" in _note(etth1, "gaps")


def test_etth1_columns(data_dir):
    assert ds.load_etth1(data_dir, columns=["OT"]).target.components.tolist() == ["OT"]


# -------------------------------------------------------------------------------- split


@pytest.mark.parametrize("lookback", [96, 336, 512])
def test_ltsf_split_weather_borders(weather_raw, lookback):
    split = ds.ltsf_split(weather_raw, "weather", lookback)
    assert split.borders == {
        "train": (0, 36_887),
        "val": (36_887 - lookback, 42_157),
        "test": (42_157 - lookback, 52_696),
    }
    assert len(split.train) == 36_887
    assert len(split.val) == 42_157 - (36_887 - lookback)
    assert len(split.test) == 52_696 - (42_157 - lookback)
    assert split.test.time_index[0] == 42_157 - lookback


@pytest.mark.parametrize("lookback", [96, 336])
def test_ltsf_split_etth1_borders(etth1, lookback):
    split = ds.ltsf_split(etth1.target, "etth1", lookback)
    assert (len(split.train), len(split.val), len(split.test)) == (
        8_640,
        2_880 + lookback,
        2_880 + lookback,
    )
    assert split.test.end_time() == etth1.target.time_index[14_399]  # later rows unused
    assert split.val.start_time() == etth1.target.time_index[8_640 - lookback]


def test_ltsf_split_scaler_fitted_on_train_only(etth1):
    split = ds.ltsf_split(etth1, "etth1", 96)
    train = split.train.values().astype(np.float64)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-4)
    raw = etth1.target.values().astype(np.float64)
    expected_test = (raw[11_520 - 96 : 14_400] - raw[:8_640].mean(0)) / raw[:8_640].std(0)
    np.testing.assert_allclose(split.test.values(), expected_test, atol=1e-4)
    back = split.scaler.inverse_transform(split.test)
    np.testing.assert_allclose(back.values(), raw[11_520 - 96 : 14_400], rtol=1e-4, atol=1e-3)
    unscaled = ds.ltsf_split(etth1, "etth1", 96, scale=False)
    np.testing.assert_array_equal(unscaled.test.values(), etth1.target.values()[11_424:14_400])


def test_ltsf_split_rejects_misuse(weather, etth1):
    with pytest.raises(ValueError, match="raw_order=True"):
        ds.ltsf_split(weather, "weather", 96)
    with pytest.raises(ValueError, match="lookback"):
        ds.ltsf_split(etth1, "etth1", 9_000)
    with pytest.raises(ds.UnknownNameError, match="dataset"):
        ds.ltsf_split(etth1, "ETTm1", 96)
    with pytest.raises(ValueError, match="14400"):
        ds.ltsf_split(etth1.target[:10_000], "etth1", 96)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(10, 200_000), data=st.data())
def test_ltsf_borders_partition_the_scored_rows(n, data):
    borders = ds.ltsf_borders(n, "custom", 0)
    lookback = data.draw(st.integers(0, borders["train"][1]))
    borders = ds.ltsf_borders(n, "custom", lookback)
    (t0, t1), (v0, v1), (s0, s1) = borders["train"], borders["val"], borders["test"]
    # Scored rows (after the lookback) tile [0, n) without overlap.
    assert (t0, v0 + lookback, s0 + lookback, s1) == (0, t1, v1, n)
    assert t1 == int(n * 0.7) and s1 - (s0 + lookback) == int(n * 0.2)


@given(st.lists(st.booleans(), max_size=60))
def test_run_lengths(mask):
    lengths = run_lengths(np.array(mask, dtype=bool))
    for i, missing in enumerate(mask):
        if not missing:
            assert lengths[i] == 0
            continue
        start = i
        while start > 0 and mask[start - 1]:
            start -= 1
        stop = i
        while stop < len(mask) and mask[stop]:
            stop += 1
        assert lengths[i] == stop - start


def test_summary_command(data_dir, capsys):
    from rnn_forecast.datasets.__main__ import main

    main(["--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert "== stocks: loaded in" in out and "505 series, 47 .. 1304 steps" in out
    assert "ltsf_split(weather, lookback=96): {'train': '36887 rows (0, 36887)'" in out


# ------------------------------------------------------------- locating files and errors


def test_registry_checksums_match_the_shared_readme(data_dir):
    readme = (data_dir / "README.md").read_text(encoding="utf-8")
    for spec in ds.FILES.values():
        row = next(
            line
            for line in readme.splitlines()
            if line.startswith(f"| {spec.folder}/{spec.filename}")
        )
        assert spec.sha256 in row


def test_missing_file_error_lists_paths(tmp_path):
    with pytest.raises(ds.DatasetNotFoundError) as info:
        ds.load_etth1(tmp_path)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "etth1" / "ETTh1.csv.gz") in message
    assert ds.DATA_ENV_VAR in message


def test_env_var_is_used_and_never_downloads(monkeypatch, tmp_path, data_dir):
    monkeypatch.setenv(ds.DATA_ENV_VAR, str(data_dir))
    assert len(ds.load_etth1().target) == 17_420
    monkeypatch.setenv(ds.DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(ds.DatasetNotFoundError, match=re.escape(f"${ds.DATA_ENV_VAR}")):
        ds.load_etth1()


def test_plain_csv_and_flat_layout_are_accepted(tmp_path, etth1_csv, data_dir):
    (tmp_path / "etth1").mkdir()
    (tmp_path / "etth1" / "ETTh1.csv").write_bytes(etth1_csv)
    assert len(ds.load_etth1(tmp_path).target) == 17_420
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "ETTh1.csv.gz").write_bytes((data_dir / "etth1" / "ETTh1.csv.gz").read_bytes())
    assert len(ds.load_etth1(flat).target) == 17_420


def test_bad_checksum(tmp_path, etth1_csv):
    (tmp_path / "ETTh1.csv").write_bytes(
        etth1_csv.replace(b"30.5310001373291", b"30.5310001373292", 1)
    )
    with pytest.raises(ds.ChecksumError, match="verify=False") as info:
        ds.load_etth1(tmp_path)
    assert str(tmp_path / "ETTh1.csv") in str(info.value)
    assert len(ds.load_etth1(tmp_path, verify=False).target) == 17_420


def test_truncated_gzip(tmp_path, data_dir):
    payload = (data_dir / "etth1" / "ETTh1.csv.gz").read_bytes()
    (tmp_path / "ETTh1.csv.gz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(ds.CorruptFileError, match="truncated") as info:
        ds.load_etth1(tmp_path)
    assert "ETTh1.csv.gz" in str(info.value)


def test_wrong_columns(tmp_path):
    (tmp_path / "ETTh1.csv").write_text("date,a,b\n2016-07-01 00:00:00,1,2\n")
    with pytest.raises(ds.SchemaError, match="HUFL") as info:
        ds.load_etth1(tmp_path)
    assert "ETTh1.csv" in str(info.value)
    (tmp_path / "weather.csv").write_text("date,x\n2020-01-01 00:10:00,1\n")
    with pytest.raises(ds.SchemaError, match="weather"):
        ds.load_weather(tmp_path, verify=False)


def test_garbage_file_is_a_dataset_error(tmp_path):
    (tmp_path / "ETTh1.csv").write_bytes(b"")
    with pytest.raises(ds.CorruptFileError, match="could not be parsed"):
        ds.load_etth1(tmp_path)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ds.cache_dir() == tmp_path / "rnn_forecast"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ds.cache_dir() == Path.home() / ".cache" / "rnn_forecast"


# ------------------------------------------------------------------------------ download


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        if self.server.failures.get(self.path, 0) > 0:  # a flaky server
            self.server.failures[self.path] -= 1
            self.send_error(503)
            return
        body, truncate = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests, httpd.failures = {}, [], {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _use_sources(monkeypatch, *sources):
    monkeypatch.setitem(ds.FILES, "etth1", dataclasses.replace(ds.FILES["etth1"], sources=sources))


def _cache_files(tmp_path) -> list[str]:
    root = tmp_path / "xdg-cache"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_download_verifies_and_caches(monkeypatch, tmp_path, server, etth1_csv):
    server.routes["/ETTh1.csv"] = (etth1_csv, False)
    _use_sources(monkeypatch, ds.Source(server.url + "/ETTh1.csv"))
    assert len(ds.load_etth1().target) == 17_420
    assert _cache_files(tmp_path) == ["rnn_forecast/etth1/ETTh1.csv"]  # nothing else left
    assert len(ds.load_etth1().target) == 17_420
    assert server.requests == ["/ETTh1.csv"]  # second load came from the cache


def test_download_from_zip_member_and_mirror_fallback(monkeypatch, tmp_path, server, data_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ETTh1.csv.gz", (data_dir / "etth1" / "ETTh1.csv.gz").read_bytes())
    server.routes["/etth1.zip"] = (buffer.getvalue(), False)
    _use_sources(
        monkeypatch,
        ds.Source(server.url + "/moved.zip", member="ETTh1.csv.gz"),  # 404: next source
        ds.Source(server.url + "/etth1.zip", member="ETTh1.csv.gz"),
    )
    assert len(ds.load_etth1().target) == 17_420
    assert _cache_files(tmp_path) == ["rnn_forecast/etth1/ETTh1.csv.gz"]
    assert server.requests == ["/moved.zip", "/etth1.zip"]


def test_download_with_bad_checksum_leaves_nothing(monkeypatch, tmp_path, server, etth1_csv):
    server.routes["/ETTh1.csv"] = (etth1_csv[:-10] + b"9999999999", False)
    _use_sources(monkeypatch, ds.Source(server.url + "/ETTh1.csv"))
    with pytest.raises(ds.DownloadError, match="SHA-256") as info:
        ds.load_etth1()
    assert "ChecksumError" in str(info.value) and "by hand" in str(info.value)
    assert _cache_files(tmp_path) == []


def test_interrupted_download_leaves_nothing(monkeypatch, tmp_path, server, etth1_csv):
    server.routes["/ETTh1.csv"] = (etth1_csv, True)  # connection closes half-way
    _use_sources(monkeypatch, ds.Source(server.url + "/ETTh1.csv"))
    with pytest.raises(ds.DownloadError, match="Connection broken: IncompleteRead"):
        ds.load_etth1()
    assert _cache_files(tmp_path) == []


def test_failed_download_is_retried(monkeypatch, tmp_path, server, etth1_csv):
    server.routes["/ETTh1.csv"] = (etth1_csv, False)
    server.failures["/ETTh1.csv"] = 1  # one 503, then the file
    _use_sources(monkeypatch, ds.Source(server.url + "/ETTh1.csv"))
    monkeypatch.setattr(_download, "RETRIES", 1)
    assert len(ds.load_etth1().target) == 17_420
    assert server.requests == ["/ETTh1.csv", "/ETTh1.csv"]
    assert _cache_files(tmp_path) == ["rnn_forecast/etth1/ETTh1.csv"]


def test_download_from_file_url(monkeypatch, tmp_path, data_dir):
    source = (data_dir / "etth1" / "ETTh1.csv.gz").resolve().as_uri()
    _use_sources(monkeypatch, ds.Source(source))
    assert len(ds.load_etth1().target) == 17_420
    assert _cache_files(tmp_path) == ["rnn_forecast/etth1/ETTh1.csv.gz"]


def test_corrupt_cached_file_is_reported_not_redownloaded(monkeypatch, tmp_path, server):
    cached = tmp_path / "xdg-cache" / "rnn_forecast" / "etth1" / "ETTh1.csv.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x1f\x8b\x08\x00broken")
    _use_sources(monkeypatch, ds.Source(server.url + "/ETTh1.csv"))
    with pytest.raises(ds.CorruptFileError, match=re.escape(str(cached))):
        ds.load_etth1()
    assert server.requests == []
