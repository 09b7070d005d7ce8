"""Throughput of one policy server against N clients, and the latency a loopback call adds.

For the shipped flow MLP and the shipped tiny pi0 (PushT ids), each of ``N`` client processes
asks for chunks one at a time, as an env worker does: ``encode`` one observation, ``decode`` one
noise. The benchmark counts the chunks all clients get in a fixed window, for:

* ``server``: every client holds a :class:`~latent_mdp.serve.RemoteNoisePolicy` of one
  ``latent-mdp serve`` process (Ray Serve, its requests batched with ``@serve.batch``); the
  server's own counts give the requests each policy call answered (``*_requests_per_call``);
* ``local``: every client holds its own copy of the policy.

It also reports where the machine's CPU went during each window (the clients' own CPU time, and
all the rest, which is the server's), since that is what bounds the scaling on a small machine.

Top-level keys of the JSON:

* ``speedup_n8``: the server's chunks/s at N = 8 over N = 1, on flow (target >= 4x), and
  ``speedup_n8_by_policy`` for each policy;
* ``added_latency_ms``: the median time of one remote ``decode`` on loopback minus that of a local
  one, flow MLP, one client (target <= 2 ms).

Run it on an idle machine: other jobs take the CPU the server and the clients share.

Usage: ``python -m benchmarks.serve_scaling [--clients 1 2 4 8] [--seconds 8] [--policies flow pi0]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil  # noqa: E402
import torch  # noqa: E402

from benchmarks.results_file import machine, write_result  # noqa: E402
from latent_mdp.envs.registry import make_inner  # noqa: E402
from latent_mdp.observations import stack_observations  # noqa: E402
from latent_mdp.tasks.pusht.presets import ASSETS, PUSHT_TASK  # noqa: E402

POLICIES = {"flow": ("DSRL-PushT-flow-v0", ASSETS / "pusht_flow"), "pi0": ("DSRL-PushT-pi0-v0", ASSETS / "pusht_pi0")}
"""name -> (the id whose inner env gives the observations, the checkpoint)."""

TASK = {"pi0": PUSHT_TASK}
"""The instruction of each language-conditioned checkpoint."""

N_OBSERVATIONS = 16
WARMUP_CALLS = 5
LATENCY_CALLS = 200


def env_observations(env_id: str, n: int, seed: int = 0) -> list[Any]:
    """``n`` inner observations of ``env_id``'s env along one random-action episode."""
    env = make_inner(env_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    observations = [obs]
    while len(observations) < n:
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return observations


def open_policy(source: str, task: str | None = None) -> Any:
    """A local copy of the checkpoint at ``source`` (with its instruction ``task``), or the server at ``source`` (an ``http://`` address)."""
    if source.startswith("http://"):
        from latent_mdp.serve import RemoteNoisePolicy

        return RemoteNoisePolicy(source, timeout_s=120.0)
    from latent_mdp.envs.generic import load_policy

    return load_policy(Path(source), task)


def one_chunk(policy: Any, obs: Any, generator: torch.Generator) -> None:
    """What an env worker asks for each chunk: one encode, one decode."""
    with torch.no_grad():
        ctx = policy.encode(stack_observations([obs]))
        policy.decode(ctx, policy.sample_noise(1, generator))


def client(source: str, task: str | None, observations: list[Any], index: int, seconds: float, barrier: Any, results: Any) -> None:
    """One client process: warm up, wait for the others, then count chunks for ``seconds``."""
    torch.set_num_threads(1)
    policy, generator = open_policy(source, task), torch.Generator().manual_seed(index)
    for i in range(WARMUP_CALLS):
        one_chunk(policy, observations[i % len(observations)], generator)
    barrier.wait(timeout=600)
    cpu0, start, count = time.process_time(), time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        one_chunk(policy, observations[(index + count) % len(observations)], generator)
        count += 1
    results.put({"chunks": count, "seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu0})


def server_batching(source: str) -> dict[str, int] | None:
    """The server's request and policy-call counts (``/info``'s ``batching``), or None for a local ``source``."""
    if not source.startswith("http://"):
        return None
    from latent_mdp.serve import RemoteNoisePolicy

    policy = RemoteNoisePolicy(source, timeout_s=120.0)  # its constructor reads /info once
    policy.close()
    return policy.server_info["batching"]


def run_clients(source: str, task: str | None, observations: list[Any], n: int, seconds: float) -> dict[str, Any]:
    """``n`` client processes against ``source`` at once: chunks/s, where the CPU went, and (for a server) its batches."""
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(n + 1), context.Queue()
    processes = [context.Process(target=client, args=(source, task, observations, i, seconds, barrier, results)) for i in range(n)]
    for p in processes:
        p.start()
    barrier.wait(timeout=600)
    cpu0, wall0, counts0 = psutil.cpu_times(), time.perf_counter(), server_batching(source)
    rows = [results.get(timeout=seconds + 600) for _ in processes]
    cpu1, wall, counts1 = psutil.cpu_times(), time.perf_counter() - wall0, server_batching(source)
    for p in processes:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"a client process exited with {p.exitcode}")
    busy_s = sum(cpu1) - sum(cpu0) - (cpu1.idle - cpu0.idle) - (getattr(cpu1, "iowait", 0) - getattr(cpu0, "iowait", 0))
    clients_s = sum(r["cpu_s"] for r in rows)
    row = {
        "clients": n,
        "chunks_per_s": sum(r["chunks"] / r["seconds"] for r in rows),
        "cores_busy": busy_s / wall,
        "cores_clients": clients_s / wall,
        "cores_other": (busy_s - clients_s) / wall,
    }
    if counts0 is not None and counts1 is not None:  # requests answered per policy call in the window
        for kind in ("encode", "decode"):
            calls = counts1[f"{kind}_calls"] - counts0[f"{kind}_calls"]
            row[f"{kind}_requests_per_call"] = (counts1[f"{kind}_requests"] - counts0[f"{kind}_requests"]) / max(calls, 1)
    return row


def median_ms(call: Any, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def call_latency(source: str, task: str | None, observations: list[Any]) -> dict[str, float]:
    """Median ms of one ``decode`` (its context encoded once) and of one chunk (encode + decode), one client."""
    policy, generator = open_policy(source, task), torch.Generator().manual_seed(0)
    obs = stack_observations(observations[:1])
    with torch.no_grad():
        ctx = policy.encode(obs)
        noise = policy.sample_noise(1, generator)
        for _ in range(WARMUP_CALLS):
            policy.decode(ctx, noise)
        return {
            "decode_ms": median_ms(lambda: policy.decode(ctx, noise), LATENCY_CALLS),
            "chunk_ms": median_ms(lambda: one_chunk(policy, observations[0], generator), LATENCY_CALLS // 4),
        }


def measure_policy(name: str, clients: list[int], seconds: float, log_dir: Path, server_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """Local copies and one server, for every N in ``clients``, and the one-client call latency."""
    from latent_mdp.serve.process import ServerProcess

    env_id, checkpoint = POLICIES[name]
    task = TASK.get(name)
    observations = env_observations(env_id, N_OBSERVATIONS)
    local = [run_clients(str(checkpoint), task, observations, n, seconds) for n in clients]
    for row in local:
        print(f"{name} local  N={row['clients']}: {row['chunks_per_s']:8.1f} chunks/s, {row['cores_busy']:.2f} cores busy")
    task_args = () if task is None else ("--task", task)
    server = ServerProcess(checkpoint, log_dir / f"{name}.log", *task_args, *server_args).start()
    try:
        latency = {"local": call_latency(str(checkpoint), task, observations), "server": call_latency(server.address, None, observations)}
        remote = []
        for n in clients:
            remote.append(run_clients(server.address, None, observations, n, seconds))
            row = remote[-1]
            print(
                f"{name} server N={row['clients']}: {row['chunks_per_s']:8.1f} chunks/s, {row['cores_busy']:.2f} cores busy "
                f"({row['cores_clients']:.2f} clients, {row['cores_other']:.2f} server), "
                f"{row['decode_requests_per_call']:.2f} decode requests per policy call"
            )
    finally:
        server.kill()
    by_n = {row["clients"]: row["chunks_per_s"] for row in remote}
    result = {
        "local": local,
        "server": remote,
        "latency_ms": latency,
        "added_latency_ms": latency["server"]["decode_ms"] - latency["local"]["decode_ms"],
    }
    if 1 in by_n and 8 in by_n:
        result["speedup_n8"] = by_n[8] / by_n[1]
    print(
        f"{name}: decode {latency['local']['decode_ms']:.2f} ms local, {latency['server']['decode_ms']:.2f} ms remote "
        f"(+{result['added_latency_ms']:.2f} ms)" + (f"; server N=8 / N=1 = {result['speedup_n8']:.2f}x" if "speedup_n8" in result else "")
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=8.0, help="the measured window of each N")
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--batch-wait-ms", type=float, default=None, help="the server's --batch-wait-ms (default: the server's own)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/serve_scaling.json"))
    args = parser.parse_args()
    if min(args.clients) < 1 or args.seconds <= 0:
        parser.error("--clients must be >= 1 and --seconds > 0")
    torch.set_num_threads(1)
    server_args = () if args.batch_wait_ms is None else ("--batch-wait-ms", str(args.batch_wait_ms))
    with tempfile.TemporaryDirectory() as logs:
        by_policy = {name: measure_policy(name, args.clients, args.seconds, Path(logs), server_args) for name in args.policies}
    result: dict[str, Any] = {
        "benchmark": "serve_scaling",
        "clients": args.clients,
        "window_s": args.seconds,
        "server_args": list(server_args),
        "policies": by_policy,
        "speedup_n8_by_policy": {name: r["speedup_n8"] for name, r in by_policy.items() if "speedup_n8" in r},
        "machine": f"{machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    if "flow" in by_policy:
        result["added_latency_ms"] = by_policy["flow"]["added_latency_ms"]
        if "speedup_n8" in by_policy["flow"]:
            result["speedup_n8"] = by_policy["flow"]["speedup_n8"]
    write_result(args.out, result)


if __name__ == "__main__":
    main()
