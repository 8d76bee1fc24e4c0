"""Training and inference windows fetched a batch at a time.

Darts' sequential datasets build every sample in Python (``__getitem__``) and a collate
function stacks them, a per-sample Python cost that is a large part of a small model's
training step on CPU and most of a rolling evaluation (docs/speed.md).
:class:`BatchedTrainingDataset` and :class:`BatchedInferenceDataset` are those
datasets (same samples, same order, same input validation) with PyTorch's batched-fetch
hook ``__getitems__``: the windows of a whole batch are gathered from the series' value
arrays with one fancy-indexing operation per field, at offsets that Darts' own indexer
computes for the first window of each series.

The per-sample ``__getitem__`` stays Darts' own; ``tests/adapter/test_windows.py`` checks that
both paths give identical batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from darts import TimeSeries
from darts.utils.data.torch_datasets.inference_dataset import SequentialTorchInferenceDataset
from darts.utils.data.torch_datasets.training_dataset import SequentialTorchTrainingDataset
from darts.utils.data.torch_datasets.utils import TorchInferenceBatch, TorchTrainingBatch
from darts.utils.data.utils import FeatureType

from rnn_forecast._darts_private import _batch_collate_fn_predict, _batch_collate_fn_train

# batch field -> (Darts feature whose bounds locate it, which series it is cut from)
_TRAINING_FIELDS = {
    "past_target": (FeatureType.PAST_TARGET, "series"),
    "future_target": (FeatureType.FUTURE_TARGET, "series"),
    "past_covariates": (FeatureType.PAST_COVARIATES, "past_covariates"),
    "historic_future_covariates": (FeatureType.HISTORIC_FUTURE_COVARIATES, "future_covariates"),
    "future_covariates": (FeatureType.FUTURE_COVARIATES, "future_covariates"),
}


@dataclass
class _SeriesPlan:
    """Where the windows of one series are: value arrays and the first sample's bounds."""

    length: int
    n_samples: int  # training only: windows per series
    ref_end: int  # training: first sample's output end; inference: its forecast start
    fields: dict[str, tuple[np.ndarray, int, int]]  # name -> (values, start, width)
    static: np.ndarray | None


