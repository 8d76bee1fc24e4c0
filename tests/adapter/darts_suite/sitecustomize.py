"""Make ``darts.tests`` (extracted by run.py) importable in every process of a suite run.

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``, which run.py points
here. Worker processes (joblib's loky, for ``n_jobs`` tests) unpickle objects defined in
Darts' test modules, so they need the extended package path too, not only pytest's own
process. Outside a suite run (``RNN_FORECAST_SUITE_ROOT`` unset) it does nothing.
"""

import os

_root = os.environ.get("RNN_FORECAST_SUITE_ROOT")
if _root:
    import darts

    if os.path.join(_root, "darts") not in darts.__path__:
        darts.__path__.append(os.path.join(_root, "darts"))
