"""`LatentMDPConfig`: one frozen, validated settings object for every form of M^w."""

import dataclasses

import numpy as np
import pytest

from latent_mdp import LatentActionVectorEnv, LatentActionWrapper, LatentMDPConfig, NoiseSpace
from latent_mdp.sb3 import LatentActionVecEnv
from tests.toy import AnalyticPolicy, LineEnv


def line() -> LineEnv:
    return LineEnv()


def test_config_is_frozen_and_replace_validates() -> None:
    config = LatentMDPConfig(noise="full", action_horizon=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.replans = 2  # type: ignore[misc]
    assert config.replace(replans=2).replans == 2 and config.replans == 1
    with pytest.raises(ValueError, match="replans must be an integer >= 1"):
        config.replace(replans=1.5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"noise": "gaussian"}, "noise must be a NoiseSpace or one of"),
        ({"noise_bound": "1.5"}, "noise bound b_w must be a positive number"),
        ({"action_horizon": 0}, "action_horizon must be >= 1"),
        ({"action_horizon": True}, "action_horizon must be an integer"),
        ({"obs_mode": "pixels"}, "obs_mode must be 'env', 'policy' or 'both'"),
        ({"reward": "mean"}, "reward must be 'sum' or 'discounted'"),
        ({"gamma": 1.5}, r"gamma must lie in \[0, 1\]"),
        ({"strict": "yes"}, "strict must be True or False"),
        ({"replans": 0}, "replans must be an integer >= 1"),
    ],
)
def test_config_rejects_bad_settings_once_for_every_form(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LatentMDPConfig(**changes)
    with pytest.raises(ValueError, match=message):
        LatentActionWrapper(line(), AnalyticPolicy(), **changes)
    with pytest.raises(ValueError, match=message):
        LatentActionVectorEnv([line], AnalyticPolicy(), **changes)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="horizon"):
        LatentActionWrapper(line(), AnalyticPolicy(), horizon=4)


def test_every_form_takes_one_config_and_options_override_it() -> None:
    policy = AnalyticPolicy()
    config = LatentMDPConfig(noise="full", action_horizon=2, replans=2)
    wrapper = LatentActionWrapper(line(), policy, config)
    vector = LatentActionVectorEnv([line] * 2, policy, config, obs_mode="env")
    sb3 = LatentActionVecEnv([line] * 2, policy, config, replans=1)
    assert wrapper.core.config == vector.batch.core.config
    assert sb3.batch.core.config == config.replace(replans=1, noise=sb3.batch.core.noise_space, noise_bound=1.5)
    assert isinstance(wrapper.core.config.noise, NoiseSpace) and wrapper.core.config.action_horizon == 2
    assert sb3.get_attr("config")[0].replans == 1
    wrapper.reset(seed=0)
    _, _, _, _, info = wrapper.step(np.zeros(wrapper.action_space.shape, dtype=np.float32))
    assert info["inner_steps"] == 4 and info["planned_actions"].shape == (4, policy.action_dim)


def test_the_resolved_config_rebuilds_the_same_core() -> None:
    policy = AnalyticPolicy()
    first = LatentActionWrapper(line(), policy, noise="repeat", noise_bound=0.5)
    again = LatentActionWrapper(line(), policy, first.core.config)
    assert again.core.config == first.core.config
    assert again.noise_space.bound == 0.5 and again.action_horizon == policy.chunk_size
