"""One prepared GPU run: is the CUDA path right, how fast is it, GRU or LSTM, in at most 8 minutes.

``python -m benchmarks gpu --out DIR`` runs these parts, in this order, each inside its
own time slot and all inside one global deadline (``--budget``, 440 s by default,
counted from the start of the process, imports included; the slots are in ``FULL``):

==================  =====  ============================================================
part                slot   what it measures
==================  =====  ============================================================
``correctness``      45 s  the same trained weights forecast the same on CUDA and CPU
                           (LSTM and GRU, defaults and ``**POINTWISE``; TF32 off, and
                           torch's defaults); save with the weights on the GPU, then
                           ``load(..., map_location="cpu")``: same weights, same forecasts
``precision``        75 s  ``bf16-mixed`` and ``16-mixed`` fits on ETTh1 stay finite, with a
                           test MSE within 2 % of the ``32-true`` fit of the same seed
``throughput``      160 s  training windows/s and peak GPU memory of ours (defaults, and the
                           point-wise architecture) against Darts' ``BlockRNNModel``: LSTM
                           and GRU, lookback 96 and 720, batch 256/1024/4096, fp32 and bf16
``latency``          45 s  ``predict(96)`` of 1 series and of 1,000 series, on the GPU and,
                           for ours, on the CPU without a trainer
``gru_vs_lstm``      25 s  GRU over LSTM training speed on the GPU, next to the CPU's (the
                           same models on this machine's CPU, and the committed CPU run)
``accuracy``        rest   if time is left: Weather H=96 trained on every window, ETTh1
                           H=336 with hidden size 512 (lookback 96, one seed per cell,
                           epochs planned from the measured step time, Lightning's
                           ``max_time`` as the hard stop)
==================  =====  ============================================================

A unit of work (one fit, one comparison) starts only if its estimated time fits in its
part's slot and before the deadline; otherwise it is written down as skipped, with the
reason. Results are rewritten after every part, so a run that is killed still leaves
what it measured: ``gpu.csv`` (every row), ``gpu.md`` (the report) and ``gpu_env.json``
(GPU name, driver, CUDA, cuDNN, torch and the other versions).

``--smoke`` runs every part with tiny sizes (on CPU where there is no CUDA: the CUDA
comparisons then become CPU against CPU, ``16-mixed`` runs as Lightning's CPU fallback
``bf16-mixed``, and the rows say so) in under a minute; ``tests/nn/test_gpu.py`` runs it.
``--parts`` runs a subset (e.g. ``--parts accuracy`` to give the accuracy rows the
whole budget). docs/gpu.md says how to run it, on one's own GPU and on a lent device.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # the budget counts from here: the imports below take seconds

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent

import pytorch_lightning as pl  # noqa: E402
from darts.models import BlockRNNModel  # noqa: E402

from benchmarks import accuracy  # noqa: E402  (its configuration, scoring and published numbers)
from benchmarks.tables import markdown_table  # noqa: E402
from rnn_forecast import POINTWISE, GRUForecaster, LSTMForecaster  # noqa: E402
from rnn_forecast.datasets import load_etth1, load_weather, ltsf_split  # noqa: E402
from rnn_forecast.evaluation.costs import environment as library_environment  # noqa: E402
from rnn_forecast.evaluation.costs import measure  # noqa: E402

for _name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
    logging.getLogger(_name).setLevel(logging.ERROR)

RESULTS = HERE / "results" / "gpu"
PARTS = ("correctness", "precision", "throughput", "latency", "gru_vs_lstm", "accuracy")
CELLS = ("lstm", "gru")
OURS = {"lstm": LSTMForecaster, "gru": GRUForecaster}
#: the three contenders of the throughput part
DESIGNS = {
    "darts": "Darts BlockRNNModel (hidden 64)",
    "pointwise": "ours, point-wise (**POINTWISE, hidden 64, MSE)",
    "default": "ours, defaults",
}
HIDDEN = 64  # Darts' BlockRNNModel and ours point-wise: the size of kernel_speed.py
HORIZON = 96  # throughput and latency
#: largest relative difference (max |a - b| / max |b|) of forecasts from the same
#: weights on two devices: fp32 with TF32 off, and torch's defaults (cuDNN may use TF32)
STRICT_TOLERANCE, TF32_TOLERANCE = 1e-4, 1e-2
#: the largest relative test-MSE change a mixed-precision fit may show against fp32
PRECISION_TOLERANCE = 0.02
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Every size of a run: the GPU run (:data:`FULL`) or the smoke run (:data:`SMOKE`).

    Attributes
    ----------
    name
        ``"full"`` or ``"smoke"``.
    weather_components
        How many of Weather's 21 components every Weather part uses (``None``: all).
    budget_s
        Default global deadline, seconds from the start of the process.
    slots
        Seconds each part may use (``None``: whatever is left before the deadline).
    check_lookback, check_horizon, check_windows, check_series
        Correctness: lookback, horizon (forecasts are ``2 * check_horizon`` long, so
        they roll out), training windows (one epoch, batch 256) and forecast series.
    precision_epochs, precision_windows, precision_test_windows, precision_cells
        Mixed precision (ETTh1, lookback and horizon 96, batch 64): epochs, training
        windows (``None``: all), test windows scored (``None``: all) and cells.
    lookbacks, batch_sizes, precisions, warmup_steps, timed_steps
        Throughput grid, and the optimizer steps of each fit: the first
        ``warmup_steps`` untimed, the next ``timed_steps`` timed (:class:`StepTimer`).
    latency_calls, many_series, many_calls
        Latency: calls timed for 1 series, the size of the many-series call and its calls.
    cpu_designs, cpu_steps
        GRU against LSTM on this machine's CPU: designs, and (warm-up, timed) steps.
    accuracy_cells, accuracy_epochs, accuracy_hidden, etth1_hidden, accuracy_train_windows, accuracy_test_windows
        Accuracy rows: cells, most epochs, hidden size of the Weather row (``None``:
        the accuracy configuration's 128), of the ETTh1 row, training windows
        (``None``: all) and validation/test windows (``None``: all).
    """

    name: str
    weather_components: int | None
    budget_s: float
    slots: dict
    check_lookback: int
    check_horizon: int
    check_windows: int
    check_series: int
    precision_epochs: int
    precision_windows: int | None
    precision_test_windows: int | None
    precision_cells: tuple
    lookbacks: tuple
    batch_sizes: tuple
    precisions: tuple
    warmup_steps: int
    timed_steps: int
    latency_calls: int
    many_series: int
    many_calls: int
    cpu_designs: tuple
    cpu_steps: tuple
    accuracy_cells: tuple
    accuracy_epochs: int
    accuracy_hidden: int | None
    etth1_hidden: int
    accuracy_train_windows: int | None
    accuracy_test_windows: int | None


