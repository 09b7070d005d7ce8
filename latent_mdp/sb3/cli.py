"""``latent-mdp``: train and evaluate DSRL agents on the registered latent-action envs.

    latent-mdp train DSRL-PushT-flow-v0 --algo sac --steps 20000 --n-envs 4 --seed 0
    latent-mdp train DSRL-PushT-flow-v0 --algo sac --steps 40000 --resume   # continue a run
    latent-mdp eval DSRL-PushT-flow-v0 --model runs/DSRL-PushT-flow-v0_sac_s0/final_model.zip --episodes 100
    latent-mdp serve latent_mdp/assets/pusht_pi0 --port 8000 --device cuda     # a policy server (extra [serve])
    latent-mdp train DSRL-PushT-pi0-v0 --steps 4000 --n-envs 8 --policy-server http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from latent_mdp.sb3.hyperparams import ALGORITHMS
from latent_mdp.serve.errors import PolicyServerError

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
    train.add_argument(
        "--policy-server", default=None, metavar="ADDR", help="use the base policy of a `latent-mdp serve` server; the --n-envs envs run in worker processes"
    )

    srv = sub.add_parser("serve", help="serve a frozen base policy to many env workers (Ray Serve; extra [serve])")
    srv.add_argument("policy_path", help="a checkpoint directory: a flow MLP or a LeRobot policy")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=positive_int, default=8000)
    srv.add_argument("--device", default="cpu", help="where the policy runs, e.g. cuda")
    srv.add_argument("--task", default=None, help="the language instruction of a VLA (default: the checkpoint's)")
    srv.add_argument("--max-batch-size", type=positive_int, default=32, help="the most requests one policy call answers")
    srv.add_argument("--batch-wait-ms", type=float, default=1.0, help="how long a request waits for others to join its batch")
    srv.add_argument("--context-ttl", type=float, default=120.0, help="seconds a context is kept after its last use")
    srv.add_argument("--max-contexts", type=positive_int, default=1024, help="the most contexts kept at once")

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
    if args.command == "serve":
        return _serve(args)
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
                policy_server=args.policy_server,
            )
        else:
            evaluate_saved(args.env_id, args.model, args.episodes, algo=args.algo, video=args.video)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"latent-mdp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130  # what was saved, or that nothing was, has been printed
    except PolicyServerError as error:  # train saved a checkpoint and said so
        print(f"latent-mdp: error: {error}", file=sys.stderr)
        return 3
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        from latent_mdp.serve.server import ServerConfig, serve_policy
    except ImportError as error:
        print(f"latent-mdp: error: serving needs Ray Serve: pip install 'latent-mdp[serve]' ({error})", file=sys.stderr)
        return 2
    try:
        config = ServerConfig(
            str(args.policy_path), task=args.task, device=args.device, max_batch_size=args.max_batch_size,
            batch_wait_ms=args.batch_wait_ms, context_ttl_s=args.context_ttl, max_contexts=args.max_contexts,
        )
        serve_policy(config, host=args.host, port=args.port)
    except (FileNotFoundError, ValueError) as error:
        print(f"latent-mdp: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
