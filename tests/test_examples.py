"""The ``Example:`` sections of the public classes' docstrings run, and print what they show."""

import doctest
import importlib

import pytest
import torch

MODULES = [
    "latent_mdp.config",
    "latent_mdp.metrics",
    "latent_mdp.noise_space",
    "latent_mdp.batch",
    "latent_mdp.wrapper",
    "latent_mdp.vector",
    "latent_mdp.sb3.vec_env",
    "latent_mdp.sb3.envs",
    "latent_mdp.envs.generic",
    "latent_mdp.envs.lerobot_env",
    "latent_mdp.tasks.metaworld.env",
    "latent_mdp.tasks.metaworld.expert",
    "latent_mdp.tasks.metaworld.presets",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    torch.manual_seed(0)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see the output above)"
