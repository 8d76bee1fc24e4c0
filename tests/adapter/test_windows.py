"""Batched window fetching returns exactly Darts' per-sample batches."""

import numpy as np
import pandas as pd
import pytest
import torch
from darts.utils.data.torch_datasets.training_dataset import SequentialTorchTrainingDataset
from darts.utils.data.torch_datasets.utils import _batch_collate_fn_predict, _batch_collate_fn_train
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_forecast.adapter.windows import BatchedInferenceDataset, BatchedTrainingDataset, collate_batch
from rnn_forecast.tools.testing import make_series

FIELDS = ("past_target", "past_covariates", "historic_future_covariates",
          "future_covariates", "static_covariates", "future_target", "sample_weight")


def assert_same_batch(fast, slow):
    for name in FIELDS:
        a, b = getattr(fast, name), getattr(slow, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == b.dtype and torch.equal(a, b), name


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(20, 60), min_size=1, max_size=3),
    icl=st.integers(1, 8), ocl=st.integers(1, 5), shift=st.integers(0, 2),
    stride=st.integers(1, 3), max_samples=st.one_of(st.none(), st.integers(1, 30)),
    past=st.booleans(), future=st.booleans(), static=st.booleans(),
    lead=st.integers(0, 5), data=st.data(),
)
def test_batches_equal_darts_per_sample_batches(lengths, icl, ocl, shift, stride, max_samples,
                                                past, future, static, lead, data):
    series = [make_series(length=n, seed=i, start="2021-01-03") for i, n in enumerate(lengths)]
    if static:
        series = [s.with_static_covariates(pd.DataFrame({"a": [1.0 * i, 2.0], "b": [3.0, i]}))
                  for i, s in enumerate(series)]
    # covariates that start earlier and end later than the targets
    cov_start = pd.Timestamp("2021-01-03") - pd.Timedelta(hours=lead)
    past_cov = [make_series(length=n + lead + 5, n_components=3, seed=10 + i,
                            start=str(cov_start)) for i, n in enumerate(lengths)] if past else None
    future_cov = [make_series(length=n + lead + ocl + shift + 5, n_components=1, seed=20 + i,
                              start=str(cov_start)) for i, n in enumerate(lengths)] if future else None
    ds = BatchedTrainingDataset(
        series=series, past_covariates=past_cov, future_covariates=future_cov,
        input_chunk_length=icl, output_chunk_length=ocl, output_chunk_shift=shift, stride=stride,
        max_samples_per_ts=max_samples, use_static_covariates=True,
    )
    indices = data.draw(st.lists(st.integers(0, len(ds) - 1), min_size=1, max_size=40))
    assert_same_batch(collate_batch(ds.__getitems__(indices)),
                      _batch_collate_fn_train([ds[i] for i in indices]))


def test_sample_weights_use_darts_per_sample_path():
    series = make_series(length=40)
    ds = BatchedTrainingDataset(series=series, input_chunk_length=5, output_chunk_length=2,
                                sample_weight="linear")
    fetched = ds.__getitems__([0, 3, 7])
    assert isinstance(fetched, list)
    assert_same_batch(collate_batch(fetched), _batch_collate_fn_train([ds[i] for i in (0, 3, 7)]))


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_yields_darts_batches(shuffle):
    kwargs = dict(series=[make_series(length=70), make_series(length=50, seed=1)],
                  input_chunk_length=6, output_chunk_length=3)

    def loader(dataset, collate):
        return torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=shuffle, collate_fn=collate,
                                           generator=torch.Generator().manual_seed(0))

    fast = loader(BatchedTrainingDataset(**kwargs), collate_batch)
    darts = loader(SequentialTorchTrainingDataset(**kwargs), _batch_collate_fn_train)
    pairs = list(zip(fast, darts))
    assert len(pairs) == len(darts) == int(np.ceil(len(fast.dataset) / 16))
    for ours, theirs in pairs:
        assert_same_batch(ours, theirs)


def _inference_batches_equal(ours, theirs):
    for name in ("past_target", "past_covariates", "future_past_covariates",
                 "historic_future_covariates", "future_covariates", "static_covariates"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == b.dtype and torch.equal(a, b), name
    assert list(ours.pred_time) == list(theirs.pred_time)
    assert [s["columns"].tolist() for s in ours.series_schema] == \
        [s["columns"].tolist() for s in theirs.series_schema]


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(25, 60), min_size=1, max_size=3),
    icl=st.integers(1, 8), ocl=st.integers(1, 5), n_extra=st.integers(0, 7),
    stride=st.integers(1, 3), rolling=st.booleans(),
    past=st.booleans(), future=st.booleans(), static=st.booleans(), data=st.data(),
)
def test_inference_batches_equal_darts(lengths, icl, ocl, n_extra, stride, rolling, past, future,
                                       static, data):
    n = ocl + n_extra
    series = [make_series(length=k, seed=i) for i, k in enumerate(lengths)]
    if static:
        series = [s.with_static_covariates(pd.DataFrame({"a": [1.0, 2.0 * i]})) for i, s in enumerate(series)]
    past_cov = future_cov = None
    if past:
        past_cov = [make_series(length=k + n + 3, n_components=2, seed=9 + i) for i, k in enumerate(lengths)]
    if future:
        future_cov = [make_series(length=k + n + 3, n_components=1, seed=19 + i) for i, k in enumerate(lengths)]
    bounds = None
    if rolling:  # as historical_forecasts: forecast starts between icl and the series end
        bounds = np.array([[icl + data.draw(st.integers(0, 5)), k] for k in lengths])
    ds = BatchedInferenceDataset(
        series=series, past_covariates=past_cov, future_covariates=future_cov, n=n,
        stride=stride if rolling else 0, bounds=bounds, input_chunk_length=icl,
        output_chunk_length=ocl, output_chunk_shift=0, use_static_covariates=True,
    )
    indices = data.draw(st.lists(st.integers(0, len(ds) - 1), min_size=1, max_size=30))
    _inference_batches_equal(collate_batch(ds.__getitems__(indices)),
                             _batch_collate_fn_predict([ds[i] for i in indices]))


@pytest.mark.parametrize("freq", ["D", "B", "W", "MS", "QS", "h", "30min", None])
@pytest.mark.parametrize("rolling", [False, True])
def test_forecast_start_times_past_the_series_end_equal_darts(freq, rolling):
    """The forecast start stamps (computed, not read from an extended index) are Darts'
    for every common frequency and a RangeIndex, also where they lie past the end."""
    from darts import TimeSeries

    values = np.arange(30, dtype=np.float32)
    if freq is None:
        series = TimeSeries.from_values(values)
    else:
        series = TimeSeries.from_times_and_values(pd.date_range("2020-01-31", periods=30, freq=freq), values)
    icl, ocl = 4, 3
    bounds = np.array([[icl + 20, 30]]) if rolling else None  # historical forecasts up to the end
    kwargs = dict(series=[series], n=ocl, stride=1 if rolling else 0, bounds=bounds, input_chunk_length=icl,
                  output_chunk_length=ocl, output_chunk_shift=0, use_static_covariates=True)
    ds = BatchedInferenceDataset(**kwargs)
    indices = list(range(len(ds)))
    ours = collate_batch(ds.__getitems__(indices))
    theirs = _batch_collate_fn_predict([ds[i] for i in indices])
    assert list(ours.pred_time) == list(theirs.pred_time)
    assert ours.pred_time[-1] > series.end_time()  # the computed branch was exercised
