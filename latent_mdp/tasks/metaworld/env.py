"""One MetaWorld v3 task as a plain Gymnasium env on its full 39-d state observation.

    >>> import gymnasium as gym, latent_mdp
    >>> env = gym.make("latent_mdp/MetaWorld-push-v3")  # registered by ``import latent_mdp``
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space.shape
    ((39,), (4,))

The task is built as LeRobot 0.6.1's ``MetaworldEnv`` builds it (``metaworld.MT1(task, seed=42)``,
its first train task, object and goal positions re-drawn at every reset from the env's seeded
RNG), but on the state rather than on rendered pixels, and fully observed: the goal position is
in the last 3 entries (MetaWorld's scripted policies need it, and so does a policy cloned from
them). The observation space is rebuilt to match, so the goal is inside its bounds.

Reward (``task_reward``):

* ``"success"`` (the default): 1.0 on the step that succeeds, else 0. The episode terminates at
  success, as in LeRobot's env; MetaWorld's 500-step limit ends it as truncation.
* ``"dense"``: MetaWorld's own shaped reward, divided by 10 so that it lies in ``[0, 1]``, with
  the same termination at success. Near the goal it pays close to 1 a step, so success, which
  ends the episode, can pay less than hovering beside it.
* ``"absorbing"``: the dense reward, and the successful step also pays 1 for every step left
  until the 500-step limit, as if success held to the end: dense, and aligned with success
  (PushT's ``"absorbing"`` reward, for the same reason).

``info`` holds ``is_success`` and MetaWorld's own metrics (``near_object``, ``grasp_success``,
``obj_to_target``, ...).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np

__all__ = ["MAX_EPISODE_STEPS", "METAWORLD_TASKS", "MetaWorldReward", "MetaWorldStateEnv", "inner_env_id", "preset_id"]

METAWORLD_TASKS = ("push", "pick-place")
"""The tasks with presets and shipped bases, easier first (MetaWorld names, without ``-v3``)."""

MAX_EPISODE_STEPS = 500
"""MetaWorld's ``max_path_length``: an episode is truncated after this many steps."""

MetaWorldReward = Literal["success", "dense", "absorbing"]


def inner_env_id(task: str) -> str:
    """The Gymnasium id of ``task``'s plain state env, e.g. ``latent_mdp/MetaWorld-push-v3``."""
    return f"latent_mdp/MetaWorld-{task}-v3"


def preset_id(task: str) -> str:
    """The registered M^w id of ``task``'s preset, e.g. ``DSRL-MetaWorld-push-flow-v0``."""
    return f"DSRL-MetaWorld-{task}-flow-v0"


def _task_name(task: str) -> str:
    name = task.removeprefix("metaworld-").removesuffix("-v3")
    return f"{name}-v3"


class MetaWorldStateEnv(gym.Env):
    """A MetaWorld v3 task (``"push"``, ``"pick-place"``, or any other v3 name) on its 39-d state.

    Observation: ``Box((39,), float32)``: hand xyz and gripper opening, two object poses (14), the
    same 18 entries of the previous step, and the goal xyz. Action: ``Box(-1, 1, (4,))``, hand
    displacement xyz and gripper effort.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(self, task: str = "push", task_reward: MetaWorldReward = "success", render_mode: str | None = None) -> None:
        import metaworld

        if task_reward not in get_args(MetaWorldReward):
            raise ValueError(f"task_reward must be one of {get_args(MetaWorldReward)}; got {task_reward!r}")
        name = _task_name(task)
        benchmark = metaworld.MT1(name, seed=42)
        if name not in benchmark.train_classes:  # pragma: no cover  (MT1 raises first)
            raise ValueError(f"MetaWorld has no task {name!r}")
        env = benchmark.train_classes[name](render_mode=render_mode)
        env.set_task(benchmark.train_tasks[0])
        env._freeze_rand_vec = False  # re-draw object and goal positions at every reset
        env.seeded_rand_vec = True  # ... from the env's seeded RNG, so reset(seed=s) is reproducible
        if env._partially_observable:
            env._partially_observable = False
            del env.sawyer_observation_space  # a cached property: recompute it with the goal bounds
        self._env = env
        self.task = name.removesuffix("-v3")
        self.task_reward = task_reward
        self.render_mode = render_mode
        space = env.sawyer_observation_space
        self.observation_space = gym.spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)

    @property
    def unwrapped_metaworld(self) -> Any:
        """The MetaWorld ``SawyerXYZEnv`` underneath (for its scripted policies and renderer)."""
        return self._env

    def _observation(self, raw: np.ndarray) -> np.ndarray:
        return np.clip(raw, self.observation_space.low, self.observation_space.high).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._env.seed(seed)
        raw, _ = self._env.reset()
        return self._observation(raw), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (4,):
            raise ValueError(f"a MetaWorld action has shape (4,); got {action.shape}")
        raw, reward, _, truncated, info = self._env.step(np.clip(action, -1.0, 1.0))
        success = bool(info.get("success", 0.0))
        info = {key: float(value) for key, value in info.items()} | {"is_success": success}
        if self.task_reward == "success":
            reward = float(success)
        else:
            reward = float(reward) / 10.0
            if success and self.task_reward == "absorbing":
                reward += MAX_EPISODE_STEPS - self._env.curr_path_length
        return self._observation(raw), reward, success, bool(truncated) and not success, info

    def render(self) -> np.ndarray | None:
        """An RGB frame with ``render_mode="rgb_array"`` (MuJoCo needs an OpenGL backend: ``MUJOCO_GL=egl`` or ``osmesa``), else None."""
        if self.render_mode is None:
            return None
        return self._env.render()

    def close(self) -> None:
        self._env.close()
