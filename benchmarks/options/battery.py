"""The battery protocol of ``python -m benchmarks options``: the 0.4 design, piece by piece, on battery cases.

Each variant is our two forecasters built as in ``benchmarks/battery.py`` (only the
window lengths, ``n_epochs`` and a seed, on raw values) plus the variant's options,
written ``"option=value;option=value"`` or ``"segments of N"``
(:mod:`benchmarks.options.variants`); ``defaults`` adds nothing. The special variant
``refit`` trains with the defaults, then, when the best epoch on the held-out tail is
``k > 0``, trains a new network on the whole series for ``k`` epochs without holding
anything out (the "choose the epochs, then refit on
everything" alternative to keeping the held-out network). The variants of
:data:`AFTER_TRAINING` train with the defaults and change only how each component's
correction is kept after training: ``blend`` weighs it by the one of :data:`BLEND` with
the lowest held-out loss instead of keeping or dropping it, ``evidence`` keeps it only
where its gain over the baseline on the held-out windows passes a one-sided t-test at
5 % (``BestEpoch(correction_evidence=0.05)``). Scored as the battery scores:
MASE over the case's test period, rolling non-overlapping forecasts.

Command (2 CPU cores; the table of docs/defaults.md)::

    RNN_FORECAST_DATA=../shared/datasets python -m benchmarks options battery \\
        --cases gdp-quarterly-short elec-equip-monthly-short nile-yearly-short stock-weekly-rw-short \\
                co2-monthly-short load-daily-short traffic-weekly-short sunspots-yearly-short \\
                german-inflation-quarterly-short cpi-quarterly-short traffic-daily \\
        --variants "season=None;early_stopping=False" "early_stopping=False;linear_baseline=False" \\
                   "linear_baseline=False" "early_stopping=False" defaults

Writes ``benchmarks/results/design_ablation.csv`` (a rerun replaces the rows of its
cases and variants) and ``design_ablation.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")


from benchmarks import battery, quiet  # noqa: E402
from benchmarks.options.variants import MAIN_JOB, parse  # noqa: E402
from rnn_forecast import GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.evaluation.contenders import DartsTorchContender, baselines, trainer_kwargs  # noqa: E402
from rnn_forecast.evaluation.scoring import evaluate  # noqa: E402
from rnn_forecast.evaluation.task import custom_task  # noqa: E402
from rnn_forecast.nn.early_stopping import BestEpoch  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results"
PROGRAM = "python -m benchmarks options battery"
CELLS = {"lstm": LSTMForecaster, "gru": GRUForecaster}
#: The ``blend`` variant's weights of the network's correction (0: the baseline).
BLEND = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Variants that change how ``BestEpoch`` weighs each component's correction after training.
AFTER_TRAINING = {
    "blend": {"correction_weights": BLEND},
    "evidence": {"correction_evidence": 0.05},
    "blend+evidence": {"correction_weights": BLEND, "correction_evidence": 0.05},
    "within-noise": {"within_noise": True},
}
SPECIAL = ("defaults", "refit", *AFTER_TRAINING)


class Refit(DartsTorchContender):
    """Defaults on the held-out split, then a new network on everything for the best epoch count."""

    def fit(self, task, seed: int, device: str) -> None:
        super().fit(task, seed, device)
        best = next(cb for cb in self._model.trainer.callbacks if isinstance(cb, BestEpoch)).best_epoch
        if best:
            model = self.build(task.setup, seed, trainer_kwargs(device))
            model.early_stopping = False
            model.fit(task.train, epochs=best)
            self._model = model


def contenders(variant: str) -> list:
    options = {} if variant in SPECIAL else parse(variant, MAIN_JOB)[0]
    kind = Refit if variant == "refit" else DartsTorchContender
    return [kind(f"{cell.upper()}Forecaster", "ours", cell,
                 build=battery._default_model(cls, best_epoch=AFTER_TRAINING[variant]) if variant in AFTER_TRAINING
                 else battery._default_model(cls, **options))
            for cell, cls in CELLS.items()]


def run(cases, variants, seeds, data_dir=None) -> pd.DataFrame:
    frames = []
    for name in cases:
        case = battery.CASES_BY_NAME[name]
        setup = battery.case_setup(case, seeds)
        task = custom_task(case.load(data_dir), setup, test_size=case.test_size, scale=False)
        for i, variant in enumerate(variants):
            began = time.perf_counter()
            models = contenders(variant) + ([b for b in baselines(setup) if b.name != "Drift"] if i == 0 else [])
            rows = pd.DataFrame(evaluate(task, models, warm_up=False, log=None).rows)
            rows["case"], rows["variant"] = name, variant
            frames.append(rows)
            means = rows.groupby("model")["mase"].mean()
            print(f"{name} [{variant}] " + ", ".join(f"{m} {v:.3f}" for m, v in means.items())
                  + f" ({time.perf_counter() - began:.0f} s)", flush=True)
    return pd.concat(frames, ignore_index=True)


def markdown(rows: pd.DataFrame) -> str:
    ours = rows[rows["family"] == "ours"]
    better = (ours.groupby(["case", "variant", "model"])["mase"].mean().groupby(["case", "variant"]).min()
              .unstack("variant"))
    sd = {}
    for (case, variant), part in ours.groupby(["case", "variant"]):
        model = part.groupby("model")["mase"].mean().idxmin()
        sd[(case, variant)] = part[part["model"] == model]["mase"].std()
    naive = rows[rows["family"] == "baseline"].groupby(["case", "model"])["mase"].first().unstack("model")
    variants = list(dict.fromkeys(rows["variant"]))
    cases = list(dict.fromkeys(rows["case"]))
    lines = ["# The 0.4 design piece by piece (battery cases)", "",
             f"Produced by `{PROGRAM}` (see its docstring). Better cell's mean MASE "
             "± its sd over seeds; lower is better. Naive columns: the best of naive and seasonal naive.", "",
             "| case | best naive | " + " | ".join(f"`{v}`" for v in variants) + " |",
             "|---|---|" + "---|" * len(variants)]
    for case in cases:
        best_naive = naive.loc[case].min() if case in naive.index else float("nan")
        cells = [f"{better.loc[case, v]:.3f} ± {sd[(case, v)]:.3f}" if (case, v) in sd else "–" for v in variants]
        lines.append(f"| {case} | {best_naive:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(battery.CASES_BY_NAME), required=True)
    parser.add_argument("--variants", nargs="+", default=["defaults"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    for variant in args.variants:  # a typo fails before any training
        if variant not in SPECIAL:
            try:
                parse(variant, MAIN_JOB)
            except argparse.ArgumentTypeError as error:
                parser.error(str(error))
    quiet()
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "design_ablation.csv"
    rows = run(args.cases, args.variants, args.seeds, args.data_dir)
    if path.exists():  # a rerun replaces the rows of its cases and variants
        old = pd.read_csv(path)
        keep = ~(old["case"].isin(args.cases) & old["variant"].isin(args.variants))
        rows = pd.concat([old[keep], rows], ignore_index=True)
    rows.to_csv(path, index=False, float_format="%.6g")
    (out / "design_ablation.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
