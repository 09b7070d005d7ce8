"""Training and evaluation runs behind the ``latent-mdp`` CLI.

A run directory holds everything a run makes: ``config.json`` (the resolved hyperparameters),
TensorBoard logs in ``tb/``, ``eval_history.json``, ``videos/*.mp4``, ``checkpoint/`` (model,
replay buffer, counters; ``--resume`` continues from it), ``best_model.zip``,
``final_model.zip`` and ``summary.json`` (the base policy beside the trained one).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from latent_mdp.envs.registry import make_inner
from latent_mdp.interrupt import DeferredInterrupt
from latent_mdp.sb3.buffer_files import load_buffer
from latent_mdp.sb3.callbacks import Checkpointer, InterruptCheck, LiveProgress, PeriodicEval, read_checkpoint_state
from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.sb3.evaluation import base_actor, evaluate, model_actor, paired_difference
from latent_mdp.sb3.hyperparams import TrainConfig, algorithm_class, load_hyperparams
from latent_mdp.sb3.vec_env import LatentActionVecEnv
from latent_mdp.sb3.warmup import warmup_replay_buffer
from latent_mdp.sb3.worker_vec_env import WorkerVecEnv
from latent_mdp.serve.errors import PolicyServerError
from latent_mdp.video import record_episode

__all__ = ["compare_with_base", "resolve_policy", "train"]

EVAL_SEED = 10_000
DEMO_SEED = 200_000
"""Expert demonstrations start from seeds of their own, apart from the evaluation's."""


COMPARED = {
    "base": "base policy, w ~ N(0, I)",
    "trained_stochastic": "trained actor, sampled noise",
    "trained": "trained actor's mean (not the product)",
}
"""What the final comparison can evaluate. The actor is evaluated as the DSRL paper does, with its
noise sampled; its mean alone is one fixed noise per state, which these bases handle badly."""


def compare_with_base(
    model: BaseAlgorithm,
    env: LatentActionVecEnv,
    episodes: int,
    seed: int = EVAL_SEED,
    parts: Sequence[str] = tuple(COMPARED),
) -> dict[str, Any]:
    """Evaluate the base policy (``w ~ N(0, I)``) and the trained actor on the same episodes.

    Returns:
        One summary per evaluated part (``parts``, keys of :data:`COMPARED`), and ``lift``: each
        trained part's paired success difference from the base, with its 95% interval.
    """
    unknown = set(parts) - set(COMPARED)
    if unknown or "base" not in parts:
        raise ValueError(f"parts must include 'base' and be among {list(COMPARED)}; got {list(parts)}")
    actors = {
        "base": base_actor(env.noise_space, env.num_envs, seed),
        "trained": model_actor(model),
        "trained_stochastic": model_actor(model, deterministic=False),
    }
    results = {name: evaluate(env, actors[name], episodes, seed=seed, progress=True) for name in parts}
    lift = {name: paired_difference(results[name], results["base"]).as_dict() for name in parts if name != "base"}
    return {**{name: result.as_dict() for name, result in results.items()}, "lift": lift}


def _maxima_keys(row: dict[str, Any]) -> list[str]:
    """The ``mean_max_<key>`` entries of an evaluation summary (the task's tracked maxima)."""
    return [key for key in row if key.startswith("mean_max_")]


def format_comparison(comparison: dict[str, Any]) -> str:
    """A small table: the base policy against the trained actor, with 95% intervals."""
    maxima = _maxima_keys(comparison["base"])
    headers = "".join(f" {'max ' + key.removeprefix('mean_max_'):>13s}" for key in maxima)
    lines = [f"{'':40s} {'success (95% CI)':>22s}{headers} {'return':>8s}"]
    for name, label in COMPARED.items():
        if name not in comparison:
            continue
        row = comparison[name]
        low, high = row["success_interval_95"]
        success = f"{row['success_rate']:.1%} ({low:.1%}-{high:.1%})"
        values = "".join(f" {row[key]:13.3f}" for key in maxima)
        lines.append(f"{label:40s} {success:>22s}{values} {row['mean_return']:8.2f}")
    for name, diff in comparison["lift"].items():
        verdict = "excludes 0" if diff["excludes_zero"] else "includes 0"
        lines.append(
            f"{COMPARED[name]} - base: {diff['difference']:+.1%} "
            f"(paired 95% CI {diff['low']:+.1%} to {diff['high']:+.1%}; {verdict})"
        )
    lines.append(f"({comparison['base']['episodes']} episodes each, the same start states; the actor's noise is sampled, as in the DSRL paper)")
    return "\n".join(lines)


