"""Many machines, one atlas: identity, one writer, the schema, the featured machine, the CSV,
and `check`. Every fault is made in a temporary copy of the project."""
import csv
import io
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT, copy_project, text_of

sys.path.insert(0, str(ROOT / "benchmarks"))
from synthetic_machines import make_machines  # noqa: E402

GOOD = '''
import argparse, json, os, time
ap = argparse.ArgumentParser(); ap.add_argument("--device"); ap.add_argument("--quick", action="store_true")
ap.add_argument("--out"); a = ap.parse_args()
print("good starts", flush=True)
time.sleep(float(os.environ.get("GOOD_SLEEP", "0")))
r = {"snippet": "good", "method_version": 1, "quick": a.quick, "device": {"type": a.device},
     "kernels": {"copy": {"median_s": 0.5, "min_s": 0.4, "max_s": 0.6, "gb_per_s": 10.0}}}
open(a.out, "w").write(json.dumps(r))
'''


@pytest.fixture
def proj(tmp_path):
    p = copy_project(tmp_path / "p")
    (p / "snippets" / "good.py").write_text(GOOD)
    return p


def run(proj, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, "build_results.py", *args], cwd=proj, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def one_line(proc, *needles, rc=2):
    assert proc.returncode == rc, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def good_file(proj):
    assert run(proj, "measure", "--only", "good", "--device", "cpu").returncode == 0
    return next((proj / "docs" / "results").glob("*/good.json"))


# ---------------------------------------------------------------- 1. identity

def test_folder_names_tell_apart_cpus_that_share_a_name():
    from lib.machine import machine_slug
    zen4 = {"model": "AMD EPYC", "logical_cores": 2, "id": {"cpu family": "25", "model": "17"}}
    zen5 = {"model": "AMD EPYC", "logical_cores": 2, "id": {"cpu family": "26", "model": "2"}}
    assert machine_slug(zen4, None) != machine_slug(zen5, None)
    assert machine_slug(zen5, None) == "amd-epyc-f26m2-2c"
    gpu8 = {"name": "NVIDIA H100 80GB HBM3", "count": 8}
    assert machine_slug(zen5, gpu8).endswith("-8x-nvidia-h100-80gb-hbm3")
    assert machine_slug(zen5, dict(gpu8, count=1)).endswith("-2c-nvidia-h100-80gb-hbm3")


@pytest.mark.parametrize("field,value", [(("cpu", "id", "model"), "999"), (("cpu", "model"), "Other CPU"),
                                         (("gpu",), {"name": "NVIDIA H200", "count": 1})])
def test_measure_refuses_a_folder_of_another_machine(proj, field, value):
    path = good_file(proj)
    data = json.loads(path.read_text())
    node = data["machine"]
    for k in field[:-1]:
        node = node[k]
    node[field[-1]] = value
    path.write_text(json.dumps(data))
    before = path.read_text()
    line = one_line(run(proj, "measure", "--only", "good", "--device", "cpu", "--force"),
                    "holds results of another machine", "--results-dir")
    assert ".".join(field) in line or "gpu" in line
    assert path.read_text() == before  # nothing replaced


# ---------------------------------------------------------------- 2. one writer

def test_a_second_measure_on_the_same_folder_is_refused(proj):
    good_file(proj)
    first = subprocess.Popen([sys.executable, "build_results.py", "measure", "--only", "good",
                              "--device", "cpu", "--force"], cwd=proj, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "GOOD_SLEEP": "30"})
    try:
        seen, t0 = "", time.monotonic()
        while "good starts" not in seen and time.monotonic() - t0 < 60:
            seen += first.stdout.readline()
        second = run(proj, "measure", "--only", "good", "--device", "cpu", "--force")
        one_line(second, "another measure is writing", "pid")
    finally:
        first.terminate()
        first.communicate(timeout=60)
    assert run(proj, "measure", "--only", "good", "--device", "cpu").returncode == 0  # lock released


