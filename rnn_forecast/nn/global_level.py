"""The training data's level, for networks that see only window-normalized inputs.

Window normalization (``normalization="level_scale"``) makes a forecaster work in any
units, but the network no longer knows where a window lies against the series' usual
level: on a series that keeps returning to one level, it must estimate that level from
the window alone. ``global_level`` gives it back: each window's last value, mean and
spread, relative to the training data's mean and standard deviation
(:func:`global_level_features`), shift the encoder's final state.

That helps only where the training data has a level to return to. On a trend or a
random walk the level is a clock: the network learns the position of each training
window and extrapolates it wrongly (the battery's quarterly GDP, daily stock prices and
weekly CO2 all got worse, docs/defaults.md). ``global_level="auto"`` (the default) turns
it on per target component that passes both stationarity tests of
:func:`stationary_components`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

#: Features per target component of :func:`global_level_features`.
N_LEVEL_FEATURES = 3
#: ``"auto"``: ADF must reject a unit root at this level, and KPSS must not reject level
#: stationarity at ``KPSS_P_MIN``. The ADF level is the stricter of the pair Darts'
#: ``stationarity_tests`` documents (0.01 with 0.05): switching the level on for a
#: series without one costs far more than leaving it off (docs/defaults.md).
ADF_P_MAX, KPSS_P_MIN = 0.01, 0.05
#: Series shorter than this are not tested (``"auto"`` leaves them off); longer ones are
#: tested on their last ``MAX_TEST_LENGTH`` steps (the ADF lag search grows with length).
MIN_TEST_LENGTH, MAX_TEST_LENGTH = 20, 2000


class Reference(NamedTuple):
    """Per-component ``(C,)`` reference of :func:`global_level_features`."""

    level: np.ndarray
    scale: np.ndarray
    used: np.ndarray  # bool: the component's features reach the network


def global_level_features(target: torch.Tensor, reference_level: torch.Tensor,
                          reference_scale: torch.Tensor) -> torch.Tensor:
    """Where each window lies against the training data's level and scale.

    Parameters
    ----------
    target
        ``(B, L, C)`` past target values.
    reference_level, reference_scale
        ``(C,)`` mean and standard deviation of the training data.

    Returns
    -------
    torch.Tensor
        ``(B, 3, C)``: the window's last value and mean minus the reference level, in
        reference scales, and ``log(0.01 + s)`` of the window's standard deviation ``s``
        in reference scales (so that a constant window gives -4.6, not -inf).
    """
    last = (target[:, -1:, :] - reference_level) / reference_scale
    mean = (target.mean(dim=1, keepdim=True) - reference_level) / reference_scale
    spread = torch.log(target.std(dim=1, keepdim=True, unbiased=False) / reference_scale + 1e-2)
    return torch.cat([last, mean, spread], dim=1)


def reference_statistics(series) -> tuple[np.ndarray, np.ndarray]:
    """The training data's level and scale.

    Parameters
    ----------
    series
        A Darts ``TimeSeries`` or a sequence of them, all with ``C`` components.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(C,)`` mean and standard deviation of each component over every time step of
        every series (float64 sums, so long float32 series lose no precision).
    """
    count, total, squares = 0, 0.0, 0.0
    for s in _as_list(series):
        values = s.values(copy=False).astype(np.float64)  # (T, C)
        count += len(values)
        total = total + values.sum(axis=0)
        squares = squares + np.square(values).sum(axis=0)
    mean = total / count
    return mean, np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))


def stationary_components(series) -> np.ndarray:
    """Which target components have a level to return to, in every training series.

    A component qualifies when, in each series (its last ``MAX_TEST_LENGTH`` steps), the
    augmented Dickey-Fuller test rejects a unit root (p < ``ADF_P_MAX``) and the KPSS
    test does not reject stationarity around a constant (p > ``KPSS_P_MIN``): Darts'
    ``stationarity_test_adf`` and ``stationarity_test_kpss`` with their defaults (tens
    of milliseconds per component). Constant series and series shorter than
    ``MIN_TEST_LENGTH`` do not qualify.

    Parameters
    ----------
    series
        As for :func:`reference_statistics`.

    Returns
    -------
    numpy.ndarray
        ``(C,)`` booleans, one per component.
    """
    from darts.utils.statistics import stationarity_test_adf, stationarity_test_kpss

    series = _as_list(series)
    used = np.ones(series[0].n_components, dtype=bool)
    for s in series:
        for c in np.flatnonzero(used):
            component = s.univariate_component(int(c))[-MAX_TEST_LENGTH:]
            values = component.values(copy=False)
            if len(values) < MIN_TEST_LENGTH or np.ptp(values) == 0:
                used[c] = False
                continue
            with warnings.catch_warnings():  # KPSS warns when its p-value is a table bound
                warnings.simplefilter("ignore")
                try:
                    adf_p = stationarity_test_adf(component)[1]
                    kpss_p = stationarity_test_kpss(component)[1]
                except (ValueError, np.linalg.LinAlgError):
                    adf_p, kpss_p = 1.0, 0.0
            used[c] = adf_p < ADF_P_MAX and kpss_p > KPSS_P_MIN
    return used


def training_reference(series, global_level: bool | str) -> Reference:
    """The reference a forecaster's ``fit`` gives its network (``"auto"``: tested).

    Parameters
    ----------
    series
        The training target series (one or a sequence).
    global_level
        ``True`` (every component) or ``"auto"`` (:func:`stationary_components`).
    """
    level, scale = reference_statistics(series)
    used = stationary_components(series) if global_level == "auto" else np.ones(len(level), dtype=bool)
    return Reference(level, scale, used)


def _as_list(series) -> list:
    return list(series) if isinstance(series, Sequence) else [series]
