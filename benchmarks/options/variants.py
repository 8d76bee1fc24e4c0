"""The variants every protocol of ``python -m benchmarks options`` understands.

A variant is one change to our forecasters' constructor options, written in any of
three ways:

- a named variant of the protocol's table (:data:`LONG_HORIZON`, :data:`MAIN_JOB`), e.g.
  ``"mlp decoder"``;
- ``"segments of N"`` for any ``N`` (``"no past covariates, segments of N"`` also leaves
  the past covariates out);
- ``"option=value;option=value"``: Python literals as values (``8``, ``None``, ``[64]``,
  ``'mean_scale'``), a bare word as a string; ``past=False`` leaves the past covariates
  out. The forecaster's constructor checks the options.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Variant:
    """A named variant: what it changes (for the tables), its options, the past covariates.

    ``options`` is a callable so that every run gets fresh objects (losses, optimizers).
    """

    change: str
    options: Callable[[], dict]
    past: bool = True


def _on_auto_segments(options: Callable[[], dict]) -> Callable[[], dict]:
    return lambda: {"segment_length": "auto", **options()}


#: The long-horizon protocol's baseline variant and, under it, the variants measured on
#: top of the automatic segments (the lookback-96 levers, docs/defaults.md): ΔMSE of
#: ``"auto segments, X"`` is taken against ``"auto segments"``.
AUTO_SEGMENTS = "auto segments"
_ON_AUTO_SEGMENTS = {
    "level_scale": Variant("the 0.2 defaults: automatic segments and level_scale",
                           lambda: {"normalization": "level_scale"}),
    "global level": Variant("automatic segments and global_level=True, forced on", lambda: {"global_level": True}),
    "dropout 0.5": Variant("automatic segments and dropout 0.5 (SegRNN's L=96 scripts)", lambda: {"dropout": 0.5}),
    "hidden 256": Variant("automatic segments and hidden size 256 instead of 128", lambda: {"hidden_dim": 256}),
    "hidden 512, dropout 0.5": Variant("automatic segments, SegRNN's hidden size 512 and dropout 0.5",
                                       lambda: {"hidden_dim": 512, "dropout": 0.5}),
    "weight decay": Variant("automatic segments and AdamW, weight decay 0.01",
                            lambda: {"optimizer_cls": torch.optim.AdamW, "optimizer_kwargs": {"weight_decay": 0.01}}),
    "MSE loss": Variant("automatic segments and MSE training loss instead of L1",
                        lambda: {"loss_fn": torch.nn.MSELoss()}),
    "RevIN": Variant("automatic segments and reversible instance norm instead of subtract-last",
                     lambda: {"normalization": None, "use_reversible_instance_norm": True}),
    "constant lr": Variant("automatic segments and no learning-rate decay",
                           lambda: {"lr_scheduler_cls": None, "lr_scheduler_kwargs": None}),
    "batch 256": Variant("automatic segments and batches of 256 (SegRNN's) instead of 64",
                         lambda: {"batch_size": 256}),
    "no dropout": Variant("automatic segments and dropout 0 instead of 0.1", lambda: {"dropout": 0.0}),
}

#: Variants of the long-horizon configuration of docs/accuracy.md (``full``: unchanged).
LONG_HORIZON = {
    "full": Variant("nothing (the docs/accuracy.md configuration)", dict),
    "mlp decoder": Variant("direct MLP head instead of the parallel decoder", lambda: {"decoder": "mlp"}),
    "no channel independence": Variant("one model over all components at once",
                                       lambda: {"channel_independence": False}),
    "no normalization": Variant("no subtract-last (and no RevIN)", lambda: {"normalization": None}),
    "RevIN": Variant("reversible instance norm instead of subtract-last",
                     lambda: {"normalization": None, "use_reversible_instance_norm": True}),
    "level_scale": Variant("subtract the last value and divide by the window's std (the 0.2 default)",
                           lambda: {"normalization": "level_scale"}),
    AUTO_SEGMENTS: Variant("segment_length='auto' (min(48, ceil(L / 4)))", lambda: {"segment_length": "auto"}),
    **{f"{AUTO_SEGMENTS}, {lever}": Variant(v.change, _on_auto_segments(v.options))
       for lever, v in _ON_AUTO_SEGMENTS.items()},
    "segments of 12": Variant("segment length 12 instead of 48", lambda: {"segment_length": 12}),
    "MSE loss": Variant("MSE training loss instead of L1", lambda: {"loss_fn": torch.nn.MSELoss()}),
    "constant lr": Variant("no learning-rate decay", lambda: {"lr_scheduler_cls": None, "lr_scheduler_kwargs": None}),
    "no dropout": Variant("dropout 0 instead of 0.1", lambda: {"dropout": 0.0}),
    "segments of 24": Variant("segment length 24 instead of 48", lambda: {"segment_length": 24}),
    "40 epochs": Variant("at most 40 epochs instead of 20", lambda: {"n_epochs": 40}),
    "no segments": Variant("one recurrent step per time step (segment_length=None)",
                           lambda: {"segment_length": None}),
}

#: Variants of our defaults on a main-job dataset (``defaults``: unchanged).
MAIN_JOB = {
    "defaults": Variant("nothing (the defaults)", dict),
    "segments of 8": Variant("segment length 8", lambda: {"segment_length": 8}),
    "segments of 24": Variant("segment length 24", lambda: {"segment_length": 24}),
    "mean_scale": Variant("window mean and scale instead of last value and scale",
                          lambda: {"normalization": "mean_scale"}),
    "global_level off": Variant("no global level features", lambda: {"global_level": False}),
    "mlp decoder": Variant("direct MLP head instead of the parallel decoder", lambda: {"decoder": "mlp"}),
    "no past covariates": Variant("the task's past covariates left out", dict, past=False),
    "no past covariates, segments of 8": Variant("segment length 8, no past covariates",
                                                 lambda: {"segment_length": 8}, past=False),
}


def parse(variant: str, named: dict[str, Variant]) -> tuple[dict, bool]:
    """A variant's constructor options and whether it gets the past covariates.

    Parameters
    ----------
    variant
        A name of ``named``, ``"segments of N"`` or ``"option=value;option=value"``.
    named
        The protocol's table of named variants.

    Raises
    ------
    argparse.ArgumentTypeError
        An unknown name or a malformed option list, naming the variant.
    """
    if variant in named:
        return named[variant].options(), named[variant].past
    if "=" in variant:
        return _literal_options(variant)
    match = re.fullmatch(r"(no past covariates, )?segments of (\d+)", variant)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"unknown variant {variant!r}: one of {list(named)}, 'segments of N' or 'option=value;...'")
    return {"segment_length": int(match.group(2))}, match.group(1) is None


def change(variant: str, named: dict[str, Variant]) -> str:
    """What ``variant`` changes, for a table: the named variant's description, else itself."""
    return named[variant].change if variant in named else variant


def _literal_options(variant: str) -> tuple[dict, bool]:
    """``"normalization=mean_scale;past=False"`` -> ``({"normalization": "mean_scale"}, False)``."""
    options = {}
    for part in variant.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name.strip().isidentifier():
            raise argparse.ArgumentTypeError(f"variant {variant!r}: {part!r} is not option=value")
        try:
            options[name.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):  # a bare word is a string: normalization=mean_scale
            options[name.strip()] = value.strip()
    past = options.pop("past", True)
    if not isinstance(past, bool):
        raise argparse.ArgumentTypeError(f"variant {variant!r}: past must be True or False")
    return options, past
