"""Training across processes with Lightning's own DDP strategy (gloo on CPU)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("ddp_fit.py")


def _run(mode: str, tmp_path: Path) -> tuple[np.ndarray, str]:
    out = tmp_path / f"{mode}.npy"
    proc = subprocess.run([sys.executable, str(SCRIPT), mode, str(out)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return np.load(out), proc.stdout


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_equals_one_process(tmp_path):
    single, single_log = _run("single", tmp_path)
    ddp, ddp_log = _run("ddp", tmp_path)
    assert "world_size=1" in single_log and "world_size=2" in ddp_log
    # same number of optimizer steps: 3 epochs x 64 windows / global batch 16
    assert "optimizer_steps=12" in single_log and "optimizer_steps=12" in ddp_log
    # averaged gradients of two half batches = the gradient of the whole batch
    np.testing.assert_allclose(ddp, single, rtol=1e-4, atol=1e-5)
    assert not np.allclose(single, 0)


@pytest.mark.slow
def test_ddp_chooses_the_best_epoch_and_the_corrections_on_every_process_windows(tmp_path):
    """The default held-out tail under DDP: the validation loss is reduced and the
    per-window losses gathered across processes, so both make the same choice."""
    _, log = _run("ddp-held-out", tmp_path)
    choices = [(tmp_path / f"ddp-held-out.rank{rank}.txt").read_text().strip() for rank in (0, 1)]
    assert [c.split()[0] for c in choices] == ["rank=0", "rank=1"], log
    assert choices[0].split(maxsplit=1)[1] == choices[1].split(maxsplit=1)[1], choices
    assert "best_epoch=None" not in choices[0] and "world_size=2" in log
