"""The notebooks execute headless in QUICK mode; any cell error fails the test.

They run with nbclient on the ``python3`` kernel, which jupyter_client starts with this
interpreter (``sys.executable``), so the kernel sees the same venv as the tests.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT_S = 300


@pytest.mark.slow
@pytest.mark.parametrize("name", ["compare_algorithms.ipynb", "steer_a_lerobot_policy.ipynb"])
def test_notebook_runs_in_quick_mode(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for variable in ("CHECKPOINT", "TASK", "ENV_ID"):  # the notebooks' own knobs: defaults in CI
        monkeypatch.delenv(variable, raising=False)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    printed = "".join(output.get("text", "") for output in notebook.cells[1].outputs)
    assert f"python: {sys.executable}" in printed  # the kernel ran in this venv
