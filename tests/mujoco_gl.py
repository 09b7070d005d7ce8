"""Which OpenGL backend MuJoCo can render with on this machine, chosen before anything imports MuJoCo.

MuJoCo reads ``MUJOCO_GL`` once, when it is imported, so ``conftest.py`` calls
:func:`choose_mujoco_gl` first. LeRobot's MetaWorld env renders a frame every step; without a
backend (no EGL device, no OSMesa library) the tests that step it are skipped, and the others
never render.
"""

from __future__ import annotations

import os
import subprocess
import sys

_RENDER_ONE_FRAME = """
import mujoco
model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="1"/></worldbody></mujoco>')
data = mujoco.MjData(model)
mujoco.mj_forward(model, data)
renderer = mujoco.Renderer(model, 8, 8)
renderer.update_scene(data)
assert renderer.render().shape == (8, 8, 3)
"""


def renders_with(backend: str) -> bool:
    """Whether MuJoCo renders a frame with ``MUJOCO_GL=backend`` (tried in a subprocess)."""
    env = {**os.environ, "MUJOCO_GL": backend}
    try:
        done = subprocess.run([sys.executable, "-c", _RENDER_ONE_FRAME], env=env, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def choose_mujoco_gl() -> str | None:
    """Set ``MUJOCO_GL`` to the first backend that renders (the one already set, then EGL, then OSMesa); ``None`` if none does."""
    for backend in dict.fromkeys(filter(None, (os.environ.get("MUJOCO_GL"), "egl", "osmesa"))):
        if renders_with(backend):
            os.environ["MUJOCO_GL"] = backend
            return backend
    return None
