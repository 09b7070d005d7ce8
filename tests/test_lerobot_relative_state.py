"""VLAs with relative actions and the block keypoints in their state (the PushT base policies' recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lerobot.processor.relative_action_processor import AbsoluteActionsProcessorStep
from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

from benchmarks.lerobot_reference import reference_actions
from latent_mdp.builders.lerobot_models import build_tiny_checkpoint
from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from latent_mdp.policies.lerobot.state_concat import REGISTRY_NAME
from latent_mdp.policies.lerobot.tokenizer import STATE_BINS, byte_tokenizer, load_tokenizer
from tests.lerobot_fixtures import ACTION_SCALE, TASK, make_obs, noise

ENV_ATOL = 1e-5 * ACTION_SCALE
VLAS = ("pi0", "pi05", "smolvla")


@pytest.fixture(scope="module")
def relative_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("relative_state")
    return {
        kind: build_tiny_checkpoint(kind, root / kind, environment_state=True, relative_actions=True)
        for kind in VLAS
    }


@pytest.fixture(params=VLAS)
def policy(request: pytest.FixtureRequest, relative_checkpoints: dict[str, Path]) -> LeRobotNoisePolicy:
    return LeRobotNoisePolicy.from_pretrained(relative_checkpoints[request.param], task=TASK)


def _rows(obs: dict, i: int) -> dict:
    return {key: value[i : i + 1] for key, value in obs.items()}


def test_decode_equals_lerobots_own_relative_pipeline(policy: LeRobotNoisePolicy) -> None:
    assert policy.action_reference.enabled
    obs, w = make_obs(2, seed=1), noise(policy, 2, seed=1)
    horizon = policy.recommended_action_horizon
    actions = policy.decode(policy.encode(obs), w)[:, :horizon]
    torch.testing.assert_close(actions, reference_actions(policy, obs, w), atol=ENV_ATOL, rtol=0)


def test_each_context_adds_its_own_state(policy: LeRobotNoisePolicy) -> None:
    obs, k = make_obs(3, seed=2), 2
    w = noise(policy, 3 * k, seed=2)
    ctx = policy.encode(obs)
    policy.encode(make_obs(5, seed=9))  # another batch through the preprocessor in between
    together = policy.decode(ctx, w)
    apart = torch.cat([policy.decode(policy.encode(_rows(obs, i)), w[i * k : (i + 1) * k]) for i in range(3)])
    torch.testing.assert_close(together, apart, atol=ENV_ATOL, rtol=0)
    # The offset is the agent position, per observation: without it the actions are relative.
    (absolute,) = [s for s in policy.postprocessor.steps if isinstance(s, AbsoluteActionsProcessorStep)]
    absolute.enabled = False
    try:
        without = policy.decode(ctx, w)
    finally:
        absolute.enabled = True
    offset = torch.as_tensor(obs["agent_pos"], dtype=torch.float32).repeat_interleave(k, 0)
    torch.testing.assert_close(together - without, offset[:, None, :].expand_as(together), atol=ENV_ATOL, rtol=0)


def test_the_block_keypoints_reach_the_state(policy: LeRobotNoisePolicy) -> None:
    obs = make_obs(1, seed=3)
    batch = policy.lerobot_batch(obs)
    assert "observation.environment_state" not in batch
    state = batch["observation.state"]
    if policy.policy_type != "pi05":  # pi0.5 tokenizes its state into the prompt instead
        assert state.shape == (1, 18)
    w = noise(policy, 1, seed=3)
    moved = dict(obs, environment_state=obs["environment_state"][:, ::-1].copy())
    assert (policy.decode(policy.encode(obs), w) - policy.decode(policy.encode(moved), w)).abs().max() > 1e-4


def test_the_checkpoint_names_its_steps_and_reloads(policy: LeRobotNoisePolicy, tmp_path: Path) -> None:
    saved = policy.save_pretrained(tmp_path / "copy")
    steps = [s["registry_name"] for s in json.loads((saved / "policy_preprocessor.json").read_text())["steps"]]
    assert REGISTRY_NAME in steps and "relative_actions_processor" in steps
    obs, w = make_obs(2, seed=4), noise(policy, 4, seed=4)
    reloaded = LeRobotNoisePolicy.from_pretrained(saved, task=TASK)
    torch.testing.assert_close(reloaded.decode(reloaded.encode(obs), w), policy.decode(policy.encode(obs), w))


def test_missing_keypoints_are_a_clear_error(policy: LeRobotNoisePolicy) -> None:
    obs = make_obs(1)
    del obs["environment_state"]
    with pytest.raises(KeyError, match="environment_state"):
        policy.encode(obs)


def test_number_tokens_are_one_token_each_and_round_trip() -> None:
    numbered, plain = byte_tokenizer(number_tokens=True), byte_tokenizer()
    for n in range(STATE_BINS):
        text = f"State: {n};"
        ids = numbered(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == len(plain(text, add_special_tokens=False)["input_ids"]) - len(f" {n}") + 1
        assert numbered.decode(ids) == text
    assert len(numbered) == len(plain) + STATE_BINS


def test_pi05_reads_each_state_value_as_one_prompt_token(relative_checkpoints: dict[str, Path]) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(relative_checkpoints["pi05"], task=TASK)
    tokenizer = load_tokenizer(relative_checkpoints["pi05"])
    batch = policy.lerobot_batch(make_obs(2, seed=5))
    for row, mask in zip(batch[OBS_LANGUAGE_TOKENS], batch[OBS_LANGUAGE_ATTENTION_MASK]):
        prompt = tokenizer.decode(row[mask.bool()], skip_special_tokens=True)
        assert prompt.endswith(";\nAction: "), "the prompt must fit in tokenizer_max_length"
        numbers = prompt.split("State: ")[1].split(";")[0].split()
        assert len(numbers) == 18 and all(0 <= int(n) < STATE_BINS for n in numbers)
        tokens = tokenizer.convert_ids_to_tokens(row[mask.bool()].tolist())
        assert sum(token.lstrip("Ġ").isdigit() and token.startswith("Ġ") for token in tokens) == 18


def test_a_pipeline_without_the_step_is_a_clear_error() -> None:
    from lerobot.processor.normalize_processor import NormalizerProcessorStep
    from lerobot.processor.pipeline import DataProcessorPipeline

    from latent_mdp.policies.lerobot.pipeline import insert_step
    from latent_mdp.policies.lerobot.state_concat import ConcatEnvironmentStateStep

    with pytest.raises(ValueError, match="no NormalizerProcessorStep"):
        insert_step(DataProcessorPipeline(steps=[]), ConcatEnvironmentStateStep(), after=NormalizerProcessorStep)
    with pytest.raises(ValueError, match="exactly one of before= and after="):
        insert_step(DataProcessorPipeline(steps=[]), ConcatEnvironmentStateStep())
