"""Save and load: round trips, determinism across processes, clear errors for bad files."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel

from rnn_forecast import GRUForecaster, LSTMForecaster, RNNForecaster
from rnn_forecast.persistence import AtomicCheckpointIO, MissingModelFileError, ModelFileError, files, runs
from rnn_forecast.tools.testing import OCL, make_series
from tests.builders import build, fit_with_covariates, run_params


@pytest.fixture(scope="module")
def fitted():
    """A small model fitted with past and future covariates, and its inputs."""
    return fit_with_covariates()


# -- save / load ------------------------------------------------------------------------


@pytest.fixture
def saved(fitted, tmp_path):
    model = fitted[0]
    path = str(tmp_path / "model.pt")
    model.save(path)
    return model, path


def test_round_trip_and_determinism_across_processes(saved, tmp_path):
    model, path = saved
    expected = model.predict(OCL).values()
    script = textwrap.dedent(f"""
        import numpy as np
        from rnn_forecast import GRUForecaster
        from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series
        loaded = GRUForecaster.load({path!r})
        np.save({str(tmp_path / "loaded.npy")!r}, loaded.predict(OCL).values())
        fresh = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=4,
                              n_epochs=2, batch_size=32, random_state=5,
                              pl_trainer_kwargs=dict(QUIET_TRAINER))
        np.save({str(tmp_path / "fresh.npy")!r}, fresh.fit(make_series()).predict(OCL).values())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "loaded.npy"), expected)
    same_seed = build(n_epochs=2, random_state=5).fit(make_series()).predict(OCL).values()
    np.testing.assert_array_equal(np.load(tmp_path / "fresh.npy"), same_seed)


def truncate(path, fraction=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(int(size * fraction))


def test_truncated_or_mismatched_files_give_clear_errors(saved, tmp_path):
    model, path = saved
    with pytest.raises(FileNotFoundError, match="No saved model"):
        GRUForecaster.load(str(tmp_path / "nothing.pt"))
    other = str(tmp_path / "other.pt")
    build(random_state=1).fit(make_series()).save(other)
    os.replace(other + ".ckpt", path + ".ckpt")  # weights of another save
    with pytest.raises(ModelFileError, match="SHA-256 differs"):
        GRUForecaster.load(path)
    os.remove(path + ".ckpt")
    with pytest.raises(ModelFileError, match="which is missing"):
        GRUForecaster.load(path)
    model.save(path)
    truncate(path + ".ckpt")
    with pytest.raises(ModelFileError, match="truncated or corrupted"):
        GRUForecaster.load(path)
    model.save(path)
    truncate(path)
    with pytest.raises(ModelFileError, match=r"Could not read the model file .*model\.pt.*truncated"):
        GRUForecaster.load(path)


class RunsCode:
    """Unpickling this calls ``os.system``: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class NotAllowed:
    """A harmless class of the user's own, not on the safe-loading list."""


def test_refused_objects_and_foreign_formats_are_told_apart_from_corruption(saved, tmp_path):
    import pickle

    from rnn_forecast.persistence import UnsafeModelFileError

    model, path = saved
    marker = tmp_path / "code-ran"
    evil = str(tmp_path / "evil.pt")
    torch.save({"model": RunsCode(marker)}, evil)
    message = (r"evil\.pt' was not loaded: it holds `posix.system`, which would run code when the "
               r"file is read: it is blocked .* Do not load this file")
    with pytest.raises(UnsafeModelFileError, match=message) as info:
        GRUForecaster.load(evil)
    assert info.value.blocked and info.value.qualname == "posix.system" and not marker.exists()
    torch.save({"model": NotAllowed()}, evil)
    message = (r"holds `test_persistence.NotAllowed`, which safe loading does "
               r"not allow.*add_safe_globals\(\[test_persistence.NotAllowed\]\)")
    with pytest.raises(UnsafeModelFileError, match=message) as info:
        GRUForecaster.load(evil)
    assert not info.value.blocked
    with open(evil, "wb") as fh:  # a plain pickle (e.g. joblib or pickle.dump of a model): another format
        pickle.dump({"weights": [1.0]}, fh)
    with pytest.raises(ModelFileError,
                       match=r"is not a model file written by rnn_forecast or Darts .* another library"):
        GRUForecaster.load(evil)
    truncate(path)  # a real model file, cut short: corrupted, not unsafe
    with pytest.raises(ModelFileError, match="truncated or corrupted") as info:
        GRUForecaster.load(path)
    assert not isinstance(info.value, UnsafeModelFileError)


def test_incompatible_versions_and_foreign_files_are_refused(saved, tmp_path, monkeypatch):
    model, path = saved
    with pytest.raises(TypeError, match="holds a GRUForecaster, not a LSTMForecaster"):
        LSTMForecaster.load(path)
    assert isinstance(RNNForecaster.load(path), GRUForecaster)
    plain = str(tmp_path / "plain.pt")
    TorchForecastingModel.save(model, plain)  # Darts' own save: no format marker
    with pytest.raises(ModelFileError, match="has no rnn_forecast file format marker"):
        GRUForecaster.load(plain)
    monkeypatch.setattr(files, "FILE_FORMAT", 2)
    model.save(path)
    monkeypatch.setattr(files, "FILE_FORMAT", 1)
    with pytest.raises(ModelFileError, match="uses rnn_forecast file format 2 .* reads format 1"):
        GRUForecaster.load(path)
    real = files.file_info
    monkeypatch.setattr(files, "file_info", lambda sha: {**real(sha), "darts": "0.49.0"})
    model.save(path)
    monkeypatch.undo()
    with pytest.raises(ModelFileError, match="written with darts 0.49.0"):
        GRUForecaster.load(path)


def test_failed_save_keeps_the_previous_files(saved, tmp_path, monkeypatch):
    model, path = saved
    before = {name: (tmp_path / name).read_bytes() for name in ("model.pt", "model.pt.ckpt")}

    def disk_full(obj, handle, *args, **kwargs):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["model.pt", "model.pt.ckpt"]  # no temp files left
    for name, content in before.items():
        assert (tmp_path / name).read_bytes() == content
    np.testing.assert_array_equal(GRUForecaster.load(path).predict(OCL).values(), model.predict(OCL).values())


def test_saving_a_loaded_model_keeps_its_weights(saved, tmp_path):
    model, path = saved
    again = str(tmp_path / "again.pt")
    GRUForecaster.load(path).save(again)  # Darts alone would write no .ckpt here
    np.testing.assert_array_equal(GRUForecaster.load(again).predict(OCL).values(), model.predict(OCL).values())


def test_truncated_training_checkpoint_is_named(tmp_path):
    build(**run_params(tmp_path, n_epochs=1)).fit(make_series())
    last = runs.last_checkpoint(str(tmp_path), "run")
    truncate(last)
    message = r"Could not read the checkpoint .*last-epoch=0\.ckpt.*truncated or corrupted.*file_name="
    with pytest.raises(ModelFileError, match=message):
        GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)


