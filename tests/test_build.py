"""The road a number travels: measure -> results file -> render -> built page."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import copy_project

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "results"
PROVENANCE = ("snippet", "method_version", "source_sha256", "command", "measured_at",
              "git_commit", "software", "result")


def build_results(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "build_results.py", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def tree_hash(folder):
    h = hashlib.sha256()
    for p in sorted(pathlib.Path(folder).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """measure --quick of two snippets into a temporary folder."""
    out = tmp_path_factory.mktemp("results")
    before = tree_hash(ROOT / "docs" / "results")
    proc = build_results("measure", "--quick", "--only", "matmul", "bandwidth", "--device", "cpu",
                         "--results-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert tree_hash(ROOT / "docs" / "results") == before, "measure into a temp dir touched docs/results"
    return out, proc.stdout


def test_measure_writes_one_file_per_snippet_with_provenance(quick_results):
    out, log = quick_results
    files = sorted(out.glob("*/*.json"))
    assert [f.name for f in files] == ["bandwidth.json", "matmul.json"]
    for f in files:
        data = json.loads(f.read_text())
        assert data["schema_version"] == 1 and data["snippet"] == f.stem
        m = data["machine"]
        assert m["slug"] == f.parent.name
        assert m["cpu"]["model"] and m["cpu"]["logical_cores"] >= 1 and m["cpu"]["ram_gb"] > 0
        run = data["runs"]["cpu"]
        assert run["command"] == f"python snippets/{f.stem}.py --device cpu --quick"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run["measured_at"])
        assert run["source_sha256"] == hashlib.sha256(
            (ROOT / "snippets" / f"{f.stem}.py").read_bytes()).hexdigest()
        assert run["software"]["torch"] and run["software"]["python"]
        assert run["result"]["snippet"] == f.stem
        assert run["method_version"] == run["result"]["method_version"]
        # sorted keys, indented: diffs of results files read well
        assert f.read_text() == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert "[1/2] matmul on cpu: running" in log


def test_measure_again_is_cached(quick_results):
    out, _ = quick_results
    before = tree_hash(out)
    proc = build_results("measure", "--quick", "--only", "matmul", "--device", "cpu",
                         "--results-dir", str(out))
    assert proc.returncode == 0
    assert "skipped, cached" in proc.stdout
    assert tree_hash(out) == before


def check_fixture_render(tmp_path):
    for name in ("matmul-best", "matmul-curve", "matmul-error", "bandwidth"):
        for lang in ("zh", "en"):
            for theme in ("light", "dark"):
                svg = (tmp_path / f"{name}.{lang}.{theme}.svg").read_text()
                assert svg.startswith("<?xml") and "<svg" in svg
    data = json.loads(next(FIXTURES.glob("*/bandwidth.json")).read_text())
    triad = data["runs"]["cpu"]["result"]["kernels"]["triad"]
    table = (tmp_path / "bandwidth-table.en.md").read_text()
    from charts.style import fmt
    assert f"| triad | {fmt(triad['gb_per_s'])} |" in table


def test_the_chart_cache_gives_what_drawing_gives_and_redraws_what_changed(tmp_path):
    """A second render of the same results copies every chart from the cache, byte for byte
    what drawing gives; a changed figure redraws its snippet's charts, with the new figure.
    And render needs no torch: here, in it and in its chart workers, `import torch` fails."""
    no_torch = tmp_path / "no-torch" / "torch"
    no_torch.mkdir(parents=True)
    (no_torch / "__init__.py").write_text("raise ImportError('render imported torch')\n")
    env = dict(os.environ, GPUCPU_CHART_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(no_torch.parent))
    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)

    def render(out):
        proc = subprocess.run([sys.executable, "build_results.py", "render", "--results-dir", str(results),
                               "--out", str(tmp_path / out)], cwd=ROOT, capture_output=True, text=True,
                              timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "torch" not in proc.stderr, proc.stderr
        return {p.relative_to(tmp_path / out): p.read_bytes() for p in (tmp_path / out).rglob("*")
                if p.is_file() and not p.name.startswith(".")}

    drawn = render("drawn")
    check_fixture_render(tmp_path / "drawn")
    entries = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert entries, "nothing was stored in the chart cache"
    copied = render("copied")
    assert copied == drawn
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == entries  # nothing drawn again
    check_fixture_render(tmp_path / "copied")

    path = next(results.glob("*/bandwidth.json"))
    data = json.loads(path.read_text())
    data["runs"]["cpu"]["result"]["kernels"]["triad"]["gb_per_s"] = 12.3456
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    changed = render("changed")
    # triad is no ceiling: only bandwidth's charts were drawn again
    assert len(list((tmp_path / "cache").iterdir())) == len(entries) + 1
    from charts.style import fmt
    assert f"| triad | {fmt(12.3456)} |" in (tmp_path / "changed" / "bandwidth-table.en.md").read_text()
    assert changed[pathlib.Path("bandwidth.en.light.svg")] != drawn[pathlib.Path("bandwidth.en.light.svg")]
    assert changed[pathlib.Path("matmul-error.en.light.svg")] == drawn[pathlib.Path("matmul-error.en.light.svg")]


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory):
    """The site built strict from the fixture results, in a copy of the project."""
    proj = copy_project(tmp_path_factory.mktemp("proj") / "p")
    for machine in (proj / "docs" / "results").iterdir():  # the machines, not the schema
        if machine.is_dir():
            shutil.rmtree(machine)
    shutil.copytree(FIXTURES, proj / "docs" / "results", dirs_exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proj


def test_built_page_shows_the_numbers_of_its_results_file(fixture_site):
    html = (fixture_site / "site" / "flops" / "index.html").read_text()
    data = json.loads(next(FIXTURES.glob("*/matmul.json")).read_text())
    res = data["runs"]["cpu"]["result"]
    err = res["dtypes"]["fp32"]["rel_err_vs_fp64"]
    assert f"{err:.2g}" in html
    torch_gflops = f"{res['dtypes']['fp32']['best']['tflops'] * 1000:.0f} GFLOP/s"
    assert f"torch {torch_gflops.split()[0]}" in html
    # provenance under the chart: date, torch version, snippet version, raw file link
    run = data["runs"]["cpu"]
    assert run["measured_at"][:10] in html and run["software"]["torch"] in html
    assert f'href="../results/{next(FIXTURES.glob("*/matmul.json")).parent.name}/matmul.json"' in html
    # no GPU run in the fixtures: the page says so instead of showing a GPU number
    assert "尚未测量 GPU" in html


def test_built_site_has_the_raw_results_and_the_snippet(fixture_site):
    slug = next(FIXTURES.glob("*/matmul.json")).parent.name
    assert (fixture_site / "site" / "results" / slug / "matmul.json").exists()
    html = (fixture_site / "site" / "flops" / "index.html").read_text()
    assert "METHOD_VERSION" in html  # the snippet is included verbatim


def test_built_site_requests_nothing_from_outside(fixture_site):
    for page in (fixture_site / "site").rglob("*.html"):
        text = page.read_text()
        for m in re.finditer(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:)?//[^"]+"', text):
            pytest.fail(f"{page.name} loads an outside resource: {m.group(0)[:200]}")


def test_missing_result_fails_the_build_naming_page_and_key(tmp_path):
    proj = copy_project(tmp_path / "p")
    page = proj / "docs" / "flops.md"
    page.write_text(page.read_text() + '\n{{ val("matmul", "dtypes.fp32.no_such_key") }}\n')
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "flops.md" in proc.stderr and "dtypes.fp32.no_such_key" in proc.stderr


def test_committed_results_hold_nothing_personal():
    import getpass
    import socket
    needles = {socket.gethostname(), getpass.getuser() if getpass.getuser() != "root" else None,
               str(pathlib.Path.home()), "/home/", "/root", "/Users/"} - {None, ""}
    files = list((ROOT / "docs" / "results").glob("*/*.json"))
    assert files, "no committed results"
    for f in files:
        text = f.read_text()
        for needle in needles:
            assert needle not in text, f"{f}: contains {needle!r}"
        data = json.loads(text)
        for device, run in data["runs"].items():
            for key in PROVENANCE[2:]:
                assert key in run, f"{f}: runs.{device} lacks {key}"


def test_result_of_an_older_snippet_is_marked_stale(tmp_path):
    proj = copy_project(tmp_path / "p")
    src = proj / "snippets" / "bandwidth.py"
    src.write_text(src.read_text() + "\n# changed after the committed run\n")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    zh = (proj / "site" / "bandwidth" / "index.html").read_text()
    en = (proj / "site" / "en" / "bandwidth" / "index.html").read_text()
    assert "已过期:代码片段在这次测量之后改动过" in zh
    assert "stale: the snippet changed after this run" in en
    # the unchanged snippet's page is not marked
    assert "已过期" not in (proj / "site" / "flops" / "index.html").read_text()
