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
