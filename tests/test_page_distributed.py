"""The distributed page (claim X1) and its chart module, as a reader sees them.

Numbers are taken from the committed docs/results/*/allreduce.json and formatted the way the
page formats them (val(): 3 significant digits; the page's g3/secs macros), so a page that
drops a number, shows another machine's or types one by hand fails here.
"""
import copy
import pathlib
import re
import sys

import pytest

from conftest import ROOT, committed_runs, has_cuda, results_of, val

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = {"zh": pathlib.Path("site/distributed/index.html"),
         "en": pathlib.Path("site/en/distributed/index.html")}
CHARTS = ("allreduce-busbw", "allreduce-time")
TABLES = ("allreduce-summary", "allreduce-table")
ANCHORS = ("distributed", "x1", "algbw-busbw", "regimes", "worked-example")


def g3(x):
    """The page's g3 macro."""
    return f"{x:,.0f}" if x >= 1000 else f"{x:.3g}"


def secs(x):
    """The page's secs macro."""
    return f"{g3(x * 1000)} ms" if x < 1 else f"{g3(x)} s"


def nccl_measured():
    """Is there a cuda result whose NCCL group ran (the page's nccl_ok)?"""
    try:
        res = results_of("allreduce", "cuda")
    except AssertionError:
        return False
    return res["device"].get("gpus", 0) >= 2 and res.get("status") == "ok"


