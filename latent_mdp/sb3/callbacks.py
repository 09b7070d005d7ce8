"""SB3 callbacks of the training CLI: live progress, periodic evaluation, resumable checkpoints."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from latent_mdp.metrics import EpisodeMetrics, EpisodeTracker
from latent_mdp.sb3.buffer_files import save_buffer
from latent_mdp.sb3.evaluation import env_metrics, evaluate, model_actor

__all__ = ["Checkpointer", "LiveProgress", "PeriodicEval", "read_checkpoint_state"]

STATE_FILE = "state.json"
MODEL_FILE = "latest_model.zip"
BUFFER_FILE = "replay_buffer.pkl"


class LiveProgress(BaseCallback):
    """A progress bar over latent steps with the live success rate (and tracked maxima) of finished episodes.

    Also counts inner env steps (``info["inner_steps"]``), and logs ``rollout/success_rate``,
    ``rollout/max_<key>`` for each maximum the env's task metrics track, and ``rollout/env_steps``
    to the SB3 logger (TensorBoard).
    """

    def __init__(
        self, total_timesteps: int, env_steps: int = 0, window: int = 50, show: bool = True, metrics: EpisodeMetrics | None = None
    ) -> None:
        super().__init__()
        self.metrics = metrics
        """The task's info keys (default: the training env's ``task_metrics``)."""
        self.total_timesteps = total_timesteps
        self.env_steps = env_steps
        self.window = window
        self.successes: deque[float] = deque(maxlen=window)
        self.maxima: dict[str, deque[float]] = {}
        self.show = show
        self._bar: tqdm | None = None
        self._tracker: EpisodeTracker | None = None

    def _on_training_start(self) -> None:
        metrics = env_metrics(self.training_env) if self.metrics is None else self.metrics
        self._tracker = EpisodeTracker(self.training_env.num_envs, metrics)
        self.maxima = {key: deque(maxlen=self.window) for key in metrics.maxima}
        self._bar = tqdm(total=self.total_timesteps, initial=self.num_timesteps, desc="train", unit="step", disable=not self.show)

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        self.env_steps += sum(int(info.get("inner_steps", 1)) for info in infos)
        assert self._tracker is not None
        for record in self._tracker.step(self.locals["rewards"], self.locals["dones"], infos):
            self.successes.append(float(record.success))
            for key, value in record.maxima.items():
                self.maxima[key].append(value)
        self.logger.record("rollout/env_steps", self.env_steps)
        live = {"success": float(np.mean(self.successes))} if self.successes else {}
        if self.successes:
            live |= {key: float(np.mean(values)) for key, values in self.maxima.items()}
            self.logger.record("rollout/success_rate", live["success"])
            for key in self.maxima:
                self.logger.record(f"rollout/max_{key}", live[key])
        if self._bar is not None:
            self._bar.n = min(self.num_timesteps, self.total_timesteps)
            postfix: dict[str, Any] = {"env_steps": self.env_steps}
            postfix.update({key: f"{value:.3f}" for key, value in live.items()})
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(0)
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()


class PeriodicEval(BaseCallback):
    """Every ``eval_freq`` vector steps: evaluate the actor, log, keep the best model.

    Each evaluation runs the actor's mean action (deterministic) and, on the same seeds, samples
    of it (``stochastic``): on M^w a collapsed noise choice can stall where fresh noise escapes.
    Rows go to ``history_path`` (JSON list with ``timesteps``, ``env_steps``, the deterministic
    :class:`EvalResult` fields and ``stochastic``). The best model is kept by the deterministic
    score. ``on_eval(row)`` runs after each evaluation (videos).
    """

    def __init__(
        self,
        eval_env: VecEnv,
        eval_freq: int,
        episodes: int,
        run_dir: Path,
        progress: LiveProgress,
        seed: int = 10_000,
        on_eval: Callable[[dict[str, Any]], None] | None = None,
        metrics: EpisodeMetrics | None = None,
    ) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.metrics = env_metrics(eval_env) if metrics is None else metrics
        """The task's info keys (default: the evaluation env's ``task_metrics``)."""
        self.eval_freq = eval_freq
        self.episodes = episodes
        self.run_dir = run_dir
        self.progress = progress
        self.seed = seed
        self.on_eval = on_eval
        self.history_path = run_dir / "eval_history.json"
        self.history: list[dict[str, Any]] = json.loads(self.history_path.read_text()) if self.history_path.exists() else []
        self.best = max(self._score(row) for row in self.history) if self.history else None

    def _score(self, row: dict[str, Any]) -> tuple[float, ...]:
        """What the best model is kept by: the success rate, then the first tracked maximum."""
        keys = self.metrics.result_keys()[:1]
        return (row["success_rate"], *(row.get(key, 0.0) for key in keys))

    def _on_step(self) -> bool:
        if self.n_calls % self.eval_freq:
            return True
        result = evaluate(self.eval_env, model_actor(self.model), self.episodes, seed=self.seed, metrics=self.metrics)
        stochastic = evaluate(self.eval_env, model_actor(self.model, False), self.episodes, seed=self.seed, metrics=self.metrics)
        row = {
            "timesteps": self.num_timesteps,
            "env_steps": self.progress.env_steps,
            **result.as_dict(),
            "stochastic": stochastic.as_dict(),
        }
        self.history.append(row)
        _write_json(self.history_path, self.history)
        for key in ("success_rate", *self.metrics.result_keys(), "mean_return"):
            self.logger.record(f"eval/{key}", row[key])
            self.logger.record(f"eval_stochastic/{key}", row["stochastic"][key])
        self.logger.dump(self.num_timesteps)  # now: SB3 would dump only at its next log interval, or never
        tqdm.write(f"[eval @ {row['env_steps']} env steps] deterministic: {result}; stochastic: {stochastic}")
        score = self._score(row)
        if self.best is None or score > self.best:
            self.best = score
            self.model.save(self.run_dir / "best_model.zip")
        if self.on_eval is not None:
            self.on_eval(row)
        return True


class InterruptCheck(BaseCallback):
    """Acts on a deferred Ctrl-C before each rollout, when the last transition is stored and no step is under way."""

    def __init__(self, check: Callable[[], None]) -> None:
        super().__init__()
        self.check = check

    def _on_rollout_start(self) -> None:
        self.check()

    def _on_step(self) -> bool:
        return True


class Checkpointer(BaseCallback):
    """Every ``save_freq`` vector steps: save the model, its replay buffer and the counters.

    The counters are the latent and env steps and the run's wall time (``seconds_before``, the
    time of the segments before a resume, plus this segment's since ``started_at``, a
    ``time.perf_counter()`` reading that defaults to when the checkpointer was made).

    Files are replaced atomically, so an interruption mid-save leaves the previous checkpoint.
    """

    def __init__(
        self,
        run_dir: Path,
        save_freq: int,
        progress: LiveProgress,
        seconds_before: float = 0.0,
        started_at: float | None = None,
    ) -> None:
        super().__init__()
        self.dir = run_dir / "checkpoint"
        self.save_freq = save_freq
        self.progress = progress
        self.seconds_before = seconds_before
        self._start = time.perf_counter() if started_at is None else started_at

    @property
    def train_seconds(self) -> float:
        """Wall time of the run so far, the earlier segments of a resumed run included."""
        return self.seconds_before + time.perf_counter() - self._start

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq == 0:
            self.save()
        return True

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.model.save(self.dir / "tmp_model.zip")
        os.replace(self.dir / "tmp_model.zip", self.dir / MODEL_FILE)
        save_buffer(self.model.replay_buffer, self.dir / BUFFER_FILE)
        state = {"timesteps": self.model.num_timesteps, "env_steps": self.progress.env_steps, "train_seconds": self.train_seconds}
        _write_json(self.dir / STATE_FILE, state)


def read_checkpoint_state(run_dir: Path) -> tuple[Path, Path, dict[str, int]] | None:
    """The model, buffer and counters of ``run_dir``'s checkpoint, or None when there is none."""
    directory = run_dir / "checkpoint"
    if not (directory / STATE_FILE).exists():
        return None
    return directory / MODEL_FILE, directory / BUFFER_FILE, json.loads((directory / STATE_FILE).read_text())


def _write_json(path: Path, content: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(tmp, path)
