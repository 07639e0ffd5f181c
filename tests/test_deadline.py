"""measure --deadline and scripts/gpu-measure.sh, proven on the CPU with fake slow snippets.

A GPU box is lent for minutes: the snippets must run in priority order, each with at most the
time left, those not started in time reported by name, nothing finished lost, and the packed
results must hold what finished even when the run is cut short. The fakes stand in for the
real snippets (same names, so the priority order is the real one) in a temporary copy.
"""
import json
import os
import subprocess
import sys
import tarfile

import pytest

from conftest import copy_project

FAKE = '''
import argparse, json, os, sys, time
ap = argparse.ArgumentParser(); ap.add_argument("--device"); ap.add_argument("--quick", action="store_true")
ap.add_argument("--out"); a = ap.parse_args()
name = os.path.basename(__file__)[:-3]
print(f"{name} starts", file=sys.stderr, flush=True)
time.sleep(float(os.environ.get("SLEEP_" + name.upper(), "0.2")))
r = {"snippet": name, "method_version": 1, "quick": a.quick, "device": {"type": a.device},
     "kernels": {"copy": {"median_s": 0.5, "min_s": 0.4, "max_s": 0.6, "gb_per_s": 10.0}}}
open(a.out, "w").write(json.dumps(r))
'''
NAMES = ["framework", "matmul", "bandwidth", "roofline", "gpt_train", "cnn_train"]


@pytest.fixture
def proj(tmp_path):
    p = copy_project(tmp_path / "p")
    for f in (p / "snippets").glob("*.py"):
        f.unlink()
    for name in NAMES:
        (p / "snippets" / f"{name}.py").write_text(FAKE)
    for d in (p / "docs" / "results").iterdir():
        if d.is_dir():
            import shutil
            shutil.rmtree(d)
    return p


def run(proj, *args, env=None, timeout=120):
    return subprocess.run([sys.executable, "build_results.py", *args], cwd=proj, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def written(proj):
    return sorted(p.stem for p in (proj / "docs" / "results").glob("*/*.json"))


def test_deadline_runs_in_priority_order_and_names_what_did_not_run(proj):
    # roofline (third) sleeps past the deadline: it is stopped, and what comes after it is not run.
    proc = run(proj, "measure", "--device", "cpu", "--deadline", "6", env={"SLEEP_ROOFLINE": "60"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    order = [line.split(" starts")[0].strip() for line in proc.stdout.splitlines() if " starts" in line]
    assert order == ["matmul", "bandwidth", "roofline"]  # headline first; framework would be last
    assert "roofline on cpu: NOT FINISHED: stopped at the --deadline" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: not run before the --deadline: roofline on cpu, gpt_train on cpu, "
        "cnn_train on cpu, framework on cpu, matmul on cpu (run 2 of 3), bandwidth on cpu "
        "(run 2 of 3), matmul on cpu (run 3 of 3), bandwidth on cpu (run 3 of 3)")
    assert "Traceback" not in proc.stderr
    assert written(proj) == ["bandwidth", "matmul"]  # nothing finished is lost
    data = json.loads(next((proj / "docs" / "results").glob("*/matmul.json")).read_text())
    assert "failures" not in data  # a deadline stop is not the snippet's failure


def test_no_deadline_runs_everything_in_the_same_order(proj):
    proc = run(proj, "measure", "--device", "cpu", "--quick")
    assert proc.returncode == 0, proc.stderr
    order = [line.split(" starts")[0].strip() for line in proc.stdout.splitlines() if " starts" in line]
    assert order == ["matmul", "bandwidth", "roofline", "gpt_train", "cnn_train", "framework"]
    # ...and the options count wherever they stand: `--quick measure` is `measure --quick`
    again = run(proj, "--quick", "measure", "--device", "cpu")
    assert again.returncode == 0 and again.stdout.count("skipped, cached") == len(NAMES), again.stdout


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "inf", "soon"])
def test_bad_deadline_is_one_line(proj, bad):
    proc = run(proj, "measure", "--deadline", bad)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "--deadline" in proc.stderr and written(proj) == []


def test_help_says_the_order_and_why():
    from conftest import ROOT
    out = subprocess.run([sys.executable, "build_results.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60).stdout
    import build_results
    assert "Order of the snippets (measure): " + ", ".join(build_results.PRIORITY) in out.replace("\n", " ")
    assert "headline figures first" in out and "framework" in out and "--deadline" in out


def test_gpu_measure_script_packs_after_each_group_and_logs(proj, tmp_path):
    """On a machine without a GPU it says so and measures the CPU; a budget too small for
    the slow snippet still leaves a results.tgz with everything that finished."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "SLEEP_ROOFLINE": "60"}
    proc = subprocess.run(["bash", "scripts/gpu-measure.sh", str(out), "15"], cwd=proj, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # roofline stopped, the rest not run
    assert sorted(p.name for p in out.iterdir()) == ["machine.txt", "measure.log", "results.tgz"]
    log = (out / "measure.log").read_text()
    assert "no CUDA GPU is visible" in log and "not run before the --deadline" in log
    assert "## summary" in log
    with tarfile.open(out / "results.tgz") as tgz:
        names = sorted(n.rsplit("/", 1)[-1] for n in tgz.getnames()  # results/<machine>/<x>.json
                       if n.endswith(".json") and n.count("/") == 2)
    assert names == ["bandwidth.json", "matmul.json"]
    assert "## cpu" in (out / "machine.txt").read_text()


def test_gpu_measure_script_refuses_bad_arguments(proj, tmp_path):
    for args in ([], [str(tmp_path / "o"), "ten"], [str(tmp_path / "o"), "1", "2"]):
        proc = subprocess.run(["bash", "scripts/gpu-measure.sh", *args], cwd=proj, capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def test_gpu_measure_script_force_measures_cached_results_again(proj, tmp_path):
    """FORCE=1 (the GPU-runner workflow's `force`) passes --force to every group; unset, or
    any other value, keeps the cache: a runner whose results are committed skips them."""
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("FORCE", None)

    def log_of(run, **extra):
        out = tmp_path / run
        proc = subprocess.run(["bash", "scripts/gpu-measure.sh", str(out), "120"], cwd=proj,
                              env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return (out / "measure.log").read_text()

    assert log_of("first").count("running (no result yet)") == len(NAMES)
    # every job is cached: each snippet once, and matmul and bandwidth twice more (3 runs on a CPU)
    assert log_of("cached", FORCE="yes").count("skipped, cached") == len(NAMES) + 4
    forced = log_of("forced", FORCE="1")
    assert forced.count("running (--force)") == len(NAMES)
    assert "FORCE=1: cached results measured again" in forced
