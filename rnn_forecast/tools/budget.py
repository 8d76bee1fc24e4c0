"""Training budgets: a number of epochs, a wall-clock time, or both.

A time budget is Lightning's own ``Trainer(max_time=...)`` (its ``Timer`` callback
stops training at the first batch or epoch end past the deadline), passed through the
forecaster's ``pl_trainer_kwargs``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

# Epoch cap of a time-only budget: the deadline, not the epochs, ends training.
UNLIMITED_EPOCHS = 1_000_000


@dataclass(frozen=True)
class Budget:
    """How long each model may train.

    Parameters
    ----------
    epochs
        Passes over the training windows.
    seconds
        Wall-clock training time; with ``epochs`` too, whichever comes first ends
        training.

    Examples
    --------
    >>> Budget(epochs=10)
    >>> Budget(seconds=60)           # same time for each model: the faster one does more epochs
    >>> Budget(epochs=50, seconds=600)
    """

    epochs: int | None = None
    seconds: float | None = None

    def __post_init__(self):
        if self.epochs is None and self.seconds is None:
            raise ValueError("A Budget needs `epochs`, `seconds` or both, e.g. Budget(epochs=10).")
        if self.epochs is not None and (
            isinstance(self.epochs, bool) or not isinstance(self.epochs, Integral) or self.epochs < 1
        ):
            raise ValueError(f"Budget `epochs` must be a positive integer, got {self.epochs!r}.")
        if self.seconds is not None and (
            isinstance(self.seconds, bool) or not isinstance(self.seconds, Real)
            or not math.isfinite(self.seconds) or self.seconds <= 0
        ):
            raise ValueError(f"Budget `seconds` must be a positive number, got {self.seconds!r}.")

    @classmethod
    def coerce(cls, budget) -> Budget:
        """Accept a ``Budget``, a dict (``{"epochs": 5}``) or an int (epochs)."""
        if isinstance(budget, Budget):
            return budget
        if isinstance(budget, dict):
            unknown = set(budget) - {"epochs", "seconds"}
            if unknown:
                raise ValueError(f"Unknown budget keys {sorted(unknown)}; use 'epochs' and/or 'seconds'.")
            return cls(**budget)
        if isinstance(budget, Integral) and not isinstance(budget, bool):
            return cls(epochs=int(budget))
        raise TypeError(
            f"`budget` must be a Budget, a dict with 'epochs'/'seconds', or an int number of "
            f"epochs, got {budget!r}."
        )

    @property
    def n_epochs(self) -> int:
        """The forecaster's ``n_epochs`` for this budget."""
        return self.epochs if self.epochs is not None else UNLIMITED_EPOCHS

    def trainer_kwargs(self) -> dict:
        """Extra ``pl_trainer_kwargs``: ``max_time`` for a time budget, else nothing."""
        return {} if self.seconds is None else {"max_time": {"seconds": float(self.seconds)}}

    def __str__(self) -> str:
        parts = ([f"{self.epochs} epochs"] if self.epochs is not None else []) + (
            [f"{self.seconds:g} s"] if self.seconds is not None else [])
        return " or ".join(parts)
