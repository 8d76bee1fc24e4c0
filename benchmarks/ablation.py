"""Ablation of the long-horizon options: what each one of them is worth.

Starts from the configuration of docs/accuracy.md (``benchmarks/accuracy.py``: segments
of 48, parallel decoder, channel independence, subtract-last, L1 loss, dropout 0.1,
Adam with an exponential learning-rate decay) and changes one thing at a time, under
the same protocol (``ltsf_split``, early stopping on validation, best epoch kept, MSE
and MAE over every test window on the standardized scale).

Results are merged into ``benchmarks/results/ablation.csv`` (keyed by dataset,
horizon, lookback, cell, variant, seed) and ``benchmarks/results/ablation.md`` is
rebuilt from the whole CSV, with each variant's change against ``full`` of the same
run key.

Examples (among the runs of docs/accuracy.md)::

    python -m benchmarks ablation --dataset etth1 --horizon 96 --lookback 720 --cells gru
    python -m benchmarks ablation --dataset etth1 --horizon 96 --lookback 96 --cells gru \\
        --variants full "no segments"
    python -m benchmarks ablation --dataset weather --horizon 720 --lookback 96 --cells gru \\
        --train-stride 6 --variants full "MSE loss" "40 epochs"
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import torch

from benchmarks.accuracy import (
    RESULTS,
    add_training_arguments,
    device_name,
    fit_and_score,
    load,
    merge_into_csv,
    our_model,
)

KEY = ["dataset", "horizon", "lookback", "cell", "variant", "seed"]

# lever -> (what changes, overrides), each measured on top of the automatic segments (the
# lookback-96 levers of #19); becomes the variant "auto segments, <lever>", whose ΔMSE is
# taken against "auto segments" (:func:`reference`)
ON_AUTO_SEGMENTS = {
    "level_scale": ("the 0.2 defaults: automatic segments and level_scale",
                    lambda: {"normalization": "level_scale"}),
    "global level": ("automatic segments and global_level=True, forced on", lambda: {"global_level": True}),
    "dropout 0.5": ("automatic segments and dropout 0.5 (SegRNN's L=96 scripts)", lambda: {"dropout": 0.5}),
    "hidden 256": ("automatic segments and hidden size 256 instead of 128", lambda: {"hidden_dim": 256}),
    "hidden 512, dropout 0.5": ("automatic segments, SegRNN's hidden size 512 and dropout 0.5",
                                lambda: {"hidden_dim": 512, "dropout": 0.5}),
    "weight decay": ("automatic segments and AdamW, weight decay 0.01",
                     lambda: {"optimizer_cls": torch.optim.AdamW, "optimizer_kwargs": {"weight_decay": 0.01}}),
    "MSE loss": ("automatic segments and MSE training loss instead of L1",
                 lambda: {"loss_fn": torch.nn.MSELoss()}),
    "RevIN": ("automatic segments and reversible instance norm instead of subtract-last",
              lambda: {"normalization": None, "use_reversible_instance_norm": True}),
    "constant lr": ("automatic segments and no learning-rate decay",
                    lambda: {"lr_scheduler_cls": None, "lr_scheduler_kwargs": None}),
    "batch 256": ("automatic segments and batches of 256 (SegRNN's) instead of 64", lambda: {"batch_size": 256}),
    "no dropout": ("automatic segments and dropout 0 instead of 0.1", lambda: {"dropout": 0.0}),
}
AUTO_SEGMENTS = "auto segments"


def _on_auto_segments(overrides):
    return lambda: {"segment_length": "auto", **overrides()}


# variant -> (what changes, constructor overrides); callables so each run gets fresh modules
VARIANTS = {
    "full": ("nothing (the docs/accuracy.md configuration)", lambda: {}),
    "mlp decoder": ("direct MLP head instead of the parallel decoder",
                    lambda: {"decoder": "mlp"}),
    "no channel independence": ("one model over all components at once",
                                lambda: {"channel_independence": False}),
    "no normalization": ("no subtract-last (and no RevIN)", lambda: {"normalization": None}),
    "RevIN": ("reversible instance norm instead of subtract-last",
              lambda: {"normalization": None, "use_reversible_instance_norm": True}),
    "level_scale": ("subtract the last value and divide by the window's std (the 0.2 default)",
                    lambda: {"normalization": "level_scale"}),
    AUTO_SEGMENTS: ("segment_length='auto' (min(48, ceil(L / 4)))", lambda: {"segment_length": "auto"}),
    **{f"{AUTO_SEGMENTS}, {lever}": (what, _on_auto_segments(overrides))
       for lever, (what, overrides) in ON_AUTO_SEGMENTS.items()},
    "segments of 12": ("segment length 12 instead of 48", lambda: {"segment_length": 12}),
    "MSE loss": ("MSE training loss instead of L1", lambda: {"loss_fn": torch.nn.MSELoss()}),
    "constant lr": ("no learning-rate decay",
                    lambda: {"lr_scheduler_cls": None, "lr_scheduler_kwargs": None}),
    "no dropout": ("dropout 0 instead of 0.1", lambda: {"dropout": 0.0}),
    "segments of 24": ("segment length 24 instead of 48", lambda: {"segment_length": 24}),
    "40 epochs": ("at most 40 epochs instead of 20", lambda: {"n_epochs": 40}),
    "no segments": ("one recurrent step per time step (segment_length=None)",
                    lambda: {"segment_length": None}),
}


def run(cell: str, variant: str, split, args) -> dict:
    overrides = VARIANTS[variant][1]()
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
             "Produced by `python -m benchmarks ablation` (see its docstring). Each variant "
             "changes one thing of the configuration in docs/accuracy.md; ΔMSE is against "
             "`full` of the same cell and run (against `auto segments` for the "
             "`auto segments, ...` variants).", ""]
    order = {name: i for i, name in enumerate(VARIANTS)}
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
            row = [variant, VARIANTS[variant][0] if variant in VARIANTS else ""]
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["weather", "etth1"], default="etth1")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--lookback", type=int, default=720)
    parser.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["gru"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        # the default list is the lookback-720 ablation of docs/accuracy.md;
                        # the "auto segments, ..." levers are the lookback-96 ones (#19)
                        default=[v for v in VARIANTS if not v.startswith(AUTO_SEGMENTS)
                                 and v not in ("no segments", "40 epochs", "level_scale",
                                               "segments of 12")])
    # the committed ablation.csv holds 0.3's runs: a run of another design goes elsewhere,
    # or its ΔMSE would be taken against 0.3's `full` row
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder of ablation.csv/.md, merged into (default benchmarks/results)")
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    split = load(args.dataset, args.lookback, args.data_dir)
    for cell in args.cells:
        for variant in args.variants:
            write([run(cell, variant, split, args)], args)
    print(f"written {args.out / 'ablation.csv'} and {args.out / 'ablation.md'}")


if __name__ == "__main__":
    main()
