"""The README's main job (``make demo``): DSRL-SAC steers the shipped flow policy on PushT.

It trains SB3 SAC on ``DSRL-PushT-flow-v0`` (the noise of a frozen flow-matching BC policy) for a
budget of a few CPU minutes, then prints the base policy (``w ~ N(0, I)``) beside the trained
actor on the same 100 evaluation episodes. Every run gets its own directory under ``runs/``.
"""

from __future__ import annotations

import argparse
import os
import time

__all__ = ["main"]

DEMO_ENV = "DSRL-PushT-flow-v0"
DEMO_STEPS = 3_000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=DEMO_STEPS, help="latent steps (all envs together)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    from latent_mdp.train import train

    run_dir = f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"DSRL-SAC on {DEMO_ENV}: {args.steps} latent steps, run directory {run_dir}")
    train(DEMO_ENV, "sac", args.steps, seed=args.seed, run_dir=run_dir)


if __name__ == "__main__":
    main()
