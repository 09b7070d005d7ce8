"""How well a PushT VLA base policy fits its demonstrations, and whether it reads its state.

For each LeRobot checkpoint (default: the shipped pi0, pi0.5 and SmolVLA), on frames of the
PushT demonstrations (``data/pusht_demos``, made by ``python -m latent_mdp.builders.pusht_demos``):

* ``flow_loss``: the policy's own flow-matching loss (``policy.forward``, normalized units) at fixed
  times ``t``, on the true observations and with ``observation.state`` and
  ``observation.environment_state`` shuffled across the batch (for relative actions, the target
  ``action - state`` kept: :func:`shuffle_state`). At ``t`` near 1 the noisy action is nearly pure
  noise, so the loss there measures how well the policy predicts the action from its observation;
  the shuffled loss is what it would be if that observation were someone else's. The same with
  only ``observation.image`` shuffled tells whether the policy reads its pixels at all.
* ``chunk_error_px``: mean distance in px between the first ``action_horizon`` actions of a
  decoded chunk and the demonstrated ones, for ``w ~ N(0, I)`` and for ``w = 0``, beside
  ``hold_position_px``, the error of staying where the agent is.

Usage: ``python benchmarks/vla_bc_diagnostics.py [CHECKPOINT_DIR ...] [--frames 256]``.
Writes ``benchmarks/results/vla_bc_diagnostics.json`` (one entry per checkpoint, merged).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from latent_mdp.builders.pusht_lerobot_training import IMAGE_KEY, DemoTensors, load_demo_tensors  # noqa: E402
from latent_mdp.policies.lerobot import LeRobotNoisePolicy  # noqa: E402
from latent_mdp.tasks.pusht.presets import ASSETS, PUSHT_TASK  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "vla_bc_diagnostics.json"
TIMES = (0.1, 0.5, 0.9, 0.999)
STATE_KEYS = ("observation.state", "observation.environment_state")
KEYS = [IMAGE_KEY, *STATE_KEYS]


def flow_loss_at(policy: LeRobotNoisePolicy, batch: dict[str, Any], t: float) -> float:
    """``policy.forward``'s loss on ``batch`` with every sample's flow time set to ``t`` (seeded noise)."""
    model = policy.policy.model
    sample_time = model.sample_time
    model.sample_time = lambda bsize, device: torch.full((bsize,), t, device=device)
    try:
        torch.manual_seed(0)
        with torch.no_grad():
            loss, _ = policy.policy.forward(policy.preprocessor(dict(batch)))
    finally:
        model.sample_time = sample_time
    return float(loss)


def shuffle_state(batch: dict[str, Any], perm: torch.Tensor, *, relative: bool) -> dict[str, Any]:
    """``batch`` with its state observations permuted across the batch by ``perm`` (B,).

    Only the observation changes: a policy with relative actions learns ``action - state``, so
    there the absolute actions move with the state and the relative target stays the same.
    """
    shuffled = batch | {key: batch[key][perm] for key in STATE_KEYS}
    if relative:
        shift = shuffled["observation.state"] - batch["observation.state"]
        shuffled["action"] = batch["action"] + shift[:, None]
    return shuffled


def env_observations(data: DemoTensors, index: torch.Tensor) -> dict[str, Any]:
    """Demo frames ``index`` (B,) as the DSRL-PushT VLA ids' Gymnasium observations."""
    return {
        "pixels": data.observations[IMAGE_KEY][index].permute(0, 2, 3, 1).numpy(),
        "agent_pos": data.observations["observation.state"][index].numpy(),
        "environment_state": data.observations["observation.environment_state"][index].numpy(),
    }


def diagnose(policy: LeRobotNoisePolicy, data: DemoTensors, frames: int, seed: int = 1) -> dict[str, Any]:
    """The diagnostics of ``policy`` on ``frames`` demo frames drawn with ``seed``.

    ``data`` holds absolute action chunks of the policy's ``chunk_size``; the policy's own
    preprocessor makes them relative where it was trained so.
    """
    generator = torch.Generator().manual_seed(seed)
    index = torch.randint(data.frames, (frames,), generator=generator)
    perm = torch.randperm(frames, generator=generator)
    true = data.batch(index)
    shuffled = shuffle_state(true, perm, relative=policy.action_reference.enabled)
    image_shuffled = true | {IMAGE_KEY: true[IMAGE_KEY][perm]}
    h = policy.recommended_action_horizon
    target = data.actions[index, :h]
    agent = data.observations["observation.state"][index][:, None]
    ctx = policy.encode(env_observations(data, index))
    noises = {"w_gaussian": policy.sample_noise(frames, torch.Generator().manual_seed(0))}
    noises["w_zero"] = torch.zeros_like(noises["w_gaussian"])
    return {
        "policy_type": policy.policy_type,
        "frames": frames,
        "flow_loss": {
            "t": list(TIMES),
            "true": [flow_loss_at(policy, true, t) for t in TIMES],
            "state_shuffled": [flow_loss_at(policy, shuffled, t) for t in TIMES],
            "image_shuffled": [flow_loss_at(policy, image_shuffled, t) for t in TIMES],
        },
        "chunk_error_px": {
            "action_horizon": h,
            **{name: float((policy.decode(ctx, w)[:, :h] - target).norm(dim=-1).mean()) for name, w in noises.items()},
            "hold_position_px": float((target - agent).norm(dim=-1).mean()),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = [ASSETS / f"pusht_{kind}" for kind in ("pi0", "pi05", "smolvla")]
    parser.add_argument("checkpoints", nargs="*", type=Path, default=default)
    parser.add_argument("--demos", type=Path, default=Path("data/pusht_demos"))
    parser.add_argument("--frames", type=int, default=256)
    args = parser.parse_args()
    if not args.demos.is_dir():
        parser.error(f"no demonstrations at {args.demos}: make them with `python -m latent_mdp.builders.pusht_demos`")
    torch.set_num_threads(1)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    demos: dict[int, DemoTensors] = {}
    for path in args.checkpoints:
        policy = LeRobotNoisePolicy.from_pretrained(path, task=PUSHT_TASK)
        if policy.policy_type not in ("pi0", "pi05", "smolvla"):
            parser.error(f"{path} holds a {policy.policy_type} policy; this diagnoses the VLAs (pi0, pi05, smolvla)")
        if policy.chunk_size not in demos:
            demos[policy.chunk_size] = load_demo_tensors(args.demos, KEYS, policy.chunk_size)
        entry = diagnose(policy, demos[policy.chunk_size], args.frames)
        name = path.name if path.resolve().parent == ASSETS else str(path)
        results[name] = entry
        loss, err = entry["flow_loss"], entry["chunk_error_px"]
        print(
            f"{name}: loss at t={TIMES}: {[round(x, 3) for x in loss['true']]} "
            f"(state shuffled {[round(x, 3) for x in loss['state_shuffled']]}, "
            f"image shuffled {[round(x, 3) for x in loss['image_shuffled']]}); chunk error "
            f"{err['w_gaussian']:.1f} px (w ~ N), {err['w_zero']:.1f} px (w = 0), hold {err['hold_position_px']:.1f} px"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
