"""Behaviour cloning of the tiny LeRobot base policies (pi0, pi0.5, SmolVLA, DiffusionPolicy) on PushT.

Each step is LeRobot's own training step (``lerobot_train.update_policy``)::

    batch = preprocessor(batch); loss, _ = policy.forward(batch); loss.backward(); AdamW step

on a policy from :func:`latent_mdp.policies.lerobot.build_random_policy` whose normalizers hold the
dataset's own statistics (``LeRobotDataset.meta.stats``). The result is saved in LeRobot's
checkpoint layout, loadable offline by ``LeRobotNoisePolicy.from_pretrained``.

Data: the demonstrations are read once through LeRobot's reader (``LeRobotDataset(repo_id,
root=...)``), column-wise from its ``hf_dataset``: frame-wise ``__getitem__`` with
``delta_timestamps`` costs about 5 ms a frame (PNG decode + chunk query), which would dominate a
CPU training step. The action chunks are built as ``delta_timestamps={"action": [0, 0.1, ...]}``
builds them: actions ``t .. t+H-1`` of the same episode, the last one repeated past its end and
flagged in ``action_is_pad`` (``tests/test_lerobot_training.py`` checks the two agree).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latent_mdp.builders.lerobot_models import TINY_PI_ARCHITECTURE, build_random_policy
from latent_mdp.builders.pusht_demos import REPO_ID, TASK, action_chunks
from latent_mdp.policies.lerobot.architecture import GemmaSize, PiArchitecture, VisionSize

__all__ = [
    "PUSHT_PI_SIZE",
    "RECIPES",
    "DemoTensors",
    "LeRobotRecipe",
    "frame_quantiles",
    "frame_stats",
    "load_demo_tensors",
    "train_lerobot_checkpoint",
]

IMAGE_KEY = "observation.image"


@dataclass(frozen=True)
class LeRobotRecipe:
    """How one tiny LeRobot policy kind is built and trained on PushT.

    Attributes:
        policy_type: LeRobot policy type (``pi0``, ``pi05``, ``smolvla``, ``diffusion``).
        chunk_size: ``H``, the predicted action chunk (DiffusionPolicy: ``horizon``).
        n_action_steps: actions executed per chunk (the DSRL ``action_horizon`` default).
        observation: a one-line description for the model card.
        config_overrides: more LeRobot config fields (see ``build_random_policy``).
        environment_state: VLAs: also read the block keypoints, appended to the state.
        relative_actions: VLAs: predict actions relative to the agent position.
        block_pose: with ``environment_state``: read the block pose (centroid, angle's cos / sin)
            made from the keypoints (:mod:`latent_mdp.tasks.pusht.block_pose`) instead.
        pi_size: pi0 / pi0.5 network sizes (default: the tiny test sizes).
        smolvlm_size: SmolVLA's backbone size (a key of ``tiny.SMOLVLM_SIZES``).
        batch_size, lr, weight_decay, warmup_steps, grad_clip: AdamW with linear warm-up and a
            cosine decay to ``lr / 10``.
    """

    policy_type: str
    chunk_size: int
    n_action_steps: int
    observation: str
    config_overrides: dict[str, Any] = field(default_factory=dict)
    environment_state: bool = False
    relative_actions: bool = False
    block_pose: bool = False
    pi_size: PiArchitecture = TINY_PI_ARCHITECTURE
    smolvlm_size: str = "tiny"
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    grad_clip: float = 1.0


_PIXELS = (
    "96x96 RGB `observation.image` + `observation.state` (agent_pos, 2) + `observation.environment_state` "
    "(8 T keypoints, 16; appended to the state after normalization) + task string; actions relative to agent_pos"
)
_PIXELS_POSE = (
    "96x96 RGB `observation.image` + `observation.state` (agent_pos, 2) + `observation.environment_state` "
    "(8 T keypoints, 16, made the block pose: centroid x, y and the angle's cos, sin; appended to the state after "
    "normalization) + task string; actions relative to agent_pos"
)
PUSHT_PI_SIZE = PiArchitecture(
    vlm=GemmaSize(width=64, depth=2, mlp_dim=128),
    expert=GemmaSize(width=64, depth=2, mlp_dim=256),
    vision=VisionSize(hidden_size=64, intermediate_size=128, num_hidden_layers=2),
    vocab_size=272,
)
"""pi0 / pi0.5 sizes of the shipped PushT checkpoints: the tiny test sizes learned too little to
succeed at all (benchmarks/results/vla_base_probes.md)."""
# Every VLA: block keypoints in the state, actions relative to the agent (LeRobot's
# use_relative_actions), 4 of 16 actions per chunk (pi0 succeeded more often re-planning every 4 than every 8).
_VLA = {"environment_state": True, "relative_actions": True}
RECIPES: dict[str, LeRobotRecipe] = {
    "pi0": LeRobotRecipe("pi0", 16, 4, _PIXELS, pi_size=PUSHT_PI_SIZE, **_VLA),
    # pi0.5 reads its state values as prompt numbers, one token each (tokenizer.byte_tokenizer):
    # 6 of them with the block pose instead of the 16 keypoint coordinates.
    "pi05": LeRobotRecipe(
        "pi05", 16, 4, _PIXELS_POSE, pi_size=replace(PUSHT_PI_SIZE, vocab_size=528), block_pose=True, **_VLA
    ),
    "smolvla": LeRobotRecipe("smolvla", 16, 4, _PIXELS, smolvlm_size="pusht", **_VLA),
    "diffusion": LeRobotRecipe(
        "diffusion",
        8,
        8,
        "`observation.environment_state` (8 T keypoints, 16) + `observation.state` (agent_pos, 2); DDIM, 10 steps",
        # LeRobot's default mapping has no ENV entry, which would feed the keypoints raw, in [0, 512].
        {
            "down_dims": (64, 128),
            "diffusion_step_embed_dim": 32,
            "n_groups": 8,
            "normalization_mapping": {"VISUAL": "MEAN_STD", "STATE": "MIN_MAX", "ENV": "MIN_MAX", "ACTION": "MIN_MAX"},
        },
        batch_size=256,
        lr=2e-3,
        grad_clip=10.0,
    ),
}


@dataclass(frozen=True)
class DemoTensors:
    """The demonstrations in memory, in LeRobot's batch layout; ``N`` frames, ``E`` episodes.

    Attributes:
        observations: ``observation.*`` key -> ``(N, ...)``: ``observation.image`` uint8
            ``(N, 3, 96, 96)`` (made float ``[0, 1]`` per batch), vectors float32 ``(N, D)``.
        actions: ``(N, H, A)`` float32 action chunks.
        action_is_pad: ``(N, H)`` bool, true past the episode's end.
        stats: ``LeRobotDataset.meta.stats`` as tensors (normalizer statistics).
        episodes: ``E``.
        task: the episodes' task string.
    """

    observations: dict[str, torch.Tensor]
    actions: torch.Tensor
    action_is_pad: torch.Tensor
    stats: dict[str, dict[str, torch.Tensor]]
    episodes: int
    task: str

    @property
    def frames(self) -> int:
        return int(len(self.actions))

    def batch(self, index: torch.Tensor, n_obs_steps: int | None = None) -> dict[str, Any]:
        """The raw LeRobot training batch of frames ``index`` (B,), before the preprocessor.

        Args:
            n_obs_steps: DiffusionPolicy's observation history; adds that axis ``(B, S, ...)``
                (only ``1`` is supported); ``None`` for the VLAs ``(B, ...)``.
        """
        batch: dict[str, Any] = {}
        for key, values in self.observations.items():
            value = values[index]
            if key == IMAGE_KEY:
                value = value.float() / 255.0
            batch[key] = value if n_obs_steps is None else value.unsqueeze(1)
        batch["action"] = self.actions[index]
        batch["action_is_pad"] = self.action_is_pad[index]
        batch["task"] = [self.task] * len(index)
        return batch


def frame_quantiles(values: torch.Tensor) -> dict[str, torch.Tensor]:
    """LeRobot's quantile statistics (``q01`` .. ``q99``) of ``(N, D)`` frames, over all frames.

    ``LeRobotDataset.meta.stats`` averages each episode's quantiles instead. A PushT episode keeps
    the block in one place, so that average is far narrower than the data: pi0.5's quantile
    normalization then sends most states outside ``[-1, 1]`` and its prompt reads only the
    end bins (-1 and 255), which left the shipped pi0.5 blind to its state.
    """
    from lerobot.datasets.compute_stats import DEFAULT_QUANTILES

    levels = torch.tensor(DEFAULT_QUANTILES, dtype=torch.float64)
    values = torch.quantile(values.double(), levels, dim=0).float()
    return {f"q{round(q * 100):02d}": value for q, value in zip(DEFAULT_QUANTILES, values)}


def frame_stats(values: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean, std, min, max and :func:`frame_quantiles` of ``(N, D)`` frames."""
    values = values.float()
    moments = {"mean": values.mean(0), "std": values.std(0), "min": values.min(0).values, "max": values.max(0).values}
    return moments | frame_quantiles(values)


def load_demo_tensors(
    root: str | Path, keys: list[str], chunk_size: int, repo_id: str = REPO_ID, *, relative_actions: bool = False
) -> DemoTensors:
    """Read the ``keys`` observations and ``chunk_size``-action chunks of a demo dataset.

    Args:
        root: a LeRobotDataset written by :func:`latent_mdp.builders.pusht_demos.record_demos`.
        keys: the ``observation.*`` inputs the policy reads.
        chunk_size: ``H``.
        relative_actions: ``stats["action"]`` are those of ``action[t + i] - observation.state[t]``
            over every in-episode chunk (LeRobot's ``compute_relative_action_stats``), what the
            normalizer sees after ``RelativeActionsProcessorStep``.

    The vector observations' quantiles are taken over all frames (:func:`frame_quantiles`).
    """
    from lerobot.datasets.compute_stats import compute_relative_action_stats
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id, root=root)
    table = dataset.hf_dataset.select_columns([*keys, "action", "episode_index"]).with_format("numpy")[:]
    episodes = table["episode_index"]
    starts = np.flatnonzero(np.r_[True, episodes[1:] != episodes[:-1]])
    bounds = np.stack([starts, np.r_[starts[1:], len(episodes)]], axis=1)
    actions = np.asarray(table["action"], dtype=np.float32)
    frame = np.arange(len(actions))
    end = np.repeat(bounds[:, 1], bounds[:, 1] - bounds[:, 0])
    observations = {}
    for key in keys:
        value = torch.from_numpy(np.ascontiguousarray(table[key]))
        observations[key] = value.permute(0, 3, 1, 2).contiguous() if key == IMAGE_KEY else value.float()
    stats = {
        key: {name: torch.as_tensor(np.asarray(v), dtype=torch.float32) for name, v in entry.items()}
        for key, entry in dataset.meta.stats.items()
        if key in (*keys, "action")
    }
    for key in keys:
        if key != IMAGE_KEY:
            stats[key] |= frame_quantiles(observations[key])
    if relative_actions:
        relative = compute_relative_action_stats(dataset.hf_dataset, dataset.meta.features, chunk_size, exclude_joints=[])
        stats["action"] = {name: torch.as_tensor(np.asarray(v), dtype=torch.float32) for name, v in relative.items()}
    tasks = list(dataset.meta.tasks.index)
    return DemoTensors(
        observations=observations,
        actions=torch.from_numpy(action_chunks(actions, bounds, chunk_size)),
        action_is_pad=torch.from_numpy(frame[:, None] + np.arange(chunk_size) >= end[:, None]),
        stats=stats,
        episodes=int(len(bounds)),
        task=str(tasks[0]) if tasks else TASK,
    )


