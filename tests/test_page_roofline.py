"""The roofline page (claim X2) and charts/roofline.py, as a reader sees them.

Numbers come from the committed docs/results/*/roofline.json and are formatted the way the
page formats them. A second build with a made-up GPU run checks the page's GPU branches,
which the committed (CPU-only) results never reach.
"""
import copy
import html
import json
import re
import sys

import pytest

from conftest import ROOT, committed_runs, has_cuda, results_of, site_with_fake_gpu, text_of, val

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = {"zh": "site/roofline/index.html", "en": "site/en/roofline/index.html"}
CHARTS = ("roofline",)
TABLES = ("roofline-table", "roofline-ceilings-table", "roofline-summary-table")
NO_GPU = {"zh": "尚未测量 GPU", "en": "No GPU measured yet"}
VERDICT = {"zh": "结论:成立但有限定", "en": "Verdict: holds with qualifiers"}


# ---------------------------------------------------------------- the chart module

def test_chart_module_renders_every_file(tmp_path):
    from charts import roofline
    files = {p.name for p in roofline.render(committed_runs("roofline"), tmp_path)}
    for name in CHARTS:
        for lang in ("zh", "en"):
            for theme in ("light", "dark"):
                f = f"{name}.{lang}.{theme}.svg"
                assert f in files, f
                svg = (tmp_path / f).read_text()
                assert svg.startswith("<?xml") and "<svg" in svg
    for name in TABLES:
        for lang in ("zh", "en"):
            assert f"{name}.{lang}.md" in files
            assert (tmp_path / f"{name}.{lang}.md").read_text().count("\n|") >= 2


def test_tables_hold_the_committed_numbers(tmp_path):
    """The ceilings table names the device's ceilings and the kernels that reached them; each
    kernel's row is placed under those roofs (not under the roofline run's own best)."""
    from charts import roofline
    from charts.style import fmt
    runs = committed_runs("roofline")
    roofline.render(runs, tmp_path)
    ceil = (tmp_path / "roofline-ceilings-table.en.md").read_text()
    for r in runs:
        c = r["ceilings"]
        b, f = c["bandwidth"], c["compute"]["fp32"]
        assert f"{fmt(b['value'])} ({b['snippet']}.py: {b['kernel']})" in ceil
        assert f"{fmt(f['value'])} ({f['snippet']}.py: {f['kernel']})" in ceil
        assert fmt(f["value"] / b["value"]) in ceil
        own = r["result"]["ceilings"]
        assert f"{fmt(own['fp32']['peak_gflop_per_s'])} / {fmt(own['bandwidth']['peak_gb_per_s'])}" in ceil
    table = (tmp_path / "roofline-table.zh.md").read_text()
    r = runs[0]
    rf = roofline.roofs(r)
    for k in r["result"]["kernels"]:
        if "status" in k:
            continue
        row = next(line for line in table.splitlines()
                   if f"| {k['name']} | {k['dtype']} | {k['shape']} |" in line)
        assert f"| {fmt(k['intensity_flop_per_byte'])} |" in row
        assert fmt(k["gflop_per_s_median"]) in row
        bound, roof, frac = roofline.place(k, rf)
        i = k["intensity_flop_per_byte"]
        assert roof == pytest.approx(min(rf["compute"]["fp32"]["value"], i * rf["bandwidth"]["value"]))
        if frac is not None:
            assert f"{100 * frac:.0f}%" in row
            assert ("内存带宽" if bound == "memory" else "算力") in row


def test_a_run_without_device_ceilings_falls_back_to_its_own(tmp_path):
    """A --quick GPU run supplies no device ceiling; its chart still has roofs: its own best."""
    from charts import roofline
    r = dict(committed_runs("roofline")[0], ceilings=None)
    rf = roofline.roofs(r)
    own = r["result"]["ceilings"]
    assert rf["compute"]["fp32"]["value"] == own["fp32"]["peak_gflop_per_s"]
    assert rf["bandwidth"]["value"] == own["bandwidth"]["peak_gb_per_s"]
    files = {p.name for p in roofline.render([r], tmp_path)}
    assert "roofline.en.light.svg" in files


# ---------------------------------------------------------------- the built page

