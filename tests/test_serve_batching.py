"""The server's batching without a server: context rows, joined calls, the context store, the wire format.

Every check compares against the plain local calls of the same real policies (the flow MLP and
tiny LeRobot models of every adapted type), so a batched answer that differs from what a
client would get alone fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latent_mdp.observations import batch_size_of
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.policy import TensorContext, decode_checked, encode_checked
from latent_mdp.serve.batching import decode_many, encode_many
from latent_mdp.serve.contexts import ContextStore
from latent_mdp.serve.errors import ContextExpiredError
from latent_mdp.serve.wire import arrays_from_observation, observation_from_arrays, pack, unpack
from tests.lerobot_fixtures import TASK, checkpoint, make_obs, noise, policy, tiny_checkpoints  # noqa: F401 (fixtures)


def _flow() -> FlowMLPPolicy:
    torch.manual_seed(0)
    return FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=4))


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float32 batching noise: 1e-5 of the actions' range (PushT's is [0, 512])."""
    return torch.allclose(a, b, atol=1e-5 * max(1.0, float(b.abs().max())))


def _rows(obs, start: int, end: int):
    return {k: v[start:end] for k, v in obs.items()} if isinstance(obs, dict) else obs[start:end]


def _cases(base):
    """``base`` and 3 observations it reads."""
    obs = make_obs(3, seed=2) if not isinstance(base, FlowMLPPolicy) else np.random.default_rng(2).normal(size=(3, 5)).astype(np.float32)
    return base, obs


@pytest.fixture(params=["flow", "lerobot"])
def any_policy(request, checkpoint):  # noqa: F811
    if request.param == "flow":
        return _flow()
    from latent_mdp.policies.lerobot import LeRobotNoisePolicy

    return LeRobotNoisePolicy.from_pretrained(checkpoint, task=TASK)


def test_taken_and_joined_contexts_decode_as_the_originals(any_policy) -> None:
    policy, obs = _cases(any_policy)
    ctx = encode_checked(policy, obs, 3)
    w = policy.sample_noise(3, torch.Generator().manual_seed(1))
    whole = decode_checked(policy, ctx, w)
    index = torch.tensor([2, 0])
    assert _close(decode_checked(policy, ctx.take(index), w[index]), whole[index])
    parts = [encode_checked(policy, _rows(obs, 0, 1), 1), encode_checked(policy, _rows(obs, 1, 3), 2)]
    joined = type(parts[0]).concat(parts)
    assert joined.batch_size == 3
    assert _close(decode_checked(policy, joined, w), whole)
    if policy.feature_dim:
        assert _close(policy.features(joined), policy.features(ctx))


def test_many_requests_get_what_each_gets_alone(any_policy) -> None:
    policy, obs = _cases(any_policy)
    batches = [_rows(obs, 0, 1), _rows(obs, 1, 3)]
    contexts = encode_many(policy, batches)
    # request 0: 1 context with K = 3 noises; request 1: 2 contexts with K = 1
    noises = [policy.sample_noise(3, torch.Generator().manual_seed(3)), policy.sample_noise(2, torch.Generator().manual_seed(4))]
    actions = decode_many(policy, list(zip(contexts, noises)))
    for batch, w, got in zip(batches, noises, actions):
        alone = decode_checked(policy, encode_checked(policy, batch, batch_size_of(batch)), w)
        assert isinstance(got, torch.Tensor) and _close(got, alone)


def test_a_bad_request_fails_alone() -> None:
    policy = _flow()
    obs = np.zeros((2, 5), np.float32)
    contexts = encode_many(policy, [obs, np.zeros((1, 7), np.float32)])
    assert contexts[0].batch_size == 2 and isinstance(contexts[1], ValueError) and "(B, 5)" in str(contexts[1])
    good = policy.sample_noise(2)
    nan = torch.full((2, 4, 2), float("nan"))
    results = decode_many(policy, [(contexts[0], good), (contexts[0], nan), (contexts[0], good.double())])
    assert torch.allclose(results[0], decode_checked(policy, contexts[0], good))
    assert isinstance(results[1], ValueError) and "non-finite noise" in str(results[1])
    assert isinstance(results[2], ValueError) and "float32" in str(results[2])


def test_the_context_store_expires_and_evicts() -> None:
    now = [0.0]
    store = ContextStore(ttl_s=10, max_contexts=2, clock=lambda: now[0])
    a, b = store.put(TensorContext(x=torch.zeros(1))), store.put(TensorContext(x=torch.zeros(2)))
    now[0] = 8.0
    assert store.get(a).batch_size == 1  # a use renews a's lease
    now[0] = 15.0
    with pytest.raises(ContextExpiredError, match="encode the observation again"):
        store.get(b)
    assert store.get(a).batch_size == 1
    c, d = store.put(TensorContext(x=torch.zeros(3))), store.put(TensorContext(x=torch.zeros(4)))
    with pytest.raises(ContextExpiredError, match="at most 2 are kept"):
        store.get(a)  # evicted: the least recently used beyond the capacity
    assert store.get(c).batch_size == 3 and store.get(d).batch_size == 4 and len(store) == 2
    with pytest.raises(ValueError, match="ttl_s > 0"):
        ContextStore(ttl_s=0, max_contexts=1)


def test_messages_round_trip_and_bad_bytes_are_named() -> None:
    obs = make_obs(2)
    header, arrays = unpack(pack({"handle": "h", "k": [1, 2]}, arrays_from_observation(obs)))
    assert header == {"handle": "h", "k": [1, 2]}
    back = observation_from_arrays(arrays)
    assert set(back) == set(obs) and all(np.array_equal(back[k], obs[k]) and back[k].dtype == obs[k].dtype for k in obs)
    flat = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(observation_from_arrays(unpack(pack({}, arrays_from_observation(flat)))[1]), flat)
    with pytest.raises(ValueError, match="malformed policy-server message"):
        unpack(b"not an archive")
    with pytest.raises(ValueError, match="holds no observation"):
        observation_from_arrays({})
