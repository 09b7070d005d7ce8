"""The DSRL-PushT-* environments: ``gym_pusht/PushT-v0`` steered through a frozen base policy.

Each variant names a base-policy kind, the PushT observation that policy reads, its shipped
checkpoint in ``latent_mdp/assets`` and its DSRL defaults. ``policy_path`` swaps in a user's own
checkpoint of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np

from latent_mdp.batch import check_num_envs
from latent_mdp.envs.generic import parts_from_envs, vector_from_parts, with_policy_server, wrapper_from_parts
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.noise_space import NoiseMode, NoiseSpace
from latent_mdp.observations import ObsMode
from latent_mdp.policies.checkpoint_files import checkpoint_type
from latent_mdp.policy import NoisePolicy
from latent_mdp.vector import LatentActionVectorEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = [
    "ASSETS",
    "PUSHT_TASK",
    "VARIANTS",
    "PushTVariant",
    "AbsorbingSuccessReward",
    "BlockKeypoints",
    "SuccessReward",
    "TaskReward",
    "load_base_policy",
    "make_dsrl_pusht",
    "make_dsrl_pusht_vector",
    "pusht_batch_parts",
    "make_inner_pusht",
    "PUSHT_METRICS",
]

PUSHT_METRICS = EpisodeMetrics(success="is_success", maxima=("coverage",))
"""gym-pusht's info: ``is_success`` at coverage above 0.95, and ``coverage`` of the target (tracked at its maximum)."""

ASSETS = Path(__file__).resolve().parents[2] / "assets"
PUSHT_TASK = "Push the T-shaped block onto the T-shaped target."

TaskReward = Literal["coverage", "success", "absorbing", "time"]
"""The inner reward of the DSRL-PushT ids.

* ``coverage``: gym-pusht's own, ``clip(coverage / 0.95, 0, 1)`` every step. Success
  (coverage > 0.95) terminates the episode, so this reward *discourages* success: hovering just
  below 0.95 until the time limit collects about 1 per step, succeeding stops the stream. RL on it
  raises the return, not the success rate.
* ``success``: 1 at the step that succeeds, else 0 (:class:`SuccessReward`). Its return is the
  success indicator, so maximizing it maximizes success, sooner rather than later with ``gamma < 1``.
* ``absorbing``: the coverage reward, as if success were an absorbing state that keeps paying
  the maximum of 1 until the time limit (:class:`AbsorbingSuccessReward`): dense like
  ``coverage``, and aligned with success like ``success``.
* ``time``: -1 for every step that does not succeed, 0 for the one that does (:class:`TimeReward`):
  the return is minus the steps taken to succeed (-300 without success), so it pays success, and
  sooner success, and nothing for coverage short of it. The DSRL reference code's Robomimic reward.
"""


class AbsorbingSuccessReward(gym.Wrapper):
    """Coverage reward; the successful step also pays 1 for every step left until the time limit.

    The return is then what it would be if success held (reward 1) until step ``max_steps``, so
    succeeding always beats hovering below the threshold.
    """

    def __init__(self, env: gym.Env, max_steps: int) -> None:
        super().__init__(env)
        self.max_steps = max_steps
        self._steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._steps = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        if info["is_success"]:
            reward = float(reward) + max(0, self.max_steps - self._steps)
        return obs, float(reward), terminated, truncated, info


class BlockKeypoints(gym.ObservationWrapper):
    """Adds ``environment_state``, the T block's 8 keypoints ``(16,)`` in ``[0, 512]``, to a dict observation.

    The same vector gym-pusht returns for ``obs_type="environment_state_agent_pos"`` (its own
    ``get_keypoints``), beside the pixels and ``agent_pos`` of ``obs_type="pixels_agent_pos"``.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        if not isinstance(env.observation_space, gym.spaces.Dict):
            raise TypeError(f"BlockKeypoints needs a Dict observation space; got {env.observation_space}")
        keypoints = gym.spaces.Box(0.0, 512.0, (16,), dtype=np.float64)
        self.observation_space = gym.spaces.Dict({**env.observation_space.spaces, "environment_state": keypoints})

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        inner = self.env.unwrapped
        keypoints = inner.get_keypoints(inner._block_shapes).flatten()  # noqa: SLF001 (gym-pusht's own)
        return {**observation, "environment_state": keypoints}


class SuccessReward(gym.Wrapper):
    """Replaces the inner reward by 1.0 at the step where ``info["is_success"]`` holds, else 0.0."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, float(bool(info["is_success"])), terminated, truncated, info


