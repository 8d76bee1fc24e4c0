"""MkDocs hook: bring the pages kept outside ``docs/`` into it before each build.

The notebooks live in ``examples/`` (run by CI there) and the benchmark report in
``benchmarks/`` (written there by ``python -m benchmarks suite``). They are copied to
``docs/examples/`` and ``docs/benchmark-results/`` (both git-ignored), so the site
builds on any checkout, symlinks or not. A file is written only when its content
changed, so ``mkdocs serve`` (which watches ``docs/``) does not rebuild forever.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# target folder in docs/ -> (source folder, glob patterns)
COPIES = {
    "examples": (ROOT / "examples", ["*.ipynb"]),
    "benchmark-results": (ROOT / "benchmarks", ["REPORT.md", "plots/*.png"]),
}


def on_pre_build(config) -> None:
    docs = Path(config["docs_dir"])
    for name, (source, patterns) in COPIES.items():
        for path in sorted(p for pattern in patterns for p in source.glob(pattern)):
            target = docs / name / path.relative_to(source)
            data = path.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