def _lr_factor(step: int, steps: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from 1 to 0.1."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.1 + 0.45 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train_lerobot_checkpoint(
    kind: str,
    demos: Path,
    out: Path,
    steps: int,
    seed: int = 0,
    *,
    recipe: LeRobotRecipe | None = None,
    log_every: int = 500,
) -> dict[str, Any]:
    """Train the tiny LeRobot policy of ``kind`` on the demos and save it to ``out`` (replaced).

    Returns:
        The model card's data entry: ``episodes``, ``frames``, ``observation``, ``final_loss``
        (mean of the last 10% of steps), ``batch_size``, plus the recipe and parameter count.
    """
    recipe = recipe or RECIPES[kind]
    keys = ["observation.environment_state", "observation.state"] if recipe.policy_type == "diffusion" else [
        IMAGE_KEY,
        "observation.state",
        *(["observation.environment_state"] if recipe.environment_state else []),
    ]
    data = load_demo_tensors(demos, keys, recipe.chunk_size, relative_actions=recipe.relative_actions)
    if recipe.block_pose:
        from latent_mdp.tasks.pusht.block_pose import block_pose

        keypoints = data.observations["observation.environment_state"]
        data.stats["observation.environment_state"] = frame_stats(block_pose(keypoints))
    if out.exists():
        shutil.rmtree(out)
    built = build_random_policy(
        recipe.policy_type,
        out,
        chunk_size=recipe.chunk_size,
        seed=seed,
        dataset_stats=data.stats,
        config_overrides={"n_action_steps": recipe.n_action_steps, **recipe.config_overrides},
        environment_state=recipe.environment_state,
        relative_actions=recipe.relative_actions,
        pi_size=recipe.pi_size,
        smolvlm_size=recipe.smolvlm_size,
        block_pose=recipe.block_pose,
    )
    policy, preprocessor = built.policy, built.preprocessor
    n_obs_steps = getattr(policy.config, "n_obs_steps", None) if recipe.policy_type == "diffusion" else None
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, steps, recipe.warmup_steps))
    generator = torch.Generator().manual_seed(seed)
    policy.train()
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(steps):
        index = torch.randint(data.frames, (recipe.batch_size,), generator=generator)
        loss, _ = policy.forward(preprocessor(data.batch(index, n_obs_steps)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            recent = sum(losses[-log_every:]) / log_every
            print(f"{kind} step {step + 1}/{steps}: loss {recent:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    policy.eval()
    built.save_pretrained(out)
    tail = losses[-max(1, steps // 10) :]
    return {
        "observation": recipe.observation,
        "episodes": data.episodes,
        "frames": data.frames,
        "final_loss": float(sum(tail) / len(tail)),
        "batch_size": recipe.batch_size,
        "policy_type": recipe.policy_type,
        "chunk_size": recipe.chunk_size,
        "n_action_steps": recipe.n_action_steps,
        "lr": recipe.lr,
        "parameters": int(sum(p.numel() for p in policy.parameters())),
        "config_overrides": dict(recipe.config_overrides),
    }
