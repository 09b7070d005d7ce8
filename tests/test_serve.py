"""A policy server on loopback: the same actions as the local policy, the envs and SAC on it, and its faults.

Each server is a real ``latent-mdp serve`` process (Ray Serve) on 127.0.0.1; they are slow to
start, so the whole module is marked slow.
"""

from __future__ import annotations

import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

import latent_mdp  # noqa: F401  (registers the ids)
from latent_mdp.envs.generic import load_policy
from latent_mdp.policy import decode_checked
from latent_mdp.serve import ContextExpiredError, PolicyServerTimeout, PolicyServerUnavailable, RemoteNoisePolicy
from latent_mdp.serve.process import ServerProcess
from latent_mdp.tasks.pusht.presets import ASSETS
from tests.lerobot_fixtures import TASK, make_obs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

FLOW = ASSETS / "pusht_flow"
ENV_ID = "DSRL-PushT-flow-v0"
TTL_S = 4.0


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory):
    server = ServerProcess(FLOW, tmp_path_factory.mktemp("serve") / "flow.log", "--context-ttl", str(TTL_S)).start()
    yield server
    server.kill()


def _states(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(50, 450, (n, 5)).astype(np.float32)


def test_remote_flow_gives_the_local_actions_and_features(flow_server) -> None:
    local, remote = load_policy(FLOW), RemoteNoisePolicy(flow_server.address)
    assert (remote.chunk_size, remote.noise_dim, remote.action_dim, remote.feature_dim) == (
        local.chunk_size, local.noise_dim, local.action_dim, local.feature_dim,
    )
    obs, w = _states(3), local.sample_noise(6, torch.Generator().manual_seed(0))  # K = 2 noises per state
    with torch.no_grad():
        ctx = local.encode(obs)
    before = remote.info()["batching"]
    remote_ctx = remote.encode(obs)
    assert torch.equal(remote.decode(remote_ctx, w), local.decode(ctx, w))
    after = remote.info()["batching"]  # one request of each, each answered by one policy call
    assert {key: after[key] - before[key] for key in after} == dict.fromkeys(after, 1)
    assert torch.equal(remote.features(remote_ctx), local.features(ctx))
    with torch.no_grad():
        chunks = local.decode(ctx, w[::2])
        inverted = local.invert(ctx, chunks)
    assert torch.allclose(remote.invert(remote_ctx, chunks), inverted, atol=1e-5)


def test_bad_noise_fails_with_the_local_errors_on_both_sides(flow_server) -> None:
    local, remote = load_policy(FLOW), RemoteNoisePolicy(flow_server.address)
    ctx = remote.encode(_states(2))
    for bad, match in [(torch.full((2, 8, 2), float("nan")), "non-finite noise"), (torch.zeros(2, 8, 3), r"\(B\*K, 8, 2\)"),
                       (torch.zeros(2, 8, 2, dtype=torch.float64), "float32")]:
        with pytest.raises(ValueError, match=match):
            remote.decode(ctx, bad)
        with pytest.raises(ValueError, match=match):
            decode_checked(local, local.encode(_states(2)), bad)
    # The server checks too: a NaN noise that skips the client's check is refused there.
    from latent_mdp.serve.wire import pack, unpack

    status, body = remote._send("decode", pack({"handle": ctx.handle}, {"noise": np.full((2, 8, 2), np.nan, np.float32)}))
    assert status == 400 and "non-finite noise" in unpack(body)[0]["message"]
    with pytest.raises(ValueError, match=r"expects state observations of shape \(B, 5\)"):
        remote.encode(np.zeros((2, 7), np.float32))
    assert remote.decode(ctx, remote.sample_noise(2)).shape == (2, 8, 2)  # the client goes on


def test_an_expired_handle_is_an_error_or_a_re_encode(flow_server) -> None:
    strict, lenient = RemoteNoisePolicy(flow_server.address, reencode_expired=False), RemoteNoisePolicy(flow_server.address)
    obs, w = _states(2, seed=3), strict.sample_noise(2, torch.Generator().manual_seed(3))
    ctx_strict, ctx_lenient = strict.encode(obs), lenient.encode(obs)
    before = strict.decode(ctx_strict, w)
    time.sleep(TTL_S + 1.5)
    with pytest.raises(ContextExpiredError, match="encode the observation again"):
        strict.decode(ctx_strict, w)
    old_handle = ctx_lenient.handle
    assert torch.equal(lenient.decode(ctx_lenient, w), before) and ctx_lenient.handle != old_handle


def test_a_request_past_its_timeout_is_an_error_and_the_client_recovers(flow_server) -> None:
    remote = RemoteNoisePolicy(flow_server.address)
    obs, w = _states(1), remote.sample_noise(1, torch.Generator().manual_seed(4))
    ctx = remote.encode(obs)
    expected = remote.decode(ctx, w)
    remote.close()
    remote.timeout_s = 1e-6
    with pytest.raises(PolicyServerTimeout, match="did not answer decode"):
        remote.decode(ctx, w)
    remote.timeout_s = 30.0
    assert torch.equal(remote.decode(ctx, w), expected)  # no late answer is read as this one's


def test_the_env_ids_take_a_policy_server_and_sac_learns_on_it(flow_server) -> None:
    from stable_baselines3 import SAC
    from stable_baselines3.common.env_checker import check_env

    env = gym.make(ENV_ID, policy_server=flow_server.address)
    check_env(env.unwrapped if not hasattr(env, "core") else env, skip_render_check=True)
    local = gym.make(ENV_ID)
    u = env.action_space.sample()
    (a, _), (b, _) = env.reset(seed=5), local.reset(seed=5)
    assert np.allclose(a, b)
    step_remote, step_local = env.step(u), local.step(u)
    assert np.allclose(step_remote[0], step_local[0]) and step_remote[1] == pytest.approx(step_local[1])
    model = SAC("MlpPolicy", env, learning_starts=50, batch_size=32, policy_kwargs={"net_arch": [32, 32]}, seed=0)
    model.learn(200)
    assert model.num_timesteps == 200 and model.replay_buffer.size() == 200
    with pytest.raises(ValueError, match="one of policy_server="):
        gym.make(ENV_ID, policy_server=flow_server.address, policy_path=FLOW)


def test_a_lerobot_policy_served_gives_the_local_actions(tmp_path) -> None:
    from latent_mdp.builders.lerobot_models import build_tiny_checkpoint
    from latent_mdp.policies.lerobot import LeRobotNoisePolicy

    checkpoint = build_tiny_checkpoint("pi0", tmp_path / "pi0")
    server = ServerProcess(checkpoint, tmp_path / "pi0.log", "--task", TASK).start()
    try:
        local, remote = LeRobotNoisePolicy.from_pretrained(checkpoint, task=TASK), RemoteNoisePolicy(server.address)
        obs, w = make_obs(2, seed=6), local.sample_noise(4, torch.Generator().manual_seed(6))
        ctx, remote_ctx = local.encode(obs), remote.encode(obs)
        assert torch.allclose(remote.decode(remote_ctx, w), local.decode(ctx, w), atol=1e-5 * 512)
        assert torch.allclose(remote.features(remote_ctx), local.features(ctx), atol=1e-5)
    finally:
        server.kill()


def test_a_killed_server_stops_workers_training_with_a_checkpoint_and_resume_continues(tmp_path) -> None:
    server = ServerProcess(FLOW, tmp_path / "flow.log").start()
    config = tmp_path / "tiny.yml"
    entry = {"n_envs": 2, "warmup_steps": 40, "eval_freq": 100000, "eval_episodes": 2, "batch_size": 32, "gradient_steps": 1,
             "buffer_size": 5000, "policy_kwargs": {"net_arch": [32, 32]}}
    config.write_text(yaml.safe_dump({ENV_ID: entry}))
    run = tmp_path / "run"
    command = [sys.executable, "-m", "latent_mdp.sb3.cli", "train", ENV_ID, "--config", str(config), "--out", str(run),
               "--no-video", "--final-episodes", "2", "--policy-server", server.address]
    try:
        remote = RemoteNoisePolicy(server.address, retries=1, retry_wait_s=0.2)
        ctx = remote.encode(_states(1))
        log = tmp_path / "train.log"
        with open(log, "w") as out:
            training = subprocess.Popen([*command, "--steps", "100000"], stdout=out, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        while "train:" not in log.read_text() and training.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)  # until the workers step past the warm-up
        time.sleep(2)
        server.kill()
        started = time.monotonic()
        with pytest.raises(PolicyServerUnavailable, match="continue a run with --resume"):
            remote.decode(ctx, remote.sample_noise(1))
        assert time.monotonic() - started < 10  # bounded retries, no hang
        training.wait(timeout=300)
        out = log.read_text()
        assert training.returncode == 3, out[-3000:]
        assert "continue with --resume" in out and (run / "checkpoint" / "state.json").exists()
        saved = yaml.safe_load((run / "checkpoint" / "state.json").read_text())["timesteps"]
        server.start()
        resumed = subprocess.run([*command, "--steps", str(saved + 40), "--resume"], capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert (run / "summary.json").exists()
    finally:
        server.kill()
