"""The windows and the training budget of ``rnn-forecast forecast``, from the series' length and frequency.

``rnn-forecast forecast --csv`` chooses each of ``--horizon``, ``--lookback`` and
``--epochs`` that is not given, in this order (:func:`choose_settings`):

1. **The test period** is the last ``--test-fraction`` of the steps (rounded), cut
   down to whole horizons, so that every test step is scored by exactly one of the
   backtest's non-overlapping forecasts.
2. **Horizon**: one calendar season (:func:`calendar_horizon`): a day of sub-daily
   steps (24 hourly, 48 half-hourly, 144 ten-minute steps; at most
   :data:`MAX_HORIZON`), a week of days (7; 5 business days), a quarter of weeks (13),
   a year of months (12) or quarters (4); :data:`FALLBACK_HORIZON` steps without a
   calendar season (yearly data). It is capped at half the test period, so that the
   backtest makes at least two forecasts.
3. **Lookback**: :data:`LOOKBACK_HORIZONS` horizons, and at least the longest calendar
   season up to :data:`MAX_LOOKBACK` steps (168 for hourly data: the week), so that
   the seasonal-naive forecast the models start from fits in the window; at most
   :data:`MAX_LOOKBACK`. When that leaves fewer than :data:`WANTED_WINDOWS` training
   windows, it is shortened to leave that many, but not below the shortest calendar
   season; below it only when fewer than :data:`MIN_WINDOWS` windows would be left.
4. **Epochs**: about :data:`TARGET_STEPS` optimizer steps (batches) in all, between
   :data:`MIN_EPOCHS` and :data:`MAX_EPOCHS`: short series give one batch per epoch
   and get many epochs, long ones few. The forecasters stop early on a held-out tail
   of the training part, so this is a ceiling rather than a schedule.

A series too short for the smallest window is refused with a message that says how
many points it has and how many are needed. Nothing here imports Darts or torch: the
command checks the windows right after reading the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from rnn_forecast.adapter.seasonality import calendar_seasons

#: Horizon, in steps, of a frequency without a calendar season (M4's yearly horizon).
FALLBACK_HORIZON = 6
#: Longest automatic horizon: a day of 5-minute steps is cut to 12 hours.
MAX_HORIZON = 144
#: The automatic lookback is this many horizons (or a calendar season, if longer).
LOOKBACK_HORIZONS = 2
#: Longest automatic lookback, in steps (two weeks of hourly steps).
MAX_LOOKBACK = 336
#: The automatic lookback is shortened to leave this many training windows ...
WANTED_WINDOWS = 50
#: ... and below the season only to leave this many.
MIN_WINDOWS = 10
#: The shortest automatic lookback.
MIN_LOOKBACK = 2
#: The automatic epochs give about this many optimizer steps in all ...
TARGET_STEPS = 300
#: ... and lie in this range.
MIN_EPOCHS, MAX_EPOCHS = 3, 300


class WindowError(ValueError):
    """The series is too short for the windows (given or automatic); the message names the flags."""


@dataclass(frozen=True)
class Settings:
    """What the command trains and scores with.

    Attributes
    ----------
    horizon, lookback, epochs
        ``output_chunk_length``, ``input_chunk_length`` and ``n_epochs``.
    n_train, n_test
        Steps in the training part and in the test period (whole horizons).
    windows
        Training windows the training part gives (before ``--max-train-windows``).
    reasons
        For each of ``"horizon"``, ``"lookback"``, ``"epochs"``: ``"given"`` or why
        the automatic value is what it is.
    """

    horizon: int
    lookback: int
    epochs: int
    n_train: int
    n_test: int
    windows: int
    reasons: dict

    def describe(self) -> str:
        """One line: each value and where it came from."""
        return ", ".join(f"{name} {getattr(self, name)} ({self.reasons[name]})"
                         for name in ("horizon", "lookback", "epochs"))


def calendar_horizon(freq) -> tuple[int, str]:
    """The automatic horizon of a frequency before the cap by the test period, and why.

    Examples
    --------
    >>> [calendar_horizon(f)[0] for f in ("h", "10min", "5min", "D", "B", "W-SUN", "MS", "QS-JAN", "YS")]
    [24, 144, 144, 7, 5, 13, 12, 4, 6]
    """
    seasons = calendar_seasons(freq)
    if not seasons:
        return FALLBACK_HORIZON, f"{FALLBACK_HORIZON} steps: no calendar season"
    offset = pd.tseries.frequencies.to_offset(freq)
    if offset.name.startswith("W"):
        weeks = max(1, 13 // max(1, offset.n))
        return weeks, "a quarter of weekly steps"
    horizon = min(seasons[0], MAX_HORIZON)
    return horizon, f"one season of {offset.freqstr} steps" + (" (capped)" if horizon < seasons[0] else "")


def held_out_steps(n: int, test_fraction: float) -> int:
    """``--test-fraction`` of ``n`` steps, rounded (before the cut to whole horizons)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"--test-fraction must lie strictly between 0 and 1, not {test_fraction}.")
    return math.floor(n * test_fraction + 0.5)


