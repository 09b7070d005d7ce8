"""One run of one method and seed, for ``benchmarks/compare.py``: a learning curve and a final evaluation.

Each runner takes the comparison, the method, the seed and the method's override entry
(:func:`benchmarks.overrides.method_entry`) and returns ``curve`` (rows of ``env_steps``,
``success_rate``, ``mean_max_coverage``, ``mean_return``) and ``final`` (the last evaluation),
plus what else it knows. Trained runs resume from the checkpoint in their run directory.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import yaml

from benchmarks.baselines import baseline_config, evaluate_base, train_sac_baseline
from benchmarks.comparison import Comparison
from benchmarks.methods import BASE_NOISE, DSRL_ALGOS, METHODS, SAC_BASELINES
from latent_mdp.sb3.callbacks import read_checkpoint_state
from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.sb3.hyperparams import TrainConfig, load_hyperparams
from latent_mdp.sb3.train import train

__all__ = ["Runner", "runner"]

Runner = Callable[[Comparison, str, int, dict[str, Any]], dict[str, Any]]


def _curve_row(row: dict[str, Any]) -> dict[str, float]:
    return {key: row[key] for key in ("env_steps", "success_rate", "mean_max_coverage", "mean_return")}


def _trained_record(summary: dict[str, Any]) -> dict[str, Any]:
    """Curve and final evaluation from a training summary (``eval_history``, ``trained``, ``env_steps``).

    The final evaluation (more episodes) ends the curve; it replaces a periodic one at the same step
    (as the last of two evaluations at one step does: a resumed run repeats the one it was killed at).
    """
    final = {**summary["trained"], "env_steps": summary["env_steps"]}
    by_step = {row["env_steps"]: _curve_row(row) for row in summary["eval_history"] if row["env_steps"] < final["env_steps"]}
    record = {"curve": [*by_step.values(), _curve_row(final)], "final": final}
    if "trained_stochastic" in summary:  # the sampled actor beside the mean one, when train() reports it
        record["final_stochastic"] = summary["trained_stochastic"]
    return record


def _train_config(comparison: Comparison, algo: str, entry: dict[str, Any], run_dir: Path) -> tuple[TrainConfig, Path]:
    """Write ``entry`` as ``run_dir/override.yml`` (``train``'s ``config``) and resolve it for ``algo``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "override.yml"
    path.write_text(yaml.safe_dump({comparison.env_id: entry}, sort_keys=False))
    return load_hyperparams(comparison.env_id, algo, path), path


def _action_horizon(env_id: str, env_kwargs: dict[str, Any]) -> int:
    """Env steps per latent step of ``env_id`` with these kwargs (loads the policy if not given)."""
    if env_kwargs.get("action_horizon") is not None:
        return int(env_kwargs["action_horizon"])
    env = make_sb3_vec_env(env_id, 1, **env_kwargs)
    env.close()
    return env.batch.core.action_horizon


def _run_dsrl(comparison: Comparison, method: str, seed: int, entry: dict[str, Any]) -> dict[str, Any]:
    """DSRL via :func:`latent_mdp.sb3.train.train`: the env-step budget in latent steps, the curve's evaluation schedule."""
    algo, run_dir, budget = DSRL_ALGOS[method], comparison.run_dir(method, seed), comparison.budget
    cfg, _ = _train_config(comparison, algo, entry, run_dir)
    horizon = _action_horizon(comparison.env_id, cfg.env_kwargs)
    latent_steps = math.ceil(budget.env_steps / horizon)
    eval_freq = max(1, math.ceil(latent_steps / (cfg.n_envs * budget.n_evals)))
    cfg, path = _train_config(comparison, algo, {**entry, "eval_freq": eval_freq, "eval_episodes": budget.eval_episodes}, run_dir)
    summary = train(
        comparison.env_id,
        algo,
        latent_steps,
        seed=seed,
        config=path,
        run_dir=run_dir,
        resume=read_checkpoint_state(run_dir) is not None,
        videos=False,
        final_episodes=budget.final_episodes,
        progress=comparison.progress,
    )
    extra = {"latent_steps": summary["latent_steps"], "action_horizon": horizon, "warmup_latent_steps": cfg.warmup_steps}
    return {**_trained_record(summary), **extra}


def _run_baseline(comparison: Comparison, method: str, seed: int, entry: dict[str, Any]) -> dict[str, Any]:
    """A SAC baseline outside M^w (:func:`benchmarks.baselines.train_sac_baseline`)."""
    budget = comparison.budget
    cfg = baseline_config(method, comparison.env_id, {**entry, "eval_episodes": budget.eval_episodes})
    summary = train_sac_baseline(
        method,
        comparison.env_id,
        budget.env_steps,
        cfg,
        comparison.run_dir(method, seed),
        seed=seed,
        n_evals=budget.n_evals,
        final_episodes=budget.final_episodes,
        progress=comparison.progress,
    )
    return _trained_record(summary)


def _run_base(comparison: Comparison, method: str, seed: int, entry: dict[str, Any]) -> dict[str, Any]:
    """The base policy alone: one evaluation, drawn as a flat line over the whole budget."""
    cfg, _ = _train_config(comparison, "sac", entry, comparison.run_dir(method, seed))
    result = evaluate_base(comparison.env_id, BASE_NOISE[method], comparison.budget.final_episodes, seed=seed, env_kwargs=cfg.env_kwargs)
    final = {**result.as_dict(), "env_steps": 0}
    curve = [_curve_row({**final, "env_steps": steps}) for steps in (0, comparison.budget.env_steps)]
    return {"curve": curve, "final": final}


def runner(method: str) -> Runner:
    """The runner of ``method``."""
    if method in BASE_NOISE:
        return _run_base
    if method in DSRL_ALGOS:
        return _run_dsrl
    if method in SAC_BASELINES:
        return _run_baseline
    raise ValueError(f"unknown method {method!r}; expected some of {list(METHODS)}")
