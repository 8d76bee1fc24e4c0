"""The package version, single-sourced from ``pyproject.toml`` through the installed metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnn_forecast")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
