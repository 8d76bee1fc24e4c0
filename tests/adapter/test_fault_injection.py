"""Fault injection: each promise of docs/reliability.md that issue #36 found broken.

Read it as a list: every section names a promise, every test breaks it one way (a
crafted file, a damaged checkpoint, a killed write, a bad argument) and checks what the
user sees. The other promises of issue #36 have their own files: thread safety in
``test_thread_safety.py``, atomic saves in ``test_save_atomic.py``, the divergence
guard in ``test_training_faults.py`` (``test_explosion_guard_*``).
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
import torch
from darts.utils.serialization import safe_globals

from rnn_forecast import GRUForecaster
from rnn_forecast.nn.callbacks import LIGHTNING_LINES
from rnn_forecast.persistence import (
    MissingModelFileError,
    ModelFileError,
    UnsafeModelFileError,
    atomic,
    errors,
    files,
    runs,
)
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

SERIES = make_series(length=150)
TRAIN, VAL = SERIES[:120], SERIES[90:]


def build(**kwargs):
    params = {"input_chunk_length": ICL, "output_chunk_length": OCL, "hidden_dim": 4, "n_epochs": 1,
              "batch_size": 16, "random_state": 0, "dropout": 0.2, "pl_trainer_kwargs": dict(QUIET_TRAINER)}
    return GRUForecaster(**{**params, **kwargs})


def run(work_dir, **kwargs):
    """A checkpointed run (``work_dir/run``)."""
    return build(save_checkpoints=True, model_name="run", work_dir=str(work_dir), **kwargs)


def checkpoints(work_dir) -> list[str]:
    return sorted(os.listdir(os.path.join(work_dir, "run", "checkpoints")))


def truncate(path, fraction=0.5):
    with open(path, "r+b") as handle:
        handle.truncate(int(os.path.getsize(path) * fraction))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A fitted model saved as ``model.pt`` (and ``.ckpt``), and its forecast."""
    folder = tmp_path_factory.mktemp("saved")
    model = build().fit(TRAIN)
    model.save(str(folder / "model.pt"))
    return model, folder, model.predict(OCL).values()


# -- 1. every loader refuses what could run code, and says it is blocked -------------------
#
# Broken: a payload written with `torch.save` under a Python 2 name (`commands.call`, for
# `subprocess.call`) was reported as an unknown class (blocked=False) with the advice to
# allow it. Now a refused global is blocked unless it is a class that can be allowed (an
# allow-list: a class defined under that name in an already imported module outside the
# standard library); only then does the message suggest `add_safe_globals`.


class Payload:
    """Unpickling it calls ``function(*args)``: what a malicious file does."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


class UserCallback:
    """A harmless class of the user's own, not on the safe-loading list."""


def _not_imported_class():
    """A class whose module is gone from ``sys.modules`` by the time the file is read."""
    module = types.ModuleType("plugin_never_imported")
    exec("class Thing:\n    pass", module.__dict__)
    sys.modules[module.__name__] = module
    return module, module.Thing()


PAYLOADS = {  # name: (object to save, the global the file holds)
    "subprocess.call, stored as commands.call": (lambda m: Payload(subprocess.call, ["touch", m]), "commands.call"),
    "os.system": (lambda m: Payload(os.system, f"touch {m}"), "posix.system"),
    "builtins.eval": (lambda m: Payload(eval, f"open({m!r}, 'w')"), "builtins.eval"),
    "a standard-library class": (lambda m: Payload(subprocess.Popen, ["touch", m]), "commands.Popen"),
    "a function of an imported package": (lambda m: Payload(shutil.copyfile, __file__, m), "shutil.copyfile"),
}


