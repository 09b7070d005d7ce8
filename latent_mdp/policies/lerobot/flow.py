"""Prefix reuse for LeRobot's flow-matching VLAs: pi0, pi0.5 and SmolVLA.

``predict_action_chunk`` runs the VLM over the prefix (images, language, and for SmolVLA the
state) once, keeps its KV cache, then integrates the action expert with forward Euler from the
noise at ``t = 1`` to the actions at ``t = 0``. Here the two halves are split: :meth:`encode`
fills the cache once per observation, and :meth:`decode` repeats the cache ``K`` times
(``repeat_interleave`` order, matching the noise rows) and integrates ``B*K`` noises at once,
calling LeRobot's own ``embed_prefix`` and ``denoise_step`` so the numbers are the same.

Features (``F`` = the VLM width): the mean over the valid prefix tokens of the VLM's final
(normed) hidden states, one vector per observation.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from latent_mdp.policy import PolicyContext

__all__ = ["FlowBackend", "PiBackend", "PrefixContext", "SmolVLABackend", "repeat_cache", "take_cache"]

LANGUAGE_TOKENS = "observation.language.tokens"
LANGUAGE_MASK = "observation.language.attention_mask"


@dataclasses.dataclass
class PrefixContext(PolicyContext):
    """A VLM prefix, encoded once.

    Attributes:
        past_key_values: transformers ``DynamicCache``; each layer's keys/values ``(B, h, L, d)``.
        prefix_pad_masks: ``(B, L)`` bool, which prefix tokens are real.
        state: ``(B, max_state_dim)`` padded normalized state for pi0's expert; ``None`` for
            pi0.5 and SmolVLA, whose state is inside the prefix.
        features: ``(B, F)`` pooled prefix hidden states.
    """

    past_key_values: Any
    prefix_pad_masks: torch.Tensor
    state: torch.Tensor | None
    features: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.prefix_pad_masks.shape[0])

    def take(self, index: torch.Tensor) -> PrefixContext:
        index = index.to(self.prefix_pad_masks.device)
        return PrefixContext(
            take_cache(self.past_key_values, index),
            self.prefix_pad_masks.index_select(0, index),
            None if self.state is None else self.state.index_select(0, index),
            self.features.index_select(0, index),
        )

    @classmethod
    def concat(cls, parts: Sequence[PolicyContext]) -> PrefixContext:
        prefixes: list[PrefixContext] = list(parts)  # type: ignore[arg-type]
        lengths = {p.prefix_pad_masks.shape[1] for p in prefixes}
        if len(lengths) != 1:
            raise ValueError(f"PrefixContext.concat: prefixes of different lengths {sorted(lengths)} cannot share one batch")
        from transformers import DynamicCache

        layers = zip(*(tuple(p.past_key_values) for p in prefixes))
        cache = DynamicCache(
            tuple((torch.cat([k for k, _, _ in layer]), torch.cat([v for _, v, _ in layer]), layer[0][2]) for layer in layers)
        )
        states = [p.state for p in prefixes]
        return PrefixContext(
            cache,
            torch.cat([p.prefix_pad_masks for p in prefixes]),
            None if states[0] is None else torch.cat(states),  # type: ignore[arg-type]
            torch.cat([p.features for p in prefixes]),
        )


def take_cache(cache: Any, index: torch.Tensor) -> Any:
    """A new ``DynamicCache`` of the rows ``index`` ``(N,)`` of ``cache``'s keys and values ``(B, h, L, d)``.

    Always a copy, so denoising may write into it without touching the encoded prefix.
    """
    from transformers import DynamicCache

    return DynamicCache(
        tuple((keys.index_select(0, index.to(keys.device)), values.index_select(0, index.to(values.device)), window) for keys, values, window in cache)
    )


def repeat_cache(cache: Any, k: int) -> Any:
    """A new ``DynamicCache`` with every row repeated ``k`` times (``repeat_interleave``); see :func:`take_cache`."""
    first_keys = next(iter(cache))[0]
    return take_cache(cache, torch.arange(first_keys.shape[0], device=first_keys.device).repeat_interleave(k))


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` ``(B, L, F)`` over the tokens where ``mask`` ``(B, L)`` is true."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class FlowBackend(abc.ABC):
    """Split ``predict_action_chunk`` of a flow-matching LeRobot VLA into encode / decode."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.model = policy.model
        config = policy.config
        self.chunk_size = int(config.chunk_size)
        self.noise_dim = int(config.max_action_dim)
        self.action_dim = int(config.output_features["action"].shape[0])

    @property
    @abc.abstractmethod
    def num_steps(self) -> int:
        """Euler steps per decode."""

    @property
    @abc.abstractmethod
    def feature_dim(self) -> int:
        """``F``, the VLM width."""

    def encode(self, batch: dict[str, Any]) -> PrefixContext:
        """Fill the prefix cache for a preprocessed LeRobot batch of ``B`` observations."""
        self.policy.eval()
        embs, pad_masks, att_masks, expert_state = self._embed_prefix(batch)
        hidden, cache = self._prefill(embs, pad_masks, att_masks)
        return PrefixContext(cache, pad_masks, expert_state, masked_mean(hidden.float(), pad_masks))

    @abc.abstractmethod
    def _embed_prefix(
        self, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """LeRobot's input preparation + ``embed_prefix``: embeddings ``(B, L, W)``, pad and
        attention masks ``(B, L)``, and the padded state the expert reads (pi0) or ``None``."""

    def _prefill(
        self, embs: torch.Tensor, pad_masks: torch.Tensor, att_masks: torch.Tensor
    ) -> tuple[torch.Tensor, Any]:
        """Run the VLM over the prefix: final hidden states ``(B, L, W)`` and the KV cache."""
        from lerobot.policies.common.vla_utils import make_att_2d_masks

        (hidden, _), cache = self._vlm_with_expert.forward(
            attention_mask=self._attention_mask(make_att_2d_masks(pad_masks, att_masks)),
            position_ids=torch.cumsum(pad_masks, dim=1) - 1,
            past_key_values=None,
            inputs_embeds=[embs, None],
            use_cache=True,
        )
        return hidden, cache

    @property
    @abc.abstractmethod
    def _vlm_with_expert(self) -> Any:
        """LeRobot's joint VLM + expert module (its ``forward`` fills the prefix cache)."""

    def _attention_mask(self, att_2d: torch.Tensor) -> torch.Tensor:
        """The prefix attention mask in the layout the VLM's ``forward`` takes (default: 2-d bool)."""
        return att_2d

    @abc.abstractmethod
    def _velocity(
        self, cache: Any, pad_masks: torch.Tensor, state: torch.Tensor | None, x_t: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        """LeRobot's ``denoise_step``: the velocity ``(N, H, D)`` at ``x_t``."""

    def decode(self, ctx: PrefixContext, noise: torch.Tensor) -> torch.Tensor:
        """Normalized actions ``(B*K, H, A)`` for noise ``(B*K, H, D)``; row i uses prefix i // K."""
        from lerobot.policies.common.flow_matching import euler_integrate

        k = noise.shape[0] // ctx.batch_size
        cache = repeat_cache(ctx.past_key_values, k)
        pad_masks = ctx.prefix_pad_masks.repeat_interleave(k, dim=0)
        state = None if ctx.state is None else ctx.state.repeat_interleave(k, dim=0)
        actions = euler_integrate(
            lambda x_t, t: self._velocity(cache, pad_masks, state, x_t, t), noise, self.num_steps
        )
        return self._finish(actions[:, :, : self.action_dim])

    def features(self, ctx: PrefixContext) -> torch.Tensor:
        """``(B, F)``: the masked mean of the prefix's final VLM hidden states."""
        return ctx.features

    def _finish(self, actions: torch.Tensor) -> torch.Tensor:
        """Any policy-specific output transform ``predict_action_chunk`` applies after unpadding."""
        return actions


class PiBackend(FlowBackend):
    """pi0 (state enters the expert) and pi0.5 (state is tokenized into the prompt)."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.uses_state = hasattr(self.model, "state_proj")

    @property
    def num_steps(self) -> int:
        return int(self.policy.config.num_inference_steps)

    @property
    def feature_dim(self) -> int:
        return int(self.model.paligemma_with_expert.paligemma.config.text_config.hidden_size)

    def _embed_prefix(
        self, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        images, img_masks = self.policy._preprocess_images(batch)  # noqa: SLF001
        tokens, masks = batch[LANGUAGE_TOKENS], batch[LANGUAGE_MASK]
        state = self.policy.prepare_state(batch) if self.uses_state else None
        return (*self.model.embed_prefix(images, img_masks, tokens, masks), state)

    @property
    def _vlm_with_expert(self) -> Any:
        vlm = self.model.paligemma_with_expert
        vlm.paligemma.model.language_model.config._attn_implementation = "eager"  # noqa: SLF001 (as LeRobot)
        return vlm

    def _attention_mask(self, att_2d: torch.Tensor) -> torch.Tensor:
        from lerobot.policies.common.vla_utils import prepare_attention_masks_4d

        return prepare_attention_masks_4d(att_2d)

    def _velocity(
        self, cache: Any, pad_masks: torch.Tensor, state: torch.Tensor | None, x_t: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        kwargs = {"state": state} if self.uses_state else {}
        return self.model.denoise_step(
            prefix_pad_masks=pad_masks, past_key_values=cache, x_t=x_t, timestep=t, **kwargs
        )


class SmolVLABackend(FlowBackend):
    """SmolVLA: images, language and state form the prefix; the expert cross-attends to it."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        if not policy.config.use_cache:
            raise ValueError("SmolVLA prefix reuse needs config.use_cache = True")

    @property
    def num_steps(self) -> int:
        return int(self.policy.config.num_steps)

    @property
    def feature_dim(self) -> int:
        return int(self.model.vlm_with_expert.config.text_config.hidden_size)

    def _embed_prefix(
        self, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        batch = self.policy._prepare_batch(dict(batch))  # noqa: SLF001
        images, img_masks = self.policy.prepare_images(batch)
        state = self.policy.prepare_state(batch)
        tokens, masks = batch[LANGUAGE_TOKENS], batch[LANGUAGE_MASK]
        return (*self.model.embed_prefix(images, img_masks, tokens, masks, state=state), None)

    @property
    def _vlm_with_expert(self) -> Any:
        return self.model.vlm_with_expert

    def _velocity(
        self, cache: Any, pad_masks: torch.Tensor, state: torch.Tensor | None, x_t: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        return self.model.denoise_step(prefix_pad_masks=pad_masks, past_key_values=cache, x_t=x_t, timestep=t)

    def _finish(self, actions: torch.Tensor) -> torch.Tensor:
        if self.policy.config.adapt_to_pi_aloha:
            actions = self.policy._pi_aloha_encode_actions(actions)  # noqa: SLF001
        return actions