class BatchedTrainingDataset(SequentialTorchTrainingDataset):
    """Darts' sequential training dataset with vectorized batch fetching.

    Takes exactly the arguments of ``SequentialTorchTrainingDataset``. Batches come out
    as a ``TorchTrainingBatch``; use :func:`collate_batch` as the ``DataLoader``'s
    ``collate_fn``. Falls back to Darts' per-sample path for sample weights, variable
    input lengths and stochastic target series.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plans: dict[int, _SeriesPlan] = {}
        self._vectorized = (
            self.sample_weight is None
            and self.min_input_chunk_length == self.input_chunk_length
            and all(ts.is_deterministic for ts in self.series)
        )

    def __getitems__(self, indices: list[int]) -> TorchTrainingBatch | list:
        if not self._vectorized:
            return [self[i] for i in indices]
        index = np.asarray(indices)
        series_idx = index // self.max_samples_per_ts
        columns: dict[str, np.ndarray] = {}
        for s in np.unique(series_idx):
            rows = np.flatnonzero(series_idx == s)
            plan = self._plan(int(s))
            offset = (index[rows] - s * self.max_samples_per_ts) % plan.n_samples
            shift = (plan.length - offset * self.stride) - plan.ref_end
            _gather(columns, plan, rows, shift, len(index))
        return TorchTrainingBatch(**{name: torch.from_numpy(a) for name, a in columns.items()})

    def _plan(self, s: int) -> _SeriesPlan:
        """Bounds of series ``s``'s first sample, from Darts' own indexer (then cached)."""
        if s in self._plans:
            return self._plans[s]
        series = self.series[s]
        first = s * self.max_samples_per_ts
        ref_end = self._get_end_of_output_idx(series, s, first)
        sources = _sources(self, s)
        bounds = self._memory_indexer(
            series_idx=s, series=series, shift=self.shift,
            input_chunk_length=self.input_chunk_length,
            output_chunk_length=self.output_chunk_length, end_of_output_idx=ref_end,
            past_covariates=sources["past_covariates"],
            future_covariates=sources["future_covariates"], sample_weight=None, n=None,
        )
        static = series.static_covariates_values(copy=False)
        plan = _SeriesPlan(
            length=len(series),
            n_samples=-(-(len(series) - self.size_of_both_chunks + 1) // self.stride),
            ref_end=ref_end,
            fields=_plan_fields(bounds, sources, _TRAINING_FIELDS),
            static=static if self.uses_static_covariates_covariates else None,
        )
        self._plans[s] = plan
        return plan


def _gather(columns: dict, plan: _SeriesPlan, rows: np.ndarray, shift: np.ndarray, size: int):
    """Write the windows of one series' samples (``rows`` of the batch) into ``columns``.

    Sample ``k`` is the series' first sample moved by ``shift[k]`` steps, so each field
    is one fancy-indexing gather; ``columns`` maps field names to ``(size, ...)`` arrays.
    """

    def column(name: str, shape: tuple, dtype) -> np.ndarray:
        if name not in columns:
            columns[name] = np.empty((size, *shape), dtype)
        return columns[name]

    for name, (values, start, width) in plan.fields.items():
        windows = values[(start + shift)[:, None] + np.arange(width)]
        column(name, windows.shape[1:], values.dtype)[rows] = windows
    if plan.static is not None:
        column("static_covariates", plan.static.shape, plan.static.dtype)[rows] = plan.static


def _sources(dataset, s: int) -> dict:
    """Series ``s`` of a Darts sequential dataset and its covariates (``None`` if unused)."""
    return {
        "series": dataset.series[s],
        "past_covariates": dataset.past_covariates[s] if dataset.uses_past_covariates else None,
        "future_covariates": dataset.future_covariates[s] if dataset.uses_future_covariates else None,
    }


def _plan_fields(bounds: dict, sources: dict, fields: dict) -> dict:
    """``name -> (values, start, width)`` for the fields this sample layout has."""
    out = {}
    for name, (feature, source) in fields.items():
        start, end = bounds[feature]
        if sources[source] is not None and start is not None:
            out[name] = (sources[source].values(copy=False), start, end - start)
    return out


_INFERENCE_FIELDS = {
    "past_target": (FeatureType.PAST_TARGET, "series"),
    "past_covariates": (FeatureType.PAST_COVARIATES, "past_covariates"),
    "future_past_covariates": (FeatureType.FUTURE_PAST_COVARIATES, "past_covariates"),
    "historic_future_covariates": (FeatureType.HISTORIC_FUTURE_COVARIATES, "future_covariates"),
    "future_covariates": (FeatureType.FUTURE_COVARIATES, "future_covariates"),
}


class BatchedInferenceDataset(SequentialTorchInferenceDataset):
    """Darts' sequential inference dataset with vectorized batch fetching.

    Takes exactly the arguments of ``SequentialTorchInferenceDataset`` (including the
    ``bounds``/``stride`` that ``historical_forecasts`` uses). Batches come out as a
    ``TorchInferenceBatch``; use :func:`collate_batch` as the ``collate_fn``. Falls back
    to Darts' per-sample path for variable input lengths and stochastic series.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plans: dict[int, _SeriesPlan] = {}
        self._vectorized = self.min_input_chunk_length == self.input_chunk_length and all(
            ts.is_deterministic for ts in self.series
        )

    def __getitems__(self, indices: list[int]) -> TorchInferenceBatch | list:
        if not self._vectorized:
            return [self[i] for i in indices]
        index = np.asarray(indices)
        if self.bounds is None:
            series_idx, position = index, np.zeros_like(index)
        else:
            series_idx = np.searchsorted(self.cum_lengths, index, side="right")
            previous = np.concatenate([[0], self.cum_lengths])[series_idx]
            position = (index - previous) * self.stride
        columns: dict[str, np.ndarray] = {}
        schemas, pred_times = [None] * len(index), [None] * len(index)
        for s in np.unique(series_idx):
            rows = np.flatnonzero(series_idx == s)
            plan, shift = self._plan(int(s)), position[rows]
            if any(start + shift.min() < 0 for _, start, _ in plan.fields.values()):
                return [self[i] for i in indices]  # a window before the start: Darts pads
            _gather(columns, plan, rows, shift, len(index))
            series = self.series[s]
            schema = series.schema(copy=False)
            for row, time in zip(rows, _times_at(series, plan.ref_end + shift)):
                schemas[row], pred_times[row] = schema, time
        batch = {name: torch.from_numpy(a) for name, a in columns.items()}
        return TorchInferenceBatch(**batch, series_schema=schemas, pred_time=pred_times)

    def _plan(self, s: int) -> _SeriesPlan:
        """Series ``s``'s first sample from Darts' own indexer.

        ``ref_end`` holds the first sample's forecast start position (:func:`_times_at`
        turns positions into time stamps).
        """
        if s in self._plans:
            return self._plans[s]
        series = self.series[s]
        end = len(series) if self.bounds is None else int(self.bounds[s, 0])
        sources = _sources(self, s)
        bounds = self._memory_indexer(
            series_idx=s, series=series, shift=self.input_chunk_length + self.output_chunk_shift,
            input_chunk_length=self.input_chunk_length,
            output_chunk_length=self.output_chunk_length,
            end_of_output_idx=end + self.output_chunk_shift + self.output_chunk_length,
            past_covariates=sources["past_covariates"],
            future_covariates=sources["future_covariates"], sample_weight=None, n=self.n,
        )
        start = bounds[FeatureType.FUTURE_TARGET][0]
        static = series.static_covariates_values(copy=False)
        plan = _SeriesPlan(
            length=len(series),
            n_samples=0,
            ref_end=start,
            fields=_plan_fields(bounds, sources, _INFERENCE_FIELDS),
            static=static if self.uses_static_covariates_covariates else None,
        )
        self._plans[s] = plan
        return plan


def _times_at(series: TimeSeries, positions: np.ndarray) -> list:
    """The time stamps of ``positions`` of ``series``, positions past its end included.

    Position ``len(series) - 1 + k`` is ``end_time + k * freq`` (what Darts'
    ``generate_index`` continues the index with). Computed per call rather than by
    appending to the series' index: ``predict`` asks for one stamp, past the end, and
    copying a long index for it cost a tenth of a one-series forecast.
    """
    index, last = series.time_index, len(series) - 1
    if positions.max() <= last:
        return list(index[positions])
    end, freq = series.end_time(), series.freq
    return [index[p] if p <= last else end + (int(p) - last) * freq for p in positions]


def collate_batch(batch):
    """``collate_fn`` for the batched datasets: whole batches pass through as they are."""
    if isinstance(batch, (TorchTrainingBatch, TorchInferenceBatch)):
        return batch
    if batch and hasattr(batch[0], "future_target"):
        return _batch_collate_fn_train(batch)
    return _batch_collate_fn_predict(batch)
