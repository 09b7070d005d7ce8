"""Regenerate the PushT demonstrations and the shipped base checkpoints, from scratch, on CPU.

    python -m latent_mdp.builders.pusht_checkpoints            # demos (if missing) + every checkpoint
    python -m latent_mdp.builders.pusht_checkpoints --only flow

Each checkpoint lands in ``latent_mdp/assets/pusht_<kind>/`` with a model card (``README.md``)
and ``card.json``: the data, the training steps and CPU time, and the base policy's success rate
and mean max coverage over 100 evaluation episodes with ``w ~ N(0, I)``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path
from typing import Callable

import torch

from latent_mdp.builders.model_card import card_machine, write_model_card
from latent_mdp.builders.pusht_demos import TASK, load_bc_arrays, record_demos
from latent_mdp.builders.pusht_lerobot_training import RECIPES, train_lerobot_checkpoint
from latent_mdp.policies.flow_bc import fit_normalization, train_flow_bc
from latent_mdp.policies.flow_mlp import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.sb3.evaluation import evaluate_base_policy
from latent_mdp.tasks.pusht.presets import ASSETS, VARIANTS

__all__ = ["train_flow_checkpoint"]

FLOW_CHUNK = 8


def train_flow_checkpoint(demos: Path, out: Path, steps: int, seed: int = 0) -> dict:
    """Train the built-in flow MLP on the demos' state observations; save it to ``out``."""
    data = load_bc_arrays(demos, FLOW_CHUNK)
    torch.manual_seed(seed)
    config = FlowMLPConfig(
        obs_dim=5,
        action_dim=2,
        chunk_size=FLOW_CHUNK,
        hidden_dim=512,
        periodic_obs_dims=[4],  # the block angle
        relative_action_obs_dims=[0, 1],  # target position relative to the agent
    )
    config = fit_normalization(config, data.states, data.action_chunks)
    policy = FlowMLPPolicy(config)
    losses = train_flow_bc(policy, data.states, data.action_chunks, steps=steps, seed=seed)
    policy.save_pretrained(out)
    return {
        "observation": "state (5,): agent x, y, block x, y, angle (as sin, cos); actions relative to the agent",
        "frames": int(len(data.states)),
        "episodes": int(len(data.episode_bounds)),
        "final_loss": float(sum(losses[-500:]) / len(losses[-500:])),
        "batch_size": 256,
    }


TRAINERS: dict[str, Callable[[Path, Path, int, int], dict]] = {
    "flow": train_flow_checkpoint,
    **{kind: partial(train_lerobot_checkpoint, kind) for kind in RECIPES},
}
# BC steps per kind: the count that put each base inside the 20-60% success aim where one did
# (the measurements: benchmarks/results/vla_base_probes.md, "Base training steps").
DEFAULT_STEPS = {"flow": 12_000, "pi0": 16_000, "pi05": 16_000, "smolvla": 24_000, "diffusion": 4_500}


_NOISE_NOTE = {
    "full": "an independent noise for every action of the chunk",
    "repeat": "one noise vector repeated over the chunk",
}


def _model_card(kind: str, card: dict) -> str:
    base = card["base_policy"]
    return f"""# PushT {kind} base policy (latent-mdp)

A deliberately imperfect base policy for DSRL on `DSRL-PushT-{kind}-v0`, trained by behaviour
cloning on scripted-expert demonstrations. Regenerate with
`python -m latent_mdp.builders.pusht_checkpoints --only {kind}`.

| | |
|---|---|
| data | {card['data']['episodes']} scripted-expert episodes, {card['data']['frames']} frames (`{card['demos']}`) |
| observation | {card['data']['observation']} |
| training | {card['steps']} steps, batch {card['data']['batch_size']}, final loss {card['data']['final_loss']:.4f} |
| CPU time | {card['train_seconds'] / 60:.1f} min training on {card['machine']} |
| base success (w ~ N(0, I)) | **{base['success_rate']:.1%}** over {base['episodes']} episodes |
| base mean max coverage | {base['mean_max_coverage']:.3f} |
| base mean return | {base['mean_return']:.2f} |

Evaluation: {base['episodes']} PushT episodes (300 steps max, success at coverage > 0.95),
10 envs seeded from 10000, on `DSRL-PushT-{kind}-v0` with its defaults: every chunk decoded from
a fresh `w ~ N(0, I)` drawn in the id's noise space ({_NOISE_NOTE[VARIANTS[kind].noise]}, clipped
at b_w = 1.5), its first `action_horizon` actions executed. Coverage is the maximum seen at the
end of each latent step.
"""


def build(kind: str, demos: Path, steps: int, eval_episodes: int) -> dict:
    out = ASSETS / VARIANTS[kind].asset
    start = time.process_time()
    data = TRAINERS[kind](demos, out, steps, 0)
    train_seconds = time.process_time() - start
    base = evaluate_base_policy(f"DSRL-PushT-{kind}-v0", eval_episodes)
    card = {
        "kind": kind,
        "demos": str(demos),
        "task": TASK,
        "steps": steps,
        "train_seconds": train_seconds,
        "machine": card_machine(),
        "data": data,
        "base_policy": base.as_dict(),
    }
    readme = write_model_card(out, card, _model_card(kind, card))
    print(f"{kind}: {base}; card written to {readme}")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demos", type=Path, default=Path("data/pusht_demos"))
    parser.add_argument("--demo-episodes", type=int, default=500, help="demonstrations to record when --demos is missing")
    parser.add_argument("--only", default=",".join(TRAINERS), help=f"comma-separated kinds out of {sorted(TRAINERS)}")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default per kind)")
    parser.add_argument("--eval-episodes", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(TRAINERS))
    if unknown:
        parser.error(f"no trainer for {unknown}; available: {sorted(TRAINERS)}")
    if not args.demos.exists():
        stats = record_demos(args.demos, args.demo_episodes, progress=True)
        print(f"recorded {stats.episodes} demos ({stats.frames} frames) in {stats.seconds:.0f} s")
    for kind in kinds:
        build(kind, args.demos, args.steps or DEFAULT_STEPS[kind], args.eval_episodes)


if __name__ == "__main__":
    main()
