"""Benchmarks crash, hang, run out of memory and get interrupted; results files get edited
by hand. None of that may lose good data or publish a wrong page. Each test injects the
fault into a copy of the project and checks the message and that nothing was lost."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import copy_project

ROOT = pathlib.Path(__file__).resolve().parent.parent

# A well-behaved stand-in snippet (stdlib only, so the tests stay fast).
GOOD = '''
import argparse, json, sys, time
METHOD_VERSION = 1
ap = argparse.ArgumentParser(); ap.add_argument("--device"); ap.add_argument("--quick", action="store_true")
ap.add_argument("--out"); a = ap.parse_args()
time.sleep(float(__import__("os").environ.get("GOOD_SLEEP", "0")))
r = {"snippet": "good", "method_version": 1, "quick": a.quick, "device": {"type": a.device},
     "kernels": {"copy": {"median_s": 0.5, "min_s": 0.4, "max_s": 0.6, "gb_per_s": 10.0}}}
open(a.out, "w").write(json.dumps(r)) if a.out else print(json.dumps(r))
'''
FAULTS = {
    "bad_raise": "raise RuntimeError('boom: the kernel failed')",
    "bad_sleep": "import time; time.sleep(600)",
    "bad_kill": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "bad_oom": "raise MemoryError('CUDA out of memory. Tried to allocate 80.00 GiB')",
    "bad_json": "print('not json')",
}


@pytest.fixture
def proj(tmp_path):
    p = copy_project(tmp_path / "p")
    (p / "snippets" / "good.py").write_text(GOOD)
    for name, body in FAULTS.items():
        (p / "snippets" / f"{name}.py").write_text(f"import argparse\n{body}\n")
    return p


def run(proj, *args, timeout=300, env=None):
    return subprocess.run([sys.executable, "build_results.py", *args], cwd=proj,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def results(proj):
    return {p.relative_to(proj): p.read_text() for p in (proj / "docs" / "results").rglob("*.json")}


def seed_good_result(proj, snippet):
    """A last good result of `snippet`: the good snippet's run, renamed."""
    assert run(proj, "measure", "--only", "good", "--device", "cpu").returncode == 0
    src = next((proj / "docs" / "results").glob("*/good.json"))
    data = json.loads(src.read_text())
    data["snippet"] = snippet
    dst = src.parent / f"{snippet}.json"
    dst.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return dst, data


@pytest.mark.parametrize("name,cause", [
    ("bad_raise", "exited with status 1: RuntimeError: boom: the kernel failed"),
    ("bad_sleep", "timed out after 3 s"),
    ("bad_kill", "killed by signal SIGKILL"),
    ("bad_oom", "(out of memory)"),
    ("bad_json", "wrote no JSON to its --out file"),
])
def test_failing_snippet_is_reported_others_run_last_good_result_kept(proj, name, cause):
    path, good = seed_good_result(proj, name)
    (proj / "docs" / "results" / path.parent.name / "good.json").unlink()
    proc = run(proj, "measure", "--only", name, "good", "--device", "cpu", "--force", "--timeout", "3")
    assert proc.returncode == 1
    assert f"error: {name} on cpu: " in proc.stderr and cause in proc.stderr
    assert "Traceback" not in proc.stderr
    after = json.loads(path.read_text())
    assert after["runs"] == good["runs"], "the last good result was changed"
    assert cause in after["failures"]["cpu"]["cause"]
    # the other snippet still ran
    assert (path.parent / "good.json").exists()


def test_page_shows_last_good_result_and_notes_the_failed_run(proj):
    # matmul's committed result stays; a failed re-run is noted under its chart.
    f = next((proj / "docs" / "results").glob("*/matmul.json"))
    data = json.loads(f.read_text())
    data["failures"] = {"cpu": {"at": "2026-01-02T03:04:05Z", "cause": "timed out after 600 s",
                                "command": "python snippets/matmul.py --device cpu"}}
    f.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (proj / "site" / "flops" / "index.html").read_text()
    assert "timed out after 600 s" in html and "2026-01-02" in html


