"""The framework page (C4.1, C4.2) and its chart module, charts/framework.py."""
import copy
import json
import math
import re
import subprocess
import sys

import pytest

from conftest import ROOT, committed_runs, copy_project, has_cuda, results_of, text_of

CHARTS = ["framework-steps", "framework-speedup", "framework-compile"]
TABLES = ["framework-table", "framework-libraries", "framework-code"]
SOURCE_MARK = "MAX_LOSS_REL_DIFF"  # a name only snippets/framework.py has
VERDICTS = {"zh": ("成立但有限定", "不成立", "成立", "待定"),
            "en": ("holds with qualifiers", "does not hold", "holds", "undecided")}
H100 = "NVIDIA H100 80GB HBM3"


def page(site, lang):
    return (site / "site" / ("framework" if lang == "zh" else "en/framework") / "index.html").read_text()


def squeeze(s):
    return re.sub(r"\s+", "", s)


def ms(e):
    return f"{e['median_s'] * 1e3:.3g}"


def break_even_text(res, cmode, emode):
    saved = res["modes"][emode]["median_s"] - res["modes"][cmode]["median_s"]
    return None if saved <= 0 else f"{res['modes'][cmode]['compile_s'] / saved:,.0f}"


def with_compile(run, *, compiled_faster=True):
    """A run with both compiled modes measured, made from a committed run (which may be --quick)."""
    r = copy.deepcopy(run)
    modes = r["result"]["modes"]
    r["result"]["quick"] = False
    for cmode, emode, factor in (("compile_fp32", "eager_fp32", 0.5 if compiled_faster else 1.5),
                                 ("compile_autocast", "eager_autocast", 1.25)):
        e = copy.deepcopy(modes[emode])
        for k in ("median_s", "min_s", "max_s"):
            e[k] *= factor
        e["compile_s"], e["first_step_s"] = 12.5, 12.5 + e["median_s"]
        e["speedup_vs_eager_fp32"] = modes["eager_fp32"]["median_s"] / e["median_s"]
        e["tokens_per_s"] = r["result"]["tokens_per_step"] / e["median_s"]
        e["tflops_median"] = r["result"]["flops_per_step"] / e["median_s"] / 1e12
        modes[cmode] = e
    return r


def fake_gpu(run):
    g = with_compile(run)
    g["device"], g["label"] = "cuda", H100
    g["info"] = {**g["info"], "gpu": {"name": H100, "count": 1, "memory_gb": 80}}
    for e in g["result"]["modes"].values():
        for k in ("median_s", "min_s", "max_s"):
            e[k] /= 40
    g["result"]["libraries"].update(
        cuda_version="12.8", cuda_available=True, cudnn_version=90100, nccl_version="2.26.2",
        triton_version="3.3.0", sdpa_kernels_enabled={"flash": True, "mem_efficient": True,
                                                      "cudnn": True, "math": True})
    g["result"]["libraries"]["build_settings"].update(USE_CUDA="ON", USE_CUDNN="ON", USE_NCCL="1")
    return g


# ---------------------------------------------------------------- the chart module

def test_chart_module_renders_every_file(tmp_path):
    from charts import framework
    files = {p.name for p in framework.render(committed_runs("framework"), tmp_path)}
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
    for lang in ("zh", "en"):
        assert (tmp_path / f"framework-table.{lang}.md").read_text().count("\n|") >= 5
        assert (tmp_path / f"framework-libraries.{lang}.md").read_text().count("\n|") >= 10


def test_table_holds_the_committed_numbers():
    from charts import framework
    from charts.style import fmt
    res = results_of("framework")
    table = framework.table(committed_runs("framework"), "en")
    for mode, e in res["modes"].items():
        name = framework.mode_name(mode, lambda zh, en: en)
        if e["status"] == "ok":
            assert f"| {name} | {fmt(e['median_s'] * 1e3)} | {fmt(e['min_s'] * 1e3)}–{fmt(e['max_s'] * 1e3)} | {e['runs']} |" in table
        else:  # a skipped mode says why
            assert f"| {name} | not run: {e['reason'][:40]}" in table
    libs = framework.libraries_table(committed_runs("framework"), "en")
    assert f"| torch | {res['libraries']['torch_version']} |" in libs
    assert "cuDNN" in libs and "NCCL" in libs and "Triton" in libs and "oneDNN" in libs