class TimeReward(gym.Wrapper):
    """Replaces the inner reward by -1.0 on every step where ``info["is_success"]`` does not hold, else 0.0."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, 0.0 if info["is_success"] else -1.0, terminated, truncated, info


@dataclass(frozen=True)
class PushTVariant:
    """One base-policy kind on PushT and its DSRL defaults.

    Attributes:
        kind: ``flow``, ``pi0``, ``pi05``, ``smolvla`` or ``diffusion``.
        obs_type: the gym-pusht observation the base policy reads.
        asset: the shipped checkpoint's directory name under ``latent_mdp/assets``.
        noise: the default noise parameterization.
        obs_mode: what the latent actor observes by default.
        action_horizon: env steps per noise by default; None: the checkpoint's
            ``n_action_steps`` (LeRobot) or the whole chunk.
        keypoints: add the block's keypoints as ``environment_state`` (:class:`BlockKeypoints`).
    """

    kind: str
    obs_type: str
    asset: str
    noise: NoiseMode
    obs_mode: ObsMode
    action_horizon: int | None = None
    keypoints: bool = False


VARIANTS: dict[str, PushTVariant] = {
    "flow": PushTVariant("flow", "state", "pusht_flow", "full", "env", action_horizon=4),
    "pi0": PushTVariant("pi0", "pixels_agent_pos", "pusht_pi0", "repeat", "policy", keypoints=True),
    "pi05": PushTVariant("pi05", "pixels_agent_pos", "pusht_pi05", "repeat", "policy", keypoints=True),
    "smolvla": PushTVariant("smolvla", "pixels_agent_pos", "pusht_smolvla", "repeat", "policy", keypoints=True),
    "diffusion": PushTVariant("diffusion", "environment_state_agent_pos", "pusht_diffusion", "full", "policy"),
}


CHECKPOINT_TYPES = {"flow": "flow_mlp", "pi0": "pi0", "pi05": "pi05", "smolvla": "smolvla", "diffusion": "diffusion"}
"""The ``type`` in ``config.json`` of each kind's checkpoints."""


def _variant(kind: str) -> PushTVariant:
    if kind not in VARIANTS:
        raise ValueError(f"unknown PushT policy kind {kind!r}; expected one of {sorted(VARIANTS)}")
    return VARIANTS[kind]


def load_base_policy(kind: str, policy_path: str | Path | None = None, task: str | None = None) -> NoisePolicy:
    """Load the frozen base policy of ``kind``: the shipped checkpoint, or ``policy_path``.

    Raises:
        FileNotFoundError: no shipped checkpoint, or ``policy_path`` names no local directory
            (for LeRobot kinds a Hub id is tried, and fails offline with a clear message).
    """
    variant = _variant(kind)
    if policy_path is None:
        path = ASSETS / variant.asset
        if not path.is_dir():
            raise FileNotFoundError(
                f"the shipped {kind} PushT checkpoint is missing at {path}; regenerate it with "
                f"`python -m latent_mdp.builders.pusht_checkpoints --only {kind}` or pass policy_path="
            )
    else:
        path = Path(policy_path).expanduser()
    if (path / "config.json").is_file():
        found = checkpoint_type(path)
        if found != CHECKPOINT_TYPES[kind]:
            raise ValueError(
                f"DSRL-PushT-{kind}-v0 runs a {CHECKPOINT_TYPES[kind]} checkpoint; {path} holds a "
                f"{found} checkpoint (config.json 'type'): use the id of that kind"
            )
    if kind == "flow":
        from latent_mdp.policies.flow_mlp import FlowMLPPolicy

        if not path.is_dir():
            raise FileNotFoundError(f"policy_path {str(policy_path)!r} is not a local FlowMLPPolicy checkpoint directory")
        return FlowMLPPolicy.from_pretrained(path)
    from latent_mdp.policies.lerobot import LeRobotNoisePolicy

    source: str | Path = path if path.exists() else str(policy_path)
    return LeRobotNoisePolicy.from_pretrained(source, task=task or PUSHT_TASK)


def make_inner_pusht(kind: str, render_mode: str | None = None, task_reward: TaskReward = "coverage") -> gym.Env:
    """The plain ``gym_pusht/PushT-v0`` env with the observation the ``kind`` policy reads.

    ``task_reward`` picks the reward (see :data:`TaskReward`).
    """
    import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)

    if task_reward not in get_args(TaskReward):
        raise ValueError(f"task_reward must be one of {get_args(TaskReward)}; got {task_reward!r}")
    variant = _variant(kind)
    env = gym.make("gym_pusht/PushT-v0", obs_type=variant.obs_type, render_mode=render_mode or "rgb_array")
    if variant.keypoints:
        env = BlockKeypoints(env)
    if task_reward == "success":
        return SuccessReward(env)
    if task_reward == "absorbing":
        return AbsorbingSuccessReward(env, env.spec.max_episode_steps)
    if task_reward == "time":
        return TimeReward(env)
    return env