def choose_settings(n: int, freq, test_fraction: float, *, horizon: int | None = None,
                    lookback: int | None = None, epochs: int | None = None, batch_size: int = 128,
                    max_train_windows: int | None = None) -> Settings:
    """The horizon, lookback and epochs for a series of ``n`` steps (given values win).

    Parameters
    ----------
    n
        Length of the series.
    freq
        Its pandas frequency (``"h"``, ``"MS"``, ...).
    test_fraction
        Share of the steps held out for the backtest (``--test-fraction``).
    horizon, lookback, epochs
        Given values (``--horizon``, ``--lookback``, ``--epochs``), or ``None`` to
        choose them by the rule of this module.
    batch_size, max_train_windows
        ``--batch-size`` and ``--max-train-windows``, for the automatic epochs.

    Returns
    -------
    Settings

    Raises
    ------
    WindowError
        The series is too short for the given windows, or for the smallest automatic
        ones; the message gives the numbers and names ``--lookback``/``--horizon``.
    """
    try:
        return _choose(n, freq, test_fraction, horizon, lookback, epochs, batch_size, max_train_windows)
    except _TooShort as short:
        raise WindowError(_too_short_message(n, freq, test_fraction, horizon, lookback, str(short))) from None


def _choose(n, freq, test_fraction, horizon, lookback, epochs, batch_size, max_train_windows) -> Settings:
    for flag, value in (("--horizon", horizon), ("--lookback", lookback), ("--epochs", epochs),
                        ("--batch-size", batch_size), ("--max-train-windows", max_train_windows)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be a positive number of steps, not {value}.")
    test0 = held_out_steps(n, test_fraction)
    reasons = {}
    if horizon is None:
        horizon, reasons["horizon"] = _auto_horizon(freq, test0)
    else:
        reasons["horizon"] = "given"
    n_test = (test0 // horizon) * horizon
    if n_test == 0:
        raise _TooShort(f"its test period of {test0} steps is shorter than a horizon of {horizon}")
    n_train = n - n_test
    if lookback is None:
        lookback, reasons["lookback"] = _auto_lookback(n_train, horizon, freq)
    else:
        reasons["lookback"] = "given"
    windows = n_train - lookback - horizon + 1
    if windows < 1:
        raise _TooShort(f"its training part of {n_train} steps is shorter than one training window of "
                        f"{lookback + horizon} (lookback {lookback} + horizon {horizon})")
    if epochs is None:
        used = windows if max_train_windows is None else min(windows, max_train_windows)
        epochs, reasons["epochs"] = auto_epochs(used, batch_size)
    else:
        reasons["epochs"] = "given"
    return Settings(horizon, lookback, epochs, n_train, n_test, windows, reasons)


def auto_epochs(windows: int, batch_size: int) -> tuple[int, str]:
    """About :data:`TARGET_STEPS` batches, between :data:`MIN_EPOCHS` and :data:`MAX_EPOCHS`.

    Examples
    --------
    >>> [auto_epochs(w, 128)[0] for w in (61, 1_000, 50_000)]
    [300, 38, 3]
    """
    batches = math.ceil(windows / batch_size)
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / batches)))
    return epochs, f"at most; {windows} training windows, {batches} batch(es) an epoch"


