"""Replay buffers on disk: only the filled rows are written, and any buffer class loads back.

SB3 pickles a replay buffer whole, preallocated rows included, so a short run with a large
``buffer_size`` writes its full size at every checkpoint (a 200k-row buffer of 256-d features is
hundreds of MB, nearly all zeros). :func:`save_buffer` writes the filled rows only, and
:func:`load_buffer` re-allocates the empty ones. Every array attribute whose first axis is the
buffer's ``buffer_size`` counts as rows, also inside dicts (``Dict`` observations), named tuples
(DSRL-NA's bank) and nested buffers (:class:`latent_mdp.demo_noise.DemoReplayBuffer`'s demos).

:func:`load_buffer` also restores buffers that are not SB3 ``ReplayBuffer`` subclasses
(``agents.buffer.ChunkReplayBuffer``), which SB3's own ``load_replay_buffer`` refuses.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.buffers import BaseBuffer

__all__ = ["load_buffer", "save_buffer"]

FORMAT = "latent_mdp.replay_buffer.v1"


def _shrink(value: Any, size: int, rows: int) -> Any:
    """``value`` with every ``(size, ...)`` array cut to ``(rows, ...)``; other values as they are."""
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == size:
        return value[:rows]
    if isinstance(value, dict):
        return {key: _shrink(v, size, rows) for key, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_shrink(v, size, rows) for v in value))
    return value


def _grow(value: Any, rows: int, size: int) -> Any:
    """Inverse of :func:`_shrink`: ``(rows, ...)`` arrays padded with zeros to ``(size, ...)``."""
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == rows:
        grown = np.zeros((size, *value.shape[1:]), dtype=value.dtype)
        grown[:rows] = value
        return grown
    if isinstance(value, dict):
        return {key: _grow(v, rows, size) for key, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_grow(v, rows, size) for v in value))
    return value


def _pack(buffer: BaseBuffer) -> dict[str, Any]:
    """The buffer's class and state, its arrays cut to the filled rows (nested buffers too)."""
    size = buffer.buffer_size
    rows = size if buffer.full else buffer.pos
    state = {}
    for name, value in vars(buffer).items():
        state[name] = _pack(value) if isinstance(value, BaseBuffer) else _shrink(value, size, rows)
    return {"format": FORMAT, "class": type(buffer), "rows": rows, "state": state}


def _unpack(packed: dict[str, Any]) -> BaseBuffer:
    buffer = packed["class"].__new__(packed["class"])
    size, rows = packed["state"]["buffer_size"], packed["rows"]
    for name, value in packed["state"].items():
        if isinstance(value, dict) and value.get("format") == FORMAT:
            value = _unpack(value)
        elif rows < size:
            value = _grow(value, rows, size)
        setattr(buffer, name, value)
    return buffer


def save_buffer(buffer: BaseBuffer, path: str | Path) -> int:
    """Write ``buffer``'s filled rows to ``path`` atomically; returns the file's size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(_pack(buffer), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path.stat().st_size


def load_buffer(path: str | Path, device: Any = None) -> BaseBuffer:
    """Read a buffer written by :func:`save_buffer` (its empty rows re-allocated) or by SB3.

    Raises:
        ValueError: the file is not such a buffer (it names the file).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            packed = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
        raise ValueError(f"{path} is not a readable replay buffer file ({type(error).__name__}: {error})") from error
    if isinstance(packed, BaseBuffer):  # written whole by SB3's save_replay_buffer (older checkpoints)
        buffer = packed
    elif isinstance(packed, dict) and packed.get("format") == FORMAT:
        buffer = _unpack(packed)
    else:
        raise ValueError(f"{path} holds no replay buffer (got {type(packed).__name__})")
    if device is not None:
        buffer.device = device
    return buffer
