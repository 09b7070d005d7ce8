"""Small pi0 / pi0.5 architectures, which LeRobot 0.6.1 cannot express in its config.

``PI0Config`` only accepts the variants ``gemma_2b`` and ``gemma_300m``, and
``PaliGemmaWithExpertModel`` hard-codes a 257k vocabulary, a 2048-wide SigLIP projection and the
SigLIP-So400m tower. A checkpoint with a smaller network therefore carries a sidecar file,
``latent_mdp_pi_architecture.json``, and is built inside :func:`pi_architecture`, which swaps the
hard-coded pieces in ``modeling_pi0`` / ``modeling_pi05`` for the sidecar's sizes while LeRobot
constructs the model. Without the sidecar nothing is patched, so real checkpoints load as usual.

Constraints from LeRobot's code: both Gemma stacks need ``num_heads = 8`` (the joint attention
reshapes to ``1 * 8 * head_dim``), equal ``depth``, ``head_dim`` and ``num_kv_heads``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ARCHITECTURE_FILE = "latent_mdp_pi_architecture.json"


@dataclasses.dataclass(frozen=True)
class GemmaSize:
    """One Gemma stack (the VLM's language model or the action expert)."""

    width: int
    depth: int
    mlp_dim: int
    num_heads: int = 8
    num_kv_heads: int = 1
    head_dim: int = 8


@dataclasses.dataclass(frozen=True)
class VisionSize:
    """The SigLIP tower; its projection always maps to the VLM width."""

    hidden_size: int = 32
    intermediate_size: int = 64
    num_hidden_layers: int = 1
    num_attention_heads: int = 4
    patch_size: int = 16


@dataclasses.dataclass(frozen=True)
class PiArchitecture:
    """Every size a small pi0 / pi0.5 needs: VLM, action expert, vision tower, vocabulary."""

    vlm: GemmaSize
    expert: GemmaSize
    vision: VisionSize
    vocab_size: int

    def __post_init__(self) -> None:
        for name in ("depth", "head_dim", "num_kv_heads"):
            if getattr(self.vlm, name) != getattr(self.expert, name):
                raise ValueError(f"pi0 needs the VLM and the expert to share {name}")
        if self.vlm.num_heads != 8 or self.expert.num_heads != 8:
            raise ValueError("pi0's joint attention hard-codes num_heads = 8")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PiArchitecture:
        return cls(
            vlm=GemmaSize(**data["vlm"]),
            expert=GemmaSize(**data["expert"]),
            vision=VisionSize(**data["vision"]),
            vocab_size=int(data["vocab_size"]),
        )

    def save(self, directory: Path) -> None:
        (Path(directory) / ARCHITECTURE_FILE).write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, directory: Path) -> PiArchitecture | None:
        """The sidecar in ``directory``, or ``None`` for a full-size checkpoint."""
        path = Path(directory) / ARCHITECTURE_FILE
        return cls.from_json(json.loads(path.read_text())) if path.is_file() else None


@contextlib.contextmanager
def pi_architecture(arch: PiArchitecture | None) -> Iterator[None]:
    """Build pi0 / pi0.5 models with ``arch``'s sizes inside this block (no-op for ``None``)."""
    if arch is None:
        yield
        return
    from lerobot.policies.pi0 import modeling_pi0
    from lerobot.policies.pi05 import modeling_pi05

    modules = (modeling_pi0, modeling_pi05)
    names = ("get_gemma_config", "PaliGemmaForConditionalGenerationWithPiGemma", "PiGemmaForCausalLM")
    saved = [(m, n, getattr(m, n)) for m in modules for n in names]
    vlm_cls = modeling_pi0.PaliGemmaForConditionalGenerationWithPiGemma
    expert_cls = modeling_pi0.PiGemmaForCausalLM

    def gemma_config(variant: str) -> Any:
        size = {"gemma_2b": arch.vlm, "gemma_300m": arch.expert}[variant]
        return modeling_pi0.GemmaConfig(**dataclasses.asdict(size))

    def make_vlm(config: Any) -> Any:
        vision = config.vision_config
        for key, value in dataclasses.asdict(arch.vision).items():
            setattr(vision, key, value)
        vision.projection_dim = arch.vlm.width
        config.text_config.vocab_size = arch.vocab_size
        config._vocab_size = arch.vocab_size  # noqa: SLF001 (mirrors LeRobot's own assignment)
        config.image_token_index = arch.vocab_size - 1
        return vlm_cls(config=config)

    def make_expert(config: Any) -> Any:
        config.vocab_size = arch.vocab_size
        return expert_cls(config=config)

    try:
        for module in modules:
            module.get_gemma_config = gemma_config
            module.PaliGemmaForConditionalGenerationWithPiGemma = make_vlm
            module.PiGemmaForCausalLM = make_expert
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
