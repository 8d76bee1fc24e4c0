"""The benchmark report, rebuilt from the result files: ``REPORT.md`` and its plots.

``write_report(results_dir, report_path)`` reads every ``<dataset>.csv`` (and its
``_by_horizon.csv``, ``_forecasts.csv`` and ``.json``) written by the runner and
writes the report with PNG plots in a ``plots/`` folder next to it. The work is split
by kind: :mod:`.statistics` (every comparison, from the per-seed numbers),
:mod:`.markdown` (tables and sentences) and :mod:`.plots`. Nothing else is written.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.suite import markdown, plots
from benchmarks.suite.statistics import dataset_verdict, load_results

PROGRAM = "python -m benchmarks suite"
# the suite's earlier names, as result files of earlier runs record them
_PROGRAMS = (PROGRAM, "rnn-forecast benchmark", "python -m rnn_forecast.benchmark", "python benchmarks/main.py")


def _load(results_dir) -> tuple[dict, dict]:
    results = load_results(results_dir)
    if not results:
        raise FileNotFoundError(f"no benchmark results in {results_dir}: run `python -m benchmarks suite` first")
    return results, {name: dataset_verdict(data["rows"]) for name, data in results.items()}


def regenerate_command(command: str, program: str) -> str:
    """A recorded command line as ``program`` would run it (its options are kept)."""
    for known in _PROGRAMS:
        if command == known or command.startswith(known + " "):
            return program + command[len(known):]
    return command


def write_report(results_dir: str | Path, report_path: str | Path, data_dir=None,
                 program: str = PROGRAM, source: str | None = None) -> Path:
    """Write the Markdown report and its plots from the result files.

    Parameters
    ----------
    results_dir
        Where the runner wrote its files.
    report_path
        The Markdown file; plots go to a ``plots/`` folder next to it.
    data_dir
        Folder of the dataset files, for the actual values in the forecast plots
        (default: ``$RNN_FORECAST_DATA``, else downloaded; see :mod:`rnn_forecast.datasets`).
    program
        The command that runs the suite, as the report's "regenerate with" shows it.
    source
        How the report names the results folder (default: ``results_dir`` as given).

    Returns
    -------
    Path
        ``report_path``.

    Raises
    ------
    FileNotFoundError
        When ``results_dir`` holds no result file.
    """
    results, verdicts = _load(results_dir)
    report_path = Path(report_path)
    out_dir = report_path.parent / "plots"
    drawn = {"scatter": plots.accuracy_vs_time(results, out_dir)}
    for name, data in results.items():
        drawn[name] = plots.dataset_plots(name, data, out_dir, verdicts[name], data_dir)
    commands = sorted({regenerate_command(d["meta"]["command"], program) for d in results.values()})
    source = Path(results_dir).as_posix() if source is None else source
    text = markdown.report(results, verdicts, drawn, source, commands, program)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(text)
    return report_path


def summary(results_dir: str | Path, short: bool = False) -> str:
    """The summary table and the verdict lines in Markdown; ``short``: the answer's table alone (the README's)."""
    results, verdicts = _load(results_dir)
    return markdown.summary_block(results, verdicts, short)
