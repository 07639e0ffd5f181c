#!/usr/bin/env python3
"""How the site build grows with the number of machines: 1, 10 and 50, side by side.

    python benchmarks/site_scale.py [--machines 1 10 50] [--gpus 2]

For each count, a temporary copy of the project gets that many machines (the committed one
plus synthetic CPU boxes, benchmarks/synthetic_machines.py), and a cold
`mkdocs build --strict` (charts rendered from scratch) is timed. Prints the seconds, and the
cost per added machine between counts, which should stay flat. Aim: 50 machines in under
60 s on a 2-core machine. Nothing here touches the real docs/results.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from synthetic_machines import make_machines  # noqa: E402

IGNORE = shutil.ignore_patterns(".git", ".venv", "site", "generated", "__pycache__", ".pytest_cache",
                                "test-artifacts", ".cache", "node_modules")


def build_time(n, gpus):
    with tempfile.TemporaryDirectory() as tmp:
        proj = pathlib.Path(tmp) / "p"
        shutil.copytree(ROOT, proj, ignore=IGNORE)
        if n > 1:
            make_machines(proj, n - 1, gpus=min(gpus, n - 1))
        t0 = time.perf_counter()
        # cold: no chart is copied from the chart cache (charts/__init__.py)
        env = dict(os.environ, GPUCPU_CHART_CACHE="off")
        proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                              capture_output=True, text=True, env=env)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"build with {n} machines failed:\n{proc.stderr[-2000:]}")
        return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machines", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--gpus", type=int, default=0,
                    help="synthetic machines with a made-up GPU (their runs lack GPU-only fields)")
    args = ap.parse_args()
    rows = []
    for n in args.machines:
        s = build_time(n, args.gpus)
        rows.append((n, s))
        print(f"{n:4d} machine(s): {s:6.1f} s", flush=True)
    print("\ncost per added machine:")
    for (n0, s0), (n1, s1) in zip(rows, rows[1:]):
        print(f"  {n0:3d} -> {n1:3d}: {(s1 - s0) / (n1 - n0):.2f} s per machine")


if __name__ == "__main__":
    main()