def resolve_policy(algo: str, policy: str, observation_space: gym.Space) -> str | type:
    """The SB3 policy (a name SB3 knows, or a class) for a YAML ``policy`` name and M^w's observation space."""
    dict_obs = isinstance(observation_space, gym.spaces.Dict)
    if policy == "MlpPolicy" and dict_obs:
        return "MultiInputPolicy"  # SB3's name for the same networks on Dict observations (obs_mode="both")
    if policy == "NoisePriorPolicy":
        if algo != "sac":
            raise ValueError(f"policy NoisePriorPolicy is for sac; got algo {algo!r}")
        from latent_mdp.sb3.noise_prior import MultiInputNoisePriorPolicy, NoisePriorPolicy

        return MultiInputNoisePriorPolicy if dict_obs else NoisePriorPolicy
    return policy


def _build_model(cfg: TrainConfig, env: LatentActionVecEnv, seed: int, run_dir: Path) -> BaseAlgorithm:
    cls = algorithm_class(cfg.algo)
    kwargs = cfg.constructor_kwargs(env.core.env_steps_per_action)
    policy = resolve_policy(cfg.algo, kwargs.pop("policy", "MlpPolicy"), env.observation_space)
    if cfg.demos is not None and cfg.algo != "dsrl-na":  # DSRL-NA keeps them in its own buffer (_add_demos)
        from latent_mdp.sb3.demo_buffer import DemoReplayBuffer

        kwargs["replay_buffer_class"] = DemoReplayBuffer
        kwargs["replay_buffer_kwargs"] = {
            "demo_fraction": float(cfg.demos.get("fraction", 0.5)),
            # SB3 builds its own NStepReplayBuffer only without a custom buffer class, so the
            # demonstrations' buffer takes the n-step returns over.
            "n_steps": kwargs.pop("n_steps", 1),
            "gamma": kwargs["gamma"],
        }
    return cls(policy, env, seed=seed, tensorboard_log=str(run_dir / "tb"), verbose=0, **kwargs)


def _add_demos(model: BaseAlgorithm, env_id: str, cfg: TrainConfig, env: LatentActionVecEnv, seed: int) -> None:
    """Record the configured expert episodes and store them: for DSRL-NA as real-action transitions
    (its action critic learns from chunks), for the SB3 algorithms inverted into latent transitions."""
    from latent_mdp.demo_noise import LatentTransitions, invert_episode
    from latent_mdp.envs.registry import expert_episodes

    assert cfg.demos is not None
    n, fraction = int(cfg.demos["episodes"]), float(cfg.demos.get("fraction", 0.5))
    episodes = expert_episodes(env_id, n, cfg.env_kwargs.get("task_reward"), seed=DEMO_SEED + 1000 * seed)
    if cfg.algo == "dsrl-na":
        m = model.add_episodes(episodes, fraction=fraction)  # type: ignore[attr-defined]
        tqdm.write(f"demos: {n} expert episodes ({sum(e.terminated for e in episodes)} successful) -> {m} chunk transitions, {fraction:.0%} of every batch")
        return
    core = env.core
    parts = [invert_episode(core, e.observations, e.actions, e.rewards, terminated=e.terminated) for e in episodes]
    transitions = LatentTransitions.concatenate(parts)
    model.replay_buffer.add_demos(transitions)  # type: ignore[union-attr]
    tqdm.write(
        f"demos: {n} expert episodes ({sum(e.terminated for e in episodes)} successful) -> {len(transitions)} "
        f"latent transitions; inverted noise decodes within {transitions.decode_error.mean():.3g} env units (mean)"
    )


def _training_env(env_id: str, cfg: TrainConfig, policy_server: str | None) -> LatentActionVecEnv | WorkerVecEnv:
    """The training envs: one process over a local policy, or worker processes over a policy server."""
    if policy_server is None:
        return make_sb3_vec_env(env_id, cfg.n_envs, **cfg.env_kwargs)
    return WorkerVecEnv(env_id, cfg.n_envs, policy_server, **cfg.env_kwargs)


