"""Finding and placing steps in a LeRobot processor pipeline (``DataProcessorPipeline.steps``)."""

from __future__ import annotations

from typing import Any

__all__ = ["insert_step", "step_index"]


def step_index(pipeline: Any, kind: type) -> int:
    """The index of the first step of type ``kind`` in ``pipeline.steps``.

    Raises:
        ValueError: the pipeline has no such step.
    """
    for i, step in enumerate(pipeline.steps):
        if isinstance(step, kind):
            return i
    raise ValueError(f"the pipeline has no {kind.__name__}")


def insert_step(pipeline: Any, step: Any, *, before: type | None = None, after: type | None = None) -> None:
    """Put ``step`` right before or right after the first step of type ``before`` / ``after`` (in place).

    Raises:
        ValueError: not exactly one of ``before`` and ``after``, or the pipeline has no such step.
    """
    if (before is None) == (after is None):
        raise ValueError("insert_step needs exactly one of before= and after=")
    index = step_index(pipeline, before) if before is not None else step_index(pipeline, after) + 1
    pipeline.steps.insert(index, step)