def test_interrupted_measure_leaves_no_half_file_and_resumes(proj):
    before = results(proj)
    p = subprocess.Popen([sys.executable, "build_results.py", "measure", "--only", "good", "bad_sleep",
                          "--device", "cpu", "--timeout", "120"], cwd=proj,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the slow snippet is running, then kill the build as a CI runner would
    deadline = time.monotonic() + 120
    seen = ""
    while "bad_sleep on cpu: running" not in seen and time.monotonic() < deadline:
        seen += p.stdout.readline()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err
    assert not list((proj / "docs" / "results").rglob("*.tmp"))
    after = results(proj)
    for k in before:
        assert after[k] == before[k]
    good = [k for k in after if k.name == "good.json"]
    assert good, "the finished snippet's result was not kept"
    # no snippet process is left behind
    ps = subprocess.run(["pgrep", "-f", "snippets/bad_sleep.py"], capture_output=True, text=True)
    assert ps.stdout.strip() == ""
    # the next run resumes: good is cached, only what is missing runs
    proc = run(proj, "measure", "--only", "good", "--device", "cpu")
    assert "good on cpu: skipped, cached" in proc.stdout


def test_cache_reruns_only_what_changed(proj):
    assert run(proj, "measure", "--only", "good", "--device", "cpu").returncode == 0
    proc = run(proj, "measure", "--only", "good", "--device", "cpu")
    assert "skipped, cached" in proc.stdout
    src = proj / "snippets" / "good.py"
    src.write_text(src.read_text() + "\n# changed\n")
    proc = run(proj, "measure", "--only", "good", "--device", "cpu")
    assert "running (snippet source changed)" in proc.stdout
    proc = run(proj, "measure", "--only", "good", "--device", "cpu", "--quick")
    assert "running (arguments changed" in proc.stdout
    proc = run(proj, "measure", "--only", "good", "--device", "cpu", "--quick", "--force")
    assert "running (--force)" in proc.stdout


def one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_truncated_results_file(proj):
    f = next((proj / "docs" / "results").glob("*/matmul.json"))
    f.write_text(f.read_text()[:200])
    one_line_error(run(proj, "render"), str(f.relative_to(proj)), "not valid JSON")
    # and measure refuses to overwrite it
    before = f.read_text()
    one_line_error(run(proj, "measure", "--only", "matmul", "--device", "cpu"), "not valid JSON")
    assert f.read_text() == before


def test_results_file_missing_a_field(proj):
    f = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    data = json.loads(f.read_text())
    del data["runs"]["cpu"]["measured_at"]
    f.write_text(json.dumps(data))
    one_line_error(run(proj, "render"), "bandwidth.json", "runs.cpu.measured_at")


def test_results_file_of_unknown_schema(proj):
    f = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    data = json.loads(f.read_text())
    data["schema_version"] = 99
    f.write_text(json.dumps(data))
    one_line_error(run(proj, "render"), "bandwidth.json", "schema_version 99")


def test_bad_results_file_fails_the_site_build_clearly(proj):
    f = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    f.write_text("{")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "bandwidth.json: not valid JSON" in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["measure", "--only", "no_such_snippet"], "unknown snippet no_such_snippet"),
    (["measure", "--timeout", "-5"], "must be a positive, finite number"),
    (["measure", "--timeout", "soon"], "not a number"),
])
def test_bad_arguments(proj, args, needle):
    one_line_error(run(proj, *args), needle)


def test_device_cuda_without_a_gpu(proj):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    one_line_error(run(proj, "measure", "--device", "cuda"), "no CUDA GPU")


def fake_gpu_bandwidth(proj, gb_per_s, waiver=None):
    """A results file claiming a GPU figure: synthetic, for this test only, never committed."""
    f = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    data = json.loads(f.read_text())
    data["machine"]["gpu"] = {"name": "NVIDIA H100 80GB HBM3", "count": 1, "memory_gb": 85.0,
                              "capability": "9.0", "driver": None, "cuda": "12.8", "multiprocessors": 132}
    run_ = json.loads(json.dumps(data["runs"]["cpu"]))
    for k in run_["result"]["kernels"].values():
        k["gb_per_s"] = k["gb_per_s_max"] = k["gb_per_s_min"] = gb_per_s
    run_["result"]["best_gb_per_s"] = gb_per_s
    link = dict(next(iter(run_["result"]["kernels"].values())), gb_per_s=50.0, gb_per_s_max=50.0,
                gb_per_s_min=50.0)
    run_["result"]["host_device"] = {k: link for k in ("h2d_pinned", "d2h_pinned", "h2d_pageable",
                                                       "d2h_pageable")}
    data["runs"]["cuda"] = run_
    if waiver:
        data["waivers"] = waiver
    f.write_text(json.dumps(data, indent=2, sort_keys=True))
    return f.parent.name


def test_figure_above_datasheet_fails_strict_build_unless_waived(proj):
    slug = fake_gpu_bandwidth(proj, 9000.0)  # H100's datasheet says 3350 GB/s
    build = lambda: subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                                   capture_output=True, text=True, timeout=600)
    proc = build()
    assert proc.returncode != 0
    assert "above the H100 SXM datasheet peak 3350" in proc.stderr
    pid = f"{slug}/bandwidth/cuda:above-datasheet:kernels.copy.gb_per_s"
    assert pid in proc.stderr
    # the render step flags it too
    assert "implausible" in run(proj, "render").stdout
    at = json.loads(next((proj / "docs" / "results").glob("*/bandwidth.json")).read_text())["runs"]["cuda"]["measured_at"]
    waivers = {p: {"reason": "test: the figure is deliberately impossible", "run": at}
               for p in __import__("re").findall(rf'"({slug}/bandwidth/cuda:[^"]+)"', proc.stderr)}
    fake_gpu_bandwidth(proj, 9000.0, waiver=waivers)
    proc = build()
    assert proc.returncode == 0, proc.stderr[-2000:]
    # a waiver counts for the run it names only: for another run, it is reported
    fake_gpu_bandwidth(proj, 9000.0, waiver={k: dict(v, run="2020-01-01T00:00:00Z") for k, v in waivers.items()})
    proc = build()
    assert proc.returncode != 0 and "was written for the run of 2020-01-01T00:00:00Z" in proc.stderr


def test_gpu_below_its_own_cpu_is_flagged(proj):
    fake_gpu_bandwidth(proj, 1.0)
    out = run(proj, "render").stdout
    assert "bandwidth: the GPU's peak (1) is below its own CPU's" in out


def test_zero_time_is_flagged(proj):
    f = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    data = json.loads(f.read_text())
    data["runs"]["cpu"]["result"]["kernels"]["copy"]["median_s"] = 0.0
    f.write_text(json.dumps(data))
    assert "time kernels.copy.median_s = 0.0 s" in run(proj, "render").stdout
