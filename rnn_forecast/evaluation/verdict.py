"""Is a difference real? The noise test and the LSTM-or-GRU recommendation.

Repeated runs (seeds) give each model a sample of scores. Two samples differ *beyond
noise* when Welch's t-test (unequal variances, ``scipy.stats.ttest_ind(...,
equal_var=False)``) rejects equal means at level ``alpha`` (0.05); otherwise the
difference is reported as *within noise* and a tie is called a tie. With one run per
model the noise cannot be estimated, so no difference is claimed.

Speed differences are also held to a minimum size: a cell is called faster only when
it is faster beyond noise *and* by at least :data:`SPEED_MARGIN` (10 %). Wall-clock
times on a shared machine drift by a few per cent between processes, and two runs of the
same benchmark must give the same verdicts; a 5 % speed-up that is "significant" in one
run is not in the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
#: A faster cell must be at least this many times faster (and beyond noise) to win on speed.
SPEED_MARGIN = 1.10


@dataclass(frozen=True)
class Difference:
    """Two samples compared by Welch's t-test.

    Attributes
    ----------
    mean_a, std_a, mean_b, std_b
        Sample means and standard deviations (``ddof=1``; 0 for a single value).
    p_value
        Two-sided Welch p-value (NaN when a sample has a single value).
    within_noise
        True unless ``p_value < alpha``.
    ratio
        ``mean_a / mean_b``.
    """

    mean_a: float
    std_a: float
    mean_b: float
    std_b: float
    p_value: float
    within_noise: bool
    ratio: float


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for fewer than two values)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def welch(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> Difference:
    """Compare two samples of scores with Welch's t-test.

    Parameters
    ----------
    a, b
        Scores of two models, one per seed (NaNs are dropped).
    alpha
        Significance level.

    Returns
    -------
    Difference
        Deterministic scores (both standard deviations 0, e.g. two baselines) differ
        beyond noise exactly when their means differ.
    """
    a = np.asarray([x for x in a if not math.isnan(x)], dtype=float)
    b = np.asarray([x for x in b if not math.isnan(x)], dtype=float)
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    ratio = ma / mb if mb != 0 else float("inf")
    if a.size < 2 and b.size < 2:
        p = float("nan")
    elif sa == 0 and sb == 0:
        p = 1.0 if ma == mb else 0.0
    elif a.size < 2 or b.size < 2:
        # one fixed value against a sample: a one-sample t-test of the sample
        sample, value = (b, ma) if a.size < 2 else (a, mb)
        p = float(stats.ttest_1samp(sample, value).pvalue)
    else:
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    within = not (p < alpha)  # NaN -> within noise
    return Difference(ma, sa, mb, sb, p, within, ratio)


@dataclass(frozen=True)
class Recommendation:
    """Which of two models to use, and why.

    Attributes
    ----------
    choice
        The name of the recommended model, or ``"tie"``.
    reason
        One sentence derived from the numbers.
    accuracy, cost
        The comparisons behind it (``a`` is the first model, ``b`` the second).
    """

    choice: str
    reason: str
    accuracy: Difference
    cost: Difference

    def __str__(self) -> str:
        return self.reason


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _p(p: float) -> str:
    return "n/a, one run" if math.isnan(p) else f"p={p:.2g}"


def recommend(
    names: tuple[str, str],
    errors: tuple[Sequence[float], Sequence[float]],
    costs: tuple[Sequence[float], Sequence[float]],
    metric: str = "MAE",
    cost_name: str = "training time",
    higher_is_better: bool = False,
    alpha: float = ALPHA,
    speed_margin: float = SPEED_MARGIN,
) -> Recommendation:
    """Recommend one of two models from per-seed accuracy and cost.

    Accuracy decides when it differs beyond noise; otherwise the cheaper model wins
    when the cost differs beyond noise and by at least ``speed_margin``; otherwise it is
    a tie.

    Parameters
    ----------
    names
        The two models, e.g. ``("LSTM", "GRU")``.
    errors
        Per-seed scores of each model on the deciding metric.
    costs
        Per-seed costs in seconds (lower is better), e.g. training time.
    metric, cost_name
        Labels for the reason.
    higher_is_better
        For scores such as directional accuracy.
    alpha
        Significance level of :func:`welch`.
    speed_margin
        Smallest cost ratio that counts as faster (1.1: 10 %).

    Returns
    -------
    Recommendation
    """
    acc = welch(errors[0], errors[1], alpha)
    cost = welch(costs[0], costs[1], alpha)
    factor = max(cost.mean_a, cost.mean_b) / min(cost.mean_a, cost.mean_b) if min(cost.mean_a, cost.mean_b) > 0 else 1.0
    faster = not cost.within_noise and factor >= speed_margin
    (na, nb) = names
    acc_text = (f"{metric} {_fmt(acc.mean_a)} ± {acc.std_a:.2g} ({na}) vs "
                f"{_fmt(acc.mean_b)} ± {acc.std_b:.2g} ({nb}), {_p(acc.p_value)}")
    times = (f"{cost_name} {cost.mean_a:.3g} ± {cost.std_a:.2g} s vs "
             f"{cost.mean_b:.3g} ± {cost.std_b:.2g} s, {_p(cost.p_value)}")
    if cost.within_noise:
        cost_text = f"speed within noise ({times})"
    elif not faster:
        cost_text = (f"speed the same within {speed_margin - 1:.0%} ({times}; {factor:.2f}x is under "
                     f"the {speed_margin:.2f}x that counts)")
    else:
        fast = na if cost.mean_a < cost.mean_b else nb
        cost_text = f"{fast} {factor:.2f}x faster ({times})"
    if not acc.within_noise:
        better_a = (acc.mean_a > acc.mean_b) if higher_is_better else (acc.mean_a < acc.mean_b)
        winner = na if better_a else nb
        return Recommendation(winner, f"{winner}: better {metric} beyond noise ({acc_text}); {cost_text}.", acc, cost)
    if faster:
        winner = na if cost.mean_a < cost.mean_b else nb
        return Recommendation(winner, f"{winner}: equal {metric} within noise ({acc_text}); {cost_text}.", acc, cost)
    return Recommendation("tie", f"Tie: equal {metric} within noise ({acc_text}); {cost_text}.", acc, cost)


@dataclass(frozen=True)
class BaselineCheck:
    """The better of our models against the best baseline.

    Attributes
    ----------
    model, baseline
        The better of ours (lower mean score) and the best baseline (lowest score).
    difference
        ``welch(model's scores, baseline's scores)``.
    relation
        ``"better than"``, ``"within noise of"`` or ``"worse than"``.
    """

    model: str
    baseline: str
    difference: Difference
    relation: str

    @property
    def beats_baseline(self) -> bool:
        return self.relation == "better than"

    def sentence(self, metric: str = "MASE") -> str:
        d = self.difference
        return (f"The better of ours ({self.model}, {metric} {d.mean_a:.3f} ± {d.std_a:.3f}) is "
                f"{self.relation} the best baseline ({self.baseline}, {metric} {d.mean_b:.3f}; {_p(d.p_value)}).")


def versus_best_baseline(scores: dict[str, Sequence[float]], ours: Sequence[str], baselines: Sequence[str],
                         alpha: float = ALPHA) -> BaselineCheck:
    """Compare the better (lower mean) of ``ours`` with the best of ``baselines``.

    Parameters
    ----------
    scores
        Per model, its scores over seeds (lower is better; one value for a baseline).
    ours, baselines
        Names in ``scores``.
    alpha
        Significance level of :func:`welch`.
    """
    def mean(name):
        return float(np.mean(scores[name]))

    model, baseline = min(ours, key=mean), min(baselines, key=mean)
    diff = welch(scores[model], scores[baseline], alpha)
    return BaselineCheck(model, baseline, diff, relation(diff))


def relation(diff: Difference) -> str:
    """How ``a`` stands to ``b`` for lower-is-better scores: better than, within noise of, worse than."""
    if diff.within_noise:
        return "within noise of"
    return "better than" if diff.mean_a < diff.mean_b else "worse than"