FULL = Sizes(
    name="full", weather_components=None, budget_s=440.0,
    slots={"correctness": 45, "precision": 75, "throughput": 160, "latency": 45, "gru_vs_lstm": 25,
           "accuracy": None},
    check_lookback=96, check_horizon=48, check_windows=2048, check_series=32,
    precision_epochs=4, precision_windows=None, precision_test_windows=None, precision_cells=CELLS,
    lookbacks=(96, 720), batch_sizes=(256, 1024, 4096), precisions=("32-true", "bf16-mixed"),
    warmup_steps=3, timed_steps=8,
    latency_calls=20, many_series=1000, many_calls=2,
    cpu_designs=tuple(DESIGNS), cpu_steps=(2, 5),
    accuracy_cells=CELLS, accuracy_epochs=20, accuracy_hidden=None, etth1_hidden=512,
    accuracy_train_windows=None, accuracy_test_windows=None,
)
SMOKE = Sizes(
    name="smoke", weather_components=3, budget_s=300.0,
    slots={"correctness": 60, "precision": 60, "throughput": 90, "latency": 30, "gru_vs_lstm": 30,
           "accuracy": None},
    check_lookback=24, check_horizon=12, check_windows=128, check_series=4,
    precision_epochs=1, precision_windows=128, precision_test_windows=40, precision_cells=("gru",),
    lookbacks=(24,), batch_sizes=(32,), precisions=("32-true",),
    warmup_steps=1, timed_steps=2,
    latency_calls=1, many_series=10, many_calls=1,
    cpu_designs=("pointwise",), cpu_steps=(1, 2),
    accuracy_cells=("gru",), accuracy_epochs=1, accuracy_hidden=16, etth1_hidden=16,
    accuracy_train_windows=64, accuracy_test_windows=20,
)


# -- time ---------------------------------------------------------------------------------


class Clock:
    """The run's time: one global deadline, and a slot per part that the part may not overrun.

    Parameters
    ----------
    budget_s
        Seconds from ``started`` to the deadline.
    started
        ``time.perf_counter()`` at the start of the run.
    now
        The clock (replaceable in tests).
    """

    def __init__(self, budget_s: float, started: float, now: Callable[[], float] = time.perf_counter):
        self.budget_s, self.started, self.now = budget_s, started, now
        self.deadline = started + budget_s
        self.part, self.slot_s, self.part_end = None, None, self.deadline

    def elapsed(self) -> float:
        """Seconds since the start of the run."""
        return self.now() - self.started

    def start_part(self, name: str, slot_s: float | None) -> None:
        """Start part ``name``, which may use ``slot_s`` seconds (``None``: up to the deadline)."""
        self.part, self.slot_s = name, slot_s
        self.part_end = self.deadline if slot_s is None else min(self.now() + slot_s, self.deadline)

    def left_in_part(self) -> float:
        """Seconds left before the part's slot or the deadline ends, whichever comes first."""
        return self.part_end - self.now()

    def why_not(self, estimate_s: float) -> str | None:
        """``None`` if a unit of about ``estimate_s`` seconds fits, else why it is skipped."""
        finish = self.now() + estimate_s
        if finish > self.deadline:
            return f"skipped: the global deadline ({self.budget_s:.0f} s) would pass (needs ~{estimate_s:.0f} s)"
        if finish > self.part_end:
            return f"skipped: the {self.part} part's {self.slot_s:.0f} s slot is spent (needs ~{estimate_s:.0f} s)"
        return None


class Estimates:
    """How long a unit of work will take: what units of the same key took, else a guess.

    Parameters
    ----------
    guess_s
        The estimate before any unit ran.
    """

    def __init__(self, guess_s: float):
        self.guess_s, self.seen = guess_s, {}

    def __call__(self, key) -> float:
        """Seconds a unit of ``key`` should take."""
        if key in self.seen:
            return self.seen[key]
        every = list(self.seen.values())
        return statistics.median(every) if every else self.guess_s

    def record(self, key, seconds: float) -> None:
        """A unit of ``key`` took ``seconds``."""
        self.seen[key] = seconds


# -- devices, models and measurements ---------------------------------------------------------


def quiet_trainer(accelerator: str, **extra) -> dict:
    """``pl_trainer_kwargs`` of a quiet one-device trainer, plus ``extra``."""
    return {"accelerator": accelerator, "devices": 1, "enable_progress_bar": False,
            "enable_model_summary": False, "logger": False, "enable_checkpointing": False, **extra}


def build(design: str, cell: str, lookback: int, horizon: int, batch_size: int, trainer: dict,
          n_epochs: int = 1, seed: int = 0):
    """One contender of :data:`DESIGNS`, untrained.

    ``"darts"`` is ``BlockRNNModel`` at hidden size 64; ``"pointwise"`` is ours with the
    same architecture (``**POINTWISE``, hidden 64, Darts' MSE loss), as in
    ``kernel_speed.py``; ``"default"`` is ours with nothing but the user's arguments.
    """
    common = dict(input_chunk_length=lookback, output_chunk_length=horizon, batch_size=batch_size,
                  n_epochs=n_epochs, random_state=seed, pl_trainer_kwargs=trainer)
    if design == "darts":
        return BlockRNNModel(model=cell.upper(), hidden_dim=HIDDEN, **common)
    if design == "pointwise":
        return OURS[cell](hidden_dim=HIDDEN, **POINTWISE, loss_fn=torch.nn.MSELoss(), **common)
    return OURS[cell](**common)