def test_break_even():
    from charts import framework
    run = committed_runs("framework")[0]
    if run["result"]["modes"]["compile_fp32"]["status"] != "ok":  # e.g. --quick: nothing to weigh
        assert framework.break_even(run, "compile_fp32") is None
    r = with_compile(run)
    e, c = r["result"]["modes"]["eager_fp32"], r["result"]["modes"]["compile_fp32"]
    assert framework.break_even(r, "compile_fp32") == pytest.approx(12.5 / (e["median_s"] - c["median_s"]))
    assert framework.break_even(r, "compile_autocast") == math.inf  # compiled is slower: never
    assert framework.break_even(with_compile(run, compiled_faster=False), "compile_fp32") == math.inf


def test_chart_module_renders_several_runs_with_compile_and_a_gpu(tmp_path):
    from charts import framework
    runs = committed_runs("framework")
    other = with_compile(runs[0])
    other["machine"], other["label"] = "other", "Another CPU · 64 threads"
    gpu = fake_gpu(runs[0])
    files = {p.name for p in framework.render(runs + [other, gpu], tmp_path)}
    assert all(f"{n}.en.dark.svg" in files for n in CHARTS)
    table = (tmp_path / "framework-table.en.md").read_text()
    assert "Another CPU · 64 threads" in table and H100 in table
    assert "| never |" in table
    assert f"| {break_even_text(other['result'], 'compile_fp32', 'eager_fp32')} |" in table
    libs = (tmp_path / "framework-libraries.zh.md").read_text()
    assert "9.1.0" in libs and "2.26.2" in libs and "3.3.0" in libs and "flash" in libs


def test_compile_chart_says_when_compile_was_not_run():
    import matplotlib.pyplot as plt
    from charts import framework
    runs = copy.deepcopy(committed_runs("framework"))
    for r in runs:
        for m in framework.EAGER_OF:
            r["result"]["modes"][m] = {"status": "skipped", "reason": "skipped in --quick: test"}
    fig = framework.draw_compile(runs)(lambda zh, en: en)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("not run" in t for t in texts) and any("skipped in --quick: test" in t for t in texts)
    plt.close(fig)


def test_code_block_quotes_the_snippet():
    from charts import framework
    source = (ROOT / "snippets" / "framework.py").read_text()
    lines = source.splitlines()
    found = framework.code_lines()
    for key, hit in found.items():
        assert hit is not None, f"{key}: no line of snippets/framework.py matches"
        no, text = hit
        assert lines[no - 1].strip() == text.splitlines()[0], key
    assert ".to(device)" in found["model"][1] and "torch.compile(model)" in found["compile"][1]
    block = framework.code_block("en")
    assert "line not found" not in block
    assert f"# snippets/framework.py:{found['model'][0]} " in block
    # a snippet without the line shows a visible warning instead of silently dropping it
    broken = source.replace(".to(device)", "")
    assert "line not found" in framework.code_block("en", broken)


# ---------------------------------------------------------------- the built page

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_charts_tables_provenance_source_and_anchors(built_site, lang):
    doc = page(built_site, lang)
    for anchor in ("c4-1", "c4-2"):
        assert f'id="{anchor}"' in doc, anchor
    for name in CHARTS:
        for theme in ("light", "dark"):
            assert f"generated/{name}.{lang}.{theme}.svg" in doc, name
    prefix = "../" if lang == "zh" else "../../"
    slugs = [p.parent.name for p in (ROOT / "docs" / "results").glob("*/framework.json")]
    assert any(f'href="{prefix}results/{s}/framework.json"' in doc for s in slugs)
    assert SOURCE_MARK in doc, "snippets/framework.py is not included"
    assert doc.count("<table") >= 3  # libraries, modes, results
    assert 'href="../flops/#c2-2"' in doc or 'href="../../flops/#c2-2"' in doc
    # the quoted lines of code, as the snippet has them
    from charts import framework
    text = squeeze(text_of(doc))
    for key, (no, code) in framework.code_lines().items():
        assert squeeze(code) in text, key
        assert f"snippets/framework.py:{no}" in text, key


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_verdicts(built_site, lang):
    titles = re.findall(r'<p class="admonition-title">([^<]*)', page(built_site, lang))
    head = "结论:" if lang == "zh" else "Verdict: "
    verdicts = [t for t in titles if t.startswith(head)]
    assert len(verdicts) == 2, titles
    for v in verdicts:
        assert any(v[len(head):].startswith(w) for w in VERDICTS[lang]), v


