"""Every number of docs/speed.md in one command: the speed benchmarks, section by section.

Each section is one script of ``benchmarks/``, run in this process one after the other
(never side by side: on 2 cores a second job would distort every timing):

==================  ==========================  =========================================
section             script                      what it measures
==================  ==========================  =========================================
``default``         ``default_speed.py``        our defaults against ``BlockRNNModel``'s
``accuracy-time``   ``time_to_accuracy.py``     test MSE against seconds of training
``scaling``         ``scaling.py``              fit time and memory as the work grows
``kernels``         ``kernel_speed.py``         same architecture: our kernels and Darts'
``backend``         ``backend_ab.py``           ``rnn_backend`` fused against torch.nn
``guards``          ``guard_overhead.py``       what the training guards cost
==================  ==========================  =========================================

Run: ``python -m benchmarks speed`` (about 30 minutes on 2 CPU cores) writes each
section's results to ``benchmarks/results/`` and plots to ``benchmarks/plots/``, the files
docs/speed.md quotes. ``--quick`` (under 3 minutes) runs every section at a smaller size
(fewer windows, repeats and rolling forecasts, a tenth of the training budgets) into
``benchmarks/results/quick/``, so that the committed full results stay as they are; its
numbers are noisier and, where a size changed, not the same quantity. ``--sections``
runs a subset. A summary of the run (the command of each section, its wall time and its
files) is written to ``speed_run.md`` in the results folder.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
# section -> (module, does it draw plots, the files it writes)
SECTIONS = {
    "default": ("default_speed", False, ["default_speed.md", "default_speed.csv"]),
    "accuracy-time": ("time_to_accuracy", True, ["time_to_accuracy.md", "time_to_accuracy.csv"]),
    "scaling": ("scaling", True, ["scaling.md", "scaling.csv"]),
    "kernels": ("kernel_speed", False, ["kernel_speed.md", "kernel_speed.csv"]),
    "backend": ("backend_ab", False, ["backend_ab.md", "backend_ab.csv"]),
    "guards": ("guard_overhead", False, ["guard_overhead.md"]),
}


def section_argv(section: str, quick: bool, out: Path, plots: Path, data_dir: str | None) -> list[str]:
    """The command-line arguments one section's ``main`` gets."""
    _, draws, _ = SECTIONS[section]
    argv = (["--quick"] if quick else []) + ["--out", str(out)]
    argv += ["--plots", str(plots)] if draws else []
    argv += ["--data-dir", data_dir] if data_dir else []
    return argv


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every section at a smaller size (< 3 minutes)")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, or its quick/ with --quick)")
    args = parser.parse_args(argv)
    out = args.out or (HERE / "results" / "quick" if args.quick else HERE / "results")
    plots = out / "plots" if args.quick or args.out else HERE / "plots"

    from rnn_forecast.evaluation.costs import machine_summary

    started, lines, failed = time.perf_counter(), [], []
    for section in args.sections:
        module, _, files = SECTIONS[section]
        section_args = section_argv(section, args.quick, out, plots, args.data_dir)
        command = f"python -m benchmarks {module} {' '.join(section_args)}".replace(f"{HERE.parent}/", "")
        print(f"\n=== {section}: {command}", flush=True)
        began = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{module}").main(section_args)
            status = "ok"
        except Exception:  # noqa: BLE001 - report it, run the other sections, fail at the end
            traceback.print_exc()
            status, failed = "FAILED", failed + [section]
        seconds = time.perf_counter() - began
        lines.append(f"| {section} | `{command}` | {seconds:.0f} | {status} | "
                     + ", ".join(f"`{f}`" for f in files) + " |")
        print(f"=== {section}: {status} in {seconds:.0f} s", flush=True)

    total = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    title = "python -m benchmarks speed" + (" --quick" if args.quick else "")
    with open(out / "speed_run.md", "w") as f:
        f.write(f"# Speed, every section: `{title}`\n\n{machine_summary()}; {total:.0f} s in all\n\n"
                "| section | command | seconds | status | results |\n|---|---|---|---|---|\n"
                + "\n".join(lines) + "\n")
    print(f"\n{total:.0f} s in all; written: {out / 'speed_run.md'}")
    if failed:
        print("failed sections:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
