"""Video of one M^w episode: every inner env frame, written as mp4."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from latent_mdp.core import LatentCore
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.wrapper import LatentActionWrapper

__all__ = ["FrameRecorder", "record_episode"]


class FrameRecorder(gym.Wrapper):
    """Keeps ``env.render()`` after reset and after every step in :attr:`frames`."""

    def __init__(self, env: gym.Env) -> None:
        if env.render_mode != "rgb_array":
            raise ValueError(f"recording needs render_mode='rgb_array'; the env has {env.render_mode!r}")
        super().__init__(env)
        self.frames: list[np.ndarray] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        out = self.env.reset(**kwargs)
        self.frames = [self.env.render()]
        return out

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        out = self.env.step(action)
        self.frames.append(self.env.render())
        return out


def record_episode(
    inner_env: gym.Env,
    core: LatentCore,
    actor: Callable[[Any], np.ndarray],
    path: str | Path,
    seed: int = 0,
    fps: int = 10,
    metrics: EpisodeMetrics | None = None,
) -> dict[str, float]:
    """Run one episode of ``actor`` on ``inner_env`` steered like ``core``, and write it to ``path``.

    Args:
        inner_env: a fresh task env with ``render_mode="rgb_array"``.
        core: the settings (policy, noise space, horizon, obs mode) of the training env.
        actor: maps a batch of one observation to latent actions ``(1, k)``.
        metrics: the task's info keys (default: success as ``info["is_success"]``).

    Returns:
        The episode's return, success and number of frames.
    """
    import imageio.v2 as imageio

    success_key = (metrics or EpisodeMetrics()).success
    recorder = FrameRecorder(inner_env)
    env = LatentActionWrapper(recorder, core.policy, **core.options)
    obs, _ = env.reset(seed=seed)
    total, success, done = 0.0, False, False
    while not done:
        batch = {k: v[None] for k, v in obs.items()} if isinstance(obs, dict) else obs[None]
        obs, reward, terminated, truncated, info = env.step(actor(batch)[0])
        total += float(reward)
        success |= bool(info.get(success_key, False))
        done = terminated or truncated
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, recorder.frames, fps=fps, macro_block_size=1)
    env.close()
    return {"return": total, "success": float(success), "frames": float(len(recorder.frames))}