def check_numbers(doc, lang, cpu, gpu=None):
    text = text_of(doc)
    words = {"zh": ("步", "永远不会回本"), "en": ("steps", "never pays off")}[lang]
    m = cpu["modes"]
    assert f"{ms(m['eager_fp32'])} ms" in text
    assert cpu["libraries"]["torch_version"] in text
    assert cpu["float32_matmul_precision"] in text
    for mode in ("eager_autocast", "compile_fp32", "compile_autocast"):
        if m[mode]["status"] == "ok":
            assert f"{ms(m[mode])} ms" in text, mode
            assert f"{m[mode]['speedup_vs_eager_fp32']:.2f}" in text, mode
    for cmode, emode in (("compile_fp32", "eager_fp32"), ("compile_autocast", "eager_autocast")):
        if m[cmode]["status"] == "ok":
            assert f"{m[cmode]['compile_s']:.1f}" in text
            be = break_even_text(cpu, cmode, emode)
            assert (f"{be} {words[0]}" if be else words[1]) in text, cmode
        else:  # the page says why compile was not run
            assert m[cmode]["reason"] in text
    mm = results_of("matmul")
    assert f"{mm['dtypes']['fp32']['best']['tflops'] * 1000:.0f} GFLOP/s" in text
    assert f"{mm['numpy']['fp32']['best']['tflops'] * 1000:.0f} GFLOP/s" in text
    if gpu is not None:
        g = gpu["modes"]
        assert f"{ms(g['eager_fp32'])} ms" in text
        assert f"{g['compile_fp32']['speedup_vs_eager_fp32']:.2f}" in text
        assert f"{break_even_text(gpu, 'compile_fp32', 'eager_fp32')} {words[0]}" in text
        assert words[1] in text  # compile_autocast of the fake GPU is slower than eager
        assert f"{g['eager_fp32']['tflops_median']:.3g}" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(built_site, lang):
    check_numbers(page(built_site, lang), lang, results_of("framework"),
                  results_of("framework", "cuda") if has_cuda("framework") else None)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_no_gpu_until_one_is_measured(built_site, lang):
    doc = page(built_site, lang)
    note = "尚未测量 GPU" if lang == "zh" else "No GPU measured yet"
    assert doc.count(note) == (0 if has_cuda("framework") else 1)  # once per page
    if not has_cuda("framework"):
        text = text_of(doc)
        assert H100 not in text and not re.search(r"\d TFLOP/s", text)
        pending = "结论:待定" if lang == "zh" else "Verdict: undecided"  # both wait for a GPU run
        assert text.count(pending) == 2


@pytest.fixture(scope="module")
def site_with_gpu(tmp_path_factory):
    """The site built with a full-mode CPU run (torch.compile measured) and a GPU run of
    framework: the page's branches for those cases must build and show their numbers."""
    dst = tmp_path_factory.mktemp("fw_gpu") / "p"
    copy_project(dst)
    path = sorted((dst / "docs" / "results").glob("*/framework.json"))[0]
    data = json.loads(path.read_text())
    run = next(r for r in committed_runs("framework") if r["device"] == "cpu")
    cpu, gpu = with_compile(run), fake_gpu(run)
    data["runs"]["cpu"]["result"] = cpu["result"]
    data["runs"]["cpu"]["quick"] = False
    data["runs"]["cuda"] = {**copy.deepcopy(data["runs"]["cpu"]), "result": gpu["result"],
                            "measured_at": data["runs"]["cpu"]["measured_at"]}
    data["runs"]["cuda"]["software"] = {**data["runs"]["cuda"]["software"], "cuda": "12.8"}
    data["machine"] = {**data["machine"], "gpu": {"name": H100, "count": 1, "memory_gb": 80}}
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=dst,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return dst, cpu["result"], gpu["result"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_with_compile_and_gpu_results(site_with_gpu, lang):
    site, cpu, gpu = site_with_gpu
    doc = page(site, lang)
    check_numbers(doc, lang, cpu, gpu)
    text = text_of(doc)
    assert ("尚未测量 GPU" if lang == "zh" else "No GPU measured yet") not in text
    assert H100 in text and "9.1.0" in text and "2.26.2" in text
    titles = re.findall(r'<p class="admonition-title">([^<]*)', doc)
    verdicts = [t for t in titles if t.startswith("结论:" if lang == "zh" else "Verdict: ")]
    assert len(verdicts) == 2 and not any("尚待" in v or "still to be" in v for v in verdicts)
