"""Reading a checkpoint directory's files with errors that name the file and say what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["checkpoint_type", "check_weights_file", "read_config"]


def read_config(path: Path) -> dict[str, Any]:
    """``config.json`` as a dict.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: it is not a JSON object; the message names the file and the parse error.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} must hold a JSON object; it holds a {type(content).__name__}")
    return content


def check_weights_file(path: Path) -> None:
    """Raise ``ValueError`` naming ``path`` unless it is a readable safetensors file (header only)."""
    from safetensors import safe_open

    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except Exception as error:  # noqa: BLE001 (safetensors raises its own error types)
        raise ValueError(f"{path} is not a readable safetensors file ({error})") from error


def checkpoint_type(directory: Path) -> str:
    """The policy type a checkpoint directory's ``config.json`` names (``flow_mlp``, ``pi0``, ...)."""
    config_file = directory / "config.json"
    kind = read_config(config_file).get("type")
    if not isinstance(kind, str):
        raise ValueError(f"{config_file} names no policy type (its 'type' is {kind!r})")
    return kind
