"""The parallel page (claim C1.1) and charts/parallel.py, as a reader sees them.

Numbers come from the committed docs/results/*/parallel.json and are formatted the way the
page formats them, so a page that drops a number, shows another run's or types one by hand
fails here. A second build with a made-up GPU run checks the page's GPU branches and the
CPU/GPU crossover table, which the committed (CPU-only) results never reach.
"""
import copy
import html
import re
import sys

import pytest

from conftest import ROOT, committed_runs, has_cuda, results_of, site_with_fake_gpu, text_of, val

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE = {"zh": "site/parallel/index.html", "en": "site/en/parallel/index.html"}
CHARTS = ("parallel-elementwise", "parallel-conv", "parallel-threads")
TABLES = ("parallel-summary-table", "parallel-elementwise-table", "parallel-conv-table",
          "parallel-crossover-table")
NO_GPU = {"zh": "尚未测量 GPU", "en": "No GPU measured yet"}
NO_CROSSOVER = {"zh": "不给出交叉点", "en": "no crossover is shown"}
VERDICT = {"zh": "结论:成立但有限定", "en": "Verdict: holds with qualifiers"}
UNDECIDED = {"zh": "结论:待定", "en": "Verdict: undecided"}
CROSSOVER_HEAD = {"zh": "GPU 从此规模起一直更快", "en": "GPU faster from this size on"}


# ---------------------------------------------------------------- the chart module

def test_chart_module_renders_every_file(tmp_path):
    from charts import parallel
    files = {p.name for p in parallel.render(committed_runs("parallel"), tmp_path)}
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
            assert (tmp_path / f"{name}.{lang}.md").read_text().strip()


def test_tables_hold_the_committed_numbers(tmp_path):
    from charts import parallel
    from charts.style import fmt
    res = results_of("parallel")
    parallel.render(committed_runs("parallel"), tmp_path)
    summary = (tmp_path / "parallel-summary-table.en.md").read_text()
    assert fmt(res["tiny_op"]["queued"]["median_s"] * 1e6) in summary
    last = res["cpu_threads"]["points"][-1]
    assert f"{last['speedup_vs_1_thread']:.2f}× @ {last['threads']} threads" in summary
    points = (tmp_path / "parallel-elementwise-table.en.md").read_text()
    for p in res["elementwise"]["points"]:
        assert f"| {p['elements']:,} (" in points
        assert fmt(p["gb_per_s_median"]) in points
    conv = (tmp_path / "parallel-conv-table.zh.md").read_text()
    for p in res["conv"]["points"]:
        assert fmt(p["images_per_s"]) in conv


def _points(sizes, times, key="elements"):
    return [{key: s, "min_s": t * 0.9, "median_s": t, "max_s": t * 1.1} for s, t in zip(sizes, times)]


def _run(device, el_times, conv_times, sizes=(1024, 4096, 16384, 65536), batches=(1, 2, 4)):
    return {"device": device, "label": device.upper(), "machine": "m",
            "result": {"elementwise": {"points": _points(sizes, el_times)},
                       "conv": {"points": _points(batches, conv_times, "batch")}}}


def test_crossover_is_the_size_from_which_the_gpu_always_wins():
    from charts.parallel import crossover
    cpu = _run("cpu", [1e-6, 2e-6, 8e-6, 32e-6], [1e-3, 2e-3, 4e-3])
    gpu = _run("cuda", [5e-6, 5e-6, 6e-6, 7e-6], [2e-4, 2e-4, 2e-4], sizes=(1024, 4096, 16384, 65536, 2 ** 18))
    x = crossover(cpu, gpu, "elementwise", "elements")
    assert x["sizes"] == [1024, 4096, 16384, 65536]  # only the sizes both measured
    assert x["cpu_up_to"] == 4096 and x["gpu_from"] == 16384
    assert x["speed_smallest"] == pytest.approx(0.2) and x["speed_largest"] == pytest.approx(32 / 7)
    # a GPU win below a CPU win is not the crossover: it must hold at every larger size
    cpu["result"]["elementwise"]["points"] = _points((1024, 4096, 16384, 65536), [9e-6, 2e-6, 8e-6, 32e-6])
    x = crossover(cpu, gpu, "elementwise", "elements")
    assert x["gpu_faster"] == [True, False, True, True] and x["gpu_from"] == 16384
    y = crossover(cpu, gpu, "conv", "batch")
    assert y["cpu_up_to"] is None and y["gpu_from"] == 1
    slow = _run("cuda", [1, 1, 1, 1], [1, 1, 1])
    assert crossover(cpu, slow, "elementwise", "elements")["gpu_from"] is None


def test_crossover_table_needs_a_gpu():
    from charts.parallel import crossover_table
    cpu = _run("cpu", [1e-6, 2e-6, 8e-6, 32e-6], [1e-3, 2e-3, 4e-3])
    assert "No GPU measured yet" in crossover_table([cpu], "en")
    assert "|" not in crossover_table([cpu], "en")
    gpu = _run("cuda", [5e-6, 5e-6, 6e-6, 7e-6], [2e-4, 2e-4, 2e-4])
    table = crossover_table([cpu, gpu], "en")
    row = next(line for line in table.splitlines() if "elements" in line and line.startswith("| CPU"))
    assert "| 4K | 16K |" in row, row


# ---------------------------------------------------------------- the built page

