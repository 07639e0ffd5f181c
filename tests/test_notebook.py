"""The notebook page runs top to bottom on a CPU-only machine, as a reader would run it."""
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from conftest import copy_project


def test_notebook_runs_on_cpu_and_plots_mine_against_published(tmp_path):
    proj = copy_project(tmp_path / "p")
    # the notebook reads the results index that render publishes with the site
    subprocess.run([sys.executable, "build_results.py", "render"], cwd=proj, check=True,
                   capture_output=True)
    nb = nbformat.read(proj / "docs" / "run-it-yourself.ipynb", as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(proj / "docs")}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "measuring on the CPU" in text
    for name in ("matmul", "bandwidth"):
        assert f"{name}: ok" in text
    assert "failed" not in text, text
    # a row for the reader's machine and one for a published machine, per headline
    assert "you: cpu" in text and "· cpu" in text
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the comparison chart was not drawn"
