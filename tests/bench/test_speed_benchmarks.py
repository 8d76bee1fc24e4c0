"""``python -m benchmarks speed``, the one command behind docs/speed.md: its sections exist, the
page names every results file, and ``--quick`` runs every section to the end on the
real data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO_ROOT / "benchmarks"


@pytest.fixture(scope="module")
def speed():
    from benchmarks import speed

    return speed


def test_every_section_is_a_script_with_a_quick_mode_and_an_out_folder(speed):
    for section, (module, draws, files) in speed.SECTIONS.items():
        source = (BENCHMARKS / f"{module}.py").read_text()
        for option in ["--quick", "--out", "--data-dir"] + (["--plots"] if draws else []):
            assert f'"{option}"' in source, (section, option)
        # each writes <module>.md (and .csv) through benchmarks.tables.section
        assert f'with section(args.out, "{module}", args.quick' in source, section
        assert set(files) <= {f"{module}.md", f"{module}.csv"}, section


def test_the_speed_page_names_the_command_and_every_results_file(speed):
    page = (REPO_ROOT / "docs" / "speed.md").read_text()
    assert "python -m benchmarks speed" in page and "python -m benchmarks speed --quick" in page
    for module, _, files in speed.SECTIONS.values():
        assert f"{module}.py" in page, module
        for name in files:
            if name.endswith(".md"):
                assert name in page, name


def test_section_arguments(speed, tmp_path):
    argv = speed.section_argv("accuracy-time", True, tmp_path, tmp_path / "plots", "/data")
    assert argv == ["--quick", "--out", str(tmp_path), "--plots", str(tmp_path / "plots"), "--data-dir", "/data"]
    assert speed.section_argv("kernels", False, tmp_path, tmp_path, None) == ["--out", str(tmp_path)]


@pytest.mark.slow
def test_quick_run_of_every_section_writes_every_results_file(speed, data_dir, tmp_path):
    env = {**os.environ, "RNN_FORECAST_DATA": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "benchmarks", "speed", "--quick", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=900, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = (tmp_path / "speed_run.md").read_text()
    rows = re.findall(r"^\| ([a-z-]+) \| `[^`]+` \| \d+ \| (\w+) \|", summary, flags=re.M)
    assert rows == [(section, "ok") for section in speed.SECTIONS]
    for _module, _draws, files in speed.SECTIONS.values():
        for name in files:
            assert (tmp_path / name).stat().st_size > 0, name
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "scaling.png", "time_to_accuracy_etth1.png", "time_to_accuracy_weather.png"]
    # what docs/speed.md reports for every contender is there, quick or not
    assert "darts BlockRNN GRU" in (tmp_path / "default_speed.md").read_text()
    assert "max |difference|: LSTM 0.0e+00, GRU 0.0e+00" in (tmp_path / "kernel_speed.md").read_text()