@pytest.mark.parametrize("payload", PAYLOADS, ids=list(PAYLOADS))
def test_code_running_payloads_are_blocked_by_every_loader(payload, saved, tmp_path):
    model, _, _ = saved
    make, qualname = PAYLOADS[payload]
    marker = tmp_path / "code-ran"
    evil = str(tmp_path / "evil.pt")
    torch.save({"state_dict": {}, "epoch": 0, "payload": make(str(marker))}, evil)
    loaders = {
        "load": lambda: GRUForecaster.load(evil),
        "load_lightning_checkpoint": lambda: model.load_lightning_checkpoint(evil),
        "a training checkpoint": lambda: runs.check_training_checkpoint(evil),
        "Lightning's checkpoint IO": lambda: atomic.AtomicCheckpointIO().load_checkpoint(evil),
    }
    for name, load in loaders.items():
        with pytest.raises(UnsafeModelFileError, match=rf"evil\.pt' was not loaded: it holds `{qualname}`.*"
                                                       "it is blocked") as info:
            load()
        assert info.value.blocked and info.value.qualname == qualname, name
        assert "add_safe_globals" not in str(info.value) and "add_safe_globals" not in str(info.value.__cause__)
    assert not marker.exists()  # nothing ran


def test_the_python_2_name_of_a_payload_is_explained(tmp_path):
    evil = str(tmp_path / "evil.pt")
    torch.save(Payload(subprocess.call, ["true"]), evil)
    with pytest.raises(UnsafeModelFileError, match=r"`commands.call` \(Python 2's name of `subprocess.call`\)"):
        GRUForecaster.load(evil)


def test_only_an_imported_class_of_the_users_own_can_be_allowed(tmp_path):
    path = str(tmp_path / "file.pt")
    torch.save({"callback": UserCallback()}, path)
    allow = r"add_safe_globals\(\[test_fault_injection.UserCallback\]\)"
    with pytest.raises(UnsafeModelFileError, match=allow) as info:
        GRUForecaster.load(path)
    assert not info.value.blocked
    module, thing = _not_imported_class()
    torch.save({"plugin": thing}, path)
    del sys.modules[module.__name__]  # a module this process never imported
    with pytest.raises(UnsafeModelFileError, match="it is blocked") as info:
        GRUForecaster.load(path)
    assert info.value.blocked and info.value.qualname == "plugin_never_imported.Thing"
    assert "plugin_never_imported" not in sys.modules  # reading the name imported nothing
    assert errors.allowable_class("test_fault_injection.UserCallback")
    with safe_globals([UserCallback]):  # allowed, as the message says: it loads
        torch.save({"state_dict": {}, "epoch": 0, "callback": UserCallback()}, path)
        runs.check_training_checkpoint(path)
    for name in ("test_fault_injection.Payload.__reduce__", "numpy.load", "torch.load", "builtins.object",
                 "collections.OrderedDict", "test_fault_injection.subprocess", "nonexistent.Class"):
        assert not errors.allowable_class(name), name


# -- 2. the loaders inherited from Darts raise our errors, naming the file -----------------
#
# Broken: `load_weights` and `load_weights_from_checkpoint` raised a raw UnpicklingError,
# `ValueError('Expected input to be a checkpoint...')` or a bare `OSError: [Errno 22]`.
# (These two need the forecaster to delegate to rnn_forecast.persistence.)


@pytest.fixture
def pair(saved, tmp_path):
    """A copy of the saved pair in a fresh folder, and a model to load weights into."""
    _, folder, _ = saved
    for name in ("model.pt", "model.pt.ckpt"):
        shutil.copy(folder / name, tmp_path / name)
    return str(tmp_path / "model.pt"), build()


