#!/usr/bin/env python3
"""Make synthetic machines in a COPY of the project, to see how the site copes with many.

    python benchmarks/synthetic_machines.py PROJECT_COPY N [--gpus K]

Each synthetic machine is the committed machine's results with another CPU name, core count
and family/model (so another folder), its figures scaled by a per-machine factor; K of them
also get a made-up GPU ("Synthetic GPU"), whose runs are the CPU runs scaled 10x. They are
test data: never write them into the real docs/results (the script refuses to).
Used by tests/test_atlas.py and benchmarks/site_scale.py.
"""
import argparse
import copy
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RATE_KEYS = ("tflops", "gflop_per_s", "gb_per_s", "images_per_s", "tokens_per_s", "samples_per_s")


def _scale(obj, f):
    """Every rate in a result times f, every time divided by f (so they stay consistent)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if any(k.startswith(r) or f"_{r}" in k for r in RATE_KEYS):
                    v = v * f
                elif k.endswith("_s") and "per_s" not in k:
                    v = v / f
            else:
                v = _scale(v, f)
            out[k] = v
        return out
    if isinstance(obj, list):
        return [_scale(v, f) for v in obj]
    return obj


def make_machines(project, n, gpus=0):
    """Add n synthetic machines to project/docs/results; return their folder names."""
    project = pathlib.Path(project).resolve()
    if project == ROOT:
        raise SystemExit("synthetic_machines: refusing to write into the real docs/results")
    results = project / "docs" / "results"
    base = next(p for p in sorted(results.iterdir()) if p.is_dir() and list(p.glob("*.json")))
    made = []
    for i in range(n):
        cores = 4 * (i + 1)
        factor = 0.5 + 0.25 * i
        gpu = {"name": "Synthetic GPU", "count": 1, "memory_gb": 80.0} if i < gpus else None
        slug = f"synthetic-cpu-{i:02d}-f99m{i}-{cores}c" + ("-synthetic-gpu" if gpu else "")
        folder = results / slug
        folder.mkdir()
        for src in sorted(base.glob("*.json")):
            data = json.loads(src.read_text())
            data["machine"] = copy.deepcopy(data["machine"])
            data["machine"].update(slug=slug, gpu=gpu)
            cpu = data["machine"]["cpu"]
            cpu.update(model=f"Synthetic CPU {i:02d}", logical_cores=cores, usable_cores=cores,
                       physical_cores=cores)
            cpu["id"] = dict(cpu.get("id") or {}, **{"cpu family": "99", "model": str(i)})
            runs = {}
            for device, run in data["runs"].items():
                runs["cpu"] = dict(run, result=_scale(run["result"], factor))
                if gpu:
                    g = _scale(run["result"], 10 * factor)
                    g["device"] = {"type": "cuda", "name": gpu["name"]}
                    runs["cuda"] = dict(run, args=["--device", "cuda"] + run["args"][2:],
                                        command=run["command"].replace("--device cpu", "--device cuda"),
                                        result=g)
            data["runs"] = runs
            data.pop("failures", None)
            (folder / src.name).write_text(json.dumps(data, indent=1))
        made.append(slug)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project", help="a copy of the project (never this checkout)")
    ap.add_argument("n", type=int, help="how many synthetic machines")
    ap.add_argument("--gpus", type=int, default=0, help="how many of them get a made-up GPU")
    args = ap.parse_args()
    for slug in make_machines(args.project, args.n, args.gpus):
        print(slug)


if __name__ == "__main__":
    sys.exit(main())
