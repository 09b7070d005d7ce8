"""Writing a benchmark's JSON result, with the machine it was measured on."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

__all__ = ["machine", "write_result"]


def machine() -> str:
    """The CPU the benchmark ran on, and torch's thread count (these benchmarks run it single-threaded)."""
    return f"{platform.processor() or platform.machine()}, torch threads 1"


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` (making its folder) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
