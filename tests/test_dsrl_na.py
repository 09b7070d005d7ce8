"""DSRL-NA: each loss against a known answer, learning on a noise-peaked toy task, bounds, save/load, vectors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from agents import DSRLNA, chunk_episode
from agents.buffer import ChunkReplayBuffer, concat_observations
from agents.env_access import ChunkSpec
from latent_mdp import LatentActionVecEnv, LatentActionWrapper, NoisePolicy, TensorContext
from latent_mdp.tasks.episode import ExpertEpisode
from tests.toy import AnalyticPolicy, expected_chunk

SMALL = {"net_arch": [64, 64]}


class PeakEnv(gym.Env):
    """A context ``x ~ U(-1, 1)`` held for an episode; each inner step pays ``-(a - slope * x - offset)^2``.

    Observation ``(1,)`` = ``x``. The episode ends after ``length`` inner steps: terminated, or
    truncated with ``timeout=True``.
    """

    def __init__(self, slope: float = 2.5, offset: float = 0.0, length: int = 2, timeout: bool = False) -> None:
        self.slope, self.offset, self.length, self.timeout = slope, offset, length, timeout
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)
        self.x, self.t = 0.0, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-1.0, 1.0)), 0
        return np.array([self.x], np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        reward = -((float(action[0]) - self.slope * self.x - self.offset) ** 2)
        done = self.t >= self.length
        return np.array([self.x], np.float32), reward, done and not self.timeout, done and self.timeout, {}


class RecordingPolicy(AnalyticPolicy):
    """AnalyticPolicy that also records the shape of every decoded noise batch and its largest |w|."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.noise_shapes: list[tuple[int, ...]] = []
        self.max_abs_noise = 0.0

    def decode(self, ctx: TensorContext, noise: torch.Tensor) -> torch.Tensor:
        self.noise_shapes.append(tuple(noise.shape))
        self.max_abs_noise = max(self.max_abs_noise, float(noise.abs().max()))
        return super().decode(ctx, noise)


def peak_model(policy: NoisePolicy | None = None, env_kwargs: dict | None = None, **kwargs: Any) -> DSRLNA:
    """DSRLNA on PeakEnv with a chunk of 2 one-dimensional actions steered by 2 free noise rows."""
    policy = policy or RecordingPolicy(2, 1, nonlinear=True)
    env = LatentActionWrapper(PeakEnv(**(env_kwargs or {})), policy, noise="full")
    params = {"learning_starts": 100, "batch_size": 64, "gradient_steps": 1, "policy_kwargs": SMALL, "seed": 0, **kwargs}
    return DSRLNA("MlpPolicy", env, **params)


def peak_return(model: DSRLNA, n: int = 201) -> float:
    """Mean return of the deterministic actor over contexts ``x`` on a grid (optimum 0)."""
    xs = np.linspace(-1, 1, n, dtype=np.float32)[:, None]
    u, _ = model.predict(xs, deterministic=True)
    chunks = model.decode_chunks(xs, u).numpy()[..., 0]  # (n, 2)
    return float(np.mean(np.sum(-((chunks - 2.5 * xs) ** 2), axis=1)))


# --- the three losses, each on a problem with a known answer -----------------------------------


class ChainEnv(gym.Env):
    """Positions ``0..5`` (one-hot observation); every inner step moves right and pays ``a[0]``; 5 terminates."""

    length = 5

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.length + 1,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.p = 0

    def _obs(self) -> np.ndarray:
        return np.eye(self.length + 1, dtype=np.float32)[self.p]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.p = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.p += 1
        return self._obs(), float(action[0]), self.p == self.length, False, {}


class ConstantPolicy(NoisePolicy):
    """Ignores its noise: every action is 0.5, so its Q is known in closed form."""

    chunk_size, noise_dim, action_dim = 2, 1, 1

    def encode(self, obs_batch: np.ndarray) -> TensorContext:
        return TensorContext(obs=torch.as_tensor(obs_batch))

    def decode(self, ctx: TensorContext, noise: torch.Tensor) -> torch.Tensor:
        return torch.full((noise.shape[0], 2, 1), 0.5)


