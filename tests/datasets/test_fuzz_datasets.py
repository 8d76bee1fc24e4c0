"""Fuzzing the dataset loaders' file reading (hypothesis).

Each example takes a small valid slice of a real dataset file (the first rows of the
copy in ``../shared/datasets``), damages it in one drawn way (truncated bytes or gzip,
a cell replaced by junk, a line dropped, duplicated or moved, a column dropped, a
header renamed, random bytes, an empty file), writes it plain or gzip-compressed into a
fresh ``data_dir`` and calls the loader. The outcome must be either clean data (regular
float32 series, finite values, one per ticker for stocks) or a
:class:`~rnn_forecast.datasets.DatasetError` that names the file and is raised by the
loaders themselves, never a traceback from inside pandas or numpy.
"""

from __future__ import annotations

import gzip
import traceback
from functools import cache

import numpy as np
import pytest
from conftest import shared_data_dir
from darts import TimeSeries
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnn_forecast import datasets as ds

ROWS = {"etth1": 80, "weather": 80, "traffic": 120, "stocks": 60}  # data rows in a sample


def load(key, root, verify):
    if key == "etth1":
        return ds.load_etth1(root, verify=verify)
    if key == "weather":
        return ds.load_weather(root, verify=verify)
    if key == "traffic":
        return ds.load_traffic(root, verify=verify)
    return ds.load_stocks(data_dir=root, verify=verify)


@cache
def sample_lines(key: str) -> tuple[bytes, ...]:
    """Header and first data rows of the real file (stocks: two tickers' worth)."""
    spec = ds.FILES[key]
    raw = gzip.decompress((shared_data_dir() / spec.folder / (spec.filename + ".gz")).read_bytes())
    lines = raw.split(b"\n")
    if key == "stocks":  # rows are grouped by ticker: take the first and the last ticker
        return (lines[0], *lines[1 : 1 + ROWS[key] // 2], *lines[-2 - ROWS[key] // 2 : -1])
    return tuple(lines[: 1 + ROWS[key]])


JUNK = st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "abc", "1,5", '"', "0x1F",
                        "2016-13-45 25:61:00", "\xe9", "   ", "1e-400", "-0", "9" * 40])
DAMAGES = ["none", "truncate", "truncate_gzip", "junk_cell", "drop_line", "duplicate_line",
           "move_line", "drop_column", "rename_header", "random_bytes", "empty", "header_only"]


@st.composite
def damaged_files(draw):
    key = draw(st.sampled_from(sorted(ROWS)))
    lines = list(sample_lines(key))
    damage = draw(st.sampled_from(DAMAGES))
    row = draw(st.integers(1, len(lines) - 1))
    compress = draw(st.booleans()) or damage == "truncate_gzip"
    if damage == "junk_cell":
        cells = lines[row].split(b",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(JUNK).encode("utf-8")
        lines[row] = b",".join(cells)
    elif damage == "drop_line":
        del lines[row]
    elif damage == "duplicate_line":
        lines.insert(row, lines[row])
    elif damage == "move_line":
        lines.insert(draw(st.integers(1, len(lines) - 1)), lines.pop(row))
    elif damage in ("drop_column", "rename_header"):
        column = draw(st.integers(0, lines[0].count(b",")))
        if damage == "drop_column":
            lines = [b",".join(c for i, c in enumerate(line.split(b",")) if i != column) for line in lines]
        else:
            header = lines[0].split(b",")
            header[column] = draw(st.text(max_size=8)).encode("utf-8")
            lines[0] = b",".join(header)
    elif damage == "header_only":
        lines = lines[:1]
    content = b"\n".join(lines) + b"\n"
    if damage == "random_bytes":
        content = draw(st.binary(max_size=300))
    elif damage == "empty":
        content = b""
    if compress:
        content = gzip.compress(content)
    if damage in ("truncate", "truncate_gzip"):
        content = content[: draw(st.integers(0, len(content) - 1))]
    return {"key": key, "damage": damage, "content": content, "compress": compress,
            "verify": draw(st.booleans())}


def check_damaged_file(case, root):
    spec = ds.FILES[case["key"]]
    path = root / spec.folder / (spec.filename + (".gz" if case["compress"] else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.iterdir():
        stale.unlink()
    path.write_bytes(case["content"])
    try:
        data = load(case["key"], root, case["verify"])
    except ds.DatasetError as exc:
        event(f"{case['key']}: {type(exc).__name__}")
        assert str(path) in str(exc) or case["key"] in str(exc), str(exc)
        origin = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
        assert "/rnn_forecast/datasets/" in origin, (origin, str(exc))
        return
    event(f"{case['key']}: loaded")
    # Only the sample's own checksum could pass, and a sample is never the whole file.
    assert not case["verify"], "a sample verified against the full file's checksum"
    def as_list(series):
        return [] if series is None else [series] if isinstance(series, TimeSeries) else list(series)

    targets = as_list(data.target)
    assert targets, "no series"
    for series in [*targets, *as_list(data.past_covariates), *as_list(data.future_covariates)]:
        assert series.dtype == np.float32
        assert series.freq is not None and len(series) > 0
        assert np.isfinite(series.values()).all(), f"non-finite values loaded after {case['damage']}"


@settings(max_examples=60, deadline=None, derandomize=True,  # the same examples every CI run
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damaged_files())
def test_damaged_dataset_files_load_cleanly_or_raise_a_dataset_error(case, tmp_path_factory, data_dir):
    check_damaged_file(case, tmp_path_factory.mktemp("data"))


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=damaged_files())
def test_damaged_dataset_files_many_examples(case, tmp_path_factory, data_dir):
    check_damaged_file(case, tmp_path_factory.mktemp("data"))
