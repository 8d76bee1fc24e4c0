"""The :class:`ForecastData` container returned by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field

from darts import TimeSeries

__all__ = ["ForecastData", "SeriesOrList"]

SeriesOrList = TimeSeries | list[TimeSeries]


@dataclass(frozen=True)
class ForecastData:
    """A forecasting-ready dataset: target, covariates and a record of the cleaning.

    Attributes
    ----------
    name
        Short dataset name (``"traffic"``, ``"weather"``, ``"stocks"``, ``"etth1"``).
    target
        The series to forecast: one (possibly multivariate) ``TimeSeries``, or a list of
        them when the dataset holds many series (one per stock ticker, one per traffic
        segment with ``segment="all"``). Values are ``float32`` and contain no NaN.
    past_covariates
        Covariates only known up to the forecast time (e.g. observed weather), aligned
        with ``target`` (same time index; a list of the same length when ``target`` is a
        list), or ``None`` when the dataset has none.
    future_covariates
        Covariates known in advance (calendar encodings, holidays), aligned with
        ``target``, or ``None``.
    notes
        Human-readable record of every cleaning step applied, with counts
        (duplicates removed, gaps filled, rows dropped, ...).
    series_names
        One name per series when ``target`` is a list (e.g. the stock tickers, in the
        same order), else ``None``.
    """

    name: str
    target: SeriesOrList
    past_covariates: SeriesOrList | None
    future_covariates: SeriesOrList | None
    notes: list[str] = field(default_factory=list)
    series_names: list[str] | None = None

    def __repr__(self) -> str:
        # The dataclass default would print every TimeSeries (505 of them for stocks).
        return (
            f"ForecastData(name={self.name!r}, target={_describe(self.target)}, "
            f"past_covariates={_describe(self.past_covariates)}, "
            f"future_covariates={_describe(self.future_covariates)}, "
            f"notes=[{len(self.notes)} notes])"
        )


def _describe(series: SeriesOrList | None) -> str:
    if series is None:
        return "None"
    if isinstance(series, list):
        return f"[{len(series)} TimeSeries]"
    return (
        f"TimeSeries({len(series)} x {series.n_components}, "
        f"{series.start_time()} .. {series.end_time()}, freq={series.freq_str})"
    )
