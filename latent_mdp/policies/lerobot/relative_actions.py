"""LeRobot's relative actions (``use_relative_actions``) when one observation decodes ``K`` noises.

A LeRobot checkpoint trained on relative actions carries a pair of processor steps:
``RelativeActionsProcessorStep`` in the preprocessor caches the raw ``observation.state`` of the
batch it saw, and ``AbsoluteActionsProcessorStep`` in the postprocessor adds that cached state to
the un-normalized actions. LeRobot's eval loop preprocesses one batch and postprocesses its
actions right after, so the cache always matches. Here ``encode`` and ``decode`` are split: a
context may be decoded long after other observations went through the preprocessor, and with
``K`` noises per observation (``B*K`` action rows). :class:`ActionReference` keeps each
context's own state and puts it back, repeated ``K`` times, just before the postprocessor runs.
"""

from __future__ import annotations

from typing import Any

import torch

from latent_mdp.policies.lerobot.pipeline import insert_step

__all__ = ["ActionReference", "add_relative_action_steps"]


def add_relative_action_steps(preprocessor: Any, postprocessor: Any) -> None:
    """Give a policy without ``use_relative_actions`` (SmolVLA) LeRobot's relative-action pair, in place.

    ``RelativeActionsProcessorStep`` goes right before the preprocessor's normalizer (the
    order pi0's own processor uses), ``AbsoluteActionsProcessorStep`` right after the
    postprocessor's unnormalizer. LeRobot's loader re-pairs the two when it reads them back.
    """
    from lerobot.processor.normalize_processor import NormalizerProcessorStep, UnnormalizerProcessorStep
    from lerobot.processor.relative_action_processor import (
        AbsoluteActionsProcessorStep,
        RelativeActionsProcessorStep,
    )

    relative = RelativeActionsProcessorStep(enabled=True, exclude_joints=[])
    insert_step(preprocessor, relative, before=NormalizerProcessorStep)
    absolute = AbsoluteActionsProcessorStep(enabled=True, relative_step=relative)
    insert_step(postprocessor, absolute, after=UnnormalizerProcessorStep)


class ActionReference:
    """The relative-action step of a preprocessor, if the checkpoint enables one."""

    def __init__(self, preprocessor: Any) -> None:
        from lerobot.processor.relative_action_processor import RelativeActionsProcessorStep

        steps = [s for s in getattr(preprocessor, "steps", []) if isinstance(s, RelativeActionsProcessorStep)]
        self.step = next((s for s in steps if s.enabled), None)

    @property
    def enabled(self) -> bool:
        """Whether the policy predicts actions relative to its ``observation.state``."""
        return self.step is not None

    def captured(self) -> torch.Tensor | None:
        """A copy of the raw state ``(B, S)`` the preprocessor just cached, or ``None`` if disabled."""
        if self.step is None:
            return None
        state = self.step.get_cached_state()
        if state is None:
            raise RuntimeError("the relative-action preprocessor step saw no 'observation.state'")
        return state.detach().clone()

    def restore(self, state: torch.Tensor | None, k: int) -> None:
        """Make the postprocessor add ``state`` ``(B, S)``, repeated ``k`` times, to ``B*k`` actions."""
        if self.step is None:
            return
        if state is None:
            raise ValueError("a relative-action policy needs the context's reference state")
        # The paired AbsoluteActionsProcessorStep reads this cache (LeRobot has no setter).
        self.step._last_state = state.repeat_interleave(k, dim=0)  # noqa: SLF001