def chain_q(p: int, chunk: np.ndarray, gamma: float) -> float:
    """True ``Q(p, chunk)`` on ChainEnv when every later chunk is the constant policy's."""
    n = min(2, ChainEnv.length - p)
    if p + n == ChainEnv.length:
        return float(chunk[:n].sum())
    return float(chunk[:n].sum()) + gamma * chain_q(p + n, np.full(2, 0.5), gamma)


def test_action_critic_converges_to_the_true_q_of_a_fixed_policy() -> None:
    rng = np.random.default_rng(0)
    eye = np.eye(ChainEnv.length + 1, dtype=np.float32)
    episodes = []
    for _ in range(100):  # random behaviour: every position and chunk value gets data
        actions = rng.uniform(-1, 1, (ChainEnv.length, 1))
        episodes.append(chunk_episode(eye[: ChainEnv.length], actions, actions[:, 0], np.arange(5) == 4, horizon=2))
    env = LatentActionWrapper(ChainEnv(), ConstantPolicy(), noise="full")
    model = DSRLNA(
        "MlpPolicy", env, gamma=0.9, tau=0.1, learning_rate=1e-3, batch_size=128,
        n_noise_samples=1, n_noise_critic_steps=0, policy_kwargs=SMALL, seed=0,
    )  # fmt: skip
    for part in episodes:
        model.add_offline(part)
    model.pretrain_offline(600)
    errors = []
    for p in range(ChainEnv.length):
        first = rng.uniform(-1, 1, 20)
        chunks = np.stack([first, first if p == 4 else rng.uniform(-1, 1, 20)], axis=1)  # p = 4: one step left
        with torch.no_grad():
            q = model.chunk_critic(torch.as_tensor(eye[[p] * 20]), torch.as_tensor(chunks[..., None], dtype=torch.float32))
        truth = np.array([chain_q(p, c, 0.9) for c in chunks])
        errors.append(np.abs(q.min(0).values.numpy() - truth).max())
    assert max(errors) < 0.1, errors  # true values span -2 .. 2.4


def test_distillation_recovers_the_action_critic_through_a_linear_base_policy() -> None:
    model = peak_model(RecordingPolicy(2, 1), learning_starts=300, noise_bank=False)
    model.learn(300)  # Gaussian warm-up only: the buffer holds states; Q^A stays at its (random) init
    for _ in range(150):
        batch = model.replay_buffer.sample(64)
        ctx, net_obs = model.encode_states(concat_observations(batch.observations, batch.next_observations))
        u, chunks = model.decode_candidates(ctx, model.actor(net_obs[64:]).detach())
        model.noise_critic_steps(net_obs, u, chunks, 64)
    xs = np.repeat(np.linspace(-1, 1, 8, dtype=np.float32), 50)[:, None]
    u = model.latent.core.noise_space.sample_gaussian_action(np.random.default_rng(1), len(xs))
    with torch.no_grad():
        truth = model.chunk_critic(torch.as_tensor(xs), model.decode_chunks(xs, u)).min(0).values
        distilled = model.noise_critic(torch.as_tensor(xs), torch.as_tensor(u))
    within = lambda q: q.reshape(8, 50) - q.reshape(8, 50).mean(1, keepdim=True)  # noqa: E731
    residual = ((within(distilled) - within(truth)) ** 2).mean() / within(truth).var()
    assert residual < 0.1  # Q^w explains > 90% of Q^A's variation across noises, state by state
    assert torch.abs(distilled - truth).mean() < 0.1 * truth.std()