def synchronize() -> None:
    """Wait for the GPU's queued work (no-op without CUDA), so that host clocks time it."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer(pl.Callback):
    """Time the optimizer steps after the first ``warmup``, inside epochs (batch loading included).

    Each step is timed from the end of the step before it to its own end, the GPU
    synchronized at both; a step that opens an epoch is left out, so that what happens
    between epochs (validation, the data loader's restart) does not count.

    Parameters
    ----------
    warmup, last
        Steps ``1..warmup`` are not timed; timing ends with step ``last``.
    """

    def __init__(self, warmup: int, last: int):
        if not 1 <= warmup < last:
            raise ValueError(f"need 1 <= warmup < last, got {warmup}, {last}")
        self.warmup, self.last = warmup, last
        self.previous = None
        self.seconds: list[float] = []  # one per timed step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if not self.warmup <= step <= self.last:
            return
        synchronize()
        now = time.perf_counter()
        if self.previous is not None and batch_idx > 0:
            self.seconds.append(now - self.previous)
        self.previous = now


@contextlib.contextmanager
def tf32(enabled: bool | None):
    """Allow or forbid TF32 in cuBLAS and cuDNN inside the block (``None``: leave torch's defaults)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    if enabled is not None:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextlib.contextmanager
def on_accelerator(model, accelerator: str):
    """``model`` predicting on ``accelerator`` inside the block (on CPU: trainer-free where it can)."""
    saved = model.trainer_params.get("accelerator")
    model.trainer_params["accelerator"] = accelerator
    if accelerator == "cpu":
        model.model.to("cpu")
    try:
        yield model
    finally:
        model.trainer_params["accelerator"] = saved


def values(forecasts) -> np.ndarray:
    """Forecast values ``(series, steps, components)`` of one or several ``TimeSeries``."""
    forecasts = forecasts if isinstance(forecasts, list) else [forecasts]
    return np.stack([f.values() for f in forecasts])


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``max |a - b|`` and the same relative to ``max |b|``."""
    largest = float(np.abs(a - b).max())
    return largest, largest / max(float(np.abs(b).max()), 1e-12)


def all_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter of ``module`` is finite."""
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def train_throughput(design: str, cell: str, lookback: int, batch_size: int, precision: str, accelerator: str,
                     split, sizes: Sizes, steps: tuple[int, int] | None = None) -> tuple[object, dict]:
    """Fit one contender for a few steps; its steady-state training speed and peak memory.

    The training series is cut to whole batches of its most recent windows (enough for
    every step in one epoch where the series is long enough); the fit stops after
    ``warmup + timed`` optimizer steps (``max_steps``). A one-window validation series
    keeps forecasters that validate from holding out training windows.

    Returns
    -------
    model, measurements
        The fitted model; ``windows_per_s`` and ``step_ms`` (median) over the timed
        steps (:class:`StepTimer`), ``peak_mb`` (GPU memory allocated above the start
        on CUDA, resident memory on CPU), ``fit_s`` (the whole ``fit``, set-up
        included) and the precision Lightning used.
    """
    warmup, timed = steps or (sizes.warmup_steps, sizes.timed_steps)
    available = (len(split.train) - lookback - HORIZON + 1) // batch_size
    epoch_batches = max(1, min(warmup + timed + 1, available))
    timer = StepTimer(warmup, warmup + timed)
    trainer = quiet_trainer(accelerator, precision=precision, max_steps=warmup + timed, callbacks=[timer])
    model = build(design, cell, lookback, HORIZON, batch_size, trainer,
                  n_epochs=math.ceil((warmup + timed) / epoch_batches) + 1)
    series = split.train[-(lookback + HORIZON - 1 + batch_size * epoch_batches):]
    began = time.perf_counter()
    with measure("gpu" if accelerator == "gpu" else "cpu") as memory:
        model.fit(series, val_series=split.val[: lookback + HORIZON])
    fit_s = time.perf_counter() - began
    timer = next(cb for cb in model.trainer.callbacks if isinstance(cb, StepTimer))  # the one the trainer had
    if not timer.seconds:
        raise RuntimeError(f"no step was timed: the fit ended at step {model.trainer.global_step}")
    return model, {"windows_per_s": len(timer.seconds) * batch_size / sum(timer.seconds),
                   "step_ms": 1e3 * statistics.median(timer.seconds), "timed_steps": len(timer.seconds),
                   "peak_mb": memory.peak_mb, "fit_s": fit_s, "precision_used": str(model.trainer.precision)}


# -- the run: rows, files -----------------------------------------------------------------


class Run:
    """Everything one run measures, and the files it writes.

    Parameters
    ----------
    out
        Results folder.
    sizes
        :data:`FULL` or :data:`SMOKE`.
    cuda
        Whether the run uses a CUDA device (else everything runs on CPU).
    clock
        The run's :class:`Clock`.
    command
        The command line, for the report.
    data_dir
        Folder of the dataset files (``None``: ``RNN_FORECAST_DATA`` or the cache).
    """

    def __init__(self, out: Path, sizes: Sizes, cuda: bool, clock: Clock, command: str,
                 data_dir: str | None = None):
        self.out, self.sizes, self.cuda, self.clock, self.command = out, sizes, cuda, clock, command
        self.accelerator = "gpu" if cuda else "cpu"
        self.device = torch.cuda.get_device_name(0) if cuda else "CPU (no CUDA)"
        self.rows: list[dict] = []
        self.parts: list[dict] = []
        self.env: dict = {}
        self.errors = 0
        self.fitted: dict = {}  # (design, cell) -> a model of the throughput part, for latency
        self.data = Data(data_dir, sizes.weather_components)

    def add(self, part: str, **row) -> dict:
        row = {"part": part, **row}
        row.setdefault("status", "ok")
        self.rows.append(row)
        return row

    def attempt(self, part: str, row: dict, estimate_s: float, work: Callable[[], dict]) -> dict | None:
        """Run ``work()`` (a dict of results) if it fits in the time left; add its row either way.

        A unit that raises is written down as an error (the run goes on, and exits with
        status 1); a unit that does not fit, as skipped.
        """
        reason = self.clock.why_not(estimate_s)
        if reason:
            self.add(part, **row, status=reason)
            print(f"  {part}: {row} {reason}", flush=True)
            return None
        began = time.perf_counter()
        try:
            results = work()
        except Exception as exc:  # noqa: BLE001 - write it down, go on, fail at the end
            traceback.print_exc()
            self.errors += 1
            self.add(part, **row, status=f"error: {type(exc).__name__}: {exc}"[:400],
                     seconds=time.perf_counter() - began)
            return None
        added = self.add(part, **row, **results, seconds=time.perf_counter() - began)
        shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in added.items() if k != "part"}
        print(f"  {part}: {shown}", flush=True)
        return added

    def frame(self, part: str) -> pd.DataFrame:
        rows = [r for r in self.rows if r["part"] == part]
        return pd.DataFrame(rows).drop(columns="part").dropna(axis=1, how="all") if rows else pd.DataFrame()

    def write(self) -> None:
        """(Re)write ``gpu.csv``, ``gpu.md`` and ``gpu_env.json``."""
        self.out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(self.rows).to_csv(self.out / "gpu.csv", index=False, float_format="%.6g")
        (self.out / "gpu_env.json").write_text(json.dumps(self.env, indent=2, default=str) + "\n")
        (self.out / "gpu.md").write_text(report(self))


class Data:
    """The standardized long-horizon splits (``ltsf_split``), loaded once each.

    Parameters
    ----------
    data_dir
        Folder of the dataset files (``None``: ``RNN_FORECAST_DATA`` or the cache).
    weather_components
        Keep only the first components of Weather (``None``: all 21).
    """

    def __init__(self, data_dir: str | None = None, weather_components: int | None = None):
        self.data_dir, self.weather_components = data_dir, weather_components
        self._raw, self._splits = {}, {}

    def split(self, dataset: str, lookback: int):
        if (dataset, lookback) not in self._splits:
            if dataset not in self._raw:
                if dataset == "weather":
                    target = load_weather(self.data_dir, raw_order=True).target
                    if self.weather_components is not None:
                        target = target[list(target.components[: self.weather_components])]
                    self._raw[dataset] = target
                else:
                    self._raw[dataset] = load_etth1(self.data_dir).target
            self._splits[dataset, lookback] = ltsf_split(self._raw[dataset], dataset, lookback)
        return self._splits[dataset, lookback]


# -- environment --------------------------------------------------------------------------


def gpu_facts() -> dict:
    """GPU name, memory, driver, compute capability, CUDA, cuDNN and TF32 defaults."""
    if not torch.cuda.is_available():
        return {"cuda_available": False, "gpu_name": "skipped: no CUDA", "driver": "skipped: no CUDA",
                "cuda": torch.version.cuda, "cudnn": None}
    props = torch.cuda.get_device_properties(0)
    facts = {
        "cuda_available": True, "gpu_name": props.name, "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "gpu_count": torch.cuda.device_count(), "compute_capability": f"{props.major}.{props.minor}",
        "multiprocessors": props.multi_processor_count, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(), "cudnn_enabled": torch.backends.cudnn.enabled,
        "bf16_supported": torch.cuda.is_bf16_supported(),
        "tf32_matmul_default": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn_default": torch.backends.cudnn.allow_tf32,
        "driver": "unknown",
    }
    try:
        query = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=20)
        facts["driver"] = query.stdout.strip().splitlines()[0] if query.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        pass
    return facts


