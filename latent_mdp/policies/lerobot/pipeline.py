"""Finding a step in a LeRobot processor pipeline (``DataProcessorPipeline.steps``)."""

from __future__ import annotations

from typing import Any

__all__ = ["step_index"]


def step_index(pipeline: Any, kind: type) -> int:
    """The index of the first step of type ``kind`` in ``pipeline.steps``.

    Raises:
        ValueError: the pipeline has no such step.
    """
    for i, step in enumerate(pipeline.steps):
        if isinstance(step, kind):
            return i
    raise ValueError(f"the pipeline has no {kind.__name__}")
