import numpy as np
import pytest
import torch

from latent_mdp import LatentActionWrapper
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy, fit_normalization, train_flow_bc
from latent_mdp.policy import decode_checked
from tests.toy import LineEnv


def linear_dataset(n: int = 2000, chunk: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Chunks a[h] = (10 * s0 + h, -5 * s1), a deterministic function of the state."""
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, size=(n, 3)).astype(np.float32)
    rows = np.arange(chunk, dtype=np.float32)
    chunks = np.stack([10 * obs[:, :1] + rows, np.repeat(-5 * obs[:, 1:2], chunk, axis=1)], axis=-1)
    return obs, chunks.astype(np.float32)


@pytest.fixture(scope="module")
def trained() -> tuple[FlowMLPPolicy, np.ndarray, np.ndarray]:
    obs, chunks = linear_dataset()
    config = FlowMLPConfig(
        obs_dim=3, action_dim=2, chunk_size=3, hidden_dim=64, n_layers=2, periodic_obs_dims=[2], relative_action_obs_dims=[0, 1]
    )
    config = fit_normalization(config, obs, chunks)
    policy = FlowMLPPolicy(config)
    losses = train_flow_bc(policy, obs, chunks, steps=1500, batch_size=128, lr=2e-3, progress=False)
    assert np.mean(losses[-100:]) < 0.3 * np.mean(losses[:100])
    return policy, obs, chunks


def test_bc_reproduces_a_deterministic_expert(trained) -> None:
    policy, obs, chunks = trained
    ctx = policy.encode(obs[:200])
    actions = decode_checked(policy, ctx, policy.sample_noise(200, torch.Generator().manual_seed(0)))
    error = np.abs(actions.numpy() - chunks[:200]).mean()
    assert error < 0.1 * np.abs(chunks).mean(), error


def test_decode_is_deterministic_in_noise_and_depends_on_it(trained) -> None:
    policy, obs, _ = trained
    ctx = policy.encode(obs[:4])
    w = policy.sample_noise(4, torch.Generator().manual_seed(1))
    torch.testing.assert_close(policy.decode(ctx, w), policy.decode(ctx, w.clone()))
    assert not torch.allclose(policy.decode(ctx, w), policy.decode(ctx, -w))


def test_k_noises_against_one_context_equal_separate_calls(trained) -> None:
    policy, obs, _ = trained
    k = 5
    ctx = policy.encode(obs[:2])
    w = policy.sample_noise(2 * k, torch.Generator().manual_seed(2))
    together = policy.decode(ctx, w)
    for b in range(2):
        single = policy.encode(obs[b : b + 1])
        for j in range(k):
            torch.testing.assert_close(together[b * k + j], policy.decode(single, w[b * k + j : b * k + j + 1])[0])


def test_save_and_load_reproduce_actions(trained, tmp_path) -> None:
    policy, obs, _ = trained
    policy.save_pretrained(tmp_path / "ckpt")
    loaded = FlowMLPPolicy.from_pretrained(tmp_path / "ckpt")
    w = policy.sample_noise(3, torch.Generator().manual_seed(3))
    torch.testing.assert_close(policy.decode(policy.encode(obs[:3]), w), loaded.decode(loaded.encode(obs[:3]), w))
    torch.testing.assert_close(policy.features(policy.encode(obs[:3])), loaded.features(loaded.encode(obs[:3])))


def test_relative_actions_add_the_observation_back(trained) -> None:
    policy, obs, _ = trained
    shifted = obs[:1].copy()
    shifted[0, 0] += 0.25  # moves the offset of action column 0 (and the embedding)
    w = torch.zeros(1, 3, 2)
    base = policy.decode(policy.encode(obs[:1]), w)
    ctx = policy.encode(shifted)
    ctx.tensors["embedding"] = policy.encode(obs[:1])["embedding"]  # same embedding, new offset
    torch.testing.assert_close(policy.decode(ctx, w)[..., 0], base[..., 0] + 0.25)
    torch.testing.assert_close(policy.decode(ctx, w)[..., 1], base[..., 1] + float(obs[0, 1] - shifted[0, 1]))


def test_periodic_dims_have_no_jump_at_two_pi() -> None:
    policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=1, action_dim=1, chunk_size=1, periodic_obs_dims=[0]))
    near_zero, near_two_pi = policy.normalize_obs(np.array([[1e-4]])), policy.normalize_obs(np.array([[2 * np.pi - 1e-4]]))
    torch.testing.assert_close(near_zero[:, 1:], near_two_pi[:, 1:], atol=1e-3, rtol=0)


def test_clear_errors(trained, tmp_path) -> None:
    policy, _, _ = trained
    with pytest.raises(ValueError, match=r"state observations of shape \(B, 3\)"):
        policy.encode(np.zeros((2, 5)))
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        FlowMLPPolicy.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="one observation column per action column"):
        FlowMLPConfig(obs_dim=3, action_dim=2, relative_action_obs_dims=[0])
    with pytest.raises(ValueError, match=r"action chunks must have shape"):
        train_flow_bc(policy, np.zeros((4, 3)), np.zeros((4, 2, 2)), steps=1, progress=False)


def test_wraps_an_env_with_features(trained) -> None:
    policy, _, _ = trained
    env = LatentActionWrapper(LineEnv(action_dim=2), policy, obs_mode="policy")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (64,) and env.action_space.shape == (2,)
    _, _, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert info["executed_actions"].shape == (3, 2)