def test_a_write_keeps_the_files_other_device_runs(proj):
    path = good_file(proj)
    data = json.loads(path.read_text())
    data["runs"]["cuda"] = dict(data["runs"]["cpu"], args=["--device", "cuda"],
                                command="python snippets/good.py --device cuda")
    path.write_text(json.dumps(data))
    assert run(proj, "measure", "--only", "good", "--device", "cpu", "--force").returncode == 0
    after = json.loads(path.read_text())
    assert after["runs"]["cuda"] == data["runs"]["cuda"]
    assert after["runs"]["cpu"]["measured_at"] >= data["runs"]["cpu"]["measured_at"]


# ---------------------------------------------------------------- 3. the schema

def _set(data, dotted, value):
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        node = node[k]
    if value is KeyError:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value


@pytest.mark.parametrize("dotted,value,needle", [
    ("runs.cpu.result", [1, 2], "runs.cpu.result"),
    ("runs.cpu.measured_at", "yesterday", "runs.cpu.measured_at"),
    ("runs.cpu.measured_at", "2026-02-31T00:00:00Z", "runs.cpu.measured_at"),
    ("runs.cpu.method_version", "2", "runs.cpu.method_version"),
    ("machine.cpu.logical_cores", "two", "machine.cpu.logical_cores"),
    ("machine.gpu", "none", "machine.gpu"),
    ("runs.cpu.source_sha256", KeyError, "source_sha256"),
    ("waivers", {"x": ""}, "waivers.x"),
    ("runs", [], "runs"),
])
def test_a_results_file_of_the_wrong_shape_is_one_line_naming_file_and_field(proj, dotted, value, needle):
    path = next((proj / "docs" / "results").glob("*/matmul.json"))
    data = json.loads(path.read_text())
    _set(data, dotted, value)
    path.write_text(json.dumps(data))
    line = one_line(run(proj, "render"), "matmul.json", needle)
    assert line.startswith("error: ")


def test_an_unknown_device_is_refused_not_drawn_as_the_cpu(proj):
    path = next((proj / "docs" / "results").glob("*/matmul.json"))
    data = json.loads(path.read_text())
    data["runs"]["tpu"] = data["runs"]["cpu"]
    path.write_text(json.dumps(data))
    one_line(run(proj, "render"), "matmul.json", "runs.tpu", "unknown device")
    site = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=600)
    assert site.returncode != 0 and "runs.tpu" in site.stderr


