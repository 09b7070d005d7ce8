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


STATE_BINS = 256
"""pi0.5 writes each normalized state value into its prompt as a bin index in ``0 .. 255``."""


def _number_merges(space: str) -> list[tuple[str, str]]:
    """BPE merges that make each of " 0" .. " 255" one token, shortest numbers first.

    ``space`` is the byte-level alphabet's stand-in for a space; each number's token is built by
    appending its last digit to the token of its prefix (" 12" + "5" -> " 125").
    """
    return [(space + str(n)[:-1], str(n)[-1]) for n in range(STATE_BINS)]


def byte_tokenizer(extra_special_tokens: dict[str, str] | None = None, number_tokens: bool = False) -> Any:
    """A byte-level tokenizer: 256 byte tokens plus special tokens, and optionally whole numbers.

    It encodes any text and prepends ``<bos>``. Without ``number_tokens`` it has no merges (about
    260 tokens). With them, each space-led number " 0" .. " 255" is one token (about 516 tokens):
    pi0.5's prompt spells its state as such numbers, and a tiny model trained from scratch on a
    CPU budget does not learn to read them digit by digit (``benchmarks/results/vla_base_probes.md``).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    extra = dict(extra_special_tokens or {})
    specials = list(SPECIAL_TOKENS.values()) + list(extra.values())
    vocab = {token: i for i, token in enumerate(specials)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(char, len(vocab))
    merges: list[tuple[str, str]] = []
    if number_tokens:
        ((space, _),) = pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str(" ")
        merges = _number_merges(space)
        for left, right in merges:
            vocab.setdefault(left + right, len(vocab))
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=SPECIAL_TOKENS["unk_token"]))
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