@pytest.fixture(scope="module")
def pages(built_site):
    return {lang: (built_site / path).read_text() for lang, path in PAGES.items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_measured_numbers(pages, lang):
    html = pages[lang]
    res = results_of("allreduce")
    g = res["groups"][0]
    assert g["status"] == "ok", "the page reads groups.0 of the CPU run"
    bw = g["peak"]["busbw_gb_per_s"]
    assert f"{val(bw)} GB/s" in html
    assert f"{val(g['sizes'][0]['busbw_gb_per_s_median'])} GB/s" in html
    assert f"{g3(g['latency_s'] * 1e6)} µs" in html
    # worked example: a 4 GB fp32 gradient all-reduce at the measured peak busbw
    n = g["world_size"]
    assert secs(2 * (n - 1) / n * 4e9 / (bw * 1e9)) in html
    assert secs(8e9 / (bw * 1e9)) in html
    # the machine's fp32 compute ceiling (the best rate any snippet reached on it)
    from conftest import committed_runs
    flops = committed_runs("matmul")[0]["ceilings"]["compute"]["fp32"]["value"] * 1e9
    assert g3(4 * flops / (3 * bw * 1e9)) in html  # T*, the break-even tokens per step
    # the tables rendered from the same file
    from charts.style import fmt
    assert f"| {fmt(bw)} |" in html or re.search(rf"<td[^>]*>{re.escape(fmt(bw))}</td>", html)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_has_charts_provenance_source_and_anchors(pages, lang):
    html = pages[lang]
    for name in CHARTS:
        for theme in ("light", "dark"):
            assert f"generated/{name}.{lang}.{theme}.svg" in html, (name, theme)
    slug = next((ROOT / "docs" / "results").glob("*/allreduce.json")).parent.name
    up = "../" if lang == "zh" else "../../"
    assert f'href="{up}results/{slug}/allreduce.json"' in html
    assert "METHOD_VERSION" in html and "measure_sizes" in html and "busbw = algbw" in html  # the snippet, verbatim
    for anchor in ANCHORS:
        assert f'id="{anchor}"' in html, anchor
    assert "nccl-tests/blob/master/doc/PERFORMANCE.md" in html  # where algbw / busbw come from
    assert "busbw" in html and "algbw" in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_verdict_and_datasheet_labels(pages, lang):
    html = pages[lang]
    verdict = ({"zh": "结论:成立但有限定", "en": "Verdict: holds with qualifiers"} if nccl_measured() else
               {"zh": "结论:待定", "en": "Verdict: undecided"})[lang]  # NCCL decides (lib/verdicts.py)
    assert verdict in html
    # datasheet figures only with a "not measured" label and their source
    assert {"zh": "非实测的参考值", "en": "Reference figures, not measured here"}[lang] in html
    assert "900 GB/s" in html and "https://www.nvidia.com/en-us/data-center/h100/" in html
    assert {"zh": "数据手册数值的算术,非实测", "en": "arithmetic on datasheet figures, not measured"}[lang] in html
    assert {"zh": "这是对实测数字的算术,不是测量",
            "en": "Arithmetic on a measured figure, not a measurement"}[lang] in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nccl_is_said_to_be_unmeasured_until_it_is(pages, lang):
    html = pages[lang]
    no_gpu = {"zh": "尚未测量 GPU", "en": "No GPU measured yet"}[lang]
    unmeasured = {"zh": "NCCL 跨 GPU 通信:未测量", "en": "NCCL between GPUs: not measured"}[lang]
    assert (no_gpu in html) == (not has_cuda("allreduce"))
    if nccl_measured():
        assert unmeasured not in html
        peak = results_of("allreduce", "cuda")["groups"][0]["peak"]["busbw_gb_per_s"]
        assert f"{val(peak)} GB/s" in html
    else:
        assert unmeasured in html
        assert {"zh": "没有任何 NCCL 或 GPU 互联(NVLink、PCIe)的实测数字",
                "en": "no measured figure of NCCL or of a GPU interconnect"}[lang] in html


# ---------------------------------------------------------------- the chart module

def expected_files(out):
    files = [out / f"{name}.{lang}.{theme}.svg" for name in CHARTS
             for lang in ("zh", "en") for theme in ("light", "dark")]
    return files + [out / f"{name}.{lang}.md" for name in TABLES for lang in ("zh", "en")]


def test_render_from_committed_results(tmp_path):
    from charts import allreduce
    from charts.style import fmt
    runs = committed_runs("allreduce")
    written = allreduce.render(runs, tmp_path)
    for f in expected_files(tmp_path):
        assert f in written and f.exists(), f.name
        if f.suffix == ".svg":
            text = f.read_text()
            assert text.startswith("<?xml") and "<svg" in text
    g = runs[0]["result"]["groups"][0]
    summary = (tmp_path / "allreduce-summary.en.md").read_text()
    assert f"| {fmt(g['peak']['busbw_gb_per_s'])} |" in summary
    full = (tmp_path / "allreduce-table.zh.md").read_text()
    for p in g["sizes"]:
        assert f"| {fmt(p['busbw_gb_per_s_median'])} |" in full


def fake_runs():
    """The committed CPU run, a GPU machine whose NCCL was skipped (1 GPU), and 8 GPUs that ran."""
    cpu = committed_runs("allreduce")[0]
    skipped = copy.deepcopy(cpu)
    skipped.update(device="cuda", label="NVIDIA H100 80GB HBM3")
    skipped["result"] = {"backend": "nccl", "status": "skipped", "groups": [],
                         "reason": "NCCL all-reduce needs 2+ GPUs; this machine has 1",
                         "device": {"type": "cuda", "name": "NVIDIA H100 80GB HBM3", "gpus": 1}}
    ran = copy.deepcopy(cpu)
    ran.update(device="cuda", label="NVIDIA H100 80GB HBM3 x8")
    ran["info"]["gpu"] = {"name": "NVIDIA H100 80GB HBM3"}
    g = copy.deepcopy(cpu["result"]["groups"][0])
    g["world_size"] = 8
    for p in g["sizes"]:
        for k in list(p):
            if "gb_per_s" in k:
                p[k] *= 100
            elif k.endswith("_s"):
                p[k] /= 100
    g["latency_s"] /= 100
    g["peak"] = {k: v * (100 if "gb_per_s" in k else 1) for k, v in g["peak"].items()}
    ran["result"] = {"backend": "nccl", "status": "ok", "groups": [g],
                     "device": {"type": "cuda", "name": "NVIDIA H100 80GB HBM3", "gpus": 8}}
    return [cpu, skipped, ran], g


def test_render_many_runs_names_what_was_not_measured(tmp_path):
    from charts import allreduce
    from charts.style import fmt
    runs, g = fake_runs()
    written = allreduce.render(runs, tmp_path)
    assert all(f in written for f in expected_files(tmp_path))
    summary = (tmp_path / "allreduce-summary.en.md").read_text()
    assert "skipped: NCCL all-reduce needs 2+ GPUs; this machine has 1" in summary
    assert f"| nccl | 8 | measured |" in summary and fmt(g["peak"]["busbw_gb_per_s"]) in summary
    # the skipped run is not drawn as a series; the 8-GPU run is, with the NVLink line beside it
    assert [label for label, _, _ in allreduce.series(runs)][-1].endswith("nccl · n=8")
    assert allreduce.nvlink_for(runs[2])["gb_per_s_per_direction"] == 450
    assert ("NVIDIA H100 80GB HBM3 · nccl", "NCCL all-reduce needs 2+ GPUs; this machine has 1") \
        in allreduce.not_run(runs)


def test_render_with_nothing_measured(tmp_path):
    """Only a skipped GPU run: the charts still render (saying so) and the tables name the reason."""
    from charts import allreduce
    runs, _ = fake_runs()
    written = allreduce.render([runs[1]], tmp_path)
    assert all(f in written for f in expected_files(tmp_path))
    assert "this machine has 1" in (tmp_path / "allreduce-summary.zh.md").read_text()
