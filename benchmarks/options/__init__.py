"""What each option of ours is worth: one change at a time, under one of three protocols.

``python -m benchmarks options PROTOCOL [options]``; the variants are written the same way
under every protocol (:mod:`.variants`: a named variant, ``"segments of N"`` or
``"option=value;option=value"``):

================  =====================================================================
protocol          what is measured
================  =====================================================================
``long-horizon``  the configuration of docs/accuracy.md on ETTh1/Weather (``ltsf_split``,
                  MSE and MAE on the standardized scale), one option changed at a time
                  (:mod:`.long_horizon`; ``results/ablation.{csv,md}``)
``main-job``      our defaults on one main-job dataset under the quick protocol, against
                  the best Darts peer, MASE with Welch tests (:mod:`.main_job`;
                  ``results/levers_<dataset>_<epochs>ep.{csv,md}``)
``battery``       our defaults on battery cases (raw values, few settings), the 0.4
                  design piece by piece (:mod:`.battery`; ``results/design_ablation.{csv,md}``)
================  =====================================================================

``python -m benchmarks options PROTOCOL --help`` gives each protocol's options.
"""

from __future__ import annotations

import importlib
import sys

#: protocol -> the module whose main(argv) runs it
PROTOCOLS = {"long-horizon": "benchmarks.options.long_horizon", "main-job": "benchmarks.options.main_job",
             "battery": "benchmarks.options.battery"}


def main(argv: list[str] | None = None) -> int:
    """Run one protocol: ``argv[0]`` names it, the rest are its options."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in PROTOCOLS:
        stream = sys.stdout if not argv or argv[0] in ("-h", "--help") else sys.stderr
        print("usage: python -m benchmarks options {" + ",".join(PROTOCOLS) + "} [options]\n\n" + __doc__,
              file=stream)
        return 0 if stream is sys.stdout else 2
    status = importlib.import_module(PROTOCOLS[argv[0]]).main(argv[1:])
    return status if isinstance(status, int) else 0
