"""The README's main job: `rnn-forecast forecast` on real data."""

import pytest

from rnn_forecast.cli import main


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

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Quickstart\s+```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.setenv("RNN_FORECAST_DATA", str(data_dir))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["forecast"].n_timesteps == 72
    assert (namespace["same"].predict(n=72).values() == namespace["forecast"].values()).all()