def test_load_weights_speaks_the_librarys_errors(saved, pair, tmp_path, monkeypatch):
    path, target = pair
    target.load_weights(path)  # the intact pair loads
    np.testing.assert_array_equal(target.predict(OCL, series=TRAIN).values(), saved[2])
    with pytest.raises(MissingModelFileError, match=r"No weights file .*nothing\.pt\.ckpt"):
        build().load_weights(str(tmp_path / "nothing.pt"))
    os.replace(path, path + ".aside")
    with pytest.raises(MissingModelFileError, match=r"model\.pt', saved with it .* is missing"):
        build().load_weights(path)
    os.replace(path + ".aside", path)
    torch.save(Payload(subprocess.call, ["true"]), path + ".ckpt")
    with pytest.raises(UnsafeModelFileError, match=r"model\.pt\.ckpt' was not loaded: .*it is blocked"):
        build().load_weights(path)
    shutil.copy(saved[1] / "model.pt.ckpt", path + ".ckpt")
    truncate(path + ".ckpt")
    with pytest.raises(ModelFileError, match=r"Could not read the checkpoint .*model\.pt\.ckpt.*truncated"):
        build().load_weights(path)
    torch.save({"weights": torch.zeros(3)}, path + ".ckpt")  # a torch file, not a checkpoint
    with pytest.raises(ModelFileError, match=r"model\.pt\.ckpt' is not a checkpoint written by a Darts"):
        build().load_weights(path)
    shutil.copy(saved[1] / "model.pt.ckpt", path + ".ckpt")
    truncate(path)
    with pytest.raises(ModelFileError, match=r"Could not read the model file .*model\.pt'"):
        build().load_weights(path)
    real = files.file_info
    monkeypatch.setattr(files, "file_info", lambda sha: {**real(sha), "darts": "0.49.0"})
    saved[0].save(path)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match=r"model\.pt' was written with darts 0.49.0"):
        build().load_weights(path)


def test_load_weights_from_checkpoint_speaks_the_librarys_errors(tmp_path):
    run(tmp_path, n_epochs=1).fit(TRAIN)
    target = build(model_name="run")
    with pytest.raises(MissingModelFileError, match="has no best checkpoint"):
        target.load_weights_from_checkpoint(work_dir=str(tmp_path / "elsewhere"), best=True)
    with pytest.raises(MissingModelFileError, match=r"No checkpoint file at .*last-epoch=7\.ckpt.*last-epoch=0\.ckpt"):
        target.load_weights_from_checkpoint(work_dir=str(tmp_path), file_name="last-epoch=7.ckpt")
    target.load_weights_from_checkpoint(work_dir=str(tmp_path), best=False)  # intact: loads
    last = runs.last_checkpoint(str(tmp_path), "run")
    truncate(last)
    with pytest.raises(ModelFileError, match=r"Could not read the checkpoint .*last-epoch=0\.ckpt"):
        build(model_name="run").load_weights_from_checkpoint(work_dir=str(tmp_path), best=False)


# -- 3. resuming falls back to the newest checkpoint that loads, and says so --------------
#
# Broken: a truncated last checkpoint made `fit(..., resume=True)` fail with a raw error
# (no fallback); every resume left one more `last-epoch=K.ckpt`; a kill -9 during a
# checkpoint write left hidden `.tmp` files.


def test_resume_from_a_damaged_last_checkpoint_falls_back_and_says_so(tmp_path):
    expected = run(tmp_path / "full", n_epochs=4).fit(TRAIN, val_series=VAL).predict(OCL).values()
    run(tmp_path / "cut", n_epochs=2).fit(TRAIN, val_series=VAL)
    damaged = runs.last_checkpoint(str(tmp_path / "cut"), "run")
    truncate(damaged)
    with pytest.warns(UserWarning, match=r"Resuming from .*best-epoch=.*, the newest checkpoint that can be "
                                         r"read, instead of .*last-epoch=1\.ckpt.*truncated or corrupted"):
        resumed = run(tmp_path / "cut", n_epochs=4).fit(TRAIN, val_series=VAL, resume=True)
    assert resumed.epochs_trained == 4
    np.testing.assert_array_equal(resumed.predict(OCL).values(), expected)  # as if never damaged
    names = checkpoints(tmp_path / "cut")
    assert "last-epoch=1.ckpt.unreadable" in names and "last-epoch=3.ckpt" in names


def test_resume_with_no_readable_checkpoint_names_them(tmp_path):
    run(tmp_path, n_epochs=1).fit(TRAIN)
    for name in checkpoints(tmp_path):
        truncate(tmp_path / "run" / "checkpoints" / name)
    with pytest.raises(ModelFileError, match=r"No checkpoint of the run .* can be read: .*last-epoch=0\.ckpt"):
        run(tmp_path, n_epochs=2).fit(TRAIN, resume=True)


