"""Fit a small GRU forecaster in one process or with Lightning DDP on 2 CPU processes.

Run by tests/adapter/test_distributed.py as ``python tests/adapter/ddp_fit.py MODE OUT.npy``
(MODE ``single``, ``ddp``, or ``ddp-held-out``: DDP with the default held-out tail):
Lightning's ``ddp`` strategy starts the second process by re-running this script, so it
cannot run inside pytest's own process. Rank 0 saves the forecast to ``OUT.npy``; in
``ddp-held-out`` each rank also writes its early-stopping choice to ``OUT.rankR.txt``.

Why the two runs train alike. The DDP run is plain ``pl_trainer_kwargs={"strategy":
"ddp", "devices": 2}`` with batches of 8 per process: Lightning gives each process a
``DistributedSampler`` (shuffled, seed 0, reshuffled every epoch), so a step sees 16
windows, 8 per process, and DDP averages the two gradients, which is the gradient of
those 16 windows. The single-process run uses batches of 16 and the same sampler for
one replica, so its steps see the same 16 windows in the same order. Same seed, same
initial weights (DDP also broadcasts rank 0's), no dropout.
"""

import sys
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
from torch.utils.data import DistributedSampler

from rnn_forecast import GRUForecaster
from rnn_forecast.nn.early_stopping import BestEpoch
from rnn_forecast.tools.testing import ICL, OCL, QUIET_TRAINER, make_series

WINDOWS, BATCH, SEED = 64, 16, 0


def main(mode: str, out: str) -> None:
    series = make_series(length=ICL + OCL + WINDOWS - 1, n_components=1)
    trainer = dict(QUIET_TRAINER)
    if mode.startswith("ddp"):
        trainer.update(strategy="ddp", devices=2, num_nodes=1)
        batch, loader = BATCH // 2, {}
    else:
        trainer.update(devices=1)
        order = DistributedSampler(range(WINDOWS), num_replicas=1, rank=0, shuffle=True, seed=SEED)
        batch, loader = BATCH, {"shuffle": False, "sampler": order}
    # early stopping only in ddp-held-out: in the two runs compared for equality, a held-out
    # tail would take windows the sampler above counts on
    held_out = mode == "ddp-held-out"
    model = GRUForecaster(input_chunk_length=ICL, output_chunk_length=OCL, hidden_dim=8, n_epochs=3,
                          batch_size=batch, random_state=SEED, pl_trainer_kwargs=trainer,
                          early_stopping=held_out)
    model.fit(series, dataloader_kwargs=loader)
    if held_out:  # the best epoch and the kept corrections, chosen on every process's windows
        best = next(cb for cb in model.trainer.callbacks if isinstance(cb, BestEpoch))
        gate = model.model._correction_gate.flatten().tolist()
        # one file per process: two processes printing to one pipe can interleave their lines
        rank_file = Path(out).with_suffix(f".rank{model.trainer.global_rank}.txt")
        rank_file.write_text(f"rank={model.trainer.global_rank} best_epoch={best.best_epoch} "
                             f"best_loss={best.best_loss:.6g} gate={gate}\n")
    steps, rank, world = model.trainer.global_step, model.trainer.global_rank, model.trainer.world_size
    predictor = pl.Trainer(**{**QUIET_TRAINER, "devices": 1})
    forecast = model.predict(OCL, trainer=predictor).values()
    if rank == 0:
        np.save(out, forecast)
        print(f"mode={mode} world_size={world} optimizer_steps={steps}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
