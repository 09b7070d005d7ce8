"""Offline builders for tiny real LeRobot checkpoints: pi0, pi0.5, SmolVLA and DiffusionPolicy.

Each builder makes a real LeRobot policy of the named class with a very small network and random
weights, plus its pre/post processors, and saves everything in LeRobot's checkpoint layout::

    directory/
        config.json, model.safetensors                      # policy.save_pretrained
        policy_preprocessor.json, policy_postprocessor.json  # + normalizer *.safetensors
        tokenizer/                                           # pi0, pi0.5: byte-level tokenizer
        latent_mdp_pi_architecture.json                      # pi0, pi0.5: the small sizes
        vlm/                                                 # SmolVLA: SmolVLMConfig + processor

Nothing touches the Hugging Face Hub, so building and :meth:`LeRobotNoisePolicy.from_pretrained`
both work with ``HF_HUB_OFFLINE=1``. The default features are PushT's (``gym_pusht``):
a 96x96 image ``observation.image`` and 2-d ``observation.state`` for the VLAs, the 16-d
``observation.environment_state`` and ``observation.state`` for DiffusionPolicy (images on
request, but its ResNet-18 encoder alone is about 45 MB), and a 2-d action in ``[0, 512]``.
The shipped PushT VLAs also read the 16-d keypoints (``environment_state=True``) and predict
actions relative to the agent (``relative_actions=True``), at the wider ``pi_size`` /
``smolvlm_size`` their recipes name (``latent_mdp.builders.pusht_lerobot_training.RECIPES``).

:func:`build_random_policy` returns the policy in memory instead (to train it before saving, or,
with ``full_size=True``, to benchmark the real-size VLAs with random weights).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from latent_mdp.policies.lerobot.architecture import GemmaSize, PiArchitecture, VisionSize, pi_architecture
from latent_mdp.policies.lerobot.loading import LoadedCheckpoint
from latent_mdp.policies.lerobot.pipeline import insert_step
from latent_mdp.policies.lerobot.relative_actions import add_relative_action_steps
from latent_mdp.policies.lerobot.tokenizer import (
    SMOLVLM_SPECIAL_TOKENS,
    TOKENIZER_DIR,
    VLM_DIR,
    byte_tokenizer,
)
from latent_mdp.tasks.pusht.stats import ACTION_DIM, ENV_STATE_DIM, IMAGE_SIZE, STATE_DIM, pusht_stats
from latent_mdp.tasks.stats import image_stats, uniform_stats

__all__ = [
    "TINY_POLICY_TYPES",
    "env_config_stats",
    "build_random_policy",
    "build_tiny_checkpoint",
]

TINY_POLICY_TYPES = ("pi0", "pi05", "smolvla", "diffusion")

def _features(*, image: bool, env_state: bool, env_config: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The policy's input and output features: PushT's, or those LeRobot derives from ``env_config``."""
    from lerobot.configs import FeatureType, PolicyFeature

    if env_config is not None:
        from lerobot.envs.utils import env_to_policy_features

        features = env_to_policy_features(env_config)
        outputs = {key: ft for key, ft in features.items() if ft.type is FeatureType.ACTION}
        inputs = {key: ft for key, ft in features.items() if ft.type is not FeatureType.ACTION}
        if image and not any(ft.type is FeatureType.VISUAL for ft in inputs.values()):
            raise ValueError(f"this policy type reads an image, and LeRobot env {type(env_config).__name__} observes none: {inputs}")
        return inputs, outputs
    inputs: dict[str, Any] = {}
    if image:
        inputs["observation.image"] = PolicyFeature(FeatureType.VISUAL, (3, IMAGE_SIZE, IMAGE_SIZE))
    if env_state:
        inputs["observation.environment_state"] = PolicyFeature(FeatureType.ENV, (ENV_STATE_DIM,))
    inputs["observation.state"] = PolicyFeature(FeatureType.STATE, (STATE_DIM,))
    outputs = {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}
    return inputs, outputs


def env_config_stats(config: Any) -> dict[str, dict[str, torch.Tensor]]:
    """Statistics for a policy configured with ``config``'s features: frames on ``[0, 1]``, every other feature uniform on ``[-1, 1]``."""
    from lerobot.configs import FeatureType

    features = {**config.input_features, **config.output_features}
    return {
        key: image_stats() if ft.type is FeatureType.VISUAL else uniform_stats(ft.shape[-1], -1.0, 1.0) for key, ft in features.items()
    }


