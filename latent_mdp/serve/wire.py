"""The bytes a policy server and its clients exchange: a JSON header and named numpy arrays.

Every request and response body is one ``.npz`` archive (no pickle): the header is stored as a
UTF-8 ``uint8`` array under ``__header__``, and each array under its own name. A batch of
observations is stored under ``obs`` (an array observation) or ``obs:<key>`` (a dict one).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from latent_mdp.policy import Observation

__all__ = ["arrays_from_observation", "observation_from_arrays", "pack", "unpack"]

_HEADER = "__header__"
_OBS = "obs"


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One message: ``header`` (JSON-serializable) and ``arrays`` (any shapes and numeric dtypes)."""
    buffer = io.BytesIO()
    encoded = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buffer, **{_HEADER: encoded}, **(arrays or {}))
    return buffer.getvalue()


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a message written by :func:`pack`.

    Raises:
        ValueError: ``data`` is not such a message.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except Exception as error:  # noqa: BLE001  (zip, numpy and JSON errors all mean a malformed message)
        raise ValueError(f"malformed policy-server message ({type(error).__name__}: {error})") from error
    if not isinstance(header, dict):
        raise ValueError(f"malformed policy-server message: its header is a {type(header).__name__}, not an object")
    return header, arrays


def arrays_from_observation(obs_batch: Observation) -> dict[str, np.ndarray]:
    """A batch of observations ``(B, ...)`` (array or dict of arrays) as named arrays."""
    if isinstance(obs_batch, dict):
        return {f"{_OBS}:{key}": np.asarray(value) for key, value in obs_batch.items()}
    return {_OBS: np.asarray(obs_batch)}


def observation_from_arrays(arrays: dict[str, np.ndarray]) -> Observation:
    """The inverse of :func:`arrays_from_observation`.

    Raises:
        ValueError: ``arrays`` hold no observation.
    """
    if _OBS in arrays:
        return arrays[_OBS]
    keyed = {name.split(":", 1)[1]: value for name, value in arrays.items() if name.startswith(f"{_OBS}:")}
    if not keyed:
        raise ValueError("the request holds no observation (an 'obs' array or 'obs:<key>' arrays)")
    return keyed
