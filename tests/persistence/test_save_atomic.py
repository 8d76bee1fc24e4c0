"""``save`` replaces the pair ``path`` + ``path.ckpt`` atomically (issue #36).

Before, the new ``.ckpt`` was renamed into place before the ``.pt``: a failure between
the two renames raised and left the previous ``.pt`` with the new weights, which no
longer loaded ("SHA-256 differs"). Promise: after a failure at any step of ``save``,
or a ``kill -9`` at any moment, either the previous pair or the new pair loads; after
an exception no temporary file remains; a ``kill -9`` leaves only hidden temporary
files (``.<name>.<host>-<pid>-<random>.tmp`` or ``.prev``), which the next ``save`` to
the same path removes.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from rnn_forecast import GRUForecaster
from rnn_forecast.persistence import atomic
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

PAIR = ["model.pt", "model.pt.ckpt"]


def build(seed):
    return GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=4, n_epochs=1,
                         batch_size=32, random_state=seed, pl_trainer_kwargs=dict(QUIET_TRAINER))


@pytest.fixture(scope="module")
def two_models():
    """Two fitted models with different weights, and their forecasts."""
    series = make_series()
    old, new = build(0).fit(series), build(1).fit(series)
    forecasts = {"old": old.predict(OCL).values(), "new": new.predict(OCL).values()}
    assert not np.array_equal(forecasts["old"], forecasts["new"])
    return old, new, forecasts


def which_pair_loads(path, forecasts) -> str:
    """``"old"`` or ``"new"``: whose forecasts the model saved at ``path`` gives (fails otherwise)."""
    got = GRUForecaster.load(path).predict(OCL).values()
    matches = [name for name, expected in forecasts.items() if np.array_equal(got, expected)]
    assert len(matches) == 1, "the loaded model is neither the old nor the new one"
    return matches[0]


class FailAt:
    """Make the ``at``-th file-system step of a save raise ``OSError`` (``at=None``: count them)."""

    STEPS = [(os, "replace"), (os, "link"), (os, "fsync"), (torch, "save"), (shutil, "copyfile")]

    def __init__(self, monkeypatch, at=None):
        self.at, self.calls = at, []
        for owner, name in self.STEPS:
            monkeypatch.setattr(owner, name, self._wrap(getattr(owner, name), f"{owner.__name__}.{name}"))

    def _wrap(self, function, label):
        def step(*args, **kwargs):
            self.calls.append(label)
            if len(self.calls) == self.at:
                raise OSError(5, f"injected failure at step {self.at} ({label})")
            return function(*args, **kwargs)
        return step


def test_a_failure_at_any_step_of_save_leaves_one_pair_that_loads(two_models, tmp_path, monkeypatch):
    old, new, forecasts = two_models
    path = str(tmp_path / "model.pt")
    old.save(path)
    with monkeypatch.context() as patch:
        steps = FailAt(patch)
        new.save(path)  # counts the steps of a clean save over an earlier one
    n_steps = len(steps.calls)
    assert n_steps >= 8 and "os.link" in steps.calls
    outcomes = []
    for at in range(1, n_steps + 1):
        old.save(path)
        with monkeypatch.context() as patch:
            FailAt(patch, at)
            try:
                new.save(path)
            except OSError as exc:
                assert f"injected failure at step {at}" in str(exc)
            else:  # only a failing hard link is no failure: the previous weights are copied instead
                assert steps.calls[at - 1] == "os.link"
        assert sorted(os.listdir(tmp_path)) == PAIR, f"step {at}: temporary files left"
        outcomes.append(which_pair_loads(path, forecasts))
    # a failure up to the commit (the rename of model.pt, the step before last) keeps the
    # old pair; after it (flushing the folder) the new pair is in place
    assert steps.calls[-2:] == ["os.replace", "os.fsync"]
    expected = ["new" if step == "os.link" else "old" for step in steps.calls[:-1]] + ["new"]
    assert outcomes == expected, list(zip(steps.calls, outcomes))


def test_save_into_a_missing_folder_or_onto_a_folder_raises_and_leaves_nothing(two_models, tmp_path):
    old = two_models[0]
    with pytest.raises(FileNotFoundError):  # as Darts, which opens the file
        old.save(str(tmp_path / "missing" / "model.pt"))
    assert not (tmp_path / "missing").exists()
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        old.save(str(tmp_path / "folder"))
    assert sorted(os.listdir(tmp_path)) == ["folder"]  # no stray folder.ckpt


def test_load_reads_the_previous_pair_when_a_save_stopped_between_its_renames(two_models, tmp_path):
    # a kill -9 between the rename of the new weights and the commit: the previous
    # forecaster file finds its weights under the backup name
    old, new, forecasts = two_models
    path = str(tmp_path / "model.pt")
    old.save(path)
    tag = f"{atomic._HOST}-999999999-0badc0de"  # a process that no longer runs
    temp, backup = atomic.temp_path_for(path, tag), atomic.temp_path_for(path + ".ckpt", tag, "prev")
    new.save(str(tmp_path / "new.pt"))
    os.link(path + ".ckpt", backup)
    os.replace(str(tmp_path / "new.pt"), temp)
    os.replace(str(tmp_path / "new.pt.ckpt"), path + ".ckpt")
    assert which_pair_loads(path, forecasts) == "old"
    new.save(path)  # removes what the killed save left, and saves
    assert sorted(os.listdir(tmp_path)) == PAIR
    assert which_pair_loads(path, forecasts) == "new"


def run_kill_loop(start_saver, path, forecasts, rounds, seed) -> dict:
    """``rounds`` times: start a process saving the two models in turn, ``kill -9`` it at a random moment.

    ``start_saver()`` starts one and returns a function that kills it with SIGKILL and
    returns its exit status. After each kill the file must load as one of the two
    models; only hidden temporary files may be left next to it. Returns what was found.
    """
    rng = random.Random(seed)
    folder = os.path.dirname(path)
    seen = {"old": 0, "new": 0, "temporary files left": 0, "backups left": 0}
    for _ in range(rounds):
        kill = start_saver()
        time.sleep(rng.uniform(0, 0.4))
        assert kill() == -signal.SIGKILL
        seen[which_pair_loads(path, forecasts)] += 1
        extra = sorted(set(os.listdir(folder)) - set(PAIR))
        assert all(atomic.TEMPORARY_NAME.match(name) for name in extra), extra
        seen["temporary files left"] += bool(extra)
        seen["backups left"] += any(name.endswith(".prev") for name in extra)
    print(f"kill -9 in {rounds} rounds: {seen}")
    return seen


def test_kill_9_during_saves_in_a_loop_always_leaves_a_pair_that_loads(two_models, tmp_path):
    # the saving process is a fork of this one (no imports to wait for): 25 rounds
    old, new, forecasts = two_models
    path = str(tmp_path / "model.pt")
    old.save(path)

    def start_saver():
        pid = os.fork()
        if pid == 0:  # the child saves until it is killed
            try:
                while True:
                    new.save(path)
                    old.save(path)
            finally:
                os._exit(1)

        def kill():
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return kill

    seen = run_kill_loop(start_saver, path, forecasts, rounds=25, seed=0)
    assert seen["old"] + seen["new"] == 25 and seen["temporary files left"] > 0, seen
    old.save(path)  # the next save removes every leftover
    assert sorted(os.listdir(tmp_path)) == PAIR


SAVER = textwrap.dedent("""
    import sys
    from rnn_forecast import GRUForecaster
    path, old, new = sys.argv[1:]
    models = [GRUForecaster.load(new), GRUForecaster.load(old)]
    print("ready", flush=True)
    while True:
        for model in models:
            model.save(path)
""")


@pytest.mark.slow
def test_kill_9_of_a_separate_saving_process_in_a_loop(two_models, tmp_path):
    # the same with a fresh interpreter per round (no state shared with pytest): 20 rounds
    old, new, forecasts = two_models
    work = tmp_path / "work"
    work.mkdir()
    path = str(work / "model.pt")
    old.save(path)
    old.save(str(tmp_path / "old.pt"))
    new.save(str(tmp_path / "new.pt"))
    script = tmp_path / "saver.py"
    script.write_text(SAVER)

    def start_saver():
        proc = subprocess.Popen([sys.executable, str(script), path, str(tmp_path / "old.pt"),
                                 str(tmp_path / "new.pt")], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        proc.stdout.close()

        def kill():
            proc.kill()  # SIGKILL
            return proc.wait(timeout=30)
        return kill

    seen = run_kill_loop(start_saver, path, forecasts, rounds=20, seed=1)
    assert seen["old"] + seen["new"] == 20, seen
    old.save(path)
    assert sorted(os.listdir(work)) == PAIR