TINY_PI_ARCHITECTURE = PiArchitecture(
    vlm=GemmaSize(width=32, depth=2, mlp_dim=64),
    expert=GemmaSize(width=16, depth=2, mlp_dim=32),
    vision=VisionSize(),
    vocab_size=528,
)
"""pi0 / pi0.5 test sizes; the vocabulary holds pi0.5's number-token tokenizer and an image token."""


@contextlib.contextmanager
def _hub_free_tokenizer(tokenizer: Any) -> Iterator[None]:
    """Make LeRobot's ``TokenizerProcessorStep`` use ``tokenizer`` whatever name it asks for."""
    from lerobot.processor import tokenizer_processor

    class _Local:
        @staticmethod
        def from_pretrained(*_args: Any, **_kwargs: Any) -> Any:
            return tokenizer

    saved = tokenizer_processor.AutoTokenizer
    tokenizer_processor.AutoTokenizer = _Local
    try:
        yield
    finally:
        tokenizer_processor.AutoTokenizer = saved


def _build_pi(
    policy_type: str,
    directory: Path,
    chunk_size: int,
    full_size: bool,
    overrides: dict[str, Any],
    architecture: PiArchitecture,
    env_state: bool,
    env_config: Any,
) -> tuple[Any, Any]:
    from lerobot.policies.pi0 import PI0Config, PI0Policy
    from lerobot.policies.pi05 import PI05Config, PI05Policy

    config_cls, policy_cls, max_len = {
        "pi0": (PI0Config, PI0Policy, 24),
        # 96 tokens hold pi0.5's prompt: the PushT task, one token per state number, and "Action: ".
        "pi05": (PI05Config, PI05Policy, 96),
    }[policy_type]
    inputs, outputs = _features(image=True, env_state=env_state, env_config=env_config)
    small = {} if full_size else {"image_resolution": (IMAGE_SIZE, IMAGE_SIZE), "tokenizer_max_length": max_len}
    config = config_cls(
        input_features=inputs,
        output_features=outputs,
        chunk_size=chunk_size,
        device="cpu",
        **{"n_action_steps": chunk_size, **small, **overrides},
    )
    tokenizer = byte_tokenizer(number_tokens=policy_type == "pi05")
    if len(tokenizer) > architecture.vocab_size - 1:
        raise ValueError(
            f"{policy_type}'s vocabulary ({architecture.vocab_size}) must hold its tokenizer "
            f"({len(tokenizer)} tokens) and an image token id"
        )
    tokenizer.save_pretrained(str(directory / TOKENIZER_DIR))
    arch = None if full_size else architecture
    if arch is not None:
        arch.save(directory)
    with pi_architecture(arch):
        policy = policy_cls(config)
    return policy, tokenizer


SMOLVLM_SIZES = {
    "tiny": {
        "text": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 272, "max_position_embeddings": 512},
        "vision": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
                   "image_size": IMAGE_SIZE, "patch_size": 16},
        "scale_factor": 2,
    },
    # The shipped PushT base policy's sizes; a narrower text model learned too little
    # (benchmarks/results/vla_base_probes.md).
    "pusht": {
        "text": {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 272, "max_position_embeddings": 512},
        "vision": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "image_size": IMAGE_SIZE, "patch_size": 16},
        "scale_factor": 2,
    },
    # SmolVLM2-500M-Video-Instruct's sizes (SmolVLA keeps its first 16 text layers).
    "full": {
        "text": {"hidden_size": 960, "intermediate_size": 2560, "num_hidden_layers": 32, "num_attention_heads": 15,
                 "num_key_value_heads": 5, "head_dim": 64, "vocab_size": 49280, "max_position_embeddings": 8192,
                 "rope_theta": 100000.0},
        "vision": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "image_size": 512, "patch_size": 16},
        "scale_factor": 4,
    },
}
"""SmolVLM sizes: the tiny test network, the shipped PushT base policy's, and the real 500M
backbone (random init, for benchmarks)."""


