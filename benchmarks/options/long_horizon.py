"""The long-horizon protocol of ``python -m benchmarks options``: what each option is worth there.

Starts from the configuration of docs/accuracy.md (``benchmarks/accuracy.py``: segments
of 48, parallel decoder, channel independence, subtract-last, L1 loss, dropout 0.1,
Adam with an exponential learning-rate decay) and changes one thing at a time, under
the same protocol (``ltsf_split``, early stopping on validation, best epoch kept, MSE
and MAE over every test window on the standardized scale).

Results are merged into ``benchmarks/results/ablation.csv`` (keyed by dataset,
horizon, lookback, cell, variant, seed) and ``benchmarks/results/ablation.md`` is
rebuilt from the whole CSV, with each variant's change against ``full`` of the same
run key.

Variants: the named ones of :data:`benchmarks.options.variants.LONG_HORIZON`,
``"segments of N"`` or ``"option=value;option=value"`` (:mod:`benchmarks.options.variants`).

Examples (among the runs of docs/accuracy.md)::

    python -m benchmarks options long-horizon --dataset etth1 --horizon 96 --lookback 720 --cells gru
    python -m benchmarks options long-horizon --dataset etth1 --horizon 96 --lookback 96 --cells gru \\
        --variants full "no segments"
    python -m benchmarks options long-horizon --dataset weather --horizon 720 --lookback 96 --cells gru \\
        --train-stride 6 --variants full "MSE loss" "40 epochs"
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from benchmarks.accuracy import (
    RESULTS,
    add_training_arguments,
    device_name,
    fit_and_score,
    load,
    merge_into_csv,
    our_model,
)
from benchmarks.options.variants import AUTO_SEGMENTS, LONG_HORIZON, change, parse

KEY = ["dataset", "horizon", "lookback", "cell", "variant", "seed"]

PROGRAM = "python -m benchmarks options long-horizon"


def run(cell: str, variant: str, split, args) -> dict:
    overrides, _ = parse(variant, LONG_HORIZON)
    result = fit_and_score(
        lambda d: our_model(cell, args.horizon, args.lookback, args, d, **overrides),
        split, args.lookback, args.horizon, args,
    )
    print(f"{args.dataset} H={args.horizon} L={args.lookback} {cell} {variant}: "
          f"MSE {result['mse']:.4f} MAE {result['mae']:.4f} ({result['train_s']:.0f} s, "
          f"{result['epochs']} epochs)", flush=True)
    return {"dataset": args.dataset, "horizon": args.horizon, "lookback": args.lookback,
            "cell": cell, "variant": variant, "seed": args.seed, **result,
            "hidden_dim": overrides.get("hidden_dim", args.hidden_dim)}


def write(rows: list[dict], args) -> pd.DataFrame:
    new = pd.DataFrame(rows).assign(
        batch_size=args.batch_size, max_epochs=args.epochs,
        train_stride=args.train_stride, device=device_name(),
    )
    table = merge_into_csv(args.out / "ablation.csv", new, KEY)
    (args.out / "ablation.md").write_text(markdown(table))
    return table


def reference(variant: str) -> str:
    """The variant a row's ΔMSE is taken against: ``"auto segments, X"`` changes X only."""
    return AUTO_SEGMENTS if variant.startswith(f"{AUTO_SEGMENTS}, ") else "full"


def markdown(table: pd.DataFrame) -> str:
    """One section per (dataset, horizon, lookback, seed); MSE change against :func:`reference`."""
    lines = ["# Ablation of the long-horizon options (test MSE / MAE, standardized scale)", "",
             f"Produced by `{PROGRAM}` (see its docstring). Each variant "
             "changes one thing of the configuration in docs/accuracy.md; ΔMSE is against "
             "`full` of the same cell and run (against `auto segments` for the "
             "`auto segments, ...` variants).", ""]
    order = {name: i for i, name in enumerate(LONG_HORIZON)}
    for (dataset, horizon, lookback, seed), part in table.groupby(
            ["dataset", "horizon", "lookback", "seed"]):
        cells = sorted(part.cell.unique())
        lines += [f"## {dataset}, horizon {horizon}, lookback {lookback}, seed {seed}", "",
                  "| variant | change | " + " | ".join(
                      f"{c.upper()} MSE / MAE | {c.upper()} ΔMSE | {c.upper()} fit s (epochs)"
                      for c in cells) + " |",
                  "|---|---|" + "---|---|---|" * len(cells)]
        by = part.set_index(["variant", "cell"])
        for variant in sorted(part.variant.unique(), key=lambda v: order.get(v, len(order))):
            row = [variant, change(variant, LONG_HORIZON)]
            for c in cells:
                if (variant, c) not in by.index:
                    row += ["", "", ""]
                    continue
                r = by.loc[(variant, c)]
                base = reference(variant)
                full = by.loc[(base, c), "mse"] if (base, c) in by.index else None
                delta = f"{r.mse - full:+.3f} ({(r.mse / full - 1) * 100:+.1f}%)" if full else ""
                row += [f"{r.mse:.3f} / {r.mae:.3f}", delta, f"{r.train_s:.0f} ({r.epochs:.0f})"]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["weather", "etth1"], default="etth1")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--lookback", type=int, default=720)
    parser.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["gru"])
    parser.add_argument("--variants", nargs="+",
                        help=f"any of {list(LONG_HORIZON)}, 'segments of N' or 'option=value;option=value'",
                        # the default list is the lookback-720 ablation of docs/accuracy.md;
                        # the "auto segments, ..." levers are the lookback-96 ones (#19)
                        default=[v for v in LONG_HORIZON if not v.startswith(AUTO_SEGMENTS)
                                 and v not in ("no segments", "40 epochs", "level_scale",
                                               "segments of 12")])
    # the committed ablation.csv holds 0.3's runs: a run of another design goes elsewhere,
    # or its ΔMSE would be taken against 0.3's `full` row
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder of ablation.csv/.md, merged into (default benchmarks/results)")
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    for variant in args.variants:  # an unknown variant fails here, not after minutes of training
        try:
            parse(variant, LONG_HORIZON)
        except argparse.ArgumentTypeError as error:
            parser.error(str(error))
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    split = load(args.dataset, args.lookback, args.data_dir)
    for cell in args.cells:
        for variant in args.variants:
            write([run(cell, variant, split, args)], args)
    print(f"written {args.out / 'ablation.csv'} and {args.out / 'ablation.md'}")


if __name__ == "__main__":
    main()
