import pytest
import yaml

from latent_mdp import ENV_IDS
from latent_mdp.hyperparams import ALGORITHMS, algorithm_class, load_hyperparams
from latent_mdp.nets import LayerNormReLU


@pytest.mark.parametrize("algo", ALGORITHMS)
@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_yaml_loads_for_every_registered_id(env_id: str, algo: str) -> None:
    cfg = load_hyperparams(env_id, algo)
    assert cfg.n_envs >= 1 and cfg.eval_freq >= 1 and cfg.eval_episodes >= 1
    kwargs = cfg.constructor_kwargs(env_steps_per_action=8)
    assert kwargs["gamma"] == pytest.approx(cfg.env_gamma**8)
    cls = algorithm_class(algo)
    accepted = set(cls.__init__.__code__.co_varnames)
    assert set(kwargs) <= accepted, set(kwargs) - accepted


def test_user_config_overrides_and_merges(tmp_path) -> None:
    path = tmp_path / "my.yml"
    path.write_text(
        yaml.safe_dump({"DSRL-PushT-flow-v0": {"n_envs": 3, "batch_size": 64, "policy_kwargs": {"net_arch": [32]}}})
    )
    cfg = load_hyperparams("DSRL-PushT-flow-v0", "sac", path)
    assert cfg.n_envs == 3 and cfg.algo_kwargs["batch_size"] == 64
    kwargs = cfg.constructor_kwargs(4)
    assert kwargs["policy_kwargs"] == {"net_arch": [32], "activation_fn": LayerNormReLU}


def test_bad_names_raise(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown algorithm"):
        load_hyperparams("DSRL-PushT-flow-v0", "ppo")
    with pytest.raises(ValueError, match="unknown env id"):
        load_hyperparams("PushT-v0", "sac")
    path = tmp_path / "other.yml"
    path.write_text(yaml.safe_dump({"DSRL-PushT-pi0-v0": {"n_envs": 2}}))
    with pytest.raises(ValueError, match="no entry for DSRL-PushT-flow-v0"):
        load_hyperparams("DSRL-PushT-flow-v0", "sac", path)