@pytest.fixture(scope="module")
def pages(built_site):
    return {lang: (built_site / p).read_text() for lang, p in PAGE.items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(pages, lang):
    res = results_of("parallel")
    text = text_of(pages[lang])
    assert f"{res['tiny_op']['queued']['median_s'] * 1e6:.2f} µs" in text
    first, last = res["elementwise"]["points"][0], res["elementwise"]["points"][-1]
    assert f"{first['median_s'] * 1e6:.2f} µs" in text
    assert f"{first['elements']:,}" in text and f"{last['elements']:,}" in text
    assert f"{val(last['gb_per_s_median'])} GB/s" in text
    conv = res["conv"]["points"][-1]
    assert val(conv["images_per_s"]) in text and val(conv["gflop_per_s_median"]) in text
    th = res["cpu_threads"]["points"][-1]
    assert f"{th['speedup_vs_1_thread']:.2f}" in text
    # the GPU side decides C1.1 (lib/verdicts.py): without a GPU run it is undecided
    assert (VERDICT[lang] if has_cuda("parallel") else UNDECIDED[lang]) in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_charts_provenance_source_and_anchors(pages, built_site, lang):
    doc = pages[lang]
    for name in CHARTS:
        for theme in ("light", "dark"):
            assert f"generated/{name}.{lang}.{theme}.svg" in doc, (name, theme)
            assert (built_site / "site" / "generated" / f"{name}.{lang}.{theme}.svg").exists()
    slugs = [p.parent.name for p in (ROOT / "docs" / "results").glob("*/parallel.json")]
    for slug in slugs:
        assert re.search(rf'href="(\.\./)+results/{slug}/parallel\.json"', doc), slug
        assert (built_site / "site" / "results" / slug / "parallel.json").exists()
    assert 'id="c1-1"' in doc
    code = html.unescape(re.sub(r"<[^>]+>", "", doc))  # highlighted code: tokens in spans
    assert "CIN, COUT, K, HW = 64, 64, 3, 32" in code and "METHOD_VERSION = " in code  # the snippet


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_when_no_gpu_was_measured(pages, lang):
    text = text_of(pages[lang])
    if has_cuda("parallel"):
        assert NO_GPU[lang] not in text and CROSSOVER_HEAD[lang] in text
    else:
        assert NO_GPU[lang] in text and NO_CROSSOVER[lang] in text
        assert CROSSOVER_HEAD[lang] not in text  # no crossover table without a GPU


# ---------------------------------------------------------------- the same page with a GPU run

FAKE_GPU = "Test GPU 9000"


def fake_gpu_result(cpu):
    """A made-up CUDA result with the snippet's CUDA schema: slower than the CPU on tiny
    inputs (a 5 µs launch floor), much faster on big ones."""
    g = copy.deepcopy(cpu)
    g["device"] = {"type": "cuda", "name": FAKE_GPU, "capability": "9.0", "multiprocessors": 132}
    for p in g["elementwise"]["points"]:
        for k in ("min_s", "median_s", "max_s"):
            p[k] = 5e-6 + p[k] / 100
        p["gb_per_s_median"] = 12 * p["elements"] / p["median_s"] / 1e9
        p["gb_per_s_min"] = 12 * p["elements"] / p["max_s"] / 1e9
        p["gb_per_s_max"] = 12 * p["elements"] / p["min_s"] / 1e9
    for p in g["conv"]["points"]:
        for k in ("min_s", "median_s", "max_s"):
            p[k] = 2e-5 + p[k] / 50
        p["images_per_s"] = p["batch"] / p["median_s"]
        p["gflop_per_s_median"] = p["flops"] / p["median_s"] / 1e9
    g["tiny_op"] = {"op": cpu["tiny_op"]["op"],
                    "queued": {"runs": 5, "min_s": 4e-6, "median_s": 5e-6, "max_s": 6e-6, "iqr_s": 1e-7},
                    "round_trip": {"runs": 5, "min_s": 9e-6, "median_s": 1e-5, "max_s": 2e-5, "iqr_s": 1e-6}}
    g["cpu_threads"] = {"status": "skipped", "reason": "a thread sweep is a CPU experiment"}
    return g


@pytest.fixture(scope="module")
def gpu_site(tmp_path_factory):
    return site_with_fake_gpu(tmp_path_factory, "parallel", fake_gpu_result, FAKE_GPU)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_with_a_gpu_run_shows_its_numbers_and_the_crossover(gpu_site, lang):
    from charts import runs_by_snippet
    from charts.parallel import _count, crossover
    import build_results
    proj, gpu = gpu_site
    text = text_of((proj / PAGE[lang]).read_text())
    assert NO_GPU[lang] not in text and NO_CROSSOVER[lang] not in text
    assert FAKE_GPU in text and "132" in text
    assert f"{gpu['tiny_op']['round_trip']['median_s'] * 1e6:.2f} µs" in text
    assert val(gpu["elementwise"]["points"][-1]["gb_per_s_median"]) in text
    assert CROSSOVER_HEAD[lang] in text
    runs = runs_by_snippet(build_results.load_all(proj / "docs" / "results"))["parallel"]
    cpu_run = next(r for r in runs if r["device"] == "cpu")
    gpu_run = next(r for r in runs if r["device"] == "cuda")
    x = crossover(cpu_run, gpu_run, "elementwise", "elements")
    assert x["gpu_from"] is not None  # the made-up GPU wins at large sizes
    assert f" {_count(x['gpu_from'])} " in text
    assert "GPU" in text and VERDICT[lang] in text
