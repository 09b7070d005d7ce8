"""Argument checks shared by the layers (the core, the SB3 algorithms, DSRL-NA's buffer)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["positive_int"]


def positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` if it is a positive Python or numpy integer (not a bool).

    Raises:
        ValueError: naming ``name`` and the value given (``0``, ``1.5``, ``"2"``, ``True``, ...).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