def _policy_and_wrapper_kwargs(
    kind: str,
    *,
    policy: NoisePolicy | None = None,
    policy_path: str | Path | None = None,
    noise: NoiseSpace | NoiseMode | None = None,
    noise_bound: float = 1.5,
    action_horizon: int | None = None,
    obs_mode: ObsMode | None = None,
    task: str | None = None,
    **wrapper_kwargs: Any,
) -> tuple[NoisePolicy, dict[str, Any]]:
    """The base policy (loaded unless given) and the wrapper kwargs with the kind's defaults."""
    variant = _variant(kind)
    if policy is None:
        policy = load_base_policy(kind, policy_path, task)
    if action_horizon is None:
        action_horizon = variant.action_horizon or getattr(policy, "recommended_action_horizon", None)
    return policy, {
        "noise": variant.noise if noise is None else noise,
        "noise_bound": noise_bound,
        "action_horizon": action_horizon,
        "obs_mode": variant.obs_mode if obs_mode is None else obs_mode,
        **wrapper_kwargs,
    }


def make_dsrl_pusht(
    kind: str, *, render_mode: str | None = None, task_reward: TaskReward = "coverage", **kwargs: Any
) -> LatentActionWrapper:
    """PushT as the latent-action MDP of a frozen base policy (the entry point of DSRL-PushT-*-v0).

    Args:
        kind: the base-policy kind (see :data:`VARIANTS`).
        render_mode: ``"rgb_array"`` renders the inner PushT frame.
        task_reward: ``"coverage"`` (gym-pusht's own, the default) or ``"success"`` (1 at the
            successful step); see :data:`TaskReward` for why RL wants the latter.
        policy_path: a local checkpoint directory (or Hub id) instead of the shipped one.
        policy: an already loaded base policy (instead of loading one).
        policy_server: a policy server's address (``latent-mdp serve``), instead of loading one.
        noise: a :class:`NoiseSpace` or mode; default per kind (``repeat`` for the VLAs).
        noise_bound: ``b_w`` (default 1.5).
        action_horizon: env steps per noise; default: the checkpoint's ``n_action_steps`` for
            LeRobot policies, 4 of the flow MLP's 8 (it succeeds about twice as often re-queried
            every 4 steps as every 8).
        obs_mode: what the latent actor observes; default per kind.
        task: the language instruction for the VLAs (default: the PushT task string).
        **kwargs: also more :class:`LatentActionWrapper` options (``reward``, ``gamma``, ``strict``).
    """
    return wrapper_from_parts(pusht_batch_parts(kind, 1, render_mode=render_mode, task_reward=task_reward, **kwargs))


def pusht_batch_parts(
    kind: str, n_envs: int, *, render_mode: str | None = None, task_reward: TaskReward = "coverage", **kwargs: Any
) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """``n_envs`` inner PushT envs, the base policy they share, and the wrapper kwargs of the kind.

    Takes the kwargs of :func:`make_dsrl_pusht`; ``policy=`` reuses a loaded base policy. The
    parts are assembled as every id's are (:func:`latent_mdp.envs.generic.parts_from_envs`), and
    every form of the id is built from them.
    """
    check_num_envs(n_envs)
    policy, wrapper_kwargs = _policy_and_wrapper_kwargs(kind, **with_policy_server(f"DSRL-PushT-{kind}-v0", kwargs))
    envs = [make_inner_pusht(kind, render_mode, task_reward) for _ in range(n_envs)]
    # the checkpoint's kind is checked against the id on loading, so no sample is encoded here
    return parts_from_envs(envs, f"DSRL-PushT-{kind}-v0", policy=policy, check_readable=False, **wrapper_kwargs)


def make_dsrl_pusht_vector(kind: str, num_envs: int = 1, **kwargs: Any) -> LatentActionVectorEnv:
    """``num_envs`` PushT envs as a Gymnasium ``VectorEnv`` over one base policy (the ids' ``vector_entry_point``).

    ``gym.make_vec("DSRL-PushT-flow-v0", 4)`` returns this batched form: one policy call per
    chunk for all envs. Takes the kwargs of :func:`make_dsrl_pusht`.
    """
    return vector_from_parts(pusht_batch_parts(kind, num_envs, **kwargs))