def test_resume_does_not_fall_back_from_a_refused_checkpoint(tmp_path):
    run(tmp_path, n_epochs=1).fit(TRAIN)
    last = runs.last_checkpoint(str(tmp_path), "run")
    torch.save(Payload(os.system, "true"), last)
    with pytest.raises(UnsafeModelFileError, match="blocked"):
        run(tmp_path, n_epochs=2).fit(TRAIN, resume=True)
    assert os.path.exists(last)  # left as it is, for the user to look at


def test_resumed_runs_keep_only_the_checkpoints_the_settings_ask_for(tmp_path):
    # Darts' settings: the last checkpoint and the best one (with validation data)
    for epochs in (1, 2, 3):
        run(tmp_path, n_epochs=epochs).fit(TRAIN, val_series=VAL, resume=True)
    names = checkpoints(tmp_path)
    assert [n for n in names if n.startswith("last-")] == ["last-epoch=2.ckpt"], names
    assert len([n for n in names if n.startswith("best-")]) == 1, names


def test_resume_removes_what_a_killed_checkpoint_write_left(tmp_path):
    run(tmp_path, n_epochs=1).fit(TRAIN)
    folder = tmp_path / "run" / "checkpoints"
    dead = atomic.temp_path_for(str(folder / "last-epoch=1.ckpt"), f"{atomic._HOST}-999999999-0badc0de")
    alive = atomic.temp_path_for(str(folder / "last-epoch=1.ckpt"), f"{atomic._HOST}-1-0badc0de")
    for temporary in (dead, alive):
        with open(temporary, "wb") as handle:
            handle.write(b"PK\x03\x04 half a checkpoint")
    run(tmp_path, n_epochs=2).fit(TRAIN, resume=True)
    assert not os.path.exists(dead)
    assert os.path.exists(alive)  # process 1 runs: its write may be under way


def test_a_damaged_checkpoint_read_by_lightning_names_the_file(tmp_path):
    # Darts' way of resuming: load_from_checkpoint, then fit (Lightning reads the file)
    run(tmp_path, n_epochs=1).fit(TRAIN)
    loaded = GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)
    loaded.n_epochs = 2
    truncate(loaded.load_ckpt_path)
    with pytest.raises(ModelFileError, match=r"Could not read the checkpoint .*last-epoch=0\.ckpt"):
        loaded.fit(TRAIN)
    with pytest.raises(MissingModelFileError, match=r"No checkpoint file at .*gone\.ckpt"):
        atomic.AtomicCheckpointIO().load_checkpoint(str(tmp_path / "gone.ckpt"))


# -- 4. small things ----------------------------------------------------------------------


def test_fit_without_a_series_says_so():
    # was: TypeError: 'NoneType' object is not subscriptable
    with pytest.raises(TypeError, match=r"`series` is required: `fit` trains on it .* got None"):
        build().fit(None)


def test_fit_without_validation_data_does_not_warn_about_empty_loaders():
    # was: "Total length of `list` across ranks is zero" (Darts' empty validation loader)
    no_holdout = {"early_stopping": False} if "early_stopping" in inspect.signature(GRUForecaster).parameters else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build(n_epochs=2, **no_holdout).fit(TRAIN)
    assert model.epochs_trained == 2
    assert not [w for w in caught if "across ranks is zero" in str(w.message)]


def test_lightnings_environment_lines_print_once_per_process():
    # was: "GPU available: False ..." and a "Tip" line for every model a script trained
    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger("pytorch_lightning")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    LIGHTNING_LINES.seen.clear()
    try:
        for seed in (0, 1, 2):
            build(random_state=seed).fit(TRAIN)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    messages = [record.getMessage() for record in records]
    for start in ("GPU available:", "TPU available:"):
        assert len([m for m in messages if m.startswith(start)]) == 1, (start, messages)
    # the tips at most once (NeuralForecast, once imported, drops them altogether)
    tips = [m for m in messages if m.startswith("\U0001f4a1 Tip:")]
    assert len(tips) == len(set(tips)) <= 2, messages
    assert len([m for m in messages if m.startswith("`Trainer.fit` stopped")]) == 3  # the rest is untouched
