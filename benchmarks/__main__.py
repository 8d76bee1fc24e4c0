"""``python -m benchmarks COMMAND [options]``: every benchmark of the repository.

``python -m benchmarks --help`` lists the commands with the first line of each
module's docstring; ``python -m benchmarks COMMAND --help`` gives a command's options.
Listing reads the docstrings without importing the modules, so it takes no time.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

# command -> the module whose main(argv) runs it
COMMANDS = {
    "suite": "benchmarks.suite.cli",
    "options": "benchmarks.options",
    **{name: f"benchmarks.{name}" for name in (
        "accuracy", "battery", "long_season", "stationary",
        "intervals", "speed", "default_speed", "time_to_accuracy", "scaling", "kernel_speed", "backend_ab",
        "guard_overhead", "onnx_latency", "grad_norms", "soak", "gpu",
    )},
}


def summary(module: str) -> str:
    """The first line of ``module``'s docstring, read from its source."""
    path = Path(importlib.util.find_spec(module).origin)
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.splitlines()[0] if doc else ""


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary(module)}" for name, module in COMMANDS.items()]
    return ("usage: python -m benchmarks COMMAND [options]   (COMMAND --help for its options)\n\n"
            "commands:\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"python -m benchmarks: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    sys.argv = [f"python -m benchmarks {command}", *rest]  # what argparse shows as the program
    status = importlib.import_module(COMMANDS[command]).main(rest)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
