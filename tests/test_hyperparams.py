import pytest
import torch
import yaml
from stable_baselines3 import SAC

from latent_mdp import ENV_IDS
from latent_mdp.sb3.delayed_sac import DelayedSAC
from latent_mdp.sb3.hyperparams import ALGORITHMS, TRAINABLE_IDS, algorithm_class, constructor_parameters, load_hyperparams
from latent_mdp.sb3.nets import LayerNormReLU, LayerNormTanh


@pytest.mark.parametrize("algo", ALGORITHMS)
@pytest.mark.parametrize("env_id", sorted(TRAINABLE_IDS))
def test_yaml_loads_for_every_registered_id(env_id: str, algo: str) -> None:
    cfg = load_hyperparams(env_id, algo)
    assert cfg.n_envs >= 1 and cfg.eval_freq >= 1 and cfg.eval_episodes >= 1
    kwargs = cfg.constructor_kwargs(env_steps_per_action=8)
    assert kwargs["gamma"] == pytest.approx(cfg.env_gamma**8)
    accepted = constructor_parameters(algorithm_class(algo))
    assert set(kwargs) <= accepted, set(kwargs) - accepted


def test_constructor_parameters_follow_kwargs_to_the_base_class() -> None:
    delayed = constructor_parameters(DelayedSAC)
    assert {"policy_delay", "batch_size", "target_entropy", "policy"} <= delayed
    assert "policy_delay" not in constructor_parameters(SAC)
    assert not {"args", "kwargs"} & delayed


def test_sac_takes_a_policy_delay_and_rejects_what_sac_does_not_take(tmp_path) -> None:
    path = tmp_path / "delay.yml"
    path.write_text(yaml.safe_dump({"DSRL-PushT-flow-v0": {"policy_delay": 2}}))
    assert load_hyperparams("DSRL-PushT-flow-v0", "sac", path).algo_kwargs["policy_delay"] == 2
    path.write_text(yaml.safe_dump({"DSRL-PushT-flow-v0": {"policy_delay": 2, "n_critics_typo": 3}}))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['n_critics_typo'\] for sac"):
        load_hyperparams("DSRL-PushT-flow-v0", "sac", path)


def test_user_config_overrides_and_merges(tmp_path) -> None:
    path = tmp_path / "my.yml"
    path.write_text(
        yaml.safe_dump({"DSRL-PushT-flow-v0": {"n_envs": 3, "batch_size": 64, "policy_kwargs": {"net_arch": [32]}}})
    )
    cfg = load_hyperparams("DSRL-PushT-flow-v0", "sac", path)
    assert cfg.n_envs == 3 and cfg.algo_kwargs["batch_size"] == 64
    kwargs = cfg.constructor_kwargs(4)
    assert kwargs["policy_kwargs"] == {"net_arch": [32], "activation_fn": LayerNormReLU}


def test_the_layernorm_tanh_activation_is_named_in_yaml_and_normalizes_before_tanh(tmp_path) -> None:
    path = tmp_path / "tanh.yml"
    path.write_text(yaml.safe_dump({"DSRL-PushT-flow-v0": {"policy_kwargs": {"activation_fn": "layernorm_tanh"}}}))
    activation = load_hyperparams("DSRL-PushT-flow-v0", "sac", path).constructor_kwargs(4)["policy_kwargs"]["activation_fn"]
    assert activation is LayerNormTanh
    x = torch.randn(5, 64) * 30 + 7
    pre = torch.atanh(activation()(x).clamp(-1 + 1e-6, 1 - 1e-6))
    torch.testing.assert_close(pre.mean(-1), torch.zeros(5), atol=1e-3, rtol=0)
    torch.testing.assert_close(pre.std(-1, unbiased=False), torch.ones(5), atol=2e-2, rtol=0)


def test_bad_names_raise(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown algorithm"):
        load_hyperparams("DSRL-PushT-flow-v0", "ppo")
    with pytest.raises(ValueError, match="unknown env id"):
        load_hyperparams("PushT-v0", "sac")
    path = tmp_path / "other.yml"
    path.write_text(yaml.safe_dump({"DSRL-PushT-pi0-v0": {"n_envs": 2}}))
    with pytest.raises(ValueError, match="no entry for DSRL-PushT-flow-v0"):
        load_hyperparams("DSRL-PushT-flow-v0", "sac", path)


def test_env_level_keys_are_set_once_per_id_in_envs_yml() -> None:
    from latent_mdp.sb3.hyperparams import _shipped_file

    envs = _shipped_file("envs")
    assert set(ENV_IDS) <= set(envs)
    env_level = {"n_envs", "warmup_steps", "env_gamma", "eval_freq", "eval_episodes"}
    for algo in ALGORITHMS:
        for env_id in ENV_IDS:
            entry = _shipped_file(algo.replace("-", "_"))[env_id]
            assert not env_level & set(entry), f"{algo}.yml sets {env_level & set(entry)} for {env_id}; they belong in envs.yml"
            assert load_hyperparams(env_id, algo).n_envs == envs[env_id]["n_envs"]
