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
    from charts import roofline
    from charts.style import fmt
    res = results_of("roofline")
    roofline.render(committed_runs("roofline"), tmp_path)
    ceil = (tmp_path / "roofline-ceilings-table.en.md").read_text()
    c = res["ceilings"]
    assert fmt(c["bandwidth"]["peak_gb_per_s"]) in ceil
    assert fmt(c["fp32"]["peak_gflop_per_s"]) in ceil and fmt(c["fp32"]["ridge_point_flop_per_byte"]) in ceil
    table = (tmp_path / "roofline-table.zh.md").read_text()
    for k in res["kernels"]:
        if "status" in k:
            continue
        row = next(line for line in table.splitlines()
                   if f"| {k['name']} | {k['dtype']} | {k['shape']} |" in line)
        assert f"| {fmt(k['intensity_flop_per_byte'])} |" in row
        assert fmt(k["gflop_per_s_median"]) in row
        if k.get("fraction_of_roofline") is not None:
            assert f"{100 * k['fraction_of_roofline']:.0f}%" in row
            assert ("内存带宽" if k["bound"] == "memory" else "算力") in row


def test_the_roofline_needs_only_its_own_data(tmp_path, monkeypatch):
    """The overlay of the other snippets' ceilings is for information: without them (or with
    their results unreadable) the chart and the tables still render."""
    import build_results
    from charts import roofline

    runs = committed_runs("roofline")

    def broken(*a, **k):
        raise build_results.UserError("no results here")
    monkeypatch.setattr(build_results, "load_all", broken)
    assert roofline.other_ceilings(runs[0]) == {}
    files = {p.name for p in roofline.render(runs, tmp_path)}
    assert "roofline.en.light.svg" in files
    row = (tmp_path / "roofline-ceilings-table.en.md").read_text().splitlines()[2]
    assert row.endswith("| – | – |"), row


def test_overlay_reads_the_other_snippets_on_the_same_machine():
    from charts import roofline
    run = next(r for r in committed_runs("roofline") if r["device"] == "cpu")
    others = roofline.other_ceilings(run)
    mm = ROOT / "docs" / "results" / run["machine"] / "matmul.json"
    bw = ROOT / "docs" / "results" / run["machine"] / "bandwidth.json"
    if mm.exists() and "cpu" in json.loads(mm.read_text())["runs"]:
        best = json.loads(mm.read_text())["runs"]["cpu"]["result"]["dtypes"]["fp32"]["best"]["tflops"]
        assert others["matmul.py torch fp32"] == ("flops", "fp32", pytest.approx(best * 1000))
    if bw.exists() and "cpu" in json.loads(bw.read_text())["runs"]:
        best = json.loads(bw.read_text())["runs"]["cpu"]["result"]["best_gb_per_s"]
        assert others["bandwidth.py"] == ("bytes", None, best)
    if not mm.exists() and not bw.exists():
        assert others == {}


# ---------------------------------------------------------------- the built page

@pytest.fixture(scope="module")
def pages(built_site):
    return {lang: (built_site / p).read_text() for lang, p in PAGE.items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(pages, lang):
    res = results_of("roofline")
    c = res["ceilings"]
    text = text_of(pages[lang])
    bw, pk = c["bandwidth"]["peak_gb_per_s"], c["fp32"]["peak_gflop_per_s"]
    ridge = c["fp32"]["ridge_point_flop_per_byte"]
    assert f"{val(bw)} GB/s" in text and f"{val(pk)} GFLOP/s" in text
    assert val(ridge) in text
    assert f"{bw / 6:.3g} GFLOP/s" in text and f"{100 * bw / 6 / pk:.2g}%" in text
    assert f"{6 * ridge:.0f}" in text
    # every kernel of the committed run is in the table on the page
    for k in res["kernels"]:
        if "fraction_of_roofline" in k and k["fraction_of_roofline"] is not None:
            assert f"{100 * k['fraction_of_roofline']:.0f}%" in text
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
    """A made-up CUDA result with the snippet's CUDA schema (fp32 and bf16 ceilings)."""
    g = copy.deepcopy(cpu)
    g["device"] = {"type": "cuda", "name": FAKE_GPU, "capability": "9.0", "multiprocessors": 132}
    g.pop("skipped_dtypes", None)
    c = g["ceilings"]
    c["bandwidth"]["peak_gb_per_s"] = 3000.0
    c["fp32"]["peak_gflop_per_s"] = 50000.0
    c["fp32"]["ridge_point_flop_per_byte"] = 50000.0 / 3000.0
    c["bf16"] = dict(c["fp32"], peak_gflop_per_s=700000.0, ridge_point_flop_per_byte=700000.0 / 3000.0)
    for k in g["kernels"]:
        if "status" not in k and k["name"] in ("matmul", "bmm"):
            bf = dict(k, dtype="bf16", intensity_flop_per_byte=2 * k["intensity_flop_per_byte"])
            g["kernels"].append(bf)
            break
    return g


@pytest.fixture(scope="module")
def gpu_site(tmp_path_factory):
    return site_with_fake_gpu(tmp_path_factory, "roofline", fake_gpu_result, FAKE_GPU)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_with_a_gpu_run_shows_its_ceilings(gpu_site, lang):
    proj, gpu = gpu_site
    text = text_of((proj / PAGE[lang]).read_text())
    assert NO_GPU[lang] not in text
    assert FAKE_GPU in text
    c = gpu["ceilings"]
    assert f"{val(c['bandwidth']['peak_gb_per_s'])} GB/s" in text
    assert f"{val(c['bf16']['peak_gflop_per_s'])} GFLOP/s" in text
    assert val(c["bf16"]["ridge_point_flop_per_byte"]) in text
    cpu_ridge = results_of("roofline")["ceilings"]["fp32"]["ridge_point_flop_per_byte"]
    ratio = c["fp32"]["ridge_point_flop_per_byte"] / cpu_ridge
    assert f"{ratio:.2g}" in text
    assert VERDICT[lang] in text
    for theme in ("light", "dark"):
        assert (proj / "site" / "generated" / f"roofline.{lang}.{theme}.svg").exists()
