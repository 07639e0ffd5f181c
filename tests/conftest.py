"""Shared fixtures: run a snippet the way a reader does, as a subprocess, and parse its JSON."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "snippets"


def run_snippet(name, *args, timeout=300):
    """Run snippets/<name>.py with args; return (parsed stdout JSON or None if empty, stderr)."""
    proc = subprocess.run([sys.executable, str(SNIPPETS / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, f"{name} {args} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return (json.loads(proc.stdout) if proc.stdout.strip() else None), proc.stderr


def snippet_help(name):
    proc = subprocess.run([sys.executable, str(SNIPPETS / f"{name}.py"), "--help"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The real site (committed docs/results), built strict once per test session in a copy of
    the project; returns the folder holding site/."""
    import shutil
    dst = tmp_path_factory.mktemp("site") / "p"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
        ".git", "site", "generated", "__pycache__", ".pytest_cache", "test-artifacts"))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=dst,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dst


def results_of(snippet, device="cpu"):
    """The committed result of `snippet` on `device` (newest machine first), as the page shows it."""
    runs = []
    for path in (ROOT / "docs" / "results").glob(f"*/{snippet}.json"):
        data = json.loads(path.read_text())
        if device in data["runs"]:
            runs.append(data["runs"][device])
    assert runs, f"no committed result of {snippet} on {device}"
    return max(runs, key=lambda r: r["measured_at"])["result"]
