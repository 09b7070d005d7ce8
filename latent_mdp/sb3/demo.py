"""The README's main job (``make demo``): DSRL-SAC steers the shipped flow policy on PushT.

It trains SB3 SAC on ``DSRL-PushT-flow-v0`` (the noise of a frozen flow-matching BC policy) with
the shipped recipe (``latent_mdp/sb3/hyperparams/sac.yml``) for a budget of a few CPU minutes, then
evaluates the base policy (``w ~ N(0, I)``) and the trained actor on the same evaluation
episodes, the actor's noise sampled as in the DSRL paper. It prints both success rates with
their 95% intervals, and the paired difference with its own. Every run gets its own directory
under ``runs/``.
"""

from __future__ import annotations

import argparse
import os
import time

from latent_mdp.sb3.cli import positive_int

__all__ = ["main"]

DEMO_ENV = "DSRL-PushT-flow-v0"
DEMO_STEPS = 3_000
DEMO_EPISODES = 400


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=DEMO_STEPS, help="latent steps (all envs together)")
    parser.add_argument("--episodes", type=positive_int, default=DEMO_EPISODES, help="evaluation episodes per policy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    from latent_mdp.sb3.train import train

    run_dir = f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    print(f"DSRL-SAC on {DEMO_ENV}: {args.steps} latent steps, then {args.episodes} evaluation episodes per policy; run directory {run_dir}")
    start = time.perf_counter()
    train(
        DEMO_ENV,
        "sac",
        args.steps,
        seed=args.seed,
        run_dir=run_dir,
        videos=False,
        final_episodes=args.episodes,
        compared=("base", "trained_stochastic"),
    )
    print(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
