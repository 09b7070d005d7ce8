"""A shipped checkpoint's model card: ``card.json`` (the numbers) and ``README.md`` (the text made from them)."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

__all__ = ["card_machine", "write_model_card"]


def card_machine() -> str:
    """The machine a card's CPU times were measured on."""
    return f"{platform.machine()} CPU, 1 torch thread"


def write_model_card(out: Path, card: dict[str, Any], text: str) -> Path:
    """Write ``card`` as ``out/card.json`` and ``text`` as ``out/README.md``; returns the README's path."""
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / "README.md").write_text(text)
    return out / "README.md"
