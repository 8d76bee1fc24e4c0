"""The package's folders are its layers, and the module paths of 0.3 still import."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import rnn_forecast
from rnn_forecast._moved import MOVED, with_old_paths

PACKAGE = Path(rnn_forecast.__file__).parent
#: Each layer may import from the layers before it, never from one after it
#: (docs/architecture.md, "The library, in layers"). Files at the top are shared.
LAYERS = ("nn", "persistence", "adapter", "datasets", "evaluation", "tools")


def _layer(module: str) -> int:
    """The layer's index; -1 for the top-level files (shared by every layer)."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 and parts[1] in LAYERS else -1


def _imports(path: Path):
    """Every ``rnn_forecast.*`` module ``path`` imports, also inside functions."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "rnn_forecast" else [base]
            yield from (name for name in names if name.startswith("rnn_forecast."))
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("rnn_forecast."))


def test_no_layer_imports_a_later_one():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE:
            continue  # __init__/__main__ and the shared files: checked below
        source = _layer(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        upward += [f"{path.relative_to(PACKAGE)} imports {name}"
                   for name in _imports(path) if _layer(name) > source]
    assert not upward, f"a layer imports a later one (docs/architecture.md): {upward}"


def test_the_shared_files_import_no_layer():
    shared = [p for p in PACKAGE.glob("_*.py") if p.name != "__main__.py"]
    assert {p.name for p in shared} >= {"_checks.py", "_darts_private.py", "_lazy.py", "_moved.py"}
    found = [f"{p.name} imports {name}" for p in shared for name in _imports(p) if _layer(name) >= 0]
    assert not found, found


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_is_the_new_module_with_a_deprecation_warning(old):
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"`{old}` moved to `{MOVED[old]}`"):
        module = importlib.import_module(old)
    assert module is new and module.__spec__.name == MOVED[old]  # one module, its own spec


def test_old_paths_do_not_load_a_second_copy_of_a_module():
    code = ("import warnings, sys; warnings.simplefilter('ignore'); import rnn_forecast.tune.auto as a; "
            "import rnn_forecast.tools.tune.auto as b; from rnn_forecast.forecaster import RNNForecaster as R; "
            "from rnn_forecast import RNNForecaster; assert a is b and R is RNNForecaster; "
            "print(sorted(m for m in sys.modules if m.endswith('tune.auto')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['rnn_forecast.tools.tune.auto', 'rnn_forecast.tune.auto']"


def test_saved_class_paths_of_0_3_are_allowed_as_the_same_classes():
    from rnn_forecast import GRUForecaster, RecurrentForecastModule

    allowed = {path: cls for cls, path in with_old_paths([GRUForecaster, RecurrentForecastModule])[2:]}
    assert allowed == {"rnn_forecast.forecaster.GRUForecaster": GRUForecaster,
                       "rnn_forecast.module.RecurrentForecastModule": RecurrentForecastModule}