def environment(run: Run) -> dict:
    """The run's machine and versions (``gpu_env.json``)."""
    import numba

    env = library_environment(torch.get_num_threads(), "gpu" if run.cuda else "cpu")
    env.update(gpu_facts())
    env.update(numpy=np.__version__, numba=numba.__version__, command=run.command, sizes=run.sizes.name,
               budget_s=run.clock.budget_s, commit=_git_commit())
    return env


def _git_commit() -> str:
    """The commit of the code that ran: ``git``, else ``$RNN_FORECAST_COMMIT`` (a copy without ``.git``)."""
    try:
        head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return os.environ.get("RNN_FORECAST_COMMIT", "unknown")


# -- the parts ----------------------------------------------------------------------------


def part_correctness(run: Run) -> None:
    """Same weights on two devices, and save on the GPU / load on the CPU (see the module docstring)."""
    s = run.sizes
    lookback, horizon = s.check_lookback, s.check_horizon
    split = run.data.split("weather", lookback)
    train = split.train[-(lookback + horizon - 1 + s.check_windows):]
    step = max(1, (len(split.val) - lookback) // s.check_series)
    series = [split.val[i * step: i * step + lookback] for i in range(s.check_series)]
    n = 2 * horizon  # longer than the output chunk: the auto-regressive roll-out runs too
    estimate = Estimates(guess_s=8.0)
    kept = {}
    for cell in CELLS:
        for design in ("default", "pointwise"):
            row = {"check": "same weights: CUDA vs CPU" if run.cuda else "same weights: Lightning CPU vs trainer-free",
                   "cell": cell.upper(), "design": DESIGNS[design], "forecasts": f"{len(series)} x {n} steps"}

            def work(cell=cell, design=design):
                began = time.perf_counter()
                model = build(design, cell, lookback, horizon, 256, quiet_trainer(run.accelerator))
                model.fit(train)
                with on_accelerator(model, "cpu"):
                    reference = values(model.predict(n, series=series))  # the trainer-free CPU path
                results = {}
                if run.cuda:
                    with tf32(False):
                        strict = values(model.predict(n, series=series))
                    with tf32(None):
                        default = values(model.predict(n, series=series))
                    kept[cell, design] = (model, reference, strict)
                    for label, other, tolerance in (("TF32 off", strict, STRICT_TOLERANCE),
                                                    ("torch defaults", default, TF32_TOLERANCE)):
                        largest, relative = difference(other, reference)
                        results.update({f"max_abs ({label})": largest, f"relative ({label})": relative,
                                        f"tolerance ({label})": tolerance})
                    passed = (results["relative (TF32 off)"] <= STRICT_TOLERANCE
                              and results["relative (torch defaults)"] <= TF32_TOLERANCE)
                else:
                    other = values(model.predict(n, series=series, trainer=pl.Trainer(**quiet_trainer("cpu"))))
                    kept[cell, design] = (model, reference, other)
                    largest, relative = difference(other, reference)
                    results.update({"max_abs (TF32 off)": largest, "relative (TF32 off)": relative,
                                    "tolerance (TF32 off)": STRICT_TOLERANCE,
                                    "note": "no CUDA: the Lightning path on CPU against the trainer-free one"})
                    passed = relative <= STRICT_TOLERANCE
                estimate.record(None, time.perf_counter() - began)
                return {**results, "passed": passed}

            run.attempt("correctness", row, estimate(None), work)
    save_and_load(run, kept, n, series)


def save_and_load(run: Run, kept: dict, n: int, series: list) -> None:
    """Save each model with its weights on the accelerator, load it with ``map_location="cpu"``.

    Loaded twice: in this process, and in a fresh one that sees no GPU
    (``CUDA_VISIBLE_DEVICES=""``), as on a CPU-only machine (:func:`load_on_cpu`).
    """
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        checked = {}
        for (cell, design), (model, reference, accelerated) in kept.items():
            row = {"check": "save on GPU, load(map_location='cpu')" if run.cuda else "save, load(map_location='cpu')",
                   "cell": cell.upper(), "design": DESIGNS[design]}

            def work(model=model, reference=reference, accelerated=accelerated, cell=cell, design=design):
                model.model.to("cuda" if run.cuda else "cpu")
                saved_on = sorted({p.device.type for p in model.model.parameters()})
                path = folder / f"{path_stem(cell, design)}.pt"
                model.save(str(path))
                model.model.to("cpu")
                loaded = type(model).load(str(path), map_location="cpu", pl_trainer_kwargs=quiet_trainer("cpu"))
                loaded_on = sorted({p.device.type for p in loaded.model.parameters()})
                mine, theirs = model.model.state_dict(), loaded.model.state_dict()
                same_weights = mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
                forecast = values(loaded.predict(n, series=series))
                largest, _ = difference(forecast, reference)
                _, relative = difference(forecast, accelerated)
                return {"saved_on": "+".join(saved_on), "loaded_on": "+".join(loaded_on),
                        "same_weights": same_weights, "max_abs (vs CPU forecast)": largest,
                        "relative (vs accelerator forecast)": relative,
                        "passed": loaded_on == ["cpu"] and same_weights and largest == 0.0}

            if run.attempt("correctness", row, 3.0, work):
                checked[path_stem(cell, design)] = (cell, design, reference)
        if not checked:
            return
        row = {"check": "load(map_location='cpu') in a process that sees no GPU", "cell": "LSTM+GRU",
               "design": "both", "forecasts": f"{len(series)} x {n} steps"}

        def fresh_process():
            with open(folder / "series.pkl", "wb") as handle:
                pickle.dump({"series": series, "n": n}, handle)
            done = subprocess.run([sys.executable, "-m", "benchmarks", "gpu", "--load-on-cpu", str(folder)],
                                  env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, cwd=HERE.parent,
                                  capture_output=True, text=True,
                                  timeout=max(30.0, run.clock.left_in_part()))
            if done.returncode != 0:
                raise RuntimeError(f"the CPU-only process failed: {done.stderr[-1500:]}")
            forecasts = np.load(folder / "cpu_forecasts.npz")
            largest = max(difference(forecasts[stem], reference)[0] for stem, (_, _, reference) in checked.items())
            return {"models": len(forecasts.files), "max_abs (vs CPU forecast)": largest,
                    "passed": sorted(forecasts.files) == sorted(checked) and largest == 0.0}

        run.attempt("correctness", row, 20.0, fresh_process)


def path_stem(cell: str, design: str) -> str:
    """File name (without ``.pt``) of a saved model of the correctness part."""
    return f"{cell}-{design}"


def load_on_cpu(folder: Path) -> None:
    """Load every model saved in ``folder`` with ``map_location="cpu"``, forecast, save the forecasts.

    Run by :func:`save_and_load` in a process that sees no GPU (``--load-on-cpu``):
    ``folder/series.pkl`` holds the series and ``n``; ``folder/cpu_forecasts.npz``
    receives one array per model, named after its file.
    """
    if torch.cuda.is_available():
        raise RuntimeError("--load-on-cpu must run where torch sees no GPU (CUDA_VISIBLE_DEVICES='')")
    with open(folder / "series.pkl", "rb") as handle:
        inputs = pickle.load(handle)
    forecasts = {}
    for path in sorted(folder.glob("*.pt")):
        cell = path.stem.split("-")[0]
        model = OURS[cell].load(str(path), map_location="cpu", pl_trainer_kwargs=quiet_trainer("cpu"))
        forecasts[path.stem] = values(model.predict(inputs["n"], series=inputs["series"]))
    np.savez(folder / "cpu_forecasts.npz", **forecasts)


def part_precision(run: Run) -> None:
    """Mixed-precision fits on ETTh1: finite, and test MSE within 2 % of the fp32 fit."""
    s = run.sizes
    lookback = horizon = 96
    split = run.data.split("etth1", lookback)
    train, test = split.train, split.test
    if s.precision_windows is not None:
        train = train[-(lookback + horizon - 1 + s.precision_windows):]
    if s.precision_test_windows is not None:
        test = test[: lookback + horizon - 1 + s.precision_test_windows]
    estimate = Estimates(guess_s=15.0)
    for cell in s.precision_cells:
        baseline = None
        for precision in PRECISIONS:
            row = {"check": "mixed-precision fit, ETTh1 test MSE", "cell": cell.upper(), "design": DESIGNS["default"],
                   "precision": precision, "epochs": s.precision_epochs}

            def work(cell=cell, precision=precision):
                nonlocal baseline
                began = time.perf_counter()
                model = build("default", cell, lookback, horizon, 64,
                              quiet_trainer(run.accelerator, precision=precision), n_epochs=s.precision_epochs)
                model.fit(train)
                used = str(model.trainer.precision)
                scaler = getattr(model.trainer.precision_plugin, "scaler", None)
                finite = all_finite(model.model)
                mse, mae = accuracy.score(model, test, lookback, horizon)
                finite = finite and math.isfinite(mse)
                if precision == "32-true":
                    baseline = mse
                change = mse / baseline - 1 if baseline else float("nan")
                estimate.record(None, time.perf_counter() - began)
                note = "" if used == precision else f"ran as {used}: Lightning has no fp16 AMP on CPU"
                return {"precision_used": used, "grad_scaler": scaler is not None,
                        "final_loss_scale": float(scaler.get_scale()) if scaler is not None else float("nan"),
                        "finite": finite, "test_mse": mse, "test_mae": mae, "mse_change_vs_fp32": change,
                        "tolerance": PRECISION_TOLERANCE,
                        "passed": finite and (precision == "32-true" or abs(change) <= PRECISION_TOLERANCE),
                        "note": note}

            run.attempt("precision", row, estimate(None), work)


def part_throughput(run: Run) -> None:
    """The throughput grid, in order of importance (fp32 first, the small lookback first)."""
    s = run.sizes
    estimate = Estimates(guess_s=6.0)
    for precision in s.precisions:
        for lookback in s.lookbacks:
            split = run.data.split("weather", lookback)
            for batch_size in s.batch_sizes:
                for cell in CELLS:
                    for design in DESIGNS:
                        row = {"model": DESIGNS[design], "cell": cell.upper(), "lookback": lookback,
                               "batch_size": batch_size, "precision": precision, "device": run.device}
                        key = (design, lookback, batch_size)

                        def work(design=design, cell=cell, lookback=lookback, batch_size=batch_size,
                                 precision=precision, split=split, key=key):
                            began = time.perf_counter()
                            model, results = train_throughput(design, cell, lookback, batch_size, precision,
                                                              run.accelerator, split, s)
                            estimate.record(key, time.perf_counter() - began)
                            first = (lookback, batch_size, precision) == (s.lookbacks[0], s.batch_sizes[0],
                                                                          s.precisions[0])
                            if first:
                                run.fitted[design, cell] = model  # for the latency part
                            return results

                        run.attempt("throughput", row, estimate(key), work)


def part_latency(run: Run) -> None:
    """``predict(96)`` of 1 series, then of many: the models of the throughput part (lookback 96).

    On the accelerator, through Lightning's ``Trainer.predict`` (Darts' path, and ours on
    a GPU); ours also on the CPU without a trainer (its fast path): what a GPU must beat.
    """
    s = run.sizes
    lookback = s.lookbacks[0]
    split = run.data.split("weather", lookback)
    step = max(1, (len(split.val) - lookback) // s.many_series)
    many = [split.val[i * step: i * step + lookback] for i in range(s.many_series)]
    if not run.fitted:
        run.add("latency", status="skipped: no model of the throughput part to time")
    estimate = Estimates(guess_s=5.0)
    for label, series, calls in (("1 series", split.val[-lookback:], s.latency_calls),
                                 (f"{s.many_series:,} series", many, s.many_calls)):
        for (design, cell), model in run.fitted.items():
            paths = [(run.accelerator, run.device)] + ([("cpu", "CPU, trainer-free")] if design != "darts" else [])
            for accelerator, where in paths:
                row = {"model": DESIGNS[design], "cell": cell.upper(), "lookback": lookback, "series": label,
                       "device": where}
                key = (label, design, accelerator)

                def work(model=model, accelerator=accelerator, series=series, calls=calls, key=key):
                    began = time.perf_counter()
                    with on_accelerator(model, accelerator):
                        model.predict(HORIZON, series=series)  # warm-up
                        seconds = []
                        for _ in range(calls):
                            start = time.perf_counter()
                            model.predict(HORIZON, series=series)
                            synchronize()
                            seconds.append(time.perf_counter() - start)
                    estimate.record(key, time.perf_counter() - began)
                    return {"predict_ms": 1e3 * statistics.median(seconds), "calls": calls}

                run.attempt("latency", row, estimate(key), work)


def part_gru_vs_lstm(run: Run) -> None:
    """The same contenders on this machine's CPU (lookback 96, smallest batch, fp32)."""
    s = run.sizes
    lookback, batch_size = s.lookbacks[0], s.batch_sizes[0]
    split = run.data.split("weather", lookback)
    estimate = Estimates(guess_s=10.0)
    for design in s.cpu_designs:
        for cell in CELLS:
            row = {"model": DESIGNS[design], "cell": cell.upper(), "lookback": lookback, "batch_size": batch_size,
                   "precision": "32-true", "device": f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"}

            def work(design=design, cell=cell):
                began = time.perf_counter()
                _, results = train_throughput(design, cell, lookback, batch_size, "32-true", "cpu", split, s,
                                              steps=s.cpu_steps)
                estimate.record(design, time.perf_counter() - began)
                return results

            run.attempt("gru_vs_lstm", row, estimate(design), work)


def gru_over_lstm(run: Run) -> pd.DataFrame:
    """GRU windows/s over LSTM windows/s for every configuration measured with both cells."""
    rows = [r for r in run.rows if r["part"] in ("throughput", "gru_vs_lstm") and r["status"] == "ok"]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    keys = ["device", "model", "lookback", "batch_size", "precision"]
    table = frame.pivot_table(index=keys, columns="cell", values="windows_per_s", aggfunc="first")
    table = table.dropna(subset=[c for c in ("LSTM", "GRU") if c in table.columns])
    if not {"LSTM", "GRU"} <= set(table.columns) or table.empty:
        return pd.DataFrame()
    table["GRU / LSTM"] = table["GRU"] / table["LSTM"]
    return table.reset_index().rename(columns={"LSTM": "LSTM windows/s", "GRU": "GRU windows/s"})


def committed_cpu_answer() -> str:
    """GRU over LSTM in the committed CPU run of ``kernel_speed.py`` (2 cores), if it is there."""
    path = HERE / "results" / "kernel_speed.csv"
    if not path.is_file():
        return "no committed CPU run (benchmarks/results/kernel_speed.csv is absent)"
    frame = pd.read_csv(path)
    speed = frame[frame.measure == "train windows/s"].set_index("model")["value"]
    parts = []
    for label, lstm, gru in (("ours", "ours LSTM", "ours GRU"),
                             ("Darts BlockRNNModel", "darts BlockRNN LSTM", "darts BlockRNN GRU")):
        if lstm in speed and gru in speed:
            parts.append(f"{label} {speed[gru] / speed[lstm]:.2f}x")
    return ("committed CPU run (benchmarks/results/kernel_speed.csv: point-wise architecture, lookback 96, "
            "batch 64, 2 cores): GRU / LSTM = " + ", ".join(parts))


#: seconds an accuracy fit spends outside its epochs (the model, its checkpoints, data checks)
ACCURACY_SETUP_S = 10.0


def part_accuracy(run: Run) -> None:
    """The two lookback-96 gaps, one seed per cell, epochs planned to fit in the time left.

    Each fit gets the epochs its share of the time left allows (at most the configured
    20): the cells of one dataset share alike, after one epoch has been kept back for
    each fit of the datasets still to come. Lightning's ``max_time`` stops a fit that
    runs slower than planned.
    """
    s = run.sizes
    parser = argparse.ArgumentParser()
    accuracy.add_training_arguments(parser)
    step_s = _accuracy_step_s(run)
    plans = []
    for dataset, horizon, hidden, what in (("etth1", 336, s.etth1_hidden, "hidden size 512 (SegRNN's)"),
                                           ("weather", 96, s.accuracy_hidden, "every training window (stride 1)")):
        lookback = 96
        args = parser.parse_args([])
        args.hidden_dim = hidden or args.hidden_dim
        args.train_stride, args.max_train_windows, args.data_dir = 1, s.accuracy_train_windows, run.data.data_dir
        split = run.data.split(dataset, lookback)
        if s.accuracy_test_windows is not None:  # smoke sizes: short series throughout
            rows = lookback + horizon - 1
            split = dataclasses.replace(
                split, train=split.train[-(rows + args.max_train_windows):],
                val=split.val[: rows + s.accuracy_test_windows], test=split.test[: rows + s.accuracy_test_windows])
        windows = {part: len(getattr(split, part)) - lookback - horizon + 1 for part in ("train", "val", "test")}
        steps = math.ceil(windows["train"] / args.batch_size) + 0.5 * math.ceil(windows["val"] / args.batch_size)
        score_s = 5.0 + step_s * 0.5 * math.ceil(windows["test"] / args.batch_size)
        plans.append({"dataset": dataset, "horizon": horizon, "lookback": lookback, "what": what, "args": args,
                      "split": split, "train_windows": windows["train"], "epoch_s": step_s * steps,
                      "fixed_s": score_s + ACCURACY_SETUP_S})
    for index, plan in enumerate(plans):
        for position, cell in enumerate(s.accuracy_cells):
            later = sum(p["epoch_s"] + p["fixed_s"] for p in plans[index + 1:]) * len(s.accuracy_cells)
            share = (run.clock.left_in_part() - later) / (len(s.accuracy_cells) - position)
            epochs = int(min(s.accuracy_epochs, max(0.0, (share - plan["fixed_s"]) // plan["epoch_s"])))
            row = {"dataset": plan["dataset"], "horizon": plan["horizon"], "lookback": plan["lookback"],
                   "cell": cell.upper(), "what": plan["what"], "hidden_dim": plan["args"].hidden_dim,
                   "train_windows": plan["train_windows"], "planned_epochs": epochs,
                   "estimated_epoch_s": plan["epoch_s"]}
            if epochs < 1:
                run.add("accuracy", **row, status=f"skipped: {max(share, 0):.0f} s left for it; one epoch, scoring "
                                                   f"and set-up need ~{plan['epoch_s'] + plan['fixed_s']:.0f} s")
                continue
            args = argparse.Namespace(**{**vars(plan["args"]), "epochs": epochs})
            max_time = int(epochs * plan["epoch_s"] + 0.5 * (share - plan["fixed_s"] - epochs * plan["epoch_s"]))

            def work(plan=plan, cell=cell, args=args, max_time=max_time):
                trainer = {**accuracy.trainer_kwargs(args.patience, False), "accelerator": run.accelerator,
                           "max_time": {"seconds": max(1, max_time)}}
                dataset, horizon, lookback = plan["dataset"], plan["horizon"], plan["lookback"]
                result = accuracy.fit_and_score(
                    lambda work_dir: accuracy.our_model(cell, horizon, lookback, args, work_dir,
                                                        pl_trainer_kwargs=trainer),
                    plan["split"], lookback, horizon, args, validation=False)  # its time slot plans the test part only
                published = accuracy.PUBLISHED_L96.get((dataset, horizon))
                return {**result, "max_time_s": max_time,
                        "published_mse": published[0] if published else float("nan"),
                        "published_by": published[1] if published else "",
                        "cpu_reference": _committed_accuracy(dataset, horizon, cell)}

            run.attempt("accuracy", row, epochs * plan["epoch_s"] + plan["fixed_s"], work)


def _accuracy_step_s(run: Run) -> float:
    """Seconds per optimizer step of the accuracy fits, from the throughput part where it ran.

    The slowest timed step of our defaults at the smallest batch on this device: the
    accuracy fits (batch 64) are at most as large, and Lightning's per-step overhead,
    not the arithmetic, dominates small batches on a GPU. 1.5x for safety.
    """
    steps = [r["step_ms"] for r in run.rows if r["part"] == "throughput" and r["status"] == "ok"
             and r["model"] == DESIGNS["default"] and r["batch_size"] == run.sizes.batch_sizes[0]]
    return 1.5 * max(steps) / 1e3 if steps else (0.02 if run.cuda else 0.2)


def _committed_accuracy(dataset: str, horizon: int, cell: str) -> str:
    """The committed CPU result of the same cell (lookback 96), with its configuration."""
    path = HERE / "results" / "accuracy.csv"
    if not path.is_file():
        return ""
    frame = pd.read_csv(path)
    rows = frame[(frame.dataset == dataset) & (frame.horizon == horizon) & (frame.lookback == 96)
                 & (frame.model == accuracy.ours_name(cell))]
    if rows.empty:
        return ""
    first = rows.iloc[0]
    return (f"{rows.mse.mean():.4f} ({len(rows)} seeds, hidden {first.hidden_dim}, "
            f"train stride {first.train_stride})")


# -- the report ---------------------------------------------------------------------------

SECTIONS = {
    "correctness": "Correctness: the same weights on CUDA and CPU, save and load",
    "precision": "Mixed precision",
    "throughput": "Training throughput",
    "latency": "Predict latency",
    "gru_vs_lstm": "GRU or LSTM: training speed",
    "accuracy": "Accuracy: the lookback-96 gaps",
}


def summary(run: Run) -> list[str]:
    """One line per part: what passed, what was measured, what was skipped."""
    lines = []
    for part in PARTS:
        rows = [r for r in run.rows if r["part"] == part]
        if not rows:
            continue
        ok = [r for r in rows if r["status"] == "ok"]
        skipped = sum(r["status"].startswith("skipped") for r in rows)
        errors = sum(r["status"].startswith("error") for r in rows)
        checks = [r for r in ok if "passed" in r]
        text = f"**{part}**: {len(ok)} of {len(rows)} units ran"
        if checks:
            text += f"; {sum(bool(r['passed']) for r in checks)} of {len(checks)} checks passed"
        if skipped:
            text += f"; {skipped} skipped"
        if errors:
            text += f"; **{errors} failed with an error**"
        lines.append(text)
    speed = ours_over_darts(run)
    for column in speed.columns[4:]:
        lines.append(f"{column} training windows/s: median {speed[column].median():.2f}x, "
                     f"{speed[column].min():.2f}x to {speed[column].max():.2f}x over {speed[column].count()} "
                     "configurations")
    ratios = gru_over_lstm(run)
    if not ratios.empty:
        for device, group in ratios.groupby("device", sort=False):
            per_model = ", ".join(f"{model} {part['GRU / LSTM'].median():.2f}x"
                                  for model, part in group.groupby("model", sort=False))
            lines.append(f"GRU / LSTM training windows/s on {device} (median over configurations): {per_model}")
    lines.append(committed_cpu_answer())
    return lines


def ours_over_darts(run: Run) -> pd.DataFrame:
    """Our training windows/s over Darts' ``BlockRNNModel``'s, per configuration of the throughput part."""
    rows = [r for r in run.rows if r["part"] == "throughput" and r["status"] == "ok"]
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).pivot_table(index=["cell", "lookback", "batch_size", "precision"], columns="model",
                                           values="windows_per_s", aggfunc="first")
    if DESIGNS["darts"] not in table.columns:
        return pd.DataFrame()
    ratios = pd.DataFrame(index=table.index)
    for design in ("default", "pointwise"):
        if DESIGNS[design] in table.columns:
            ratios[f"{DESIGNS[design]} / Darts"] = table[DESIGNS[design]] / table[DESIGNS["darts"]]
    return ratios.dropna(how="all").reset_index()


def table(frame: pd.DataFrame) -> str:
    """A Markdown table of ``frame``, empty cells where a value is missing."""
    return markdown_table(frame.astype(object).where(frame.notna(), ""))


NOTES = {
    "correctness": (f"Forecasts of the same weights; *relative* is max |difference| / max |forecast|. Tolerances: "
                    f"{STRICT_TOLERANCE:g} with TF32 off (fp32 throughout), {TF32_TOLERANCE:g} with torch's "
                    "defaults (cuDNN may use TF32 for float32 recurrences). Save and load: the loaded weights must "
                    "be on the CPU and equal to the saved ones, and the CPU forecast identical (also in a fresh "
                    "process that sees no GPU)."),
    "precision": (f"Our defaults on ETTh1 (lookback and horizon 96, batch 64, seed 0), scored over the test windows "
                  f"(stride 1, standardized scale); a mixed-precision fit passes when its weights and forecasts are "
                  f"finite and its test MSE is within {PRECISION_TOLERANCE:.0%} of the fp32 fit's."),
    "throughput": ("Training windows/s over the timed optimizer steps (after the warm-up steps, inside epochs, batch "
                   "loading included), peak memory above the fit's start (GPU memory allocated on CUDA, resident "
                   "memory on CPU); Weather's 21 components (3 in the smoke run), horizon 96, one seed."),
    "latency": "Median wall time of `predict(96)` after one warm-up call.",
    "gru_vs_lstm": "The same fits on this machine's CPU (lookback 96, fp32):",
    "accuracy": ("The configuration of `benchmarks/accuracy.py` (segments of 48, L1 loss, early stopping on "
                 "validation with patience 3, best epoch kept), one seed; test MSE and MAE on the standardized scale "
                 "over every test window. Epochs planned from the measured step time; Lightning's `max_time` is the "
                 "hard stop. *cpu_reference*: the committed CPU result of the same cell (its configuration named)."),
}


def report(run: Run) -> str:
    """``gpu.md``: summary, environment, budget, and one section per part."""
    env = run.env
    title = "GPU run" if run.sizes.name == "full" else "GPU run, smoke sizes"
    where = (f"{env.get('gpu_name')} (driver {env.get('driver')}, CUDA {env.get('cuda')}, cuDNN {env.get('cudnn')})"
             if run.cuda else "No CUDA: every part ran on the CPU")
    lines = [f"# {title}: `{run.command}`", "",
             f"{where}; {env.get('cpu')}, {env.get('cpu_cores')} cores; torch {env.get('torch')}, darts "
             f"{env.get('darts')}; commit {env.get('commit')}; {run.clock.elapsed():.0f} s of a "
             f"{run.clock.budget_s:.0f} s budget.", "", "## Summary", ""]
    lines += [f"- {line}" for line in summary(run)] + [""]
    lines += ["## Environment", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in env.items()] + [""]
    lines += ["## Parts and budget", "", "Each part may use its slot; no unit starts past the global deadline.", ""]
    lines += [table(pd.DataFrame(run.parts)) if run.parts else "(no part ran)", ""]
    for part in PARTS:
        frame = run.frame(part)
        if frame.empty:
            continue
        lines += [f"## {SECTIONS[part]}", "", NOTES[part], ""]
        if "check" in frame.columns:  # one table per kind of check
            for _, group in frame.groupby("check", sort=False):
                lines += [table(group.dropna(axis=1, how="all")), ""]
        else:
            lines += [table(frame), ""]
        if part == "throughput":
            ratios = ours_over_darts(run)
            if not ratios.empty:
                lines += ["Our windows/s over Darts' in the same run (above 1: ours trains faster):", "",
                          table(ratios), ""]
        if part == "gru_vs_lstm":
            ratios = gru_over_lstm(run)
            if not ratios.empty:
                lines += ["GRU windows/s over LSTM windows/s, every configuration measured with both cells:", "",
                          table(ratios), ""]
            lines += [committed_cpu_answer(), ""]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------

RUNNERS = {"correctness": part_correctness, "precision": part_precision, "throughput": part_throughput,
           "latency": part_latency, "gru_vs_lstm": part_gru_vs_lstm, "accuracy": part_accuracy}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: benchmarks/results/gpu)")
    parser.add_argument("--smoke", action="store_true", help="every part with tiny sizes (< 1 minute on CPU)")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                        help="auto: CUDA when available (default)")
    parser.add_argument("--budget", type=float, default=None,
                        help="global deadline in seconds from the start (default: 440; smoke: 300)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--load-on-cpu", type=Path, default=None, help=argparse.SUPPRESS)  # see load_on_cpu
    args = parser.parse_args(argv)
    if args.load_on_cpu:
        load_on_cpu(args.load_on_cpu)
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device (is this torch's CUDA build?)")
    cuda = args.device != "cpu" and torch.cuda.is_available()
    sizes = SMOKE if args.smoke else FULL
    clock = Clock(args.budget or sizes.budget_s, STARTED)
    command = "python -m benchmarks gpu " + shlex.join(argv if argv is not None else sys.argv[1:])
    run = Run(args.out, sizes, cuda, clock, command.strip(), args.data_dir)
    run.env = environment(run)
    print(f"{run.device}; {sizes.name} sizes; budget {clock.budget_s:.0f} s; {clock.elapsed():.0f} s spent on "
          f"imports; writing to {args.out}", flush=True)
    run.write()
    for part in PARTS:
        if part not in args.parts:
            continue
        slot = sizes.slots[part]
        clock.start_part(part, slot)
        began = time.perf_counter()
        print(f"\n=== {part} (slot {'rest' if slot is None else f'{slot} s'}, {clock.elapsed():.0f} s elapsed)",
              flush=True)
        try:
            RUNNERS[part](run)
            status = "ok"
        except Exception as exc:  # noqa: BLE001 - a part that breaks outside its units: note it, go on
            traceback.print_exc()
            run.errors += 1
            status = f"error: {type(exc).__name__}: {exc}"[:300]
        run.parts.append({"part": part, "slot_s": "rest" if slot is None else slot,
                          "seconds": round(time.perf_counter() - began, 1),
                          "ended_at_s": round(clock.elapsed(), 1), "status": status})
        run.write()
    run.write()
    print("\n" + "\n".join(summary(run)))
    print(f"\n{clock.elapsed():.0f} s in all; written: {args.out / 'gpu.md'}, gpu.csv, gpu_env.json"
          + (f"; {run.errors} error(s)" if run.errors else ""))
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
