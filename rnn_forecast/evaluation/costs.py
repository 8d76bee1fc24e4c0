"""What a model costs: wall time, throughput, parameters, peak memory, latency; and
the machine it ran on.

This is the one place memory is measured: :func:`measure` (the peak of a block, used
by :func:`~rnn_forecast.evaluation.scoring.evaluate` and the scripts under
``benchmarks/``) and :func:`rss_mib` (the resident set now, for ``python -m benchmarks soak``).

Peak memory is the high-water mark of the process's resident set (RSS) above the RSS
at the start of the measured block. Python's ``tracemalloc`` is not used because it
only sees allocations made through Python's allocator, not torch's C++ tensors. On
Linux the kernel's own high-water mark (``VmHWM`` in ``/proc/self/status``) is reset
at the start of the block (``echo 5 > /proc/self/clear_refs``) and read at the end:
exact, free of cost and dependency-free, unlike sampling RSS from a thread (e.g. with
``psutil``), which misses short peaks. Elsewhere ``resource.getrusage`` gives a
process-lifetime peak that cannot be reset, so later blocks would report the peak of
earlier ones: the measurement is reported as missing (NaN) there rather than wrong.
On a CUDA device, ``torch.cuda.max_memory_allocated`` is used instead.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Measurement:
    """Filled in by :func:`measure` when its block ends.

    Attributes
    ----------
    seconds
        Wall-clock time of the block (``time.perf_counter``).
    peak_mb
        Peak memory above the start of the block, in MiB (NaN where not measurable).
    """

    seconds: float = float("nan")
    peak_mb: float = float("nan")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _release_free_memory() -> None:
    """Collect garbage and give freed heap back to the OS, so blocks start alike."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_rss_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


@contextmanager
def measure(device: str = "cpu"):
    """Time a block and record its peak memory.

    Parameters
    ----------
    device
        ``"cpu"`` (peak resident memory of the process) or ``"gpu"`` (peak CUDA
        memory allocated by torch).

    Yields
    ------
    Measurement
        Filled in when the block exits.
    """
    result = Measurement()
    _release_free_memory()
    if device == "gpu" and torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start_bytes = torch.cuda.memory_allocated()
        resettable = True
    else:
        resettable = _reset_rss_peak()
        start_kib = _status_kib("VmRSS") if resettable else None
    began = time.perf_counter()
    yield result
    if device == "gpu" and torch.cuda.is_available():
        torch.cuda.synchronize()
        result.seconds = time.perf_counter() - began
        result.peak_mb = (torch.cuda.max_memory_allocated() - start_bytes) / 2**20
        return
    result.seconds = time.perf_counter() - began
    if resettable and start_kib is not None:
        result.peak_mb = max(0, _status_kib("VmHWM") - start_kib) / 1024


def rss_mib() -> float:
    """The process's resident set size now, in MiB (Linux ``VmRSS``; NaN elsewhere)."""
    kib = _status_kib("VmRSS")
    return float("nan") if kib is None else kib / 1024


def count_parameters(module: torch.nn.Module | None) -> int:
    """Number of trainable parameters of a torch module (0 for ``None``)."""
    if module is None:
        return 0
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def median_latency_ms(call: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``call()`` in milliseconds, after one untimed warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def cpu_name() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_summary() -> str:
    """One line for a results file: CPU, cores, torch (threads), Darts, rnn_forecast."""
    import darts

    import rnn_forecast

    return (f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), darts {darts.__version__}, "
            f"rnn_forecast {rnn_forecast.__version__}")


def environment(threads: int, device: str) -> dict:
    """Hardware and library versions, for a results record.

    Parameters
    ----------
    threads
        The torch intra-op threads of the run.
    device
        ``"cpu"`` or ``"gpu"``.

    Returns
    -------
    dict
        ``cpu``, ``cpu_cores``, ``torch_threads``, ``device``, ``gpu``, ``python``,
        ``torch``, ``darts``, ``pytorch_lightning``, ``pandas``, ``platform`` and
        ``neuralforecast`` (``None`` when not installed).
    """
    import darts
    import pandas as pd
    import pytorch_lightning

    env = {
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": threads,
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "gpu" and torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "darts": darts.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }
    try:
        import neuralforecast

        env["neuralforecast"] = neuralforecast.__version__
    except ImportError:
        env["neuralforecast"] = None
    return env
