"""Regenerate the MetaWorld demonstrations and shipped flow bases, from scratch, on CPU.

    python -m latent_mdp.builders.metaworld_checkpoints              # every task
    python -m latent_mdp.builders.metaworld_checkpoints --only push

Per task: MetaWorld's scripted policy records demonstrations (DART action noise, successes only)
into ``data/metaworld_<task>_demos`` unless that exists, the flow MLP is cloned from them for a
deliberately short time (so that the base succeeds sometimes but not always, leaving DSRL room),
and the base is evaluated on its ``DSRL-MetaWorld-<task>-flow-v0`` id with ``w ~ N(0, I)``. The
checkpoint lands in ``latent_mdp/assets/metaworld_<task>_flow/`` with a model card
(``README.md``) and ``card.json``: data, steps, CPU time, and the base's success with its 95%
interval.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from latent_mdp.builders.metaworld_demos import STATE_KEY, record_metaworld_demos, repo_id, task_description
from latent_mdp.builders.model_card import card_machine, write_model_card
from latent_mdp.builders.pusht_demos import load_bc_arrays
from latent_mdp.policies.flow_bc import fit_normalization, train_flow_bc
from latent_mdp.policies.flow_mlp import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.sb3.evaluation import evaluate_base_policy
from latent_mdp.tasks.metaworld.env import MAX_EPISODE_STEPS, METAWORLD_TASKS, preset_id
from latent_mdp.tasks.metaworld.presets import DEFAULTS, asset_dir

__all__ = ["RECIPES", "BaseRecipe", "build", "train_metaworld_flow"]

FLOW_CHUNK = 8
BATCH_SIZE = 256
EVAL_ENVS, EVAL_SEED = 10, 10_000


@dataclass(frozen=True)
class BaseRecipe:
    """How one task's base is made: demos recorded, and BC steps on them."""

    demo_episodes: int
    action_noise: float
    steps: int


RECIPES: dict[str, BaseRecipe] = {
    # short enough that each base succeeds sometimes but not always (its success: the model cards)
    "push": BaseRecipe(demo_episodes=100, action_noise=0.3, steps=250),
    "pick-place": BaseRecipe(demo_episodes=100, action_noise=0.3, steps=350),
}


def train_metaworld_flow(demos: Path, task: str, out: Path, steps: int, seed: int = 0) -> dict:
    """Clone the flow MLP (8-action chunks of the 39-d state) from ``task``'s demos; save it to ``out``."""
    data = load_bc_arrays(demos, FLOW_CHUNK, repo_id=repo_id(task), state_key=STATE_KEY)
    torch.manual_seed(seed)
    config = fit_normalization(FlowMLPConfig(obs_dim=39, action_dim=4, chunk_size=FLOW_CHUNK, hidden_dim=512), data.states, data.action_chunks)
    policy = FlowMLPPolicy(config)
    losses = train_flow_bc(policy, data.states, data.action_chunks, steps=steps, batch_size=BATCH_SIZE, seed=seed)
    policy.save_pretrained(out)
    last = losses[-100:]
    return {"frames": int(len(data.states)), "episodes": int(len(data.episode_bounds)), "final_loss": float(sum(last) / len(last)), "batch_size": BATCH_SIZE}


def _model_card(task: str, card: dict) -> str:
    base, recipe, data = card["base_policy"], card["recipe"], card["data"]
    low, high = base["success_interval_95"]
    demos = f"{data['episodes']} scripted episodes (DART action noise std {recipe['action_noise']}, successes only), {data['frames']} frames"
    return f"""# MetaWorld {task} flow base policy (latent-mdp)

A deliberately imperfect base policy for DSRL on `{preset_id(task)}` ("{card['description']}"),
cloned briefly from MetaWorld's own scripted policy. Regenerate with
`python -m latent_mdp.builders.metaworld_checkpoints --only {task}`.

| | |
|---|---|
| data | {demos} (`{card['demos']}`) |
| observation | MetaWorld v3 state (39,), goal included; 8-action chunks of (dx, dy, dz, gripper) |
| training | {recipe['steps']} steps, batch {card['data']['batch_size']}, final loss {card['data']['final_loss']:.4f} |
| CPU time | {card['demo_seconds']:.0f} s recording demos, {card['train_seconds'] / 60:.1f} min training on {card['machine']} |
| base success (w ~ N(0, I)) | **{base['success_rate']:.1%}** (95% CI {low:.1%}-{high:.1%}) over {base['episodes']} episodes |

Evaluation: {base['episodes']} episodes of at most {MAX_EPISODE_STEPS} steps, {EVAL_ENVS} envs seeded from {EVAL_SEED}, on the
id's defaults: a fresh `w ~ N(0, I)` for every action of the chunk, clipped at b_w = {DEFAULTS['noise_bound']}, the
first {DEFAULTS['action_horizon']} of its {FLOW_CHUNK} actions executed per noise.
"""


def build(task: str, demos: Path, recipe: BaseRecipe, eval_episodes: int) -> dict:
    """Record ``task``'s demos (if ``demos`` is missing), train and evaluate its base, write the card."""
    demo_seconds = 0.0
    if not demos.exists():
        stats = record_metaworld_demos(task, demos, recipe.demo_episodes, action_noise=recipe.action_noise, progress=True)
        demo_seconds = stats.seconds
    out = asset_dir(task)
    start = time.process_time()
    data = train_metaworld_flow(demos, task, out, recipe.steps)
    train_seconds = time.process_time() - start
    base = evaluate_base_policy(preset_id(task), eval_episodes, n_envs=EVAL_ENVS, seed=EVAL_SEED)
    card = {
        "task": task,
        "description": task_description(task),
        "demos": str(demos),
        "recipe": {"demo_episodes": recipe.demo_episodes, "action_noise": recipe.action_noise, "steps": recipe.steps},
        "demo_seconds": demo_seconds,
        "train_seconds": train_seconds,
        "machine": card_machine(),
        "data": data,
        "base_policy": base.as_dict(),
    }
    readme = write_model_card(out, card, _model_card(task, card))
    print(f"{task}: {base}; card written to {readme}")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(METAWORLD_TASKS), help=f"comma-separated tasks out of {list(METAWORLD_TASKS)}")
    parser.add_argument("--steps", type=int, default=None, help="BC steps (default: the task's recipe)")
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the demos are read or recorded")
    args = parser.parse_args()

    import datasets

    torch.set_num_threads(1)
    datasets.disable_progress_bars()
    tasks = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = sorted(set(tasks) - set(RECIPES))
    if unknown:
        parser.error(f"no recipe for {unknown}; available: {sorted(RECIPES)}")
    for task in tasks:
        recipe = RECIPES[task]
        if args.steps is not None:
            recipe = BaseRecipe(recipe.demo_episodes, recipe.action_noise, args.steps)
        build(task, args.data / f"metaworld_{task}_demos", recipe, args.eval_episodes)


if __name__ == "__main__":
    main()