def _write_smolvlm(directory: Path, size_name: str) -> Any:
    """A SmolVLM config and processor in ``directory``; returns the tokenizer."""
    from transformers import SmolVLMConfig, SmolVLMImageProcessor, SmolVLMProcessor
    from transformers.models.smolvlm.video_processing_smolvlm import SmolVLMVideoProcessor

    tokenizer = byte_tokenizer(SMOLVLM_SPECIAL_TOKENS)
    sizes = SMOLVLM_SIZES[size_name]
    patch, scale, image = sizes["vision"]["patch_size"], sizes["scale_factor"], sizes["vision"]["image_size"]
    config = SmolVLMConfig(
        text_config={"model_type": "llama", "pad_token_id": tokenizer.pad_token_id, **sizes["text"]},
        vision_config=dict(sizes["vision"]),
        scale_factor=scale,
        image_token_id=tokenizer.image_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.save_pretrained(str(directory))
    size = {"longest_edge": image}
    processor = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(size=size, max_image_size=size),
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(),
        image_seq_len=(image // patch) ** 2 // scale**2,
    )
    processor.save_pretrained(str(directory))
    return tokenizer


def _build_smolvla(
    directory: Path, chunk_size: int, full_size: bool, overrides: dict[str, Any], env_state: bool, size: str, env_config: Any
) -> tuple[Any, Any]:
    from lerobot.policies.smolvla import SmolVLAConfig, SmolVLAPolicy

    tokenizer = _write_smolvlm(directory / VLM_DIR, "full" if full_size else size)
    inputs, outputs = _features(image=True, env_state=env_state, env_config=env_config)
    small = {} if full_size else {"resize_imgs_with_padding": (IMAGE_SIZE, IMAGE_SIZE), "tokenizer_max_length": 24}
    config = SmolVLAConfig(
        input_features=inputs,
        output_features=outputs,
        chunk_size=chunk_size,
        vlm_model_name=str(directory / VLM_DIR),
        load_vlm_weights=False,
        device="cpu",
        **{"n_action_steps": chunk_size, **small, **overrides},
    )
    return SmolVLAPolicy(config), tokenizer


def _build_diffusion(chunk_size: int, scheduler: str, pixels: bool, overrides: dict[str, Any], env_config: Any) -> tuple[Any, None]:
    from lerobot.configs import FeatureType
    from lerobot.policies.diffusion import DiffusionConfig, DiffusionPolicy

    inputs, outputs = _features(image=pixels, env_state=not pixels, env_config=env_config)
    pixels = any(ft.type is FeatureType.VISUAL for ft in inputs.values())
    small = {
        "n_obs_steps": 1,
        "n_action_steps": chunk_size,
        "crop_shape": (84, 84) if pixels else None,
        "spatial_softmax_num_keypoints": 8,
        "down_dims": (16, 32),
        "kernel_size": 3,
        "n_groups": 4,
        "diffusion_step_embed_dim": 16,
        "num_inference_steps": 10,
    }
    config = DiffusionConfig(
        input_features=inputs,
        output_features=outputs,
        horizon=chunk_size,
        pretrained_backbone_weights=None,
        noise_scheduler_type=scheduler,
        device="cpu",
        **{**small, **overrides},
    )
    return DiffusionPolicy(config), None


def build_random_policy(
    policy_type: str,
    directory: str | Path,
    *,
    chunk_size: int = 8,
    seed: int = 0,
    diffusion_scheduler: str = "DDIM",
    diffusion_pixels: bool = False,
    full_size: bool = False,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
    config_overrides: dict[str, Any] | None = None,
    environment_state: bool = False,
    relative_actions: bool = False,
    pi_size: PiArchitecture = TINY_PI_ARCHITECTURE,
    smolvlm_size: str = "tiny",
    block_pose: bool = False,
    env_config: Any = None,
) -> LoadedCheckpoint:
    """A random-init LeRobot policy of ``policy_type`` with its processors, in memory.

    Writes only the sidecars (tokenizer, SmolVLM config, small pi sizes) into ``directory``;
    :func:`build_tiny_checkpoint` also saves the weights and processors there.

    Args:
        policy_type: one of :data:`TINY_POLICY_TYPES`.
        directory: created if missing; existing files are overwritten.
        chunk_size: ``H``, the action chunk (DiffusionPolicy: ``horizon = n_action_steps = H``).
        seed: torch seed for the random weights.
        diffusion_scheduler: ``"DDIM"`` (deterministic) or ``"DDPM"`` (LeRobot's default, which
            the adapter swaps to DDIM on load, or refuses under ``swap_ddpm_for_ddim=False``).
        diffusion_pixels: DiffusionPolicy on ``observation.image`` + state (PushT
            ``pixels_agent_pos``) instead of ``observation.environment_state`` + state. Its
            encoder is torchvision's smallest ResNet (resnet18, random init): about 45 MB.
        full_size: the real network sizes (pi0 / pi0.5: PaliGemma 2B + 300M expert, 4B params;
            SmolVLA: SmolVLM2-500M) with 224 / 512 px inputs, for benchmarks. Not for DiffusionPolicy.
        dataset_stats: normalization statistics for the processors (default :func:`pusht_stats`,
            or :func:`env_config_stats` with ``env_config``).
        config_overrides: more LeRobot config fields, or replacements of the tiny defaults
            (e.g. ``{"n_action_steps": 8}``, DiffusionPolicy's ``down_dims``); default
            ``n_action_steps = chunk_size``.
        environment_state: VLAs only: also read ``observation.environment_state`` (PushT's 16
            block keypoints), normalized like the state and appended to it by
            :class:`~latent_mdp.policies.lerobot.state_concat.ConcatEnvironmentStateStep`.
        relative_actions: VLAs only: predict actions relative to ``observation.state`` (LeRobot's
            ``RelativeActionsProcessorStep`` / ``AbsoluteActionsProcessorStep``; pi0 and pi0.5
            through ``use_relative_actions``). ``dataset_stats["action"]`` must then hold the
            relative actions' statistics.
        pi_size: the pi0 / pi0.5 network sizes (default the tiny test sizes; saved beside the
            weights in ``latent_mdp_pi_architecture.json``).
        smolvlm_size: SmolVLA's backbone, a key of :data:`SMOLVLM_SIZES` (saved in ``vlm/``).
        block_pose: with ``environment_state``: read the block pose ``(4,)`` made from the
            keypoints by :class:`~latent_mdp.tasks.pusht.block_pose.BlockPoseStep` before
            the normalizer; ``dataset_stats`` then holds the pose's statistics.
        env_config: a LeRobot ``EnvConfig`` (e.g. ``make_env_config("metaworld", task="push-v3")``)
            whose features the policy reads and writes instead of PushT's, mapped as
            ``lerobot-eval`` maps them (``env_to_policy_features``); the statistics default to
            :func:`env_config_stats`. The VLAs still resize frames to their own resolution.
    """
    from lerobot.policies.factory import make_pre_post_processors

    if policy_type not in TINY_POLICY_TYPES:
        raise ValueError(f"unknown policy type {policy_type!r}; expected one of {TINY_POLICY_TYPES}")
    if policy_type == "diffusion" and (full_size or environment_state or relative_actions):
        raise ValueError("full_size, environment_state and relative_actions are for the VLAs (pi0, pi05, smolvla)")
    if env_config is not None and (environment_state or block_pose):
        raise ValueError("environment_state and block_pose are PushT's features; an env_config brings its own")
    if block_pose and not environment_state:
        raise ValueError("block_pose turns the block keypoints into a pose: it needs environment_state=True")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    overrides = dict(config_overrides or {})
    if relative_actions and policy_type in ("pi0", "pi05"):
        overrides |= {"use_relative_actions": True, "relative_exclude_joints": []}
    if policy_type in ("pi0", "pi05"):
        policy, tokenizer = _build_pi(
            policy_type, directory, chunk_size, full_size, overrides, pi_size, environment_state, env_config
        )
    elif policy_type == "smolvla":
        policy, tokenizer = _build_smolvla(directory, chunk_size, full_size, overrides, environment_state, smolvlm_size, env_config)
    else:
        policy, tokenizer = _build_diffusion(chunk_size, diffusion_scheduler, diffusion_pixels, overrides, env_config)
    if environment_state:
        mapping = policy.config.normalization_mapping
        mapping["ENV"] = mapping["STATE"]
    if dataset_stats is None:
        dataset_stats = pusht_stats(block_pose=block_pose) if env_config is None else env_config_stats(policy.config)
    with _hub_free_tokenizer(tokenizer) if tokenizer is not None else contextlib.nullcontext():
        preprocessor, postprocessor = make_pre_post_processors(policy.config, dataset_stats=dataset_stats)
    if block_pose:
        from lerobot.processor.normalize_processor import NormalizerProcessorStep

        from latent_mdp.tasks.pusht.block_pose import BlockPoseStep

        insert_step(preprocessor, BlockPoseStep(), before=NormalizerProcessorStep)
    if environment_state:
        from lerobot.processor.normalize_processor import NormalizerProcessorStep

        from latent_mdp.policies.lerobot.state_concat import ConcatEnvironmentStateStep

        insert_step(preprocessor, ConcatEnvironmentStateStep(), after=NormalizerProcessorStep)
    if relative_actions and policy_type == "smolvla":
        add_relative_action_steps(preprocessor, postprocessor)
    return LoadedCheckpoint(policy.eval(), preprocessor, postprocessor, directory)


def build_tiny_checkpoint(policy_type: str, directory: str | Path, **kwargs: Any) -> Path:
    """Build a tiny random-init LeRobot checkpoint of ``policy_type`` in ``directory``.

    Args:
        policy_type, directory, kwargs: as for :func:`build_random_policy` (without ``full_size``).

    Returns:
        The checkpoint directory, loadable by ``LeRobotNoisePolicy.from_pretrained``.
    """
    built = build_random_policy(policy_type, directory, **kwargs)
    return built.save_pretrained(built.directory)
