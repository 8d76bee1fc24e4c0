"""Run Darts' own test modules with our forecasters standing in for ``BlockRNNModel``.

A maintainer command, not part of ``pytest`` or CI: Darts' tests are not shipped in its
wheel or sdist, and CI reaches no network beyond the package registries. The tests come
from a local git copy of https://github.com/unit8co/darts (e.g. ``git clone``), read at
the pinned commit and never copied into this repository::

    pip install -e ".[darts-suite]"   # testfixtures, which Darts' tests import
    python tests/adapter/darts_suite/run.py --darts-git /path/to/darts/.git
    # after a change that touches one module's tests: rerun it, keep the others' results
    python tests/adapter/darts_suite/run.py --darts-git /path/to/darts/.git --update \
        --modules darts/tests/models/forecasting/test_probabilistic_models.py

Three runs over the same modules (``stand_in.py``): Darts' ``BlockRNNModel`` itself,
then ``LSTMForecaster`` and ``GRUForecaster`` in its place. The first run finds the tests
that construct ``BlockRNNModel``; only those are run and counted for ours. The table
goes into docs/reliability.md between the ``darts-suite`` markers, the per-test outcomes
into ``tests/adapter/darts_suite/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import darts

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DOC = REPO_ROOT / "docs" / "reliability.md"
RESULTS = HERE / "results.json"
START, END = "<!-- darts-suite:start -->", "<!-- darts-suite:end -->"

#: Newest commit of Darts' public repository available to us (2026-08-21, version
#: 0.46.1 plus fixes); the installed release is newer, see ``--commit``.
DARTS_COMMIT = "2be8e43fbdc1265209f33bbe8bae81f3e4d9146f"

#: The modules that parametrize over torch models or build BlockRNNModel.
MODULES = [
    "darts/tests/models/forecasting/test_global_forecasting_models.py",
    "darts/tests/models/forecasting/test_torch_forecasting_model.py",
    "darts/tests/models/forecasting/test_probabilistic_models.py",
    "darts/tests/utils/historical_forecasts/test_historical_forecasts.py",
    "darts/tests/models/forecasting/test_backtesting.py",
    "darts/tests/explainability/test_torch_explainer.py",
    "darts/tests/models/forecasting/test_regression_ensemble_model.py",
]
STAND_INS = {"darts": "BlockRNNModel (Darts)", "lstm": "LSTMForecaster", "gru": "GRUForecaster"}


def extract_tests(git_dir: str, commit: str, root: Path) -> None:
    """Write ``darts/tests`` and ``datasets`` of ``commit`` under ``root``.

    Files whose blobs are absent from a partial copy are skipped.
    """
    names = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only", commit,
                            "darts/tests", "datasets"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        blob = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{name}"], capture_output=True)
        if blob.returncode == 0:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(blob.stdout)
    (root / "darts" / "__init__.py").write_text("")  # so pytest names the modules darts.tests.*
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow tests\n")


def run_pytest(root: Path, stand_in: str, modules: list[str], work: Path,
               select: list[str] | None = None) -> dict:
    """One pytest run in a subprocess; returns ``{test id: {"outcome", "message", "uses_model"}}``.

    ``select``: the test ids to run (default: all the modules' tests).
    """
    out = work / f"{stand_in}.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
               RNN_FORECAST_SUITE_ROOT=str(root), RNN_FORECAST_SUITE_OUT=str(out),
               RNN_FORECAST_STAND_IN=stand_in)
    if select is not None:
        env["RNN_FORECAST_SUITE_SELECT"] = str(work / f"{stand_in}.select")
        Path(env["RNN_FORECAST_SUITE_SELECT"]).write_text("\n".join(select))
    # run outside `root`: a `darts` folder in the working directory would shadow the package
    command = [sys.executable, "-m", "pytest", "-p", "stand_in", "-c", str(root / "pytest.ini"),
               "--rootdir", str(root), "-q", "-p", "no:cacheprovider", "-p", "no:warnings",
               *(str(root / module) for module in modules)]
    started = time.perf_counter()
    subprocess.run(command, cwd=work, env=env, check=False)
    print(f"{stand_in}: {time.perf_counter() - started:.0f} s", flush=True)
    return json.loads(out.read_text())


def module_of(test_id: str) -> str:
    return test_id.split("::")[0].rsplit("/", 1)[-1]


def counted_tests(results: dict[str, dict]) -> dict[str, dict]:
    """Per stand-in, only the tests that construct the model (the ones that count)."""
    return {which: {k: v for k, v in res.items() if v["uses_model"]} for which, res in results.items()}


def summarize(results: dict[str, dict]) -> str:
    """Markdown table: per module and in total, tests passed of those run, per stand-in."""
    counted = counted_tests(results)
    modules = sorted({module_of(k) for k in counted["darts"]})
    lines = ["| module | " + " | ".join(STAND_INS.values()) + " |", "|---|" + "---:|" * len(STAND_INS)]
    for module in [*modules, "total"]:
        cells = []
        for which in STAND_INS:
            mine = [v for k, v in counted[which].items() if module == "total" or module_of(k) == module]
            n = Counter(v["outcome"] for v in mine)
            ran = n["passed"] + n["failed"]
            rate = f" ({100 * n['passed'] / ran:.1f}%)" if module == "total" and ran else ""
            skipped = f", {n['skipped']} skipped" if n["skipped"] else ""
            cells.append(f"{n['passed']} of {ran} passed{rate}{skipped}")
        name = f"**{module}**" if module == "total" else f"`{module}`"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(results: dict[str, dict]) -> str:
    """Markdown table of every counted test that fails for any stand-in, with the messages."""
    failing = sorted({k for res in counted_tests(results).values() for k, v in res.items()
                      if v["outcome"] == "failed"})
    if not failing:
        return "No counted test fails."
    lines = ["| test | " + " | ".join(STAND_INS.values()) + " |", "|---|" + "---|" * len(STAND_INS)]
    for test_id in failing:
        cells = []
        for which in STAND_INS:
            v = results[which].get(test_id)
            if v is None:
                cells.append("not run")
            elif v["outcome"] == "failed":
                cells.append("fails: " + v["message"][:110].replace("|", "\\|").replace("`", "'"))
            else:
                cells.append(v["outcome"])
        lines.append(f"| `{test_id.split('darts/tests/', 1)[-1]}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_doc(table: str, failing: str, commit: str) -> None:
    text = DOC.read_text()
    head, rest = text.split(START)
    _, tail = rest.split(END)
    body = (f"{START}\nDarts' tests at commit `{commit[:12]}`, installed darts {darts.__version__}, "
            f"{platform.python_version()}, {os.cpu_count()} CPU cores; "
            f"`python tests/adapter/darts_suite/run.py --darts-git PATH`.\n\n{table}\n\n"
            f"The failing tests:\n\n{failing}\n{END}")
    DOC.write_text(head + body + tail)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--darts-git", help="git directory of a Darts clone")
    parser.add_argument("--commit", default=DARTS_COMMIT, help="Darts commit whose tests to run")
    parser.add_argument("--modules", nargs="*", default=MODULES)
    parser.add_argument("--from-results", action="store_true",
                        help=f"only rewrite the doc's table from {RESULTS.name}")
    parser.add_argument("--update", action="store_true",
                        help=f"rerun only --modules and replace their tests in {RESULTS.name}, "
                             "keeping the other modules' last results (same commit only)")
    args = parser.parse_args(argv)
    if args.from_results:
        saved = json.loads(RESULTS.read_text())
        write_doc(summarize(saved["results"]), failures(saved["results"]), saved["commit"])
        return
    if not args.darts_git:
        parser.error("--darts-git is required (or --from-results)")
    with tempfile.TemporaryDirectory(prefix="darts-suite-") as tmp:
        root, work = Path(tmp) / "src", Path(tmp) / "work"
        root.mkdir()
        work.mkdir()
        extract_tests(args.darts_git, args.commit, root)
        results = {"darts": run_pytest(root, "darts", args.modules, work)}
        selected = sorted(k for k, v in results["darts"].items() if v["uses_model"])
        for which in ("lstm", "gru"):
            results[which] = run_pytest(root, which, args.modules, work, select=selected)
    results = counted_tests(results)
    if args.update:
        saved = json.loads(RESULTS.read_text())
        if saved["commit"] != args.commit:
            parser.error(f"--update: {RESULTS.name} holds commit {saved['commit']}, not {args.commit}")
        rerun = {m.rsplit("/", 1)[-1] for m in args.modules}
        for which, mine in results.items():
            kept = {k: v for k, v in saved["results"][which].items() if module_of(k) not in rerun}
            results[which] = {**kept, **mine}
    record = {"commit": args.commit, "darts": darts.__version__, "results": results}
    RESULTS.write_text(json.dumps(record, indent=1, sort_keys=True))
    table = summarize(results)
    print(table)
    write_doc(table, failures(results), args.commit)


if __name__ == "__main__":
    main()