def train(
    env_id: str,
    algo: str,
    steps: int,
    *,
    n_envs: int | None = None,
    seed: int = 0,
    config: str | Path | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    videos: bool = True,
    final_episodes: int = 100,
    compared: Sequence[str] = tuple(COMPARED),
    progress: bool = True,
    policy_server: str | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` for ``steps`` latent steps (all envs together); return the summary.

    Args:
        steps: the budget in latent (agent) steps, counted over all envs as SB3 does; each
            latent step executes ``action_horizon`` inner env steps (fewer at an episode end).
        n_envs: overrides the YAML's ``n_envs``.
        config: a YAML whose entry for ``env_id`` overrides the shipped hyperparameters.
        run_dir: where everything goes (default ``runs/<env_id>_<algo>_s<seed>``).
        resume: continue from ``run_dir``'s checkpoint (error if there is none).
        final_episodes: episodes of the final base-versus-trained comparison.
        compared: what that comparison evaluates (keys of :data:`COMPARED`, ``"base"`` included).
        policy_server: a policy server's address (``latent-mdp serve``): the ``n_envs`` envs run
            in worker processes (:class:`~latent_mdp.sb3.worker_vec_env.WorkerVecEnv`) whose policy
            calls the server batches. If the server fails, a checkpoint is saved and
            :class:`~latent_mdp.serve.errors.PolicyServerError` raised; ``resume`` continues.
    """
    cfg = load_hyperparams(env_id, algo, config)
    if n_envs is not None:
        cfg.n_envs = n_envs
    run_dir = Path(run_dir or f"runs/{env_id}_{algo}_s{seed}")
    checkpoint = read_checkpoint_state(run_dir) if resume else None
    if resume and checkpoint is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {run_dir / 'checkpoint'}")
    if not resume and (run_dir / "checkpoint").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps({"env_id": env_id, "seed": seed, "steps": steps, **asdict(cfg)}, indent=2, default=str))

    env = _training_env(env_id, cfg, policy_server)
    env.seed(seed)
    eval_env = make_sb3_vec_env(env_id, min(10, cfg.eval_episodes), **with_policy(cfg.env_kwargs, env.base_policy))
    start, seconds_before = time.perf_counter(), 0.0
    if checkpoint is not None:
        model_path, buffer_path, state = checkpoint
        model = algorithm_class(algo).load(model_path, env=env, tensorboard_log=str(run_dir / "tb"))
        model.replay_buffer = load_buffer(buffer_path, model.device)
        env_steps, seconds_before = state["env_steps"], float(state.get("train_seconds", 0.0))
        tqdm.write(f"resuming {run_dir} at {model.num_timesteps} latent steps")
    else:
        model = _build_model(cfg, env, seed, run_dir)
        if cfg.demos is not None:
            _add_demos(model, env_id, cfg, env, seed)
        env_steps = 0  # the warm-up's env steps count in the budget's env steps
        if cfg.warmup_steps:
            with DeferredInterrupt() as interrupt:
                try:
                    env_steps = warmup_replay_buffer(
                        model, cfg.warmup_steps, seed=seed, progress=progress, check=interrupt.check
                    ).env_steps
                except KeyboardInterrupt:
                    tqdm.write(f"interrupted during the Gaussian warm-up: no checkpoint exists yet in {run_dir}; start again without --resume")
                    raise

    def save_video(row: dict[str, Any]) -> None:
        nonlocal videos
        if not videos:
            return
        try:
            record_episode(
                video_env(env_id, cfg.env_kwargs, env.base_policy),
                env.core,
                model_actor(model),
                run_dir / "videos" / f"eval_{row['env_steps']:08d}.mp4",
                seed=EVAL_SEED,
                metrics=env.task_metrics,
            )
        except Exception as error:  # noqa: BLE001  (a renderer's failure must not end a training run)
            videos = False
            tqdm.write(f"videos off for this run: {env_id} cannot render ({type(error).__name__}: {error}); pass --no-video to skip them")

    live = LiveProgress(steps, env_steps=env_steps, show=progress)
    periodic = PeriodicEval(eval_env, cfg.eval_freq, cfg.eval_episodes, run_dir, live, seed=EVAL_SEED, on_eval=save_video)
    checkpointer = Checkpointer(run_dir, save_freq=cfg.eval_freq, progress=live, seconds_before=seconds_before, started_at=start)
    remaining = max(0, steps - model.num_timesteps)
    with DeferredInterrupt() as interrupt:
        try:
            callbacks = [InterruptCheck(interrupt.check), live, periodic, checkpointer]
            model.learn(remaining, callback=callbacks, reset_num_timesteps=checkpoint is None, tb_log_name="run")
        except KeyboardInterrupt:
            checkpointer.save()
            tqdm.write(f"interrupted: saved a checkpoint at {model.num_timesteps} latent steps; continue with --resume")
            raise
        except PolicyServerError as error:
            checkpointer.save()  # the failed step stored nothing, so the buffer holds whole transitions only
            env.close()
            eval_env.close()
            raise type(error)(f"{error}\nsaved a checkpoint at {model.num_timesteps} latent steps; continue with --resume once the server is back") from error
    checkpointer.save()
    model.save(run_dir / "final_model.zip")
    seconds = checkpointer.train_seconds
    comparison = compare_with_base(model, eval_env, final_episodes, parts=compared)
    _log_final(model, comparison)
    summary = {
        "env_id": env_id,
        "algo": algo,
        "seed": seed,
        "latent_steps": model.num_timesteps,
        "env_steps": live.env_steps,
        "train_seconds": seconds,
        **comparison,
        "eval_history": periodic.history,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{env_id} / {algo}, seed {seed}: {live.env_steps} env steps in {seconds / 60:.1f} min")
    print(format_comparison(comparison))
    env.close()
    eval_env.close()
    return summary


def _log_final(model: BaseAlgorithm, comparison: dict[str, Any]) -> None:
    """Write the final comparison to TensorBoard at the last step, and flush and close the writer."""
    for name in COMPARED:
        if name in comparison:
            for key in ("success_rate", *_maxima_keys(comparison[name]), "mean_return"):
                model.logger.record(f"final/{name}/{key}", comparison[name][key])
    model.logger.dump(model.num_timesteps)
    model.logger.close()


def with_policy(env_kwargs: dict[str, Any], policy: Any) -> dict[str, Any]:
    """The run's env kwargs with its loaded base ``policy`` in place of ``policy_path`` (not loaded twice)."""
    return {key: value for key, value in env_kwargs.items() if key != "policy_path"} | {"policy": policy}


def video_env(env_id: str, env_kwargs: dict[str, Any], policy: Any) -> Any:
    """The inner env of ``env_id`` rendering RGB frames, built with the run's env kwargs and its loaded base ``policy``."""
    kwargs = with_policy(env_kwargs, policy)
    return make_inner(env_id, "rgb_array", kwargs.pop("task_reward", None), **kwargs)


def evaluate_saved(env_id: str, model_path: str | Path, episodes: int, *, algo: str | None = None, video: Path | None = None) -> dict[str, Any]:
    """Evaluate a saved model beside the base policy on ``env_id`` (the ``eval`` subcommand)."""
    model_path = Path(model_path)
    if not model_path.exists():
        raise FileNotFoundError(f"no saved model at {model_path}")
    config_file = model_path.parent / "config.json"
    env_kwargs: dict[str, Any] = {}
    if config_file.exists():
        saved = json.loads(config_file.read_text())
        algo = algo or saved.get("algo")
        env_kwargs = saved.get("env_kwargs", {})
    if algo is None:
        raise ValueError(f"cannot tell the algorithm of {model_path}: pass --algo")
    env = make_sb3_vec_env(env_id, min(10, episodes), **env_kwargs)
    model = algorithm_class(algo).load(model_path, env=env)
    comparison = compare_with_base(model, env, episodes)
    print(format_comparison(comparison))
    if video is not None:
        inner = video_env(env_id, env_kwargs, env.base_policy)
        stats = record_episode(inner, env.core, model_actor(model), video, seed=EVAL_SEED, metrics=env.task_metrics)
        print(f"video: {video} ({int(stats['frames'])} frames, success {bool(stats['success'])})")
    env.close()
    return comparison
