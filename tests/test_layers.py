"""The package's layers import one way: core <- sb3 <- builders, and ``agents`` on top of the core.

Core modules (``latent_mdp`` outside ``sb3/`` and ``builders/``) import no RL library and
neither upper layer; ``latent_mdp`` never imports ``agents`` at module level.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "latent_mdp"
RL_LIBRARIES = ("stable_baselines3", "sb3_contrib")


def layer(module: str) -> int:
    """0 the core, 1 the SB3 layer, 2 the asset builders, 3 ``agents`` (above the SB3 layer's VecEnv)."""
    parts = module.split(".")
    if parts[0] == "agents":
        return 3
    if parts[0] in RL_LIBRARIES:
        return 1
    if parts[0] != "latent_mdp" or len(parts) == 1:
        return 0
    return {"sb3": 1, "builders": 2}.get(parts[1], 0)


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)


def module_level_imports(path: Path) -> list[str]:
    """Modules imported at module level (not inside a function), relative imports excluded."""
    tree = ast.parse(path.read_text())
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    name = module_name(path)
    upward = [m for m in module_level_imports(path) if layer(m) > layer(name)]
    assert not upward, f"{name} (layer {layer(name)}) imports {upward} at module level"


def test_the_layer_test_sees_an_upward_import(tmp_path: Path) -> None:
    source = "from latent_mdp.sb3.train import train\n"
    tree_imports = module_level_imports(_write(tmp_path / "probe.py", source))
    assert [m for m in tree_imports if layer(m) > layer("latent_mdp.core")] == ["latent_mdp.sb3.train"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_import_latent_mdp_loads_no_rl_library_and_not_agents() -> None:
    code = (
        "import sys, latent_mdp, latent_mdp.wrapper, latent_mdp.vector, latent_mdp.batch, latent_mdp.demo_noise, "
        "latent_mdp.video, latent_mdp.tasks.pusht.presets\n"
        "import gymnasium as gym\n"
        "env = gym.make('DSRL-PushT-flow-v0'); env.reset(seed=0); env.close()\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {RL_LIBRARIES + ('agents',)!r})\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "", f"the core loaded {out.stdout.strip()}"


def test_the_sb3_names_are_still_reachable_from_the_package() -> None:
    code = "import sys, latent_mdp\nlatent_mdp.LatentActionVecEnv\nprint('stable_baselines3' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "True"