class KnownNoiseQ(nn.Module):
    """``Q^w(s, u) = -||u - u*(s)||^2`` with ``u*(x) = (0.5 x, -0.3)``."""

    def forward(self, obs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        best = torch.stack([0.5 * obs[:, 0], torch.full_like(obs[:, 0], -0.3)], dim=1)
        return -((u - best) ** 2).sum(1)


def test_actor_moves_to_the_argmax_of_a_known_noise_critic_and_entropy_tracks_its_target() -> None:
    xs = torch.linspace(-1, 1, 64)[:, None]
    best = np.stack([0.5 * xs[:, 0].numpy(), np.full(64, -0.3)], axis=1)
    sharp = peak_model(learning_rate=3e-3, ent_coef=1e-4)
    sharp.noise_critic = KnownNoiseQ()
    before = np.abs(sharp.predict(xs.numpy(), deterministic=True)[0] - best).max()
    for _ in range(400):
        sharp.actor_step(xs)
    after = np.abs(sharp.predict(xs.numpy(), deterministic=True)[0] - best).max()
    assert after < 0.05 < before

    for target, direction in ((-1.0, -1), (3.0, 1)):  # start in between: the [-1, 1]^2 box caps entropy at 2 log 2
        tuned = peak_model(target_entropy=target)  # automatic alpha, starting at 1
        tuned.noise_critic = KnownNoiseQ()
        logs = [tuned.actor_step(xs) for _ in range(100)]
        assert np.sign(logs[-1]["ent_coef"] - logs[0]["ent_coef"]) == direction


class FlatNoiseQ(nn.Module):
    """``Q^w = 0`` everywhere: only the actor's regularizer shapes it."""

    def forward(self, obs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(u))


@pytest.mark.parametrize("noise_prior", [True, False])
def test_with_a_flat_critic_the_noise_prior_keeps_the_actor_on_the_base_noise(noise_prior: bool) -> None:
    bound = 3.0
    env = LatentActionWrapper(PeakEnv(), RecordingPolicy(2, 1, nonlinear=True), noise="full", noise_bound=bound)
    model = DSRLNA("MlpPolicy", env, learning_rate=3e-3, ent_coef=1.0, noise_prior=noise_prior, policy_kwargs=SMALL, seed=0)
    model.noise_critic = FlatNoiseQ()
    xs = torch.linspace(-1, 1, 64)[:, None]
    for _ in range(300):
        model.actor_step(xs)
    u, _ = model.predict(np.zeros((4_000, 1), dtype=np.float32), deterministic=False)
    w_std = float((bound * u).std())
    truncated_normal_std = math.sqrt(1 - 2 * bound * math.exp(-bound**2 / 2) / math.sqrt(2 * math.pi) / math.erf(bound / math.sqrt(2)))
    if noise_prior:  # the base noise N(0, I) clipped at b_w, not SAC's uniform
        assert w_std == pytest.approx(truncated_normal_std, abs=0.15)
    else:
        assert w_std > bound / math.sqrt(3) - 0.3


# --- learning -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_the_state_dependent_optimal_noise_of_a_nonlinear_policy(seed: int) -> None:
    """Budget: 600 latent steps (100 Gaussian warm-up), UTD 1. Optimum 0; w = 0 scores -2.5, the best fixed noise -1.5."""
    model = peak_model(seed=seed, learning_rate=1e-3, n_noise_critic_steps=5)
    model.learn(600)
    assert peak_return(model) > -0.25


# --- bounds, buffer semantics, cost -------------------------------------------------------------


@pytest.mark.slow
def test_noises_never_leave_the_bound_even_when_the_reward_pushes_past_it() -> None:
    policy = RecordingPolicy(2, 1)
    # The first action a = w + x should reach 2.5: its best noise, 2.5 - x, lies beyond b_w = 1.5.
    model = peak_model(policy, env_kwargs={"slope": 0.0, "offset": 2.5}, learning_rate=1e-3)
    model.learn(400)
    bound = model.latent.core.noise_space.bound
    u, _ = model.predict(np.linspace(-1, 1, 50, dtype=np.float32)[:, None], deterministic=True)
    assert u[:, 0].mean() > 0.8, u[:, 0].mean()  # the actor presses against the bound ...
    assert policy.max_abs_noise <= bound + 1e-6  # ... but no decode ever saw a noise beyond it
    assert np.abs(model.replay_buffer.noises[: model.replay_buffer.size()]).max() <= bound + 1e-6


def test_one_fresh_update_costs_one_encode_and_one_decode_of_2bk_noises() -> None:
    policy = RecordingPolicy(2, 1)
    model = peak_model(policy, learning_starts=100, n_noise_samples=3, noise_bank=False)
    model.learn(100)
    encodes, decodes = policy.encode_calls, policy.decode_calls
    policy.noise_shapes.clear()
    model.train(gradient_steps=4, batch_size=32)
    assert (policy.encode_calls - encodes, policy.decode_calls - decodes) == (4, 4)
    assert policy.noise_shapes == [(2 * 32 * 3, 2, 1)] * 4


def test_a_banked_update_decodes_only_the_td_targets_noise() -> None:
    policy = RecordingPolicy(2, 1)
    model = peak_model(policy, learning_starts=100, n_noise_samples=3)
    model.learn(100)
    policy.noise_shapes.clear()
    model.train(gradient_steps=1, batch_size=32)  # banks the 100 warm-up rows first: one decode of 100 * K
    assert policy.noise_shapes[0] == (100 * 3, 2, 1)
    encodes, decodes = policy.encode_calls, policy.decode_calls
    policy.noise_shapes.clear()
    model.train(gradient_steps=4, batch_size=32)
    assert (policy.encode_calls - encodes, policy.decode_calls - decodes) == (4, 4)
    assert policy.noise_shapes == [(32, 2, 1)] * 4


def test_bank_holds_what_fresh_decodes_give() -> None:
    model = peak_model(RecordingPolicy(2, 1, nonlinear=True), learning_starts=60, n_noise_samples=3)
    model.learn(120)  # 60 warm-up rows, then rows added between updates: all banked by train()
    buffer = model.replay_buffer
    assert buffer.unbanked_rows == 0
    size = buffer.size()
    states = buffer.observations[:size, 0]
    u = buffer.bank.noises[:size, 0]
    assert len(np.unique(u.reshape(size, -1), axis=0)) == size  # a different draw per state
    fresh = model.decode_chunks(states, u.reshape(size * 3, -1)).numpy().reshape(size, 3, 2, 1)
    np.testing.assert_allclose(buffer.bank.chunks[:size, 0], fresh, atol=1e-6)
    _, net_obs = model.encode_states(states)
    np.testing.assert_allclose(buffer.bank.net_observations[:size, 0], net_obs.numpy(), atol=1e-6)
    buffer.add_transitions(
        observations=states[:2], next_observations=states[:2], actions=u[:2, 0], noises=buffer.noises[:2, 0],
        chunks=buffer.chunks[:2, 0], n_steps=np.ones(2), rewards=np.zeros(2), terminated=np.zeros(2), truncated=np.zeros(2),
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="fill_bank"):
        buffer.sample(8)  # a row without its bank never reaches an update


@pytest.mark.parametrize("noise_bank", [True, False])
@pytest.mark.parametrize("distill_actor_noise", [False, True])
def test_distillation_pool_holds_true_decodes_and_the_actors_pairs_only_when_asked(noise_bank: bool, distill_actor_noise: bool) -> None:
    model = peak_model(n_noise_samples=3, noise_bank=noise_bank, distill_actor_noise=distill_actor_noise)
    model.learn(100)
    pools: list[tuple[torch.Tensor, ...]] = []
    distill = model.distill

    def recording_distill(pair_obs: torch.Tensor, pair_u: torch.Tensor, pair_chunks: torch.Tensor, batch_size: int) -> float:
        pools.append((pair_obs, pair_u, pair_chunks))
        return distill(pair_obs, pair_u, pair_chunks, batch_size)

    model.distill = recording_distill  # type: ignore[method-assign]
    model.train(gradient_steps=1, batch_size=32)
    pair_obs, pair_u, pair_chunks = pools[0]
    gaussian_pairs = 32 * 3 if noise_bank else 2 * 32 * 3 - 32  # without the bank: s and s', less the TD target's
    assert len(pair_u) == gaussian_pairs + (32 if distill_actor_noise else 0)
    # Every pair is (s, u, pi_dp(s, w(u))), the actor's included (PeakEnv's networks read x itself).
    fresh = model.decode_chunks(pair_obs.numpy(), pair_u.numpy())
    np.testing.assert_allclose(pair_chunks.numpy(), fresh.numpy(), atol=1e-5)


@pytest.mark.parametrize("timeout", [False, True])
def test_buffer_keeps_whole_chunks_and_bootstraps_truncation_only(timeout: bool) -> None:
    """Episodes of 3 inner steps with chunks of 2: every second latent step ends after 1 step."""
    policy = RecordingPolicy(2, 1)
    model = peak_model(policy, env_kwargs={"length": 3, "timeout": timeout}, learning_starts=40)
    model.learn(40)
    buffer, size = model.replay_buffer, model.replay_buffer.size()
    n_steps = buffer.n_steps[:size, 0]
    np.testing.assert_array_equal(n_steps, np.tile([2, 1], size // 2))
    for i in range(size):  # the stored chunk is the decoded one, its unexecuted tail included
        expected = expected_chunk(policy, buffer.observations[i, 0], buffer.noises[i, 0])
        np.testing.assert_allclose(buffer.chunks[i, 0], expected, atol=1e-5)
    ended = n_steps == 1
    np.testing.assert_array_equal(buffer.dones[:size, 0], ended)
    np.testing.assert_array_equal(buffer.timeouts[:size, 0], ended & timeout)
    buffer.fill_bank(model.bank_rows)
    sample = buffer.sample(256)
    if timeout:
        assert sample.dones.sum() == 0  # truncation bootstraps
    else:
        assert 0 < sample.dones.mean() < 1  # termination does not


# --- API: save/load, vector envs, offline-only training ----------------------------------------


def test_save_load_reproduces_predict_exactly(tmp_path) -> None:
    model = peak_model(learning_starts=50)
    model.learn(150)
    model.save(tmp_path / "dsrl")
    obs = np.random.default_rng(0).uniform(-1, 1, (32, 1)).astype(np.float32)
    expected = model.predict(obs, deterministic=True)[0]
    without_env = DSRLNA.load(tmp_path / "dsrl")
    np.testing.assert_array_equal(without_env.predict(obs, deterministic=True)[0], expected)
    env = LatentActionWrapper(PeakEnv(), RecordingPolicy(2, 1, nonlinear=True), noise="full")
    with_env = DSRLNA.load(tmp_path / "dsrl", env=env)
    np.testing.assert_array_equal(with_env.predict(obs, deterministic=True)[0], expected)
    with_env.learn(20, reset_num_timesteps=False)  # keeps training through the new env's policy
    assert with_env.latent.core.policy is env.policy


def test_vector_env_shares_the_base_policy_across_envs() -> None:
    policy = RecordingPolicy(2, 1, nonlinear=True)
    env = LatentActionVecEnv([PeakEnv] * 3, policy, noise="full")
    model = DSRLNA("MlpPolicy", env, learning_starts=60, batch_size=32, gradient_steps=2, policy_kwargs=SMALL, seed=0)
    model.learn(150)
    assert model.latent.core.policy is policy
    buffer = model.replay_buffer
    assert buffer.size() == math.ceil(150 / 3) and buffer.noises.shape[1] == 3
    assert np.all(buffer.n_steps[: buffer.size()] == 2)  # every env column was written
    assert np.isfinite(model.predict(np.zeros((3, 1), np.float32))[0]).all()


def test_rejects_envs_whose_policy_it_cannot_reach() -> None:
    with pytest.raises(TypeError, match="LatentActionWrapper"):
        DSRLNA("MlpPolicy", PeakEnv())


# --- any observation: policy features, Dict observations with images ---------------------------


class CameraPeakEnv(PeakEnv):
    """PeakEnv observed as a ``Dict``: the context ``x`` ``(1,)`` and an ``(8, 8, 3)`` uint8 "camera" of it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.observation_space = gym.spaces.Dict(
            {"x": gym.spaces.Box(-1.0, 1.0, (1,), np.float32), "camera": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)}
        )

    def _observe(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"x": x, "camera": np.full((8, 8, 3), int(127 + 100 * x[0]), np.uint8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        x, info = super().reset(seed=seed, options=options)
        return self._observe(x), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict[str, Any]]:
        x, *rest = super().step(action)
        return (self._observe(x), *rest)  # type: ignore[return-value]


class CameraPolicy(RecordingPolicy):
    """RecordingPolicy reading the context from the camera image, as a VLA reads pixels."""

    def encode(self, obs_batch: dict[str, np.ndarray]) -> TensorContext:
        return super().encode((obs_batch["camera"][:, :1, 0, 0].astype(np.float32) - 127) / 100)


def rollout_return(model: DSRLNA, env: gym.Env, episodes: int = 100) -> float:
    """Mean return of the deterministic actor over ``episodes`` one-latent-step episodes (optimum 0)."""
    total = 0.0
    for seed in range(episodes):
        obs, _ = env.reset(seed=10_000 + seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(model.predict(obs, deterministic=True)[0])
            total, done = total + float(reward), terminated or truncated
    return total / episodes


@pytest.mark.slow
@pytest.mark.parametrize("obs_mode", ["policy", "both"])
def test_learns_from_policy_features_of_image_observations(obs_mode: str) -> None:
    """The base policy reads the camera; the actor sees its features (and, with "both", the vector ``x``)."""
    env = LatentActionWrapper(CameraPeakEnv(), CameraPolicy(2, 1, nonlinear=True), noise="full", obs_mode=obs_mode)
    policy = "MultiInputPolicy" if obs_mode == "both" else "MlpPolicy"
    model = DSRLNA(
        policy, env, learning_starts=100, batch_size=64, gradient_steps=1, learning_rate=1e-3,
        n_noise_critic_steps=5, policy_kwargs=SMALL, seed=0,
    )  # fmt: skip
    model.learn(600)
    stored = model.replay_buffer.observations
    assert stored["camera"].dtype == np.uint8 and stored["camera"].shape[2:] == (8, 8, 3)  # inner observations
    np.testing.assert_allclose(  # rows are the base policy's inputs: camera and x agree
        (stored["camera"][:600, 0, 0, 0, 0].astype(np.float32) - 127) / 100, stored["x"][:600, 0, 0], atol=0.011
    )
    assert rollout_return(model, env) > -0.25  # Gaussian noise scores about -2.6


def test_a_buffer_that_cannot_fit_in_memory_is_refused_before_training() -> None:
    env = LatentActionWrapper(CameraPeakEnv(), CameraPolicy(2, 1), noise="full", obs_mode="policy")
    with pytest.raises(MemoryError, match="lower buffer_size"):
        DSRLNA("MlpPolicy", env, buffer_size=10**12)


def test_image_observations_need_the_policy_features() -> None:
    env = LatentActionWrapper(CameraPeakEnv(), CameraPolicy(2, 1), noise="full", obs_mode="env")
    with pytest.raises(TypeError, match="obs_mode='policy' or 'both'"):
        DSRLNA("MultiInputPolicy", env)


# --- demonstrations: held rows with a fixed share of every batch ---------------------------------


def _peak_episode(x: float, length: int = 3) -> ExpertEpisode:
    """One PeakEnv episode at context ``x`` that plays the optimal action ``2.5 x`` at every step."""
    actions = np.full((length, 1), 2.5 * x, np.float32)
    return ExpertEpisode([np.array([x], np.float32)] * (length + 1), actions, np.zeros(length), terminated=True)


def test_held_demos_fill_their_share_of_every_batch_and_survive_online_data() -> None:
    model = peak_model(env_kwargs={"length": 3}, buffer_size=60, learning_starts=0)
    written = model.add_episodes([_peak_episode(x) for x in (0.1, 0.2, 0.3, 0.4, 0.5)], fraction=0.25)
    assert written == 10  # 3 steps in chunks of 2: two transitions per episode, the last one executing 1 step
    buffer = model.replay_buffer
    held = buffer.observations[:10, 0, 0].copy()
    np.testing.assert_allclose(np.unique(held), [0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(buffer.n_steps[:10, 0], np.tile([2, 1], 5))
    assert np.isnan(buffer.actions[:10]).all()  # a demonstration's latent action is unknown
    model.learn(200)  # 200 online rows: the 50-row online ring wraps several times
    assert buffer.full and buffer.pos >= buffer.held_rows == 10
    np.testing.assert_array_equal(buffer.observations[:10, 0, 0], held)
    buffer.fill_bank(model.bank_rows)
    batch = buffer.sample(400)
    from_demos = np.isin(batch.observations[:, 0], held)
    assert from_demos[:100].all() and from_demos.sum() == 100  # round(400 * 0.25), nothing from the held rows besides


def test_holding_needs_offline_rows_first_and_a_share_below_one() -> None:
    model = peak_model(env_kwargs={"length": 3}, learning_starts=0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        model.add_episodes([_peak_episode(0.1)], fraction=1.0)
    model = peak_model(env_kwargs={"length": 3}, learning_starts=0)
    model.learn(4)
    with pytest.raises(ValueError, match="before any online step"):
        model.add_episodes([_peak_episode(0.1)], fraction=0.5)
    with pytest.raises(ValueError, match="T \\+ 1 observations"):
        model.add_episodes([ExpertEpisode([np.zeros(1, np.float32)], np.zeros((2, 1), np.float32), np.zeros(2), True)])


def _written(buffer: ChunkReplayBuffer, first: int, m: int, ends: dict[int, str]) -> None:
    """Write ``m`` transitions numbered from ``first``: observation = number, reward = 2**(number % 20),
    next observation = number + 0.5; ``ends`` marks numbers as ``"terminated"`` / ``"truncated"``."""
    number = np.arange(first, first + m)
    kind = np.array([ends.get(int(i), "") for i in number])
    buffer.add_transitions(
        observations=number[:, None].astype(np.float32), next_observations=number[:, None] + np.float32(0.5),
        actions=np.zeros((m, 1), np.float32), noises=np.zeros((m, 2, 1), np.float32), chunks=np.zeros((m, 2, 1), np.float32),
        n_steps=np.full(m, 2), rewards=(2.0 ** (number % 20)).astype(np.float32), terminated=kind == "terminated", truncated=kind == "truncated",
    )  # fmt: skip


def test_n_step_rows_sum_their_envs_rewards_up_to_an_end_or_the_newest_row_and_held_rows_stay_one_step() -> None:
    space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    gamma, n = 0.5, 3
    buffer = ChunkReplayBuffer(16, space, gym.spaces.Box(-1, 1, (1,)), n_envs=2, chunk=ChunkSpec(2, 1, (-1.0,), (1.0,)),
                               noise_shape=(2, 1), td_steps=n, gamma=gamma)  # fmt: skip
    _written(buffer, 100, 4, {101: "terminated", 103: "terminated"})  # held: two one-step episodes per column
    buffer.hold(0.25)
    # Online rows: transition 2 * t + c is env c's t-th step; the 6-row ring wraps once (rows of t = 0..3 overwritten).
    ends = {12: "terminated", 15: "truncated", 17: "terminated"}  # env 0 ends at t = 6, env 1 at t = 7 (cut) and t = 8
    for t in range(10):
        _written(buffer, 2 * t, 2, ends)
    stream = {c: [2 * t + c for t in range(10)] for c in (0, 1)}
    np.random.seed(0)
    batch = buffer.sample(600)
    seen = set()
    for obs, reward, next_obs, done, discount in zip(*(x[:, 0].tolist() for x in (batch.observations, batch.rewards,
                                                       batch.next_observations, batch.dones, batch.discounts))):  # fmt: skip
        number = int(obs)
        seen.add(number)
        if number >= 100:  # held: one step
            expected = (2.0 ** (number % 20), number + 0.5, float(number in (101, 103)), gamma)
        else:
            steps = stream[number % 2]
            j, total, k = steps.index(number), 0.0, 0
            while k < n:
                i = steps[j + k]
                total += gamma**k * 2.0 ** (i % 20)
                k += 1
                if i in ends or j + k == len(steps):
                    break
            expected = (total, i + 0.5, float(ends.get(i) == "terminated"), gamma**k)
        assert (reward, next_obs, done, discount) == pytest.approx(expected), number
    assert {8, 9, 10, 12, 13, 15, 16, 17, 18, 19, 100, 101} <= seen and min(n for n in seen if n < 100) == 8  # only the ring's rows


def test_an_n_step_dsrl_na_trains_and_keeps_its_n_steps_through_save_and_load(tmp_path) -> None:
    model = peak_model(env_kwargs={"length": 3}, learning_starts=20, n_steps=3)
    assert model.replay_buffer.td_steps == 3 and model.replay_buffer.gamma == model.gamma
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SB3's "n_steps is ignored" would be false here
        model.learn(40)
    batch = model.replay_buffer.sample(64)
    assert batch.discounts is not None
    matches = np.isclose(batch.discounts.numpy(), model.gamma ** np.arange(1, 4), rtol=1e-6)
    assert matches.any(axis=1).all()
    summed = matches.argmax(axis=1) + 1
    assert set(summed) == {1, 2}  # episodes of two latent steps: first steps sum both rewards, last steps one
    model.save(tmp_path / "m")
    assert DSRLNA.load(tmp_path / "m", env=model.env).replay_buffer.td_steps == 3
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):  # the name the user gave
        peak_model(n_steps=0)
