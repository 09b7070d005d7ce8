"""`LatentMDPConfig`: the settings of the latent-action MDP M^w, validated once.

The wrapper, both vector forms and the registered ids all take these settings, as keyword
arguments or as one config object, and hand them to :class:`latent_mdp.core.LatentCore`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np

from latent_mdp.chunk import RewardMode
from latent_mdp.noise_space import NoiseMode, NoiseSpace, check_noise_bound
from latent_mdp.observations import ObsMode

__all__ = ["LatentMDPConfig"]


def _is_integer(value: Any) -> bool:
    """True for Python and numpy integers, not for bools (``True`` is no horizon)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class LatentMDPConfig:
    """How a frozen base policy and a task env become M^w.

    Attributes:
        noise: a :class:`NoiseSpace`, or ``"repeat"`` (one ``D``-vector over the chunk),
            ``"full"`` (``H * D``) or ``"knots"``.
        noise_bound: ``b_w`` when ``noise`` is a mode name: ``u = +-1`` maps to ``w = +-b_w``.
        action_horizon: actions executed per chunk, ``1 <= h <= H``; ``None`` means ``H``.
        obs_mode: what the latent actor observes: ``"env"``, ``"policy"`` (the base policy's
            features) or ``"both"``.
        reward: ``"sum"`` of a chunk's inner rewards, or ``"discounted"`` within it (``gamma``).
        gamma: the within-chunk discount for ``reward="discounted"``.
        strict: reject out-of-bound latent actions instead of clipping them to ``[-1, 1]``.
        replans: chunks one latent action drives: the base re-plans every ``action_horizon``
            steps from its new observation with the same noise, ``replans`` times, so one
            decision spans ``action_horizon * replans`` env steps.

    Raises:
        ValueError: a setting of the wrong type or out of range (the policy-dependent checks,
            ``action_horizon <= H`` and the noise space's shape, run when a core is built).

    Example:
        >>> from latent_mdp.config import LatentMDPConfig
        >>> config = LatentMDPConfig(noise="full", action_horizon=4, replans=2)
        >>> config.replace(obs_mode="policy").obs_mode
        'policy'
        >>> LatentMDPConfig(replans=0)
        Traceback (most recent call last):
        ...
        ValueError: replans must be an integer >= 1; got 0
    """

    noise: NoiseSpace | NoiseMode = "repeat"
    noise_bound: float = 1.5
    action_horizon: int | None = None
    obs_mode: ObsMode = "env"
    reward: RewardMode = "sum"
    gamma: float = 0.99
    strict: bool = False
    replans: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.noise, NoiseSpace) and self.noise not in get_args(NoiseMode):
            raise ValueError(f"noise must be a NoiseSpace or one of {get_args(NoiseMode)}; got {self.noise!r}")
        check_noise_bound(self.noise_bound)
        if self.action_horizon is not None:
            if not _is_integer(self.action_horizon):
                raise ValueError(
                    f"action_horizon must be an integer; got {self.action_horizon!r} ({type(self.action_horizon).__name__})"
                )
            if self.action_horizon < 1:
                raise ValueError(f"action_horizon must be >= 1; got {self.action_horizon}")
        if self.obs_mode not in get_args(ObsMode):
            raise ValueError(f"obs_mode must be 'env', 'policy' or 'both'; got {self.obs_mode!r}")
        if self.reward not in get_args(RewardMode):
            raise ValueError(f"reward must be 'sum' or 'discounted'; got {self.reward!r}")
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, (int, float, np.integer, np.floating)) or not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {self.gamma!r}")
        if not isinstance(self.strict, (bool, np.bool_)):
            raise ValueError(f"strict must be True or False; got {self.strict!r}")
        if not _is_integer(self.replans) or self.replans < 1:
            raise ValueError(f"replans must be an integer >= 1; got {self.replans!r}")

    def replace(self, **changes: Any) -> LatentMDPConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def as_kwargs(self) -> dict[str, Any]:
        """The settings as keyword arguments (of the wrapper, the vector forms or the ids)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