def test_missing_files_raise_what_darts_and_python_users_catch(saved, tmp_path):
    # Darts raises ValueError for a missing run or weights file, Python FileNotFoundError:
    # MissingModelFileError is both, so code written for either catches it.
    from darts.models import BlockRNNModel
    with pytest.raises(ValueError):
        BlockRNNModel.load_from_checkpoint("nothing", work_dir=str(tmp_path))
    model, path = saved
    missing = [lambda: GRUForecaster.load(str(tmp_path / "nothing.pt")),
               lambda: GRUForecaster.load_from_checkpoint("nothing", work_dir=str(tmp_path))]
    build(**run_params(tmp_path, n_epochs=1)).fit(make_series())
    missing.append(lambda: GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path),
                                                              file_name="epoch=9.ckpt"))
    os.remove(path + ".ckpt")
    missing.append(lambda: GRUForecaster.load(path))
    messages = []
    for load in missing:
        with pytest.raises(MissingModelFileError) as info:
            load()
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
        messages.append(str(info.value))
    assert "No saved model" in messages[0] and "No checkpointed run 'nothing'" in messages[1]
    assert "epoch=9.ckpt" in messages[2] and "last-epoch=0.ckpt" in messages[2]  # what exists
    assert "which is missing" in messages[3]
    for folder in (tmp_path / "run" / "checkpoints").iterdir():
        folder.unlink()
    with pytest.raises(MissingModelFileError, match="has no last checkpoint yet"):
        GRUForecaster.load_from_checkpoint("run", work_dir=str(tmp_path), best=False)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    io, path = AtomicCheckpointIO(), str(tmp_path / "last-epoch=0.ckpt")
    io.save_checkpoint({"state": torch.arange(3.0)}, path)

    def killed_before_rename(src, dst):
        assert os.path.getsize(src) > 0 and os.path.dirname(src) == str(tmp_path)
        raise KeyboardInterrupt  # the new file is on disk under its temporary name

    monkeypatch.setattr(os, "replace", killed_before_rename)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state": torch.arange(5.0)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["last-epoch=0.ckpt"]  # the temporary file is gone
    assert torch.equal(io.load_checkpoint(path)["state"], torch.arange(3.0))