@pytest.fixture(scope="module")
def pages(built_site):
    return {lang: (built_site / p).read_text() for lang, p in PAGE.items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(pages, lang):
    from charts import roofline
    r = committed_runs("roofline")[0]
    c = r["ceilings"]
    text = text_of(pages[lang])
    bw, pk = c["bandwidth"]["value"], c["compute"]["fp32"]["value"]
    ridge = pk / bw
    assert f"{val(bw)} GB/s" in text and f"{val(pk)} GFLOP/s" in text
    assert f"{c['bandwidth']['snippet']}.py: {c['bandwidth']['kernel']}" in text
    assert f"{c['compute']['fp32']['snippet']}.py: {c['compute']['fp32']['kernel']}" in text
    assert val(ridge) in text
    assert f"{bw / 6:.3g} GFLOP/s" in text and f"{100 * bw / 6 / pk:.2g}%" in text
    assert f"{6 * ridge:.0f}" in text
    isa = (c.get("isa_peak") or {}).get("fp32")
    if isa:  # the ISA's arithmetic, labelled as such
        assert val(isa["gflop_per_s"]) in text and isa["formula"] in text
        assert ("算术,非实测" if lang == "zh" else "not a measurement") in text
    # every kernel of the committed run is in the table on the page, placed under the roofs
    rf = roofline.roofs(r)
    for k in r["result"]["kernels"]:
        if "status" not in k:
            frac = roofline.place(k, rf)[2]
            if frac is not None:
                assert f"{100 * frac:.0f}%" in text
    assert VERDICT[lang] in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_charts_provenance_source_and_anchors(pages, built_site, lang):
    doc = pages[lang]
    for name in CHARTS:
        for theme in ("light", "dark"):
            assert f"generated/{name}.{lang}.{theme}.svg" in doc, (name, theme)
            assert (built_site / "site" / "generated" / f"{name}.{lang}.{theme}.svg").exists()
    for p in (ROOT / "docs" / "results").glob("*/roofline.json"):
        slug = p.parent.name
        assert re.search(rf'href="(\.\./)+results/{slug}/roofline\.json"', doc), slug
        assert (built_site / "site" / "results" / slug / "roofline.json").exists()
    assert 'id="x2"' in doc and 'id="roofline"' in doc
    code = html.unescape(re.sub(r"<[^>]+>", "", doc))  # highlighted code: tokens in spans
    assert "GEMV_K = 4096" in code and "METHOD_VERSION = " in code  # the snippet itself


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_when_no_gpu_was_measured(pages, lang):
    text = text_of(pages[lang])
    assert (NO_GPU[lang] in text) != has_cuda("roofline")


# ---------------------------------------------------------------- the same page with a GPU run

FAKE_GPU = "Test GPU 9000"


def fake_gpu_result(cpu):
    """A made-up CUDA result with the snippet's CUDA schema: every kernel 100x faster (square
    matmuls 150x), and bf16 matmuls 14x faster than fp32 ones. The batched small matmuls stay
    at 100x: their bytes rate is within a few tens of percent of the bandwidth ceiling on a CPU,
    and at 150x it would pass the fake GPU's own ceiling (a kernel above its roof)."""
    g = copy.deepcopy(cpu)
    g["device"] = {"type": "cuda", "name": FAKE_GPU, "capability": "9.0", "multiprocessors": 132}
    g.pop("skipped_dtypes", None)
    for k in g["kernels"]:
        if "status" in k:
            continue
        f = 150.0 if k["name"] == "matmul" else 100.0
        for key in ("gflop_per_s_median", "gflop_per_s_min", "gflop_per_s_max",
                    "gb_per_s_median", "gb_per_s_min", "gb_per_s_max"):
            k[key] *= f
    bf = [dict(k, dtype="bf16", intensity_flop_per_byte=2 * k["intensity_flop_per_byte"],
               gflop_per_s_median=14 * k["gflop_per_s_median"], gflop_per_s_min=14 * k["gflop_per_s_min"],
               gflop_per_s_max=14 * k["gflop_per_s_max"])
          for k in g["kernels"] if "status" not in k and k["name"] in ("matmul", "bmm")]
    g["kernels"] += bf
    g["ceilings"]["bf16"] = dict(g["ceilings"]["fp32"])
    return g


def expected_ceilings(g):
    """The fake GPU's ceilings, worked out here from its kernels (the only snippet it ran)."""
    ok = [k for k in g["kernels"] if "status" not in k]
    mm = lambda dt: max(k["gflop_per_s_median"] for k in ok if k["dtype"] == dt and k["name"] in ("matmul", "bmm"))
    bw = max(k["gb_per_s_median"] for k in ok if k["name"] not in ("matmul", "bmm"))
    return mm("fp32"), mm("bf16"), bw


@pytest.fixture(scope="module")
def gpu_site(tmp_path_factory):
    return site_with_fake_gpu(tmp_path_factory, "roofline", fake_gpu_result, FAKE_GPU)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_with_a_gpu_run_shows_its_ceilings(gpu_site, lang):
    proj, gpu = gpu_site
    text = text_of((proj / PAGE[lang]).read_text())
    assert NO_GPU[lang] not in text
    assert FAKE_GPU in text
    fp32, bf16, bw = expected_ceilings(gpu)
    assert f"{val(bw)} GB/s" in text
    assert f"{val(bf16)} GFLOP/s" in text and val(bf16 / bw) in text
    cpu = committed_runs("roofline")[0]["ceilings"]
    cpu_ridge = cpu["compute"]["fp32"]["value"] / cpu["bandwidth"]["value"]
    assert f"{(fp32 / bw) / cpu_ridge:.2g}" in text
    assert VERDICT[lang] in text
    for theme in ("light", "dark"):
        assert (proj / "site" / "generated" / f"roofline.{lang}.{theme}.svg").exists()