def test_every_committed_file_matches_the_schema():
    import jsonschema
    schema = json.loads((ROOT / "docs" / "results" / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    from lib.results import load_all
    assert load_all(validate=True)  # raises with file and field on the first that does not


# ---------------------------------------------------------------- 4. the featured machine

def _data(machines):
    """{(slug, snippet): file} for featured_machine(): machines = {slug: {device: n_snippets}}."""
    out = {}
    for slug, devices in machines.items():
        for i in range(max(devices.values())):
            runs = {d: {"measured_at": "2026-01-01T00:00:00Z", "quick": False}
                    for d, n in devices.items() if i < n}
            out[(slug, f"s{i}")] = {"runs": runs}
    return out


def test_the_default_featured_machine():
    from lib.featured import featured_machine
    assert featured_machine({}) is None
    cpu_boxes = {"small": {"cpu": 3}, "big": {"cpu": 11}}
    assert featured_machine(_data(cpu_boxes)) == "big"
    # a GPU box whose own CPU was measured beats a better-covered CPU-only box
    assert featured_machine(_data({**cpu_boxes, "gpu-box": {"cpu": 2, "cuda": 5}})) == "gpu-box"
    # ...but not a GPU box without its own CPU
    assert featured_machine(_data({**cpu_boxes, "gpu-only": {"cuda": 11}})) == "big"
    assert featured_machine(_data(cpu_boxes), "small") == "small"
    from lib.results import UserError
    with pytest.raises(UserError, match="not a machine under docs/results"):
        featured_machine(_data(cpu_boxes), "nowhere")


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    """The site built with 12 synthetic machines beside the committed one (never published),
    one of them declared the featured machine in mkdocs.yml."""
    proj = copy_project(tmp_path_factory.mktemp("atlas") / "p")
    slugs = make_machines(proj, 12)
    featured = slugs[5]
    cfg = proj / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace("featured_machine: auto", f"featured_machine: {featured}"))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proj, slugs, featured


def test_each_chart_draws_each_machine_or_says_which_it_left_out(atlas):
    proj, slugs, featured = atlas
    gen = proj / "docs" / "generated"
    machines = {p.name for p in (proj / "docs" / "results").iterdir() if p.is_dir()}
    assert len(machines) == 13
    pages = {p: (proj / "site" / p / "index.html").read_text()
             for p in ("flops", "bandwidth", "training", "parallel", "roofline", "cpu-role", "framework",
                       "distributed")}
    for charted in gen.glob("*.charted.json"):
        c = json.loads(charted.read_text())
        named = {re.search(r"\(([^()]+)\)$", x).group(1) for x in c["shown"] + c["left_out"]}
        assert named == machines, charted.name
        assert any(f"({featured})" in x for x in c["shown"])  # the featured machine is drawn
        for x in c["left_out"]:  # ...and the page names the others under its charts
            assert any(x in text_of(doc) for doc in pages.values()), x


def test_the_prose_quotes_the_declared_featured_machine(atlas):
    proj, slugs, featured = atlas
    flops = text_of((proj / "site" / "en" / "flops" / "index.html").read_text())
    n = int(featured.split("-")[2])
    assert f"Synthetic CPU {n:02d}" in flops.split("Measured")[1][:400]
    machines = (proj / "site" / "en" / "machines" / "index.html").read_text()
    assert f"★ <code>{featured}</code>" in machines
    for slug in slugs:
        assert slug in machines


def test_summary_csv_has_every_machines_headline_figures(atlas):
    proj, slugs, _ = atlas
    rows = list(csv.DictReader(io.StringIO((proj / "site" / "results" / "summary.csv").read_text())))
    assert {r["machine"] for r in rows} >= set(slugs)
    for r in rows:
        assert r["unit"] and r["device"] in ("cpu", "cuda") and float(r["value"]) > 0
        assert (proj / "site" / r["results_file"]).exists(), r["results_file"]
    assert 'href="../results/summary.csv"' in (proj / "site" / "machines" / "index.html").read_text()


# ---------------------------------------------------------------- 6. check

def test_check_passes_the_committed_results():
    proc = subprocess.run([sys.executable, "build_results.py", "check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("check: 11 file(s), 0 problem(s)")


@pytest.mark.parametrize("fault,rc,needle", [
    ("privacy", 1, "privacy: "),
    ("implausible", 1, "plausibility: "),
    ("command", 1, "provenance: "),
    ("schema", 2, "schema: "),
])
def test_check_finds_what_would_not_be_fit_to_publish(proj, fault, rc, needle):
    path = next((proj / "docs" / "results").glob("*/bandwidth.json"))
    data = json.loads(path.read_text())
    run_ = data["runs"]["cpu"]
    if fault == "privacy":
        run_["result"]["note"] = "measured from /home/alice/work on alice@example.org"
    elif fault == "implausible":
        run_["result"]["kernels"]["copy"]["median_s"] = 0.0
    elif fault == "command":
        run_["command"] = "python snippets/matmul.py --device cpu"
    else:
        run_["quick"] = "no"
    path.write_text(json.dumps(data))
    proc = run(proj, "check", str(path.parent))
    assert proc.returncode == rc, proc.stdout + proc.stderr
    assert needle in proc.stdout and "bandwidth.json" in proc.stdout


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_check_of_a_folder_that_is_not_there_is_one_line(proj, tmp_path, where):
    folder = tmp_path / "f"
    if where == "empty":
        folder.mkdir()
    one_line(run(proj, "check", str(folder)), "f")