class _TooShort(WindowError):
    """Too short for the smallest automatic window (the message is added by the caller)."""


def _auto_horizon(freq, test0: int) -> tuple[int, str]:
    horizon, reason = calendar_horizon(freq)
    if test0 < 2:
        raise _TooShort(f"its test period of {test0} step(s) is too short for two forecasts")
    if horizon > test0 // 2:
        return test0 // 2, f"half the {test0}-step test period"
    return horizon, reason


def _auto_lookback(n_train: int, horizon: int, freq) -> tuple[int, str]:
    seasons = [s for s in calendar_seasons(freq) if s <= MAX_LOOKBACK]
    floor = max(MIN_LOOKBACK, seasons[0] if seasons else 1)
    wanted = max(LOOKBACK_HORIZONS * horizon, max(seasons, default=1), floor)
    lookback = min(MAX_LOOKBACK, wanted)
    if lookback < wanted:
        reason = f"{LOOKBACK_HORIZONS} horizons, capped"
    else:
        reason = f"{LOOKBACK_HORIZONS} horizons" if lookback == LOOKBACK_HORIZONS * horizon else "a season"

    def windows(length: int) -> int:
        return n_train - length - horizon + 1

    if windows(lookback) < WANTED_WINDOWS:
        lookback = max(n_train - horizon + 1 - WANTED_WINDOWS, floor)
        reason = f"shortened to leave {WANTED_WINDOWS} training windows"
        if lookback == floor:
            reason = "the shortest calendar season" if seasons else "the shortest lookback"
    if windows(lookback) < MIN_WINDOWS:
        lookback = n_train - horizon + 1 - MIN_WINDOWS
        reason = f"shortened to leave {MIN_WINDOWS} training windows"
    if lookback < MIN_LOOKBACK:
        raise _TooShort(f"its training part of {n_train} steps cannot hold a lookback of {MIN_LOOKBACK}, "
                        f"a horizon of {horizon} and {MIN_WINDOWS} training windows")
    return lookback, reason


def minimum_length(freq, test_fraction: float, horizon: int | None = None, lookback: int | None = None) -> int:
    """The fewest steps :func:`choose_settings` accepts with these arguments (``None``: automatic).

    Examples
    --------
    >>> minimum_length("MS", 0.2), minimum_length("h", 0.2), minimum_length("MS", 0.2, horizon=36, lookback=144)
    (15, 15, 216)
    """
    n = max(2, math.ceil(1.5 / test_fraction) - 1)  # fewer give a test period under two steps
    if horizon is not None:
        n = max(n, math.ceil((horizon - 0.5) / test_fraction))  # fewer: a test period under one horizon
    while True:
        try:
            _choose(n, freq, test_fraction, horizon, lookback, 1, 1, None)
        except _TooShort:
            n += 1
            continue
        return n


def _too_short_message(n: int, freq, test_fraction: float, horizon, lookback, why: str) -> str:
    """What is too short, what the windows need, and the flags that change it."""
    need = minimum_length(freq, test_fraction, horizon, lookback)
    given = [f"--{name} {value}" for name, value in (("lookback", lookback), ("horizon", horizon)) if value]
    windows = f"the given {' and '.join(given)}" if given else "the automatic windows"
    return (
        f"The series has {n} steps, too few for {windows} with --test-fraction {test_fraction}: {why}. "
        f"They need at least {need} steps (a test period of whole horizons, and a training part that "
        f"holds a lookback, a horizon and {'one training window' if lookback else f'{MIN_WINDOWS} windows'}). "
        "Give a longer series, or choose smaller --lookback and --horizon (or another --test-fraction)."
    )
