"""Shared fixtures: run a snippet the way a reader does, as a subprocess, and parse its JSON."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SNIPPETS = ROOT / "snippets"

# One chart cache for the whole session (charts/__init__.py): the many sites the tests build,
# each in its own copy of the project, draw only the charts whose runs or code differ from
# one drawn before. Its own folder, so that a reader's cache never answers for a test.
import os  # noqa: E402
import tempfile  # noqa: E402

_CHART_CACHE = tempfile.mkdtemp(prefix="gpucpu-test-charts-")
os.environ["GPUCPU_CHART_CACHE"] = _CHART_CACHE


def pytest_sessionfinish(session, exitstatus):
    import shutil
    shutil.rmtree(_CHART_CACHE, ignore_errors=True)


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


# What a copy of the project leaves behind: history, build outputs, caches, and above all the
# virtual environment (a torch install per copy fills a disk in one test run).
COPY_IGNORE = (".git", ".venv", "venv", "site", "generated", "__pycache__", ".pytest_cache",
               "test-artifacts", ".cache", ".whl", ".gl", "node_modules", "lighthouse")


def copy_project(dst):
    """A copy of the project's sources and results in dst, for tests that change or build it."""
    import shutil
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    return pathlib.Path(dst)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The real site (committed docs/results), built strict once per test session in a copy of
    the project; returns the folder holding site/."""
    dst = copy_project(tmp_path_factory.mktemp("site") / "p")
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
    from lib.results import median_result  # the pages quote the median across repeats
    return median_result(max(runs, key=lambda r: r["measured_at"]))


def val(x, digits=3):
    """A number formatted as the pages' val() macro formats it (site_macros.py)."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}g}"


def text_of(doc):
    """The visible text of a built page, without <details> (the included snippet sources and
    long tables), for checks that a number is on the page."""
    import html
    import re
    doc = re.sub(r"<details.*?</details>", "", doc, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", doc)))


def committed_runs(snippet):
    """The committed runs of `snippet`, as the chart modules receive them."""
    import build_results
    from charts import runs_by_snippet
    runs = runs_by_snippet(build_results.load_all()).get(snippet)
    assert runs, f"no committed results of {snippet}"
    return runs


def has_cuda(snippet):
    """Is there a committed GPU run of `snippet`?"""
    return any("cuda" in json.loads(p.read_text())["runs"]
               for p in (ROOT / "docs" / "results").glob(f"*/{snippet}.json"))


def build_site(proj):
    """mkdocs build --strict in a copy of the project; fails the test with mkdocs' own words."""
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proj


def site_with_fake_gpu(tmp_path_factory, snippet, fake_result, gpu_name):
    """The site built with a SYNTHETIC GPU run of `snippet` (made from its committed CPU run by
    fake_result), to exercise a page's GPU branches. Only in a temporary copy: never published."""
    import copy
    data = json.loads(next((ROOT / "docs" / "results").glob(f"*/{snippet}.json")).read_text())
    proj = copy_project(tmp_path_factory.mktemp("gpu") / "p")
    run = copy.deepcopy(data["runs"]["cpu"])
    run.pop("repeats", None)  # the CPU's own independent runs are no GPU's
    run["result"] = fake_result(run["result"])
    fake = {"schema_version": data["schema_version"], "snippet": snippet,
            "machine": dict(data["machine"], slug="test-gpu-box",
                            gpu={"name": gpu_name, "count": 1, "memory_gb": 80}),
            "runs": {"cuda": run}}
    (proj / "docs" / "results" / "test-gpu-box").mkdir()
    (proj / "docs" / "results" / "test-gpu-box" / f"{snippet}.json").write_text(json.dumps(fake))
    return build_site(proj), run["result"]


def check_rendered(files, out, charts, tables):
    """A chart module wrote every chart (zh/en x light/dark SVG) and every table (zh/en, with rows)."""
    names = {pathlib.Path(f).name for f in files}
    for name in charts:
        for lang in ("zh", "en"):
            for theme in ("light", "dark"):
                f = f"{name}.{lang}.{theme}.svg"
                assert f in names, f
                svg = (out / f).read_text()
                assert svg.startswith("<?xml") and "<svg" in svg
    for name in tables:
        for lang in ("zh", "en"):
            assert f"{name}.{lang}.md" in names
            assert (out / f"{name}.{lang}.md").read_text().count("\n|") >= 2
