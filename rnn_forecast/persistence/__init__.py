"""Saving, loading and resuming forecasters without losing or corrupting work.

- ``save(path)`` writes Darts' two files, ``path`` (the pickled forecaster) and
  ``path.ckpt`` (the Lightning checkpoint), each to a temporary file in the same folder
  that is then renamed over the target (``os.replace``, atomic on POSIX and Windows): a
  crash or a full disk mid-save leaves the previous files intact. ``path`` records a file
  format marker, the library versions and the SHA-256 of ``path.ckpt``.
- ``load(path)`` refuses, with a :class:`ModelFileError` naming the file and what to do,
  a truncated or corrupted file, a ``.ckpt`` from another save, and a file written by an
  incompatible format or Darts minor release.
- Lightning's training checkpoints are written the same atomic way
  (:class:`AtomicCheckpointIO`).
- ``fit(..., resume=True)`` continues a ``save_checkpoints=True`` run from its last
  epoch-end checkpoint (weights, optimizer, scheduler, epoch and random states).

===============  ======================================================================
:mod:`.errors`   ``ModelFileError`` and its kinds; the messages of a refused read
:mod:`.atomic`   temporary names, fsync, atomic rename, ``AtomicCheckpointIO``
:mod:`.files`    ``save``/``load`` of a forecaster, its checkpoints and its weights
:mod:`.runs`     training runs: checkpoint defaults, ``resume``, interruption
===============  ======================================================================

These are plain functions of the forecaster: ``RNNForecaster``'s ``save``, ``load``,
``load_from_checkpoint`` and ``load_lightning_checkpoint``, its Darts hooks
``_setup_checkpointing``, ``_init_model`` and ``_init_trainer``, and its ``fit`` call them
(see ``rnn_forecast/adapter/forecaster.py``).
"""

from rnn_forecast.persistence.atomic import AtomicCheckpointIO
from rnn_forecast.persistence.errors import MissingModelFileError, ModelFileError, UnsafeModelFileError
from rnn_forecast.persistence.files import FILE_FORMAT

__all__ = ["FILE_FORMAT", "AtomicCheckpointIO", "MissingModelFileError", "ModelFileError", "UnsafeModelFileError"]
