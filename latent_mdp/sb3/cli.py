"""``latent-mdp``: train and evaluate DSRL agents on the registered latent-action envs.

    latent-mdp train DSRL-PushT-flow-v0 --algo sac --steps 20000 --n-envs 4 --seed 0
    latent-mdp train DSRL-PushT-flow-v0 --algo sac --steps 40000 --resume   # continue a run
    latent-mdp eval DSRL-PushT-flow-v0 --model runs/DSRL-PushT-flow-v0_sac_s0/final_model.zip --episodes 100
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from latent_mdp.sb3.hyperparams import ALGORITHMS

__all__ = ["main"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="latent-mdp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train an RL agent on the noise of a frozen base policy")
    train.add_argument("env_id", help="a registered id, e.g. DSRL-PushT-flow-v0")
    train.add_argument("--algo", choices=ALGORITHMS, default="sac")
    train.add_argument("--steps", type=positive_int, required=True, help="latent (agent) steps over all envs; each runs action_horizon env steps")
    train.add_argument("--n-envs", type=int, default=None, help="parallel envs (default: from the YAML)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--config", type=Path, default=None, help="YAML overriding the shipped hyperparameters")
    train.add_argument("--out", type=Path, default=None, help="run directory (default runs/<env>_<algo>_s<seed>)")
    train.add_argument("--resume", action="store_true", help="continue from the run directory's checkpoint")
    train.add_argument("--no-video", action="store_true", help="skip evaluation videos")
    train.add_argument("--final-episodes", type=positive_int, default=100, help="episodes of the final base-vs-trained comparison")

    ev = sub.add_parser("eval", help="evaluate a saved model beside the base policy")
    ev.add_argument("env_id")
    ev.add_argument("--model", type=Path, required=True)
    ev.add_argument("--episodes", type=positive_int, default=100)
    ev.add_argument("--algo", choices=ALGORITHMS, default=None, help="default: read from the run's config.json")
    ev.add_argument("--video", type=Path, default=None, help="also write one episode as mp4")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    from latent_mdp.sb3.train import evaluate_saved, train

    try:
        if args.command == "train":
            train(
                args.env_id,
                args.algo,
                args.steps,
                n_envs=args.n_envs,
                seed=args.seed,
                config=args.config,
                run_dir=args.out,
                resume=args.resume,
                videos=not args.no_video,
                final_episodes=args.final_episodes,
            )
        else:
            evaluate_saved(args.env_id, args.model, args.episodes, algo=args.algo, video=args.video)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"latent-mdp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # what was saved, or that nothing was, has been printed
    return 0


if __name__ == "__main__":
    sys.exit(main())
