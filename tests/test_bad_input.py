"""Bad input at every boundary: each case asserts the exception type and a phrase of its message, or the right value."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import torch
import yaml

from latent_mdp import LatentActionVecEnv, LatentActionVectorEnv, LatentActionWrapper, TensorContext
from latent_mdp.sb3.cli import main
from latent_mdp.sb3.hyperparams import load_hyperparams
from tests.toy import AnalyticPolicy, LineEnv

H, A = 4, 2


def wrapper(policy=None, env=None, **kwargs) -> LatentActionWrapper:
    return LatentActionWrapper(env or LineEnv(action_dim=A), policy or AnalyticPolicy(H, A), **kwargs)


class NaNFeatures(AnalyticPolicy):
    def features(self, ctx: TensorContext) -> torch.Tensor:
        return torch.full((ctx.batch_size, 2), float("nan"))


class WideFeatures(AnalyticPolicy):
    def features(self, ctx: TensorContext) -> torch.Tensor:
        return torch.zeros(ctx.batch_size, 3)


class NaNStart(LineEnv):
    def reset(self, **kwargs):
        obs, info = super().reset(**kwargs)
        return np.full_like(obs, np.nan), info


class Explodes(LineEnv):
    """Raises at its third step: mid-chunk."""

    def step(self, action):
        if self.steps == 2:
            raise RuntimeError("inner env failure")
        return super().step(action)


class OddShape(LineEnv):
    def reset(self, **kwargs):
        obs, info = super().reset(**kwargs)
        return obs[:2], info


def step_once(env: LatentActionWrapper, action: Any) -> Any:
    env.reset(seed=0)
    return env.step(action)


def step_after_failure() -> None:
    env = wrapper(env=Explodes(action_dim=A), noise="full")
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="inner env failure"):
        env.step(np.zeros(H * A, dtype=np.float32))
    env.step(np.zeros(H * A, dtype=np.float32))  # must not run on the stale context


RAISES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("noise_bound as a string", lambda: wrapper(noise_bound="1.5"), ValueError, "positive number"),
    ("fractional action_horizon", lambda: wrapper(action_horizon=2.7), ValueError, "action_horizon must be an integer"),
    ("complex latent action", lambda: step_once(wrapper(), np.zeros(A, dtype=complex)), ValueError, "real numbers"),
    ("NaN features", lambda: wrapper(NaNFeatures(H, A), obs_mode="policy").reset(seed=0), ValueError, "features returned NaN"),
    ("features of the wrong width", lambda: wrapper(WideFeatures(H, A), obs_mode="policy").reset(seed=0), ValueError, "expected (1, 2)"),
    ("NaN observation at reset", lambda: wrapper(env=NaNStart(action_dim=A)).reset(seed=0), ValueError, "holds NaN or inf"),
    ("step after an inner env raised", step_after_failure, RuntimeError, "after a step that raised"),
    ("one odd observation in the SB3 vector form",
     lambda: LatentActionVecEnv([LineEnv(action_dim=A), OddShape(action_dim=A)], AnalyticPolicy(H, A)).reset(),
     ValueError, "observation 1 has shape (2,)"),
]


@pytest.mark.parametrize(("case", "call", "error", "phrase"), RAISES, ids=[c[0] for c in RAISES])
def test_bad_input_raises_a_clear_error(case: str, call: Callable[[], Any], error: type[Exception], phrase: str) -> None:
    with pytest.raises(error) as raised:
        call()
    assert phrase in str(raised.value), str(raised.value)


def test_a_finite_huge_action_is_out_of_bounds_not_nan() -> None:
    with pytest.raises(ValueError, match="leaves \\[-1, 1\\]"):
        step_once(wrapper(strict=True), np.array([1e39, 0.0]))
    *_, info = step_once(wrapper(), np.array([1e39, 0.0]))  # clipped, not rejected
    np.testing.assert_allclose(info["latent_action"], [1.0, 0.0])


def test_gymnasium_vector_env_returns_fresh_observations() -> None:
    v = LatentActionVectorEnv([LineEnv(action_dim=A)] * 2, AnalyticPolicy(H, A))
    o, _ = v.reset(seed=0)
    kept = o.copy()
    o2, *_ = v.step(np.zeros((2, A), dtype=np.float32))
    assert o2 is not o
    np.testing.assert_array_equal(o, kept)
    shared = LatentActionVectorEnv([LineEnv(action_dim=A)] * 2, AnalyticPolicy(H, A), copy=False)
    first, _ = shared.reset(seed=0)
    assert shared.step(np.zeros((2, A), dtype=np.float32))[0] is first  # copy=False: one reused buffer


def test_vec_env_get_attr_answers_latent_settings() -> None:
    env = LatentActionVecEnv([LineEnv(action_dim=A)] * 3, AnalyticPolicy(H, A), action_horizon=2)
    assert env.get_attr("action_horizon") == [2, 2, 2]
    assert env.get_attr("goal", indices=[0]) == [1e9]  # anything else is the inner envs'


@pytest.mark.parametrize("steps", ["0", "-5", "x"])
def test_cli_rejects_non_positive_steps(steps: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "DSRL-PushT-flow-v0", "--steps", steps])
    assert "positive integer" in capsys.readouterr().err


def _config(tmp_path, entry: Any):
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({"DSRL-PushT-flow-v0": entry}))
    return path


def test_yaml_entry_that_is_a_list_names_the_file(tmp_path) -> None:
    path = _config(tmp_path, [1, 2])
    with pytest.raises(ValueError, match="bad.yml: the entry for DSRL-PushT-flow-v0 must be a mapping"):
        load_hyperparams("DSRL-PushT-flow-v0", "sac", path)


def test_yaml_unknown_key_names_the_key_and_the_file(tmp_path) -> None:
    path = _config(tmp_path, {"learning_rat": 0.1})
    with pytest.raises(ValueError, match="bad.yml: unknown key\\(s\\) \\['learning_rat'\\] for sac"):
        load_hyperparams("DSRL-PushT-flow-v0", "sac", path)


def test_final_episodes_below_the_eval_envs_runs_exactly_that_many(tmp_path) -> None:
    from latent_mdp.sb3.envs import make_sb3_vec_env
    from latent_mdp.sb3.evaluation import base_actor, evaluate

    env = make_sb3_vec_env("DSRL-PushT-flow-v0", 10)
    result = evaluate(env, base_actor(env.noise_space, 10), 4, seed=0)
    assert result.episodes == 4 and len(result.episode_success) == 4


# --- checkpoints -------------------------------------------------------------------------------


def _copy_flow(tmp_path):
    import shutil

    from latent_mdp.tasks.pusht.presets import ASSETS

    target = tmp_path / "flow"
    shutil.copytree(ASSETS / "pusht_flow", target)
    return target


def test_garbage_config_json_names_the_file(tmp_path) -> None:
    from latent_mdp.policies.flow_mlp import FlowMLPPolicy

    path = _copy_flow(tmp_path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        FlowMLPPolicy.from_pretrained(path)


def test_corrupt_weights_name_the_file(tmp_path) -> None:
    from latent_mdp.policies.flow_mlp import FlowMLPPolicy

    path = _copy_flow(tmp_path)
    (path / "model.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors file"):
        FlowMLPPolicy.from_pretrained(path)


@pytest.mark.parametrize(("env_id", "asset", "found"), [
    ("DSRL-PushT-pi0-v0", "pusht_diffusion", "diffusion"),
    ("DSRL-PushT-diffusion-v0", "pusht_pi0", "pi0"),
    ("DSRL-PushT-flow-v0", "pusht_smolvla", "smolvla"),
])  # fmt: skip
def test_a_checkpoint_of_another_kind_is_named(env_id: str, asset: str, found: str) -> None:
    import gymnasium as gym

    from latent_mdp.tasks.pusht.presets import ASSETS

    expected = env_id.split("-")[2].replace("flow", "flow_mlp")
    with pytest.raises(ValueError, match=f"runs a {expected} checkpoint; .*{asset} holds a {found} checkpoint"):
        gym.make(env_id, policy_path=ASSETS / asset)
