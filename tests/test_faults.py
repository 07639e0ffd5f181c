"""A build that no input can break: one test (at least) per class of fault, each made in a
temporary copy of the project, checking the exit code, the message (one line, no traceback)
and that nothing was lost or published wrong."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, copy_project, text_of

HEAD = '''
import argparse, json, os, subprocess, sys, time
ap = argparse.ArgumentParser(); ap.add_argument("--device"); ap.add_argument("--quick", action="store_true")
ap.add_argument("--out"); a = ap.parse_args()
r = {"snippet": os.path.basename(__file__)[:-3], "method_version": 1, "quick": a.quick,
     "device": {"type": a.device}, "kernels": {"copy": {"median_s": 0.5, "min_s": 0.4, "max_s": 0.6,
     "gb_per_s": 10.0}}}
'''
SNIPPETS = {
    "good": "open(a.out, 'w').write(json.dumps(r))",
    "leaves_child": ("subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # leftover-marker'])\n"
                     "open(a.out, 'w').write(json.dumps(r))"),
    "prints_list": "open(a.out, 'w').write('[1, 2, 3]')",
    "prints_string": "open(a.out, 'w').write('\"done\"')",
    "prints_nan": "r['kernels']['copy']['gb_per_s'] = float('nan'); open(a.out, 'w').write(json.dumps(r))",
    "prints_inf": "r['kernels']['copy']['gb_per_s'] = float('inf'); open(a.out, 'w').write(json.dumps(r))",
    "prints_huge": "open(a.out, 'w').write(json.dumps(r).replace('10.0', '1e999'))",
    "prints_stdout": "print(json.dumps(r))",
    "no_version": "r.pop('method_version'); open(a.out, 'w').write(json.dumps(r))",
    "names_its_tmp": "r['out'] = a.out; open(a.out, 'w').write(json.dumps(r))",
}


@pytest.fixture
def proj(tmp_path):
    p = copy_project(tmp_path / "p")
    for name, body in SNIPPETS.items():
        (p / "snippets" / f"{name}.py").write_text(HEAD + body + "\n")
    return p


def run(proj, *args, timeout=300, env=None):
    return subprocess.run([sys.executable, "build_results.py", *args], cwd=proj, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def one_line(proc, *needles, rc=2):
    assert proc.returncode == rc, (proc.returncode, proc.stdout[-1500:], proc.stderr[-1500:])
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def result_file(proj, name):
    return next((proj / "docs" / "results").glob(f"*/{name}.json"), None)


def strict_json(path):
    def bad(c):
        raise ValueError(c)
    return json.loads(path.read_text(), parse_constant=bad)


# ---------------------------------------------------------------- 1. leftovers

def test_a_snippet_that_leaves_a_process_behind_is_reported_and_it_is_gone(proj):
    proc = run(proj, "measure", "--only", "leaves_child", "good", "--device", "cpu")
    assert proc.returncode == 1
    assert "error: leaves_child on cpu: left 1 process(es) running after it exited" in proc.stderr
    assert result_file(proj, "leaves_child") is None or "runs" not in strict_json(result_file(proj, "leaves_child")) \
        or not strict_json(result_file(proj, "leaves_child"))["runs"]
    assert result_file(proj, "good") is not None  # the next snippet ran, on a quiet machine
    ps = subprocess.run(["pgrep", "-f", "leftover-marker"], capture_output=True, text=True)
    assert ps.stdout.strip() == ""


# ---------------------------------------------------------------- 2. whatever a snippet prints

@pytest.mark.parametrize("name,cause", [
    ("prints_list", "not an object (a list)"),
    ("prints_string", "not an object (a str)"),
    ("prints_nan", "NaN is not a JSON number"),
    ("prints_inf", "Infinity is not a JSON number"),
    ("prints_huge", "not a finite number: kernels.copy.gb_per_s = inf"),
    ("prints_stdout", "printed its JSON to stdout instead of writing it to the --out file"),
    ("no_version", "no method_version"),
])
def test_a_snippet_that_prints_no_proper_result_fails_alone(proj, name, cause):
    proc = run(proj, "measure", "--only", name, "good", "--device", "cpu")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: {name} on cpu: " in proc.stderr and cause in proc.stderr, proc.stderr
    assert result_file(proj, "good") is not None
    f = result_file(proj, name)
    if f is not None:  # only the failure is recorded, in standard JSON, with no result
        data = strict_json(f)
        assert not data["runs"] and cause in data["failures"]["cpu"]["cause"]


def test_no_temporary_path_lands_in_a_results_file(proj):
    assert run(proj, "measure", "--only", "names_its_tmp", "--device", "cpu").returncode == 0
    text = result_file(proj, "names_its_tmp").read_text()
    assert "/tmp" not in text and "out.json" in text


# ---------------------------------------------------------------- 3. any results file, in serve too

def test_mkdocs_serve_says_what_is_wrong_with_a_results_file_in_one_line(proj):
    path = result_file(proj, "good") or next((proj / "docs" / "results").glob("*/matmul.json"))
    data = json.loads(path.read_text())
    data["runs"]["cpu"]["measured_at"] = "not a date"
    path.write_text(json.dumps(data))
    serve = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a", "127.0.0.1:8765"], cwd=proj,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = serve.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        serve.kill()
        _, err = serve.communicate()
        pytest.fail("mkdocs serve kept running on a broken results file")
    assert serve.returncode != 0 and "Traceback" not in err, err[-2000:]
    assert f"{path.name}: field 'runs.cpu.measured_at'" in err


# ---------------------------------------------------------------- 4. any figure

@pytest.mark.parametrize("value,needle", [
    (5e6, "above what this CPU can do at all"),
    (-3.0, "rate dtypes.fp32.best.tflops = -3.0"),
])
def test_a_figure_no_cpu_can_reach_is_flagged_and_nothing_is_drawn(proj, value, needle):
    path = next((proj / "docs" / "results").glob("*/matmul.json"))
    data = json.loads(path.read_text())
    data["runs"]["cpu"]["result"]["dtypes"]["fp32"]["best"]["tflops"] = value
    path.write_text(json.dumps(data))
    proc = run(proj, "render", "--out", str(proj / "out"))
    assert proc.returncode == 1 and needle in proc.stdout and "Traceback" not in proc.stderr
    assert not (proj / "out").exists() or not list((proj / "out").glob("*.svg"))
    site = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert site.returncode != 0 and needle in site.stderr and "Traceback" not in site.stderr


# ---------------------------------------------------------------- 5. waivers

def test_waivers_name_their_run_and_are_reported_when_unused_or_unreasoned(proj):
    assert run(proj, "measure", "--only", "good", "--device", "cpu").returncode == 0
    path = result_file(proj, "good")
    data = json.loads(path.read_text())
    at = data["runs"]["cpu"]["measured_at"]
    data["waivers"] = {"nothing:here": {"reason": "no such figure", "run": at},
                       "also:nothing": {"reason": " ", "run": at}}
    path.write_text(json.dumps(data))
    out = run(proj, "render", "--out", str(proj / "out")).stdout
    assert "waiver 'nothing:here' waives nothing" in out and "waiver 'also:nothing' gives no reason" in out
    # re-measuring retires the waivers written for the run it replaces
    time.sleep(1.1)
    proc = run(proj, "measure", "--only", "good", "--device", "cpu", "--force")
    assert proc.returncode == 0 and "waiver 'nothing:here' retired" in proc.stdout
    assert "waivers" not in json.loads(path.read_text())


# ---------------------------------------------------------------- 6. where results go

def test_a_results_folder_that_cannot_be_written_is_found_before_anything_runs(proj, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    one_line(run(proj, "measure", "--only", "good", "--device", "cpu", "--results-dir", str(blocker / "r")),
             "results cannot be written there", "nothing was measured")


@pytest.mark.parametrize("case", ["missing", "empty", "machine-folder", "into-results"])
def test_render_from_or_into_a_wrong_folder_says_so(proj, tmp_path, case):
    results = proj / "docs" / "results"
    machine = next(p for p in results.iterdir() if p.is_dir())
    args = {"missing": ["--results-dir", str(tmp_path / "none")],
            "empty": ["--results-dir", str(tmp_path)],
            "machine-folder": ["--results-dir", str(machine)],
            "into-results": ["--out", str(machine)]}[case]
    before = sorted(p.name for p in machine.iterdir())
    one_line(run(proj, "render", *args), "error: ")
    assert sorted(p.name for p in machine.iterdir()) == before


# ---------------------------------------------------------------- 7. the command line

@pytest.mark.parametrize("flag,value", [("--timeout", "nan"), ("--timeout", "0.2"), ("--deadline", "0.5")])
def test_a_nan_or_sub_second_budget_is_refused(proj, flag, value):
    one_line(run(proj, "measure", flag, value), flag)


def _processes_in(folder):
    """pid: command line of the live processes working in folder (their cwd)."""
    found = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/cwd") == str(folder) and "Z" not in \
                        pathlib.Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[-1].split()[:1]:
                    found[int(d)] = pathlib.Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                pass
    return found


@pytest.mark.parametrize("step,sig", [("site", signal.SIGINT), ("site", signal.SIGTERM), ("render", signal.SIGTERM)],
                         ids=["site-SIGINT", "site-SIGTERM", "render-SIGTERM"])
def test_an_interrupted_build_ends_all_it_started_and_keeps_the_previous_site(proj, step, sig):
    """The signal goes to build_results.py alone (a kill, a CI cancel; not a terminal's Ctrl-C
    to the whole group), while the chart workers are drawing: it must still end them all."""
    (proj / "site").mkdir()
    (proj / "site" / "index.html").write_text("the previous build")
    env = dict(os.environ, GPUCPU_CHART_CACHE="off")  # every chart drawn, by workers to interrupt
    p = subprocess.Popen([sys.executable, "build_results.py", step], cwd=proj, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    ends = time.monotonic() + 120
    while time.monotonic() < ends and p.poll() is None:
        if any("multiprocessing" in cmd for cmd in _processes_in(proj).values()):
            break  # the charts are being drawn
        time.sleep(0.05)
    assert p.poll() is None, "the build ended before its chart workers were seen"
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)  # EOF only once every process holding the pipes is gone
    assert p.returncode == 130, (out, err)
    assert f"interrupted during {'the site build' if step == 'site' else 'render'}: " in err
    if step == "site":
        assert "site/ still holds the previous build" in err
    assert (proj / "site" / "index.html").read_text() == "the previous build"
    assert not (proj / ".site.partial").exists()
    time.sleep(0.5)
    assert _processes_in(proj) == {}


# ---------------------------------------------------------------- 8. a fork without results

def test_a_fork_without_results_builds_and_says_how_to_measure(tmp_path):
    proj = copy_project(tmp_path / "p")
    import shutil
    for d in (proj / "docs" / "results").iterdir():
        if d.is_dir():
            shutil.rmtree(d)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for page, words in (("flops", "还没有任何测量结果"), ("en/flops", "Nothing measured yet"),
                        ("en/roofline", "Nothing measured yet"), ("en/machines", "Nothing measured yet")):
        text = text_of((proj / "site" / page / "index.html").read_text())
        assert words in text and "build_results.py" in text, page
    assert "snippets/matmul.py" in (proj / "site" / "en" / "reproduce" / "index.html").read_text()


# ---------------------------------------------------------------- 9. Chinese charts

def test_cjk_fonts_are_found_whatever_matplotlibs_cache_holds(tmp_path):
    """A font cache written before the CJK fonts were installed knows none of them."""
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    stale = ("import matplotlib.font_manager as fm\n"
             "fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if 'CJK' not in f.name]\n"
             "import matplotlib, pathlib\n"
             "cache = pathlib.Path(matplotlib.get_cachedir(), f'fontlist-v{fm.FontManager.__version__}.json')\n"
             "fm.json_dump(fm.fontManager, cache)\n")
    subprocess.run([sys.executable, "-c", stale], env=env, check=True, timeout=120)
    check = ("import matplotlib.font_manager as fm, sys\n"
             "assert not any('CJK' in f.name for f in fm.fontManager.ttflist), 'the cache is not stale'\n"
             f"sys.path.insert(0, {str(ROOT)!r})\n"
             "from charts.style import cjk_font, cjk_font_files\n"
             "print(cjk_font() if cjk_font_files() else 'no CJK font installed')\n")
    out = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "CJK" in out.stdout or out.stdout.strip() == "no CJK font installed"
