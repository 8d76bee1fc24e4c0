"""The four bundled datasets, registered once: file, loader and per-dataset facts.

Everything that lists the datasets reads :data:`DATASETS`: the file registry
(:data:`rnn_forecast.datasets.FILES`), ``python -m rnn_forecast.datasets``, the
``rnn-forecast forecast --dataset`` choices and the repository's benchmark suite
(``python -m benchmarks suite``). The module imports nothing heavy (and
:mod:`rnn_forecast.datasets` imports its loaders, which need pandas and Darts, only on
first use), so that
``rnn-forecast --help`` can list the names without importing torch, Darts or pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATASETS", "NAMES", "Dataset", "DatasetFile", "Source", "get"]


@dataclass(frozen=True)
class Source:
    """One public place a dataset file can be downloaded from.

    Attributes
    ----------
    url
        ``https://``, ``http://`` or ``file://`` URL.
    member
        Name of the file inside a zip archive when ``url`` points at a zip, else ``None``.
    """

    url: str
    member: str | None = None


@dataclass(frozen=True)
class DatasetFile:
    """Registry entry: where a dataset's raw file lives and how to check it.

    Attributes
    ----------
    folder
        Sub-folder name in a data directory or in the cache (``"traffic"``).
    filename
        Name of the *uncompressed* file (``"Metro_Interstate_Traffic_Volume.csv"``);
        ``filename + ".gz"`` is accepted too.
    sha256
        SHA-256 of the uncompressed file content.
    sources
        Download sources, tried in order.
    homepage
        Where a person can get the file by hand (quoted in error messages).
    """

    folder: str
    filename: str
    sha256: str
    sources: tuple[Source, ...]
    homepage: str


@dataclass(frozen=True)
class Dataset:
    """One bundled dataset and what the library's tools need to know about it.

    Attributes
    ----------
    name
        Registry key (``"traffic"``).
    file
        The raw file: where it is looked for, downloaded from, and its checksum.
    loader
        Name of its loader in :mod:`rnn_forecast.datasets` (``"load_traffic"``).
    forecast_target
        The column ``rnn-forecast forecast --dataset NAME`` forecasts, or ``None`` where
        the command does not offer the dataset.
    forecast_season
        That command's default seasonal period, in steps.
    selects_columns
        Whether the loader takes ``columns=`` (the command then loads only its target).
    plotted_windows
        How many forecast windows the benchmark report draws.
    directional
        Prices: also scored on their one-step log-returns and directional accuracy.
    """

    name: str
    file: DatasetFile
    loader: str
    forecast_target: str | None = None
    forecast_season: int = 1
    selects_columns: bool = False
    plotted_windows: int = 7
    directional: bool = False


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "traffic",
        DatasetFile(
            folder="traffic",
            filename="Metro_Interstate_Traffic_Volume.csv",
            sha256="3ec6b8844c4e5e20904855c81079a30e4342da20b7010e78606a244e539f29f6",
            sources=(
                Source(
                    "https://archive.ics.uci.edu/static/public/492/metro+interstate+traffic+volume.zip",
                    member="Metro_Interstate_Traffic_Volume.csv.gz",
                ),
            ),
            homepage="https://archive.ics.uci.edu/dataset/492/metro+interstate+traffic+volume",
        ),
        loader="load_traffic",
        forecast_target="traffic_volume",
        forecast_season=24,
        plotted_windows=7,
    ),
    Dataset(
        "weather",
        DatasetFile(
            folder="weather",
            filename="weather.csv",
            sha256="34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63",
            sources=(
                # The Autoformer/Time-Series-Library benchmark bundle. Darts' own
                # datasets/weather.csv is a *different* file (other header and dates).
                Source(
                    "https://huggingface.co/datasets/thuml/Time-Series-Library/"
                    "resolve/main/weather/weather.csv"
                ),
            ),
            homepage="https://github.com/thuml/Autoformer (dataset link in its README)",
        ),
        loader="load_weather",
        forecast_target="T (degC)",
        forecast_season=144,  # 10-minute steps: one day
        selects_columns=True,
        plotted_windows=8,
    ),
    Dataset(
        "stocks",
        DatasetFile(
            folder="stocks",
            filename="all_stocks_5yr.csv",
            sha256="6aea253cd19de60b568143991aaf1fa482456565c389205658d236e595e716cf",
            sources=(
                # A public GitHub mirror whose Git LFS object has exactly this SHA-256,
                # pinned to a commit so the URL cannot silently change content.
                Source(
                    "https://media.githubusercontent.com/media/Amey-Thakur/"
                    "OPTIMIZING-STOCK-TRADING-STRATEGY-WITH-REINFORCEMENT-LEARNING/"
                    "a816188952a5c0a196874a784a768e39542db904/all_stocks_5yr.csv"
                ),
            ),
            homepage="https://www.kaggle.com/datasets/camnugent/sandp500",
        ),
        loader="load_stocks",
        plotted_windows=12,
        directional=True,
    ),
    Dataset(
        "etth1",
        DatasetFile(
            folder="etth1",
            filename="ETTh1.csv",
            sha256="f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
            sources=(
                Source(
                    "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"
                ),
                Source("https://raw.githubusercontent.com/unit8co/darts/master/datasets/ETTh1.csv"),
            ),
            homepage="https://github.com/zhouhaoyi/ETDataset",
        ),
        loader="load_etth1",
        forecast_target="OT",
        forecast_season=24,
        selects_columns=True,
        plotted_windows=7,
    ),
)

#: The registry keys, in registry order.
NAMES: tuple[str, ...] = tuple(d.name for d in DATASETS)


def get(name: str) -> Dataset:
    """The registered :class:`Dataset` called ``name``.

    Raises
    ------
    ValueError
        For a name that is not registered (the message lists the names).
    """
    for dataset in DATASETS:
        if dataset.name == name:
            return dataset
    raise ValueError(f"unknown dataset {name!r}; choose from {NAMES}")
