"""DelayedSAC (``--algo sac``): SB3's SAC update at ``policy_delay=1``, the actor held between delayed steps."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import configure

from latent_mdp.sb3.delayed_sac import DelayedSAC
from latent_mdp.sb3.nets import LayerNormReLU
from latent_mdp.sb3.noise_prior import NoisePriorPolicy

OBS_DIM, NOISE_DIM = 12, 6


class RandomBoxEnv(gym.Env):
    """A state and noise box of M^w's shapes; the transitions come from the buffer filled below, not from stepping."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-10.0, 10.0, (OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Box(-3.0, 3.0, (NOISE_DIM,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _model(cls: type, **kwargs) -> SAC:
    model = cls(
        NoisePriorPolicy,
        RandomBoxEnv(),
        batch_size=32,
        buffer_size=500,
        target_entropy=-2.0,
        seed=0,
        policy_kwargs={"net_arch": [32, 32], "activation_fn": LayerNormReLU},
        **kwargs,
    )
    rng = np.random.default_rng(0)
    for _ in range(200):
        obs, next_obs = rng.normal(size=(2, 1, OBS_DIM)).astype(np.float32)
        action = rng.uniform(-1, 1, (1, NOISE_DIM)).astype(np.float32)
        model.replay_buffer.add(obs, next_obs, action, rng.normal(size=1).astype(np.float32), rng.random(1) < 0.1, [{}])
    model.set_logger(configure(None, [""]))
    return model


def _train(model: SAC, gradient_steps: int, seed: int = 1) -> None:
    np.random.seed(seed)  # the replay buffer samples with NumPy's global generator
    torch.manual_seed(seed)
    model.train(gradient_steps, model.batch_size)


def _parameters(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.state_dict().items()}


def test_policy_delay_1_gives_sb3_sacs_updates_exactly() -> None:
    stock, delayed = _model(SAC), _model(DelayedSAC)
    _train(stock, 7)
    _train(delayed, 7)
    for name, value in _parameters(stock.policy).items():
        assert torch.equal(value, delayed.policy.state_dict()[name]), name
    assert torch.equal(stock.log_ent_coef, delayed.log_ent_coef)
    assert stock.log_ent_coef.item() != pytest.approx(0.0)  # the KL coefficient did learn


def test_policy_delay_1_with_a_fixed_coefficient_gives_sb3_sacs_updates_exactly() -> None:
    stock, delayed = _model(SAC, ent_coef=0.1), _model(DelayedSAC, ent_coef=0.1)
    _train(stock, 7)
    _train(delayed, 7)
    assert delayed.log_ent_coef is None
    for name, value in _parameters(stock.policy).items():
        assert torch.equal(value, delayed.policy.state_dict()[name]), name


def test_the_actor_and_kl_coefficient_move_only_on_every_policy_delay_th_step() -> None:
    model = _model(DelayedSAC, policy_delay=3)
    moved = []
    for step in range(6):
        actor, critic, log_alpha = _parameters(model.actor), _parameters(model.critic), model.log_ent_coef.item()
        _train(model, 1, seed=step)
        actor_moved = any(not torch.equal(v, model.actor.state_dict()[k]) for k, v in actor.items())
        assert any(not torch.equal(v, model.critic.state_dict()[k]) for k, v in critic.items()), step
        assert actor_moved == (model.log_ent_coef.item() != log_alpha), step
        moved.append(actor_moved)
    assert moved == [True, False, False, True, False, False]
    assert model._n_updates == 6


def test_the_delay_counts_across_calls_and_leaves_the_critics_trainable() -> None:
    one_call, many_calls = _model(DelayedSAC, policy_delay=2), _model(DelayedSAC, policy_delay=2)
    _train(many_calls, 1)
    after_first = _parameters(many_calls.actor)
    _train(many_calls, 1, seed=2)  # the second step overall: its actor step is skipped
    assert all(torch.equal(v, many_calls.actor.state_dict()[k]) for k, v in after_first.items())
    _train(many_calls, 1, seed=3)  # the third: the actor learns again
    assert any(not torch.equal(v, many_calls.actor.state_dict()[k]) for k, v in after_first.items())
    assert all(p.requires_grad for p in many_calls.critic.parameters())
    _train(one_call, 3)
    assert one_call._n_updates == many_calls._n_updates == 3


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_bad_policy_delay_raises(bad) -> None:
    with pytest.raises(ValueError, match=f"policy_delay must be a positive integer; got {bad!r}"):
        _model(DelayedSAC, policy_delay=bad)


def test_save_and_load_keep_the_delay(tmp_path) -> None:
    model = _model(DelayedSAC, policy_delay=3)
    _train(model, 4)
    model.save(tmp_path / "model.zip")
    loaded = DelayedSAC.load(tmp_path / "model.zip")
    assert loaded.policy_delay == 3 and loaded._n_updates == 4
    for name, value in _parameters(model.policy).items():
        assert torch.equal(value, loaded.policy.state_dict()[name]), name
