"""``DSRL-v0``: any registered Gymnasium id plus any checkpoint this package loads, as M^w.

``gym.make("DSRL-v0", env_id="Pendulum-v1", policy_path="ckpt/")`` loads the checkpoint (a
:class:`~latent_mdp.policies.FlowMLPPolicy` directory, or a LeRobot one), makes the inner env with
``gym.make(env_id, **env_kwargs)``, adapts its observation to what the policy reads, and wraps
both in :class:`~latent_mdp.LatentActionWrapper`. ``gym.make_vec("DSRL-v0", n, ...)`` gives the
batched Gymnasium form, and :func:`latent_mdp.sb3.make_sb3_vec_env` the SB3 form.

Observation adapters (``observation=``):

* ``"box"``: the env's flat ``Box`` observation, as is;
* ``"goal_dict"``: a goal-conditioned ``Dict`` (``observation``, ``achieved_goal``,
  ``desired_goal``, as Gymnasium-Robotics writes them) flattened in that order, then any other
  keys in sorted order;
* ``"lerobot"``: the env's observation as is, for a LeRobot policy, which maps Gymnasium keys
  (``pixels``, ``agent_pos``, ``environment_state``) as LeRobot's ``preprocess_observation`` does.

At construction one observation sampled from the env's space is encoded, so an observation the
policy cannot read fails there, with both spaces named, not at the first step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np

from latent_mdp.batch import check_num_envs
from latent_mdp.envs.registry import GENERIC_ID
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.observations import stack_observations
from latent_mdp.policies.checkpoint_files import checkpoint_type
from latent_mdp.policy import NoisePolicy, encode_checked
from latent_mdp.vector import LatentActionVectorEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = [
    "GOAL_KEYS",
    "ObservationAdapter",
    "Parts",
    "check_one_policy",
    "generic_batch_parts",
    "load_policy",
    "make_dsrl",
    "make_dsrl_vector",
    "parts_from_envs",
    "vector_from_parts",
    "with_policy_server",
    "wrapper_from_parts",
]

ObservationAdapter = Literal["box", "goal_dict", "lerobot"]

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")
"""The order in which ``"goal_dict"`` concatenates a goal-conditioned observation (then any other keys, sorted)."""


def load_policy(policy_path: str | Path, task: str | None = None, device: str = "cpu") -> NoisePolicy:
    """The base policy in a checkpoint directory: a ``flow_mlp`` one, or any LeRobot type this package adapts.

    Args:
        device: where a LeRobot policy runs (``"cpu"``, ``"cuda"``, ...); the flow MLP runs on CPU.

    Raises:
        FileNotFoundError: ``policy_path`` is not a directory.
        ValueError: its ``config.json`` is unreadable or names no policy type, or a flow MLP is
            asked to run elsewhere than on the CPU.
    """
    path = Path(policy_path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"policy_path {str(policy_path)!r} is not a checkpoint directory")
    if checkpoint_type(path) == "flow_mlp":
        from latent_mdp.policies.flow_mlp import FlowMLPPolicy

        if device != "cpu":
            raise ValueError(f"{path} is a flow MLP, which runs on the CPU only; got device {device!r}")
        return FlowMLPPolicy.from_pretrained(path)
    from latent_mdp.policies.lerobot import LeRobotNoisePolicy

    return LeRobotNoisePolicy.from_pretrained(path, task=task, device=device)


class GoalDictFlatten(gym.ObservationWrapper):
    """A ``Dict`` of ``Box`` observations as one flat float32 ``Box``, keys in :data:`GOAL_KEYS` order, then sorted."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Dict) or not all(isinstance(s, gym.spaces.Box) for s in space.spaces.values()):
            raise ValueError(f"observation='goal_dict' needs a Dict of Box observations; the env has {space}")
        self.keys = [k for k in GOAL_KEYS if k in space.spaces] + sorted(k for k in space.spaces if k not in GOAL_KEYS)
        boxes = [space.spaces[k] for k in self.keys]
        low = np.concatenate([b.low.ravel() for b in boxes]).astype(np.float32)
        high = np.concatenate([b.high.ravel() for b in boxes]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in self.keys])


def _adapt(env: gym.Env, observation: ObservationAdapter) -> gym.Env:
    if observation not in get_args(ObservationAdapter):
        raise ValueError(f"observation must be one of {get_args(ObservationAdapter)}; got {observation!r}")
    if observation == "goal_dict":
        return GoalDictFlatten(env)
    if observation == "box" and not (isinstance(env.observation_space, gym.spaces.Box) and len(env.observation_space.shape) == 1):
        raise ValueError(
            f"observation='box' needs a flat Box observation; the env has {env.observation_space} "
            "(use 'goal_dict' for a goal-conditioned Dict, 'lerobot' for a LeRobot policy's observations)"
        )
    return env


def _check_readable(policy: NoisePolicy, env: gym.Env, env_id: str) -> None:
    """Encode one observation from the env's space, so that a mismatch fails now, naming both sides."""
    sample = env.observation_space.sample()
    try:
        encode_checked(policy, stack_observations([sample]), 1)
    except Exception as error:  # noqa: BLE001  (any policy's failure means the same thing here)
        expected = getattr(getattr(policy, "config", None), "obs_dim", None)
        wanted = f"a ({expected},) observation" if expected is not None else "another observation"
        raise ValueError(
            f"{policy.name} cannot read {env_id}'s observations {env.observation_space}: it reads {wanted} "
            f"({type(error).__name__}: {error})"
        ) from error


