"""In-memory tokenizers for offline checkpoints, and finding the one a checkpoint carries.

LeRobot's pi0 / pi0.5 processors hard-code ``google/paligemma-3b-pt-224``, and SmolVLA's names its
VLM repository. Offline checkpoints instead carry their tokenizer in a sub-directory
(:data:`TOKENIZER_DIR` for pi0 / pi0.5, :data:`VLM_DIR` for SmolVLA, whose processor lives there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TOKENIZER_DIR = "tokenizer"
VLM_DIR = "vlm"

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}

SMOLVLM_SPECIAL_TOKENS = {
    "image_token": "<image>",
    "fake_image_token": "<fake_token_around_image>",
    "global_image_token": "<global-img>",
    "end_of_utterance_token": "<end_of_utterance>",
    "video_token": "<video>",
}
"""The extra special tokens ``SmolVLMProcessor`` and LeRobot's SmolVLA look up by attribute."""


def byte_tokenizer(extra_special_tokens: dict[str, str] | None = None) -> Any:
    """A byte-level tokenizer with no merges: 256 byte tokens plus special tokens.

    It encodes any text, prepends ``<bos>``, and its vocabulary is ``len(tokenizer)`` (about 260).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    extra = dict(extra_special_tokens or {})
    specials = list(SPECIAL_TOKENS.values()) + list(extra.values())
    vocab = {token: i for i, token in enumerate(specials)}
    for char in pre_tokenizers.ByteLevel.alphabet():
        vocab.setdefault(char, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    bos = SPECIAL_TOKENS["bos_token"]
    core.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, vocab[bos])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        model_max_length=4096,
        extra_special_tokens=extra or None,
        **SPECIAL_TOKENS,
    )


def load_tokenizer(checkpoint_dir: Path) -> Any | None:
    """The tokenizer a checkpoint carries (``tokenizer/`` or ``vlm/``), or ``None``."""
    from transformers import AutoTokenizer

    for sub in (TOKENIZER_DIR, VLM_DIR):
        path = Path(checkpoint_dir) / sub
        if (path / "tokenizer.json").is_file() or (path / "tokenizer_config.json").is_file():
            return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return None
