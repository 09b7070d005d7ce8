"""The non-DSRL methods of the comparison: the base policy alone, SAC from scratch, residual SAC.

* ``base-noise`` / ``base-zero``: the frozen base policy with ``w ~ N(0, I)`` or ``w = 0``
  (latent action ``u = 0``), evaluated only.
* ``sac-raw``: SB3 SAC on the plain task env (the raw action space), from scratch.
* ``residual-sac``: SB3 SAC on :class:`benchmarks.residual.ResidualActionWrapper`.

The SAC baselines train like :func:`latent_mdp.sb3.train.train` (same progress bar, periodic
evaluation, checkpoints and resume, from :mod:`latent_mdp.sb3.callbacks`) and are evaluated with the
same metrics on the same start states (``latent_mdp.sb3.evaluation.evaluate``, seed
``latent_mdp.sb3.train.EVAL_SEED``). Their hyperparameters are in ``benchmarks/baselines.yml``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from stable_baselines3 import SAC
from stable_baselines3.common.vec_env import DummyVecEnv

from benchmarks.methods import SAC_BASELINES
from benchmarks.overrides import merge_entry, read_yaml
from benchmarks.residual import ResidualActionWrapper
from latent_mdp.envs.registry import PUSHT_IDS, make_inner, task_metrics
from latent_mdp.sb3.buffer_files import load_buffer
from latent_mdp.sb3.callbacks import Checkpointer, LiveProgress, PeriodicEval, read_checkpoint_state
from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.sb3.evaluation import Actor, EvalResult, base_actor, evaluate, model_actor
from latent_mdp.sb3.hyperparams import OWN_KEYS, TrainConfig
from latent_mdp.sb3.train import EVAL_SEED
from latent_mdp.tasks.pusht.presets import load_base_policy

__all__ = ["BASELINES_YAML", "baseline_config", "evaluate_base", "train_sac_baseline"]

BASELINES_YAML = Path(__file__).with_name("baselines.yml")
MAX_EVAL_ENVS = 10


def baseline_config(method: str, env_id: str, override: dict[str, Any] | None = None) -> TrainConfig:
    """The shipped ``baselines.yml`` entry of ``method`` on ``env_id``, updated by ``override``."""
    shipped = (read_yaml(BASELINES_YAML).get(method) or {}).get(env_id)
    if shipped is None:
        raise ValueError(f"no {method} hyperparameters for {env_id} in {BASELINES_YAML}")
    entry = merge_entry(shipped, override or {})
    own = {key: entry.pop(key) for key in OWN_KEYS if key in entry}
    return TrainConfig(algo="sac", **own, algo_kwargs=entry)


def evaluate_base(env_id: str, noise: str, episodes: int, *, seed: int, env_kwargs: dict[str, Any]) -> EvalResult:
    """The base policy alone on ``env_id``: ``noise="gaussian"`` (``w ~ N(0, I)``) or ``"zero"``."""
    env = make_sb3_vec_env(env_id, min(MAX_EVAL_ENVS, episodes), **env_kwargs)
    if noise == "gaussian":
        actor: Actor = base_actor(env.noise_space, env.num_envs, seed)
    elif noise == "zero":
        zeros = np.zeros((env.num_envs, env.noise_space.dim), dtype=np.float32)
        actor = lambda obs: zeros  # noqa: E731  (u = 0 is w = 0 in every noise mode)
    else:
        raise ValueError(f"noise must be 'gaussian' or 'zero'; got {noise!r}")
    try:
        return evaluate(env, actor, episodes, seed=EVAL_SEED)
    finally:
        env.close()


def _env_factory(method: str, env_id: str, env_kwargs: dict[str, Any]) -> Callable[[], gym.Env]:
    """A factory of the task env the baseline acts in (the residual one shares one base policy)."""
    if env_id not in PUSHT_IDS:
        raise ValueError(f"the SAC baselines act in PushT's action space; {env_id} is not a DSRL-PushT id")
    kwargs = dict(env_kwargs)
    task_reward = kwargs.pop("task_reward", "coverage")
    if method == "sac-raw":
        return lambda: make_inner(env_id, task_reward=task_reward)
    if method != "residual-sac":
        raise ValueError(f"unknown SAC baseline {method!r}; expected one of {SAC_BASELINES}")
    policy = load_base_policy(PUSHT_IDS[env_id], kwargs.pop("policy_path", None), kwargs.pop("task", None))
    kwargs.setdefault("action_horizon", getattr(policy, "recommended_action_horizon", None))
    return lambda: ResidualActionWrapper(make_inner(env_id, task_reward=task_reward), policy, **kwargs)


def _policy_name(env: DummyVecEnv) -> str:
    return "MultiInputPolicy" if isinstance(env.observation_space, gym.spaces.Dict) else "MlpPolicy"


def train_sac_baseline(
    method: str,
    env_id: str,
    env_steps: int,
    cfg: TrainConfig,
    run_dir: Path,
    *,
    seed: int,
    n_evals: int,
    final_episodes: int,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``method`` for ``env_steps`` env steps (all envs together); resume from ``run_dir``.

    Returns:
        ``env_steps``, ``eval_history`` (rows as :class:`latent_mdp.sb3.callbacks.PeriodicEval`
        writes them) and ``trained`` (the final evaluation over ``final_episodes``).
    """
    make_env = _env_factory(method, env_id, cfg.env_kwargs)
    env = DummyVecEnv([make_env] * cfg.n_envs)
    env.seed(seed)
    eval_env = DummyVecEnv([make_env] * min(MAX_EVAL_ENVS, cfg.eval_episodes))
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = read_checkpoint_state(run_dir)
    if checkpoint is not None:
        model_path, buffer_path, state = checkpoint
        model = SAC.load(model_path, env=env)
        model.replay_buffer = load_buffer(buffer_path, model.device)
        done_env_steps = state["env_steps"]
    else:
        kwargs = cfg.constructor_kwargs(env_steps_per_action=1)
        model = SAC(kwargs.pop("policy", _policy_name(env)), env, seed=seed, verbose=0, **kwargs)
        done_env_steps = 0
    eval_freq = max(1, math.ceil(env_steps / (cfg.n_envs * n_evals)))
    metrics = task_metrics(env_id)  # the inner envs' info holds the task's keys, as M^w's does
    live = LiveProgress(env_steps, env_steps=done_env_steps, show=progress, metrics=metrics)
    periodic = PeriodicEval(eval_env, eval_freq, cfg.eval_episodes, run_dir, live, seed=EVAL_SEED, metrics=metrics)
    seconds_before = float(checkpoint[2].get("train_seconds", 0.0)) if checkpoint else 0.0
    checkpointer = Checkpointer(run_dir, save_freq=eval_freq, progress=live, seconds_before=seconds_before)
    try:
        model.learn(max(0, env_steps - model.num_timesteps), callback=[live, periodic, checkpointer], reset_num_timesteps=checkpoint is None)
    except KeyboardInterrupt:
        checkpointer.save()
        raise
    checkpointer.save()
    final = evaluate(eval_env, model_actor(model), final_episodes, seed=EVAL_SEED, metrics=metrics)
    env.close()
    eval_env.close()
    return {"env_steps": live.env_steps, "eval_history": periodic.history, "trained": final.as_dict()}