def _inner(env_id: str, observation: ObservationAdapter, render_mode: str | None, env_kwargs: dict[str, Any] | None) -> gym.Env:
    kwargs = dict(env_kwargs or {}) | ({} if render_mode is None else {"render_mode": render_mode})
    return _adapt(gym.make(env_id, **kwargs), observation)


def with_policy_server(label: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ``policy_server=ADDRESS`` replaced by ``policy=`` that server's :class:`~latent_mdp.serve.RemoteNoisePolicy`.

    Raises:
        ValueError: ``policy_server`` comes with ``policy`` or ``policy_path``.
    """
    address = options.pop("policy_server", None)
    if address is None:
        return options
    if options.get("policy") is not None or options.get("policy_path") is not None:
        raise ValueError(f"{label} takes one of policy_server=, policy_path= and policy=; got policy_server= with another")
    from latent_mdp.serve.client import RemoteNoisePolicy

    return {**options, "policy": RemoteNoisePolicy(str(address))}


def check_one_policy(label: str, policy_path: str | Path | None, policy: NoisePolicy | None) -> None:
    """Raise ``ValueError`` unless exactly one of ``policy_path`` and ``policy`` is given."""
    if (policy is None) == (policy_path is None):
        raise ValueError(f"{label} needs exactly one of policy_path= (a checkpoint directory) and policy= (a loaded NoisePolicy)")


def parts_from_envs(
    envs: list[gym.Env],
    label: str,
    *,
    policy_path: str | Path | None = None,
    policy: NoisePolicy | None = None,
    task: str | None = None,
    check_readable: bool = True,
    **options: Any,
) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """Ready-made inner ``envs``, the base policy they share (loaded or given), and the wrapper options.

    ``label`` names the envs in errors. The policy must read ``envs[0]``'s observations (checked
    by encoding one sampled observation unless ``check_readable`` is False, for a preset whose
    checkpoint kind is checked otherwise); the wrapper's ``action_horizon`` defaults to the
    policy's ``recommended_action_horizon``. On any error the envs are closed before it is raised.

    Raises:
        ValueError: neither or both of ``policy_path`` and ``policy``, or an observation the policy cannot read.
    """
    try:
        check_one_policy(label, policy_path, policy)
        base = load_policy(policy_path, task) if policy is None else policy  # type: ignore[arg-type]
        if check_readable:
            _check_readable(base, envs[0], label)
    except BaseException:
        for env in envs:
            env.close()
        raise
    if "action_horizon" not in options and getattr(base, "recommended_action_horizon", None) is not None:
        options["action_horizon"] = base.recommended_action_horizon
    return envs, base, options


def generic_batch_parts(
    n_envs: int,
    *,
    env_id: str | None = None,
    observation: ObservationAdapter = "box",
    env_kwargs: dict[str, Any] | None = None,
    render_mode: str | None = None,
    label: str | None = None,
    **options: Any,
) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """``n_envs`` adapted inner envs of ``env_id``, the base policy they share, and the wrapper options.

    Takes :func:`parts_from_envs`'s ``policy_path=``, ``policy=`` and ``task=``, and the wrapper's
    options. ``label`` names the id in errors (default ``DSRL-v0``; a preset passes its own).

    Raises:
        ValueError: no ``env_id``, neither or both of ``policy_path`` and ``policy``, an unknown
            adapter, or an observation the policy cannot read.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"{label or GENERIC_ID} needs env_id=, a registered Gymnasium id; got {env_id!r}")
    check_num_envs(n_envs)
    options = with_policy_server(label or GENERIC_ID, options)
    check_one_policy(label or GENERIC_ID, options.get("policy_path"), options.get("policy"))
    envs = [_inner(env_id, observation, render_mode, env_kwargs) for _ in range(n_envs)]
    return parts_from_envs(envs, env_id if label is None else f"{label} ({env_id})", **options)


Parts = tuple[list[gym.Env], NoisePolicy, dict[str, Any]]
"""What every id's maker returns: the inner envs, the base policy they share, the wrapper options."""


def wrapper_from_parts(parts: Parts) -> LatentActionWrapper:
    """The one-env M^w of an id from its :data:`Parts` (one inner env)."""
    (env,), policy, options = parts
    wrapped = LatentActionWrapper(env, policy, **options)
    wrapped.is_registered_env = True
    return wrapped


def vector_from_parts(parts: Parts) -> LatentActionVectorEnv:
    """The batched Gymnasium M^w of an id from its :data:`Parts`."""
    envs, policy, options = parts
    return LatentActionVectorEnv(envs, policy, **options)


def make_dsrl(**kwargs: Any) -> LatentActionWrapper:
    """The entry point of ``DSRL-v0``: M^w over ``env_id`` and a checkpoint (see :func:`generic_batch_parts`).

    Example:
        >>> import gymnasium as gym, latent_mdp
        >>> from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
        >>> policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=3, action_dim=1, chunk_size=4))
        >>> env = gym.make("DSRL-v0", env_id="Pendulum-v1", policy=policy, noise="full")
        >>> env.action_space.shape
        (4,)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> info["inner_steps"]
        4
    """
    return wrapper_from_parts(generic_batch_parts(1, **kwargs))


def make_dsrl_vector(num_envs: int = 1, **kwargs: Any) -> LatentActionVectorEnv:
    """The ``vector_entry_point`` of ``DSRL-v0``: ``num_envs`` envs sharing one base policy and one policy call per chunk."""
    return vector_from_parts(generic_batch_parts(num_envs, **kwargs))


GENERIC_METRICS = EpisodeMetrics(success="is_success")
"""What ``DSRL-v0`` tracks by default: Gymnasium's usual ``info["is_success"]``."""
