"""LeRobot adapters on tiny real offline checkpoints: equivalence, prefix reuse, batching, reload."""

from __future__ import annotations

from pathlib import Path

import torch

from benchmarks.lerobot_reference import normalized_reference, reference_actions
from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from latent_mdp.policy import decode_checked, encode_checked
from tests.lerobot_fixtures import (  # noqa: F401 (fixtures)
    ACTION_SCALE,
    TASK,
    checkpoint,
    make_obs,
    noise,
    policy,
    tiny_checkpoints,
)

ENV_ATOL = 1e-5 * ACTION_SCALE


def _rows(obs: dict, i: int) -> dict:
    return {key: value[i : i + 1] for key, value in obs.items()}


def test_contract_attributes(policy: LeRobotNoisePolicy) -> None:
    assert policy.action_dim == 2
    assert policy.chunk_size == 8
    assert policy.noise_dim == (2 if policy.policy_type == "diffusion" else 32)
    assert policy.recommended_action_horizon <= policy.chunk_size
    ctx = encode_checked(policy, make_obs(2), 2)
    actions = decode_checked(policy, ctx, noise(policy, 6))
    assert actions.dtype == torch.float32 and actions.shape == (6, 8, 2)
    features = policy.features(ctx)
    assert features.shape == (2, policy.feature_dim) and torch.isfinite(features).all()
    assert not torch.allclose(features[0], features[1])


def test_decode_equals_predict_action_chunk_then_postprocessor(policy: LeRobotNoisePolicy) -> None:
    obs, w = make_obs(2, seed=1), noise(policy, 2, seed=1)
    horizon = policy.recommended_action_horizon
    actions = policy.decode(policy.encode(obs), w)[:, :horizon]
    torch.testing.assert_close(actions, reference_actions(policy, obs, w), atol=ENV_ATOL, rtol=0)
    # Normalized, before the postprocessor: the same numbers within 1e-5.
    batch = policy.lerobot_batch(obs)
    ours = policy.backend.decode(policy.backend.encode(batch), w)[:, :horizon]
    torch.testing.assert_close(ours, normalized_reference(policy, obs, w), atol=1e-5, rtol=0)


def test_decode_is_deterministic_in_the_noise(policy: LeRobotNoisePolicy) -> None:
    ctx = policy.encode(make_obs(1))
    w = noise(policy, 1)
    first, second = policy.decode(ctx, w), policy.decode(ctx, w.clone())
    assert torch.equal(first, second)
    other = policy.decode(ctx, noise(policy, 1, seed=7))
    assert (first - other).abs().max() > 1e-3


def test_k_noises_on_one_prefix_equal_k_separate_calls(policy: LeRobotNoisePolicy) -> None:
    obs, k = make_obs(1, seed=2), 4
    w = noise(policy, k, seed=2)
    together = policy.decode(policy.encode(obs), w)
    apart = torch.cat([policy.decode(policy.encode(obs), w[i : i + 1]) for i in range(k)])
    torch.testing.assert_close(together, apart, atol=ENV_ATOL, rtol=0)


def test_batched_envs_equal_separate_calls(policy: LeRobotNoisePolicy) -> None:
    b, k = 3, 2
    obs, w = make_obs(b, seed=3), noise(policy, b * k, seed=3)
    together = policy.decode(policy.encode(obs), w)
    apart = torch.cat([policy.decode(policy.encode(_rows(obs, i)), w[i * k : (i + 1) * k]) for i in range(b)])
    torch.testing.assert_close(together, apart, atol=ENV_ATOL, rtol=0)
    features = policy.features(policy.encode(obs))
    solo = torch.cat([policy.features(policy.encode(_rows(obs, i))) for i in range(b)])
    torch.testing.assert_close(features, solo, atol=1e-4, rtol=1e-4)


def test_save_reload_gives_the_same_actions(policy: LeRobotNoisePolicy, tmp_path: Path) -> None:
    obs, w = make_obs(2, seed=4), noise(policy, 4, seed=4)
    before = policy.decode(policy.encode(obs), w)
    saved = policy.save_pretrained(tmp_path / "copy")
    reloaded = LeRobotNoisePolicy.from_pretrained(saved, task=TASK)
    assert torch.equal(reloaded.decode(reloaded.encode(obs), w), before)


def test_tiny_checkpoints_are_small(tiny_checkpoints: dict[str, Path]) -> None:
    for kind, directory in tiny_checkpoints.items():
        size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        assert size < 2_000_000, (kind, size)
