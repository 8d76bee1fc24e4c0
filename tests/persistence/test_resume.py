"""Interruption and resuming: Ctrl+C, SIGTERM and SIGKILL, then `fit(resume=True)`."""

import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import pytorch_lightning as pl
from darts.utils.serialization import add_safe_globals

from rnn_forecast import GRUForecaster
from rnn_forecast.datasets import load_etth1
from rnn_forecast.persistence import runs
from rnn_forecast.tools.testing import OCL, QUIET_TRAINER, make_series
from tests.builders import build, run_params

# -- interruption and resuming ---------------------------------------------------------


class InterruptOnce(pl.Callback):
    """Raise KeyboardInterrupt (as Ctrl+C would) at the start of one epoch, once."""

    fired = False

    def __init__(self, epoch):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch and not InterruptOnce.fired:
            InterruptOnce.fired = True
            raise KeyboardInterrupt


add_safe_globals([InterruptOnce])  # saved with the run's parameters, read back on resume


def test_keyboard_interrupt_then_resume_matches_an_uninterrupted_run(tmp_path):
    series = make_series(length=150)
    expected = build(**run_params(tmp_path / "full")).fit(series).predict(OCL).values()

    InterruptOnce.fired = False
    trainer = dict(QUIET_TRAINER, callbacks=[InterruptOnce(epoch=2)])
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match=r"last-epoch=1\.ckpt.*resume=True"):
        build(**run_params(tmp_path / "cut", pl_trainer_kwargs=trainer)).fit(series)
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning left SIGINT ignored
    backup = tmp_path / "copy"
    shutil.copytree(tmp_path / "cut", backup)

    # the same script, restarted: building the model again must not refuse the folder
    with pytest.raises(ValueError, match="resume=True"):
        build(**run_params(tmp_path / "cut")).fit(series)
    resumed = build(**run_params(tmp_path / "cut")).fit(series, resume=True)
    assert resumed.epochs_trained == 4
    np.testing.assert_array_equal(resumed.predict(OCL).values(), expected)
    # Darts' own way gives the same result
    loaded = GRUForecaster.load_from_checkpoint("run", work_dir=str(backup), best=False)
    np.testing.assert_array_equal(loaded.fit(series).predict(OCL).values(), expected)


def test_resume_refuses_other_parameters_or_data_and_needs_checkpoints(tmp_path):
    series = make_series(length=150)
    build(**run_params(tmp_path, n_epochs=1)).fit(series)
    with pytest.raises(ValueError, match=r"(?s)different parameters.*found hidden_dim=8, should be hidden_dim=4"):
        build(hidden_dim=8, **run_params(tmp_path, n_epochs=2)).fit(series, resume=True)
    with pytest.raises(ValueError, match="trained on inputs with"):
        build(**run_params(tmp_path, n_epochs=2)).fit(make_series(length=150, n_components=3), resume=True)
    with pytest.raises(ValueError, match="save_checkpoints=True"):
        build().fit(series, resume=True)
    with pytest.raises(TypeError, match="True or False"):
        build(**run_params(tmp_path)).fit(series, resume="yes")
    # no checkpoint yet: resume=True simply starts the run
    fresh = build(**run_params(tmp_path / "new", n_epochs=1)).fit(series, resume=True)
    assert fresh.epochs_trained == 1


WORKER = textwrap.dedent("""
    import sys, time
    import pytorch_lightning as pl
    from rnn_forecast import GRUForecaster
    from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

    class Throttle(pl.Callback):  # keeps the run long enough to be killed mid-training
        def on_train_batch_end(self, *args):
            time.sleep(0.05)

    work_dir, n_epochs, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    model = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=4,
                          batch_size=16, random_state=0, pl_trainer_kwargs=dict(QUIET_TRAINER),
                          n_epochs=n_epochs, dropout=0.2, save_checkpoints=True,
                          model_name="run", work_dir=work_dir)
    model.trainer_params["callbacks"].append(Throttle())  # not saved with the model
    if data == "synthetic":
        series = make_series(length=150)
    else:  # a real series, raw: the last 150 hours of ETTh1's oil temperature
        from rnn_forecast.datasets import load_etth1
        series = load_etth1(data, columns=["OT"]).target[-150:]
    model.fit(series[:120], val_series=series[90:])
    print("finished", flush=True)
""")


@pytest.mark.parametrize("how", ["SIGTERM, synthetic series", "SIGKILL, ETTh1"])
def test_killed_subprocess_resumes_to_the_uninterrupted_result(tmp_path, data_dir, how):
    # SIGTERM lets Lightning stop cleanly; SIGKILL (kill -9) gives the process no chance:
    # the atomic checkpoint writes must still leave a complete last checkpoint
    sig, data = (signal.SIGTERM, "synthetic") if how.startswith("SIGTERM") else (signal.SIGKILL, str(data_dir))
    n_epochs = 6
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    work_dir = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, str(script), str(work_dir), str(n_epochs), data],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checkpoints = work_dir / "run" / "checkpoints"
    deadline = time.monotonic() + 180
    while not list(checkpoints.glob("last-*.ckpt")):
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.02)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode in (128 + sig, -sig), output
    assert "finished" not in output
    last = runs.last_checkpoint(str(work_dir), "run")
    assert int(last.split("epoch=")[1].split(".")[0]) < n_epochs - 1  # really cut short

    if data == "synthetic":
        series = make_series(length=150)
    else:
        series = load_etth1(data_dir, columns=["OT"]).target[-150:]
    params = {"dropout": 0.2, "batch_size": 16, "n_epochs": n_epochs}
    expected = build(**params, save_checkpoints=True, model_name="run", work_dir=str(tmp_path / "ref"))
    expected.fit(series[:120], val_series=series[90:])
    resumed = build(**params, save_checkpoints=True, model_name="run", work_dir=str(work_dir))
    resumed.fit(series[:120], val_series=series[90:], resume=True)
    assert resumed.epochs_trained == n_epochs
    np.testing.assert_array_equal(resumed.predict(OCL).values(), expected.predict(OCL).values())
