"""The main-job protocol of ``python -m benchmarks options``: our options against the best peer.

The main job (``python -m benchmarks suite``) measures the defaults. This script takes one of its
datasets under the same protocol (:func:`benchmarks.suite.setups.setup_for`, quick
budget unless overridden), trains our two cells with each named variant of their
options, and the named Darts peers with the same budget, over the same seeds:

    python -m benchmarks options main-job --dataset traffic                 # about 2 minutes
    python -m benchmarks options main-job --dataset traffic --epochs 12     # about 6 minutes

Variants are real constructor options (or, for ``"no past covariates"``, the task's
past covariates left out), so every row can be reproduced with the public API: the
names of :data:`benchmarks.options.variants.MAIN_JOB`, ``"segments of N"``, or any
options written as ``"option=value;option=value"`` (:mod:`benchmarks.options.variants`),
e.g. ``"normalization=mean_scale;segment_length=8"``. Writes
``benchmarks/results/levers_<dataset>_<epochs>ep.{md,csv}``: mean MASE ± sd per model,
and the Welch p-value of each of our rows against the best peer.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from benchmarks import quiet
from benchmarks.options.variants import MAIN_JOB, parse
from benchmarks.peers import zoo
from benchmarks.suite.setups import DATASETS, build_task, setup_for
from rnn_forecast import GRUForecaster, LSTMForecaster
from rnn_forecast.evaluation.contenders import DartsTorchContender
from rnn_forecast.evaluation.contenders import ours as build_ours
from rnn_forecast.evaluation.costs import environment
from rnn_forecast.evaluation.scoring import evaluate
from rnn_forecast.evaluation.verdict import mean_std, welch

RESULTS = Path(__file__).resolve().parents[1] / "results"
PROGRAM = "python -m benchmarks options main-job"
CELLS = {"lstm": LSTMForecaster, "gru": GRUForecaster}


def variant_contender(variant: str, cell: str) -> DartsTorchContender:
    """Our ``cell`` forecaster with ``variant``'s options and the main job's shared budget."""
    options, past = parse(variant, MAIN_JOB)
    return DartsTorchContender(f"{cell.upper()}: {variant}", "ours", cell, build=build_ours(CELLS[cell], **options),
                               past=past, future=True)


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd MASE per model, and each of our rows against the best peer (Welch)."""
    scores = rows.groupby("model", sort=False)["mase"].apply(list)
    family = rows.groupby("model", sort=False)["family"].first()
    train_s = rows.groupby("model", sort=False)["train_s"].median()
    peers = [m for m in scores.index if family[m] == "peer"]
    best_peer = min(peers, key=lambda m: sum(scores[m]) / len(scores[m])) if peers else None
    out = []
    for model, values in scores.items():
        mean, sd = mean_std(values)
        d = welch(values, scores[best_peer]) if best_peer and model != best_peer else None
        row = {"model": model, "MASE": f"{mean:.4f} ± {sd:.4f}", "median train s": f"{train_s[model]:.1f}"}
        if best_peer:
            row[f"vs {best_peer}"] = "" if d is None else (
                f"{'better' if d.ratio < 1 else 'worse'}{' (within noise)' if d.within_noise else ''}, "
                f"p={d.p_value:.2g}")
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=list(DATASETS), default="traffic")
    parser.add_argument("--epochs", type=int, default=None, help="override the quick budget's epochs")
    parser.add_argument("--variants", nargs="+", default=list(MAIN_JOB),
                        help=f"any of {list(MAIN_JOB)}, 'segments of N' or 'option=value;option=value'")
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), default=list(CELLS))
    parser.add_argument("--peers", nargs="*", default=["Darts RNNModel-LSTM", "Darts BlockRNNModel-LSTM"],
                        help="names of Darts peers of the main job to train alongside")
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: benchmarks/results)")
    args = parser.parse_args(argv)
    setup = setup_for(args.dataset, quick=True)
    setup = replace(setup, epochs=args.epochs or setup.epochs, seeds=tuple(args.seeds or setup.seeds))
    for variant in args.variants:  # an unknown variant or invalid option fails here, not after minutes of training
        try:
            build_ours(CELLS[args.cells[0]], **parse(variant, MAIN_JOB)[0])(setup, 0, {})
        except argparse.ArgumentTypeError as error:
            parser.error(str(error))
        except (TypeError, ValueError) as error:
            parser.error(f"variant {variant!r}: {error}")
    quiet()
    torch.set_num_threads(1)
    task = build_task(setup, args.data_dir)
    contenders = [variant_contender(v, c) for v in args.variants for c in args.cells]
    contenders += [c for c in zoo(setup) if c.name in args.peers]
    result = evaluate(task, contenders, "cpu", log=lambda *a: None)
    rows = pd.DataFrame(result.rows)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"levers_{args.dataset}_{setup.epochs}ep"
    rows.to_csv(stem.with_suffix(".csv"), index=False, float_format="%.6g")
    env = environment(1, "cpu")
    text = (
        f"# Levers on {args.dataset} ({setup.epochs} epochs)\n\n"
        f"Produced by `{PROGRAM} {shlex.join(argv if argv is not None else sys.argv[1:])}` "
        f"(see its docstring): the main job's quick protocol (lookback {setup.lookback}, horizon "
        f"{setup.horizon}, hidden size {setup.hidden_dim}, train stride {setup.train_stride}), "
        f"{setup.epochs} epochs, seeds {', '.join(map(str, setup.seeds))}; MASE over the test period.\n\n"
        + table(rows).to_markdown(index=False)
        + f"\n\nHardware: {env['cpu']}, {env['cpu_cores']} cores, torch threads 1.\n"
    )
    stem.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
