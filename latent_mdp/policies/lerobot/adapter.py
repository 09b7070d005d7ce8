"""``LeRobotNoisePolicy``: a LeRobot pi0 / pi0.5 / SmolVLA / DiffusionPolicy as a ``NoisePolicy``.

Pipeline per call, as in LeRobot's eval loop::

    encode(obs)      gym obs (B, ...) -> preprocess_observation + task -> policy preprocessor
                     -> backend.encode: VLM prefix + KV cache (flow VLAs) or global cond (diffusion)
    decode(ctx, w)   w (B*K, H, D) -> backend.decode (Euler / DDIM, normalized, (B*K, H, A))
                     -> policy postprocessor (un-normalize; for ``use_relative_actions``
                        add the context's own state, see ``relative_actions``) -> float32 env units

Shapes: ``H`` = ``chunk_size`` (pi0/SmolVLA ``config.chunk_size``; DiffusionPolicy ``horizon``),
``D`` = ``noise_dim`` (pi0/SmolVLA ``max_action_dim`` = 32, padded; DiffusionPolicy ``A``),
``A`` = ``action_dim`` (the real action width).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from latent_mdp.policies.lerobot.diffusion import DiffusionBackend, make_deterministic
from latent_mdp.policies.lerobot.flow import FlowBackend, PiBackend, SmolVLABackend
from latent_mdp.policies.lerobot.loading import LoadedCheckpoint, load_checkpoint, resolve_checkpoint
from latent_mdp.policies.lerobot.observations import to_lerobot_batch
from latent_mdp.policies.lerobot.relative_actions import ActionReference
from latent_mdp.policy import NoisePolicy, Observation, PolicyContext

__all__ = ["LANGUAGE_POLICY_TYPES", "LeRobotContext", "LeRobotNoisePolicy", "SUPPORTED_POLICY_TYPES"]

_BACKENDS = {"pi0": PiBackend, "pi05": PiBackend, "smolvla": SmolVLABackend, "diffusion": DiffusionBackend}
SUPPORTED_POLICY_TYPES = tuple(_BACKENDS)
LANGUAGE_POLICY_TYPES = ("pi0", "pi05", "smolvla")


@dataclasses.dataclass
class LeRobotContext(PolicyContext):
    """An encoded batch of ``B`` observations.

    Attributes:
        encoded: the backend's context (``flow.PrefixContext`` or ``diffusion.DiffusionContext``).
        reference_state: ``(B, S)`` raw ``observation.state`` that relative actions are added to
            (``use_relative_actions``), else ``None``.
    """

    encoded: PolicyContext
    reference_state: torch.Tensor | None

    @property
    def batch_size(self) -> int:
        return self.encoded.batch_size

    def take(self, index: torch.Tensor) -> LeRobotContext:
        reference = None if self.reference_state is None else self.reference_state.index_select(0, index.to(self.reference_state.device))
        return LeRobotContext(self.encoded.take(index), reference)

    @classmethod
    def concat(cls, parts: Sequence[PolicyContext]) -> LeRobotContext:
        references = [part.reference_state for part in parts]  # type: ignore[attr-defined]
        encoded = type(parts[0].encoded).concat([part.encoded for part in parts])  # type: ignore[attr-defined]
        return LeRobotContext(encoded, None if references[0] is None else torch.cat(references))


def _swap_flag(swap_ddpm_for_ddim: bool, strict: bool | None) -> bool:
    """``swap_ddpm_for_ddim``, or ``not strict`` from callers of the old name (with a warning)."""
    if strict is None:
        return swap_ddpm_for_ddim
    warnings.warn(
        "LeRobotNoisePolicy(strict=...) is renamed swap_ddpm_for_ddim=... (strict=True is swap_ddpm_for_ddim=False); "
        "the old name goes in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
    return not strict


class LeRobotNoisePolicy(NoisePolicy):
    """A frozen LeRobot policy, deterministic in its initial noise, with prefix reuse.

    Attributes:
        task: the language instruction for pi0 / pi0.5 / SmolVLA (ignored by DiffusionPolicy).
        recommended_action_horizon: LeRobot's ``n_action_steps``, the number of actions per chunk
            the policy was trained to execute (``<= chunk_size``).
        policy, preprocessor, postprocessor: the LeRobot objects (``checkpoint`` holds all three).
        backend: the per-type encode / decode split (``flow.PiBackend``, ``flow.SmolVLABackend``,
            ``diffusion.DiffusionBackend``).
    """

    def __init__(
        self,
        loaded: LoadedCheckpoint,
        *,
        task: str | None = None,
        swap_ddpm_for_ddim: bool = True,
        strict: bool | None = None,
    ) -> None:
        swap_ddpm_for_ddim = _swap_flag(swap_ddpm_for_ddim, strict)
        self.checkpoint = loaded
        self.policy = loaded.policy
        self.preprocessor = loaded.preprocessor
        self.postprocessor = loaded.postprocessor
        self.policy_type = str(self.policy.config.type)
        if self.policy_type not in _BACKENDS:
            raise ValueError(
                f"LeRobot policy type {self.policy_type!r} is not supported; expected one of "
                f"{SUPPORTED_POLICY_TYPES}"
            )
        if self.policy_type == "diffusion":
            make_deterministic(self.policy, swap=swap_ddpm_for_ddim)
        for param in self.policy.parameters():
            param.requires_grad_(False)
        self.backend: FlowBackend | DiffusionBackend = _BACKENDS[self.policy_type](self.policy)
        self.action_reference = ActionReference(self.preprocessor)
        self.task = task
        self.chunk_size = self.backend.chunk_size
        self.noise_dim = self.backend.noise_dim
        self.action_dim = self.backend.action_dim
        self.feature_dim = self.backend.feature_dim
        self.recommended_action_horizon = int(self.policy.config.n_action_steps)

    @classmethod
    def from_pretrained(
        cls,
        path_or_repo_id: str | os.PathLike[str],
        *,
        task: str | None = None,
        device: str = "cpu",
        swap_ddpm_for_ddim: bool = True,
        strict: bool | None = None,
    ) -> LeRobotNoisePolicy:
        """Load a LeRobot checkpoint (local directory, or Hub id when online).

        Args:
            path_or_repo_id: a checkpoint directory in LeRobot's layout, or a Hub repo id.
            task: language instruction for the VLAs (required by them before ``encode``).
            device: torch device for the policy; actions always come back on the CPU.
            swap_ddpm_for_ddim: give a stochastic (DDPM) DiffusionPolicy a deterministic DDIM sampler
                (eta 0); ``False`` refuses such a checkpoint instead.
            strict: the old name of ``not swap_ddpm_for_ddim`` (deprecated).
        """
        directory = resolve_checkpoint(path_or_repo_id)
        swap = _swap_flag(swap_ddpm_for_ddim, strict)
        return cls(load_checkpoint(directory, device=device), task=task, swap_ddpm_for_ddim=swap)

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write policy, processors and sidecars (tokenizer, VLM dir, pi sizes) to ``directory``."""
        return self.checkpoint.save_pretrained(directory)

    @property
    def name(self) -> str:
        return f"LeRobotNoisePolicy[{self.policy_type}]"

    @property
    def device(self) -> torch.device:
        return next(self.policy.parameters()).device

    def lerobot_batch(self, obs_batch: Observation) -> dict[str, Any]:
        """``B`` Gymnasium observations -> the preprocessed LeRobot batch the policy consumes."""
        raw = to_lerobot_batch(
            obs_batch,
            self.policy.config,
            task=self.task,
            needs_task=self.policy_type in LANGUAGE_POLICY_TYPES,
            name=self.name,
        )
        return self.preprocessor(raw)

    @torch.no_grad()
    def encode(self, obs_batch: Observation) -> LeRobotContext:
        """The prefix (KV cache) or observation encoding for ``B`` observations."""
        encoded = self.backend.encode(self.lerobot_batch(obs_batch))
        return LeRobotContext(encoded, self.action_reference.captured())

    @torch.no_grad()
    def decode(self, ctx: LeRobotContext, noise: torch.Tensor) -> torch.Tensor:
        """Actions ``(B*K, H, A)`` float32 in env units for noise ``(B*K, H, D)``."""
        batch = ctx.batch_size
        expected = (self.chunk_size, self.noise_dim)
        if noise.ndim != 3 or tuple(noise.shape[1:]) != expected or noise.shape[0] % batch or not len(noise):
            raise ValueError(
                f"{self.name}.decode expects noise of shape (B*K, {expected[0]}, {expected[1]}) with "
                f"B = {batch} (K >= 1 noises per observation); got {tuple(noise.shape)}"
            )
        actions = self.backend.decode(ctx.encoded, noise.to(device=self.device, dtype=torch.float32))
        self.action_reference.restore(ctx.reference_state, noise.shape[0] // batch)
        return self.postprocessor(actions).to(dtype=torch.float32, device="cpu")

    def features(self, ctx: LeRobotContext) -> torch.Tensor:
        """``(B, F)``: pooled VLM prefix hidden states (VLAs) or the UNet's global cond (diffusion)."""
        return self.backend.features(ctx.encoded).float().cpu()
