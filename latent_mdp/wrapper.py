"""`LatentActionWrapper`: a Gymnasium env plus a frozen noise policy, seen as the latent-action MDP M^w."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from latent_mdp.batch import LatentBatch
from latent_mdp.config import LatentMDPConfig
from latent_mdp.core import CoreViews
from latent_mdp.policy import NoisePolicy

__all__ = ["LatentActionWrapper"]


class LatentActionWrapper(CoreViews, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Turns ``env`` and a frozen :class:`NoisePolicy` into M^w: the action is the policy's noise.

    ``step(u)`` maps ``u in [-1, 1]^k`` to a noise ``w`` ``(H, D)`` through the
    :class:`NoiseSpace`, decodes one action chunk ``a = pi_dp(s, w)`` ``(H, A)`` and executes
    its first ``action_horizon`` actions in ``env``. It stops at the first ``terminated`` or
    ``truncated`` (kept apart: a time limit stays ``truncated``), sums the inner rewards (or
    discounts them within the chunk with ``reward="discounted"``), and returns the last
    observation. ``info`` carries ``executed_actions`` ``(n, A)``, ``inner_steps`` ``n``,
    ``planned_actions`` ``(h, A)`` (the decoded actions the step was to execute, also when the
    episode ended before them),
    ``noise`` ``(H, D)``, ``latent_action`` ``(k,)``, the inner observations the chunk started
    and stopped at (``env_observation``, ``next_env_observation``) and the last inner info.

    Out-of-bound latent actions are clipped to ``[-1, 1]``, or rejected with ``strict=True``;
    NaN/inf and wrong shapes always raise ``ValueError``. Executed actions are clipped to the
    inner env's ``Box`` action space.

    One M^w step spans ``action_horizon * replans`` env steps, so an agent on M^w should discount
    with :meth:`latent_gamma` (``gamma ** (action_horizon * replans)``).

    Args:
        env: the task env (its action is the policy's action, in env units).
        policy: the frozen base policy.
        config: the settings of M^w (:class:`LatentMDPConfig`): the noise space, ``action_horizon``,
            ``obs_mode``, the within-chunk ``reward`` and ``gamma``, ``strict``, ``replans``.
        **options: settings that override ``config``'s, by field name (e.g. ``noise="full"``).
            With ``replans > 1``, ``executed_actions`` and ``planned_actions`` hold up to
            ``replans * h`` rows.

    Example:
        >>> import gym_pusht, gymnasium as gym
        >>> from latent_mdp import LatentActionWrapper
        >>> from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
        >>> policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=8))
        >>> env = LatentActionWrapper(gym.make("gym_pusht/PushT-v0"), policy, noise="full", action_horizon=4)
        >>> env.action_space.shape
        (16,)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> info["inner_steps"], info["executed_actions"].shape
        (4, (4, 2))

    The constructor arguments are recorded in ``env.spec`` (as Gymnasium's own wrappers do), so
    ``env.spec.make()`` rebuilds the wrapper around the same policy object. When the wrapper is
    itself what a registered id's entry point returns (``gym.make("DSRL-PushT-flow-v0")``), the
    spec is that id's own: making it again rebuilds the whole env, policy included.
    """

    is_registered_env: bool = False
    """Set by the entry points of registered ids: the wrapper is the env, not an added wrapper."""

    def __init__(self, env: gym.Env, policy: NoisePolicy, config: LatentMDPConfig | None = None, **options: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, policy=policy, config=config, **options)
        gym.Wrapper.__init__(self, env)
        self.batch = LatentBatch([env], policy, config, autoreset=False, **options)
        """The engine, for this one env (no auto-reset)."""
        self.core = self.batch.core
        self.action_space = self.core.action_space
        self.observation_space = self.core.observation_space

    @property
    def spec(self) -> gym.envs.registration.EnvSpec | None:
        if self.is_registered_env:
            return self.unwrapped.spec
        return super().spec

    @property
    def policy(self) -> NoisePolicy:
        """The frozen base policy (also :attr:`base_policy`)."""
        return self.core.policy

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        (latent_obs,), (info,) = self.batch.reset([seed], [options])
        return latent_obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        self.batch.check_started()  # before the action's checks, as a Gymnasium env would
        out = self.batch.step_validated(self.core.validate(action)[None])  # checked as one env's action
        return out.observations[0], float(out.rewards[0]), bool(out.terminated[0]), bool(out.truncated[0]), out.infos[0]
