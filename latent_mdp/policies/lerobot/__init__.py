"""LeRobot 0.6.1 policies (pi0, pi0.5, SmolVLA, DiffusionPolicy) as :class:`~latent_mdp.NoisePolicy`.

Example (offline)::

    from latent_mdp.policies.lerobot import LeRobotNoisePolicy, build_tiny_checkpoint

    path = build_tiny_checkpoint("pi0", "/tmp/tiny_pi0")        # or any LeRobot checkpoint dir
    policy = LeRobotNoisePolicy.from_pretrained(path, task="push the T onto the target")
    ctx = policy.encode(obs_batch)                              # B observations: prefix + KV cache
    actions = policy.decode(ctx, policy.sample_noise(B * K))    # (B*K, H, A), env units

Modules: ``adapter`` (the NoisePolicy), ``flow`` (pi0 / pi0.5 / SmolVLA prefix reuse),
``diffusion`` (DiffusionPolicy, DDIM), ``observations`` (Gymnasium -> LeRobot batch),
``loading`` (checkpoint resolution and LeRobot's factory), ``tiny`` (offline builders),
``architecture`` (small pi0 sizes), ``tokenizer`` (in-memory tokenizers), ``relative_actions``
(LeRobot's relative actions with K noises per observation), ``state_concat`` (a processor step
that appends ``observation.environment_state`` to the VLAs' state), ``block_pose`` (a processor
step that turns PushT's block keypoints into the block's pose).
"""

from latent_mdp.policies.lerobot.adapter import LANGUAGE_POLICY_TYPES, SUPPORTED_POLICY_TYPES, LeRobotNoisePolicy
from latent_mdp.policies.lerobot.diffusion import DiffusionContext
from latent_mdp.policies.lerobot.flow import PrefixContext
from latent_mdp.policies.lerobot.tiny import TINY_POLICY_TYPES, build_random_policy, build_tiny_checkpoint

__all__ = [
    "LANGUAGE_POLICY_TYPES",
    "SUPPORTED_POLICY_TYPES",
    "TINY_POLICY_TYPES",
    "DiffusionContext",
    "LeRobotNoisePolicy",
    "PrefixContext",
    "build_random_policy",
    "build_tiny_checkpoint",
]
