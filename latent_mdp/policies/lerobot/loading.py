"""Find and load a LeRobot checkpoint (policy + processors) through LeRobot's own factory.

Offline checkpoints written by :mod:`latent_mdp.builders.lerobot_models` carry their tokenizer,
SmolVLM config/processor and small pi0 sizes inside the directory; this module points LeRobot at
them, so loading works with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from latent_mdp.policies.checkpoint_files import check_weights_file, read_config
from latent_mdp.policies.lerobot.architecture import ARCHITECTURE_FILE, PiArchitecture, pi_architecture
from latent_mdp.policies.lerobot.tokenizer import TOKENIZER_DIR, VLM_DIR, load_tokenizer

__all__ = ["LoadedCheckpoint", "copy_sidecars", "load_checkpoint", "resolve_checkpoint"]

_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def _hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag or bool(constants.HF_HUB_OFFLINE)


def resolve_checkpoint(path_or_repo_id: str | os.PathLike[str]) -> Path:
    """A local checkpoint directory, or a Hub snapshot when the Hub is reachable.

    Raises:
        FileNotFoundError: not a directory, and the Hub is offline or unreachable; the message
            says to pass a local directory.
    """
    path = Path(path_or_repo_id).expanduser()
    if path.is_dir():
        return path
    text = str(path_or_repo_id)
    if path.exists() or not _REPO_ID.match(text):
        raise FileNotFoundError(f"no LeRobot checkpoint directory at {text!r}")
    offline = _hub_offline()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(text, local_files_only=offline))
    except Exception as error:  # noqa: BLE001 (any hub failure gets the same advice)
        why = "the Hugging Face Hub is offline (HF_HUB_OFFLINE=1)" if offline else "the Hub download failed"
        raise FileNotFoundError(
            f"{text!r} is not a local directory and {why}: pass a local checkpoint directory "
            "instead (LeRobot's layout: config.json, model.safetensors, policy_*processor.json; "
            "e.g. one written by latent_mdp.policies.lerobot.build_tiny_checkpoint or "
            "`hf download REPO_ID --local-dir DIR` on a machine with internet)"
        ) from error


class LoadedCheckpoint:
    """A LeRobot policy with its pre/post processors and the directory it came from."""

    def __init__(self, policy: Any, preprocessor: Any, postprocessor: Any, directory: Path) -> None:
        self.policy = policy
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor
        self.directory = directory

    def save_pretrained(self, target: str | os.PathLike[str]) -> Path:
        """Write policy, processors and sidecars (tokenizer, VLM dir, pi sizes) to ``target``."""
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        self.policy.save_pretrained(target)
        self.preprocessor.save_pretrained(target)
        self.postprocessor.save_pretrained(target)
        copy_sidecars(self.directory, target)
        return target


def _pipeline_steps(directory: Path, filename: str) -> set[str]:
    path = directory / filename
    if not path.is_file():
        return set()
    return {step.get("registry_name", "") for step in json.loads(path.read_text()).get("steps", [])}


def _load_config(directory: Path, device: str) -> Any:
    from lerobot.configs import PreTrainedConfig

    config = PreTrainedConfig.from_pretrained(str(directory))
    config.device = device
    vlm = directory / VLM_DIR
    if config.type == "smolvla" and vlm.is_dir():
        config.vlm_model_name = str(vlm)
        config.load_vlm_weights = False  # the weights are in model.safetensors
    return config


class _DropPatchEmbeddingNotice(logging.Filter):
    """pi0's key fixer warns about every SigLIP patch-embedding key it loads; that is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Vision embedding key might need handling")


def _load_policy(directory: Path, config: Any) -> Any:
    """``policy_cls.from_pretrained(strict=True)``; pi0's loader prints failures, so catch them."""
    from lerobot.policies.factory import get_policy_class

    policy_cls = get_policy_class(config.type)
    printed = io.StringIO()
    notice = _DropPatchEmbeddingNotice()
    logging.getLogger().addFilter(notice)
    try:
        with pi_architecture(PiArchitecture.load(directory)), contextlib.redirect_stdout(printed):
            policy = policy_cls.from_pretrained(str(directory), config=config, strict=True)
    finally:
        logging.getLogger().removeFilter(notice)
    if "Could not load" in printed.getvalue():
        raise RuntimeError(f"LeRobot could not load the weights in {directory}:\n{printed.getvalue()}")
    return policy.eval()


def load_checkpoint(directory: Path, *, device: str = "cpu") -> LoadedCheckpoint:
    """Load the policy named in ``directory/config.json`` and its processors, on ``device``."""
    from lerobot.policies.factory import make_pre_post_processors

    # The processor steps this package adds register with LeRobot on import; a checkpoint may name any of them.
    from latent_mdp.policies.lerobot import state_concat  # noqa: F401
    from latent_mdp.tasks.pusht import block_pose  # noqa: F401

    read_config(directory / "config.json")
    check_weights_file(directory / "model.safetensors")
    config = _load_config(directory, device)
    policy = _load_policy(directory, config)
    pre_overrides: dict[str, Any] = {"device_processor": {"device": device}}
    tokenizer = load_tokenizer(directory)
    if tokenizer is not None and "tokenizer_processor" in _pipeline_steps(directory, "policy_preprocessor.json"):
        pre_overrides["tokenizer_processor"] = {"tokenizer": tokenizer}
    post_overrides: dict[str, Any] = {}
    if "device_processor" in _pipeline_steps(directory, "policy_postprocessor.json"):
        post_overrides["device_processor"] = {"device": "cpu"}
    preprocessor, postprocessor = make_pre_post_processors(
        policy.config,
        pretrained_path=str(directory),
        preprocessor_overrides=pre_overrides,
        postprocessor_overrides=post_overrides,
    )
    return LoadedCheckpoint(policy, preprocessor, postprocessor, directory)


def copy_sidecars(source: Path, target: Path) -> None:
    """Copy what LeRobot's own ``save_pretrained`` does not write: tokenizer, VLM dir, pi sizes."""
    if source.resolve() == target.resolve():
        return
    for sub in (TOKENIZER_DIR, VLM_DIR):
        if (source / sub).is_dir():
            shutil.copytree(source / sub, target / sub, dirs_exist_ok=True)
    if (source / ARCHITECTURE_FILE).is_file():
        shutil.copy2(source / ARCHITECTURE_FILE, target / ARCHITECTURE_FILE)
