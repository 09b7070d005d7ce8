"""A toy env and an analytic NoisePolicy whose chunks, rewards and endings are known in closed form."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from latent_mdp import NoisePolicy, TensorContext


class LineEnv(gym.Env):
    """A point on a line. The action's first coordinate is the reward and moves the point.

    Observation ``(3,)`` float32: position, last action[0], step count. Terminates when the
    position exceeds ``goal``. Reset draws the start position from the seeded RNG.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, goal: float = 1e9, action_dim: int = 2, render_mode: str | None = None) -> None:
        self.goal = goal
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1e6, 1e6, shape=(3,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-100.0, 100.0, shape=(action_dim,), dtype=np.float32)
        self.position = 0.0
        self.steps = 0
        self.last = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self.position, self.last, self.steps], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = float(self.np_random.uniform(-1.0, 1.0))
        self.steps, self.last = 0, 0.0
        return self._obs(), {"start": self.position}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.last = float(action[0])
        self.position += self.last
        self.steps += 1
        terminated = self.position > self.goal
        return self._obs(), self.last, terminated, False, {"steps": self.steps}

    def render(self) -> np.ndarray:
        return np.full((8, 8, 3), min(255, self.steps), dtype=np.uint8)


class AnalyticPolicy(NoisePolicy):
    """``a[h] = w[h] + h + obs[0]`` with ``D = A``: every chunk is known in closed form.

    ``features`` is ``[obs[0], 2 * obs[0]]``. Counts its encode and decode calls.
    """

    def __init__(self, chunk_size: int = 4, action_dim: int = 2, nonlinear: bool = False) -> None:
        self.chunk_size = chunk_size
        self.noise_dim = action_dim
        self.action_dim = action_dim
        self.feature_dim = 2
        self.nonlinear = nonlinear
        self.encode_calls = 0
        self.decode_calls = 0

    def encode(self, obs_batch: np.ndarray) -> TensorContext:
        self.encode_calls += 1
        return TensorContext(position=torch.as_tensor(np.asarray(obs_batch)[:, 0], dtype=torch.float32))

    def decode(self, ctx: TensorContext, noise: torch.Tensor) -> torch.Tensor:
        self.decode_calls += 1
        position = ctx["position"].repeat_interleave(noise.shape[0] // ctx.batch_size)
        rows = torch.arange(self.chunk_size, dtype=torch.float32)[None, :, None]
        w = torch.tanh(noise) * 3 if self.nonlinear else noise
        return w + rows + position[:, None, None]

    def features(self, ctx: TensorContext) -> torch.Tensor:
        return torch.stack([ctx["position"], 2 * ctx["position"]], dim=-1)


def expected_chunk(policy: AnalyticPolicy, obs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The chunk ``(H, A)`` AnalyticPolicy returns for one observation and noise ``(H, D)``."""
    return w + np.arange(policy.chunk_size)[:, None] + obs[0]
