"""The training page (C1.2, C2.3, C3.2) and its chart modules: cnn_train, gpt_train, train_memory."""
import copy
import re

import pytest

from conftest import ROOT, check_rendered, committed_runs, has_cuda, results_of, text_of, val

SNIPPETS = ("cnn_train", "gpt_train", "train_memory")
CHARTS = {"cnn_train": ["cnn_train-throughput", "cnn_train-epoch"],
          "gpt_train": ["gpt_train-throughput", "gpt_train-profile", "gpt_train-memory"],
          "train_memory": ["train_memory-models", "train_memory-gpus"]}
TABLES = {"cnn_train": ["cnn_train-table"], "gpt_train": ["gpt_train-table"],
          "train_memory": ["train_memory-table", "train_memory-bytes"]}
# A name in each snippet that only its own source has: proof the snippet itself is on the page.
SOURCE_MARK = {"cnn_train": "EPOCH_IMAGES", "gpt_train": "PEAK_TFLOPS",
               "train_memory": "GPUS_PER_SERVER"}
VERDICTS = {"zh": ("成立但有限定", "不成立", "成立", "待定"),
            "en": ("holds with qualifiers", "does not hold", "holds", "undecided")}


def duration(s, lang):
    """Seconds as the page's dur() macro prints them."""
    zh = lang == "zh"
    if s < 120:
        return f"{s:.0f} " + ("秒" if zh else "s")
    if s < 7200:
        return f"{s / 60:.0f} " + ("分钟" if zh else "minutes")
    return f"{s / 3600:.1f} " + ("小时" if zh else "hours")


def page(site, lang):
    path = site / "site" / ("training" if lang == "zh" else "en/training") / "index.html"
    return path.read_text()


# ---------------------------------------------------------------- the chart modules

@pytest.mark.parametrize("snippet", SNIPPETS)
def test_chart_module_renders_every_file(snippet, tmp_path):
    import importlib
    mod = importlib.import_module(f"charts.{snippet}")
    check_rendered(mod.render(committed_runs(snippet), tmp_path), tmp_path,
                   CHARTS[snippet], TABLES[snippet])


def test_tables_hold_the_committed_numbers(tmp_path):
    from charts import cnn_train, gpt_train, train_memory
    from charts.style import fmt
    res = results_of("cnn_train")
    table = cnn_train.table(committed_runs("cnn_train"), "en")
    assert f"| fp32 | {res['precisions']['fp32']['batch']} | " in table
    assert fmt(res["precisions"]["fp32"]["images_per_s"]) in table
    res = results_of("gpt_train")
    table = gpt_train.table(committed_runs("gpt_train"), "zh")
    assert f"| {fmt(res['timing']['tokens_per_s_median'])} |" in table
    assert f"| {res['profile']['matmul_share']:.0%} |" in table
    res = results_of("train_memory")
    table = train_memory.table(committed_runs("train_memory"), "en")
    assert table.startswith("*Arithmetic, not measured.")
    assert "datasheet capacity" in table
    for m in res["models"]:
        assert f"| {m['name']} | {m['n_params']:,} |" in table
        assert fmt(m["states_gib"]) in table
    assert "| **total** | **16** |" in train_memory.bytes_table(committed_runs("train_memory"), "en")


def test_train_memory_charts_say_arithmetic_and_datasheet():
    """Pure arithmetic and datasheet capacities: the charts must say so (SVG text is paths,
    so look at the matplotlib figure)."""
    import matplotlib.pyplot as plt
    from charts import train_memory
    runs = committed_runs("train_memory")
    for lang, words, sheet in (("zh", "非实测", "数据手册"), ("en", "not measured", "datasheet")):
        t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
        fig = train_memory.draw_models(runs)(t)
        ax = fig.axes[0]
        assert words in ax.get_title() and ("算术" if lang == "zh" else "arithmetic") in ax.get_title()
        assert any(sheet in x.get_text() for x in ax.get_legend().get_texts())
        plt.close(fig)
        fig = train_memory.draw_gpus(runs)(t)
        assert words in fig.axes[0].get_title() or "arithmetic" in fig.axes[0].get_title()
        plt.close(fig)


def test_cnn_epoch_chart_says_projected():
    import matplotlib.pyplot as plt
    from charts import cnn_train
    fig = cnn_train.draw_epoch(committed_runs("cnn_train"))(lambda zh, en: en)
    assert "Projected" in fig.axes[0].get_title() and "projected" in fig.axes[0].get_xlabel()
    plt.close(fig)


def fake_gpu(run, snippet):
    """A CUDA run made from a CPU run (numbers scaled), to render several runs side by side."""
    g = copy.deepcopy(run)
    g["device"], g["label"] = "cuda", "NVIDIA H100 80GB HBM3"
    g["info"] = {**g["info"], "gpu": {"name": "NVIDIA H100 80GB HBM3", "count": 1, "memory_gb": 80}}
    r = g["result"]
    if snippet == "gpt_train":
        r["mfu"] = {"status": "ok", "peak_tflops": 989, "source": "test", "mfu_median": 0.4,
                    "mfu_min": 0.3, "mfu_max": 0.5}
        r["profile"]["source"] = "CUDA kernel time"
    if snippet == "cnn_train":
        r["precisions"]["tf32"] = copy.deepcopy(r["precisions"]["fp32"])
    if snippet == "train_memory":
        extra = {"name": "this GPU (NVIDIA H100 80GB HBM3)", "memory_gib": 79.2}
        r["gpus"].append(extra)
        for m in r["models"]:
            m["gpus"][extra["name"]] = m["gpus"]["H100 80GB"]
    return g


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_chart_module_renders_several_runs(snippet, tmp_path):
    import importlib
    mod = importlib.import_module(f"charts.{snippet}")
    runs = committed_runs(snippet)
    other = copy.deepcopy(runs[0])
    other["machine"], other["label"] = "other", "Another CPU · 64 threads"
    runs = runs + [other, fake_gpu(runs[0], snippet)]
    if snippet == "gpt_train":  # a GPU that ran out of memory has only a status and a reason
        oom = fake_gpu(runs[0], snippet)
        oom["result"] = {"snippet": "gpt_train", "status": "skipped", "reason": "out of GPU memory"}
        runs.append(oom)
    files = {p.name for p in mod.render(runs, tmp_path)}
    assert all(f"{n}.en.dark.svg" in files for n in CHARTS[snippet])
    table = (tmp_path / f"{TABLES[snippet][0]}.en.md").read_text()
    if snippet != "train_memory":
        assert "Another CPU · 64 threads" in table and "NVIDIA H100 80GB HBM3" in table
    else:
        assert "this GPU (NVIDIA H100 80GB HBM3)" in table


# ---------------------------------------------------------------- the built page

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_charts_tables_provenance_source_and_anchors(built_site, lang):
    doc = page(built_site, lang)
    for anchor in ("c1-2", "c2-3", "c3-2"):
        assert f'id="{anchor}"' in doc, anchor
    for names in CHARTS.values():
        for name in names:
            for theme in ("light", "dark"):
                assert f"generated/{name}.{lang}.{theme}.svg" in doc, name
    prefix = "../" if lang == "zh" else "../../"
    for snippet in SNIPPETS:
        slugs = [p.parent.name for p in (ROOT / "docs" / "results").glob(f"*/{snippet}.json")]
        assert any(f'href="{prefix}results/{s}/{snippet}.json"' in doc for s in slugs), snippet
        assert SOURCE_MARK[snippet] in doc, f"snippets/{snippet}.py is not included"
    # the tables are on the page, not only their file names
    assert doc.count("<table") >= 4
    if lang == "zh":
        assert "纯算术" in doc and "数据手册" in doc and "推算" in doc
    else:
        assert "pure arithmetic" in doc and "datasheet" in doc and "projected" in doc


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_verdicts(built_site, lang):
    titles = re.findall(r'<p class="admonition-title">([^<]*)', page(built_site, lang))
    head = "结论:" if lang == "zh" else "Verdict: "
    verdicts = [t for t in titles if t.startswith(head)]
    assert len(verdicts) == 3, titles
    for v in verdicts:
        assert any(v[len(head):].startswith(w) for w in VERDICTS[lang]), v


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(built_site, lang):
    text = text_of(page(built_site, lang))
    cnn = results_of("cnn_train")["precisions"]["fp32"]
    assert val(cnn["images_per_s"]) in text
    assert duration(cnn["projected_epoch_s"], lang) in text  # the projected epoch
    assert duration(100 * cnn["projected_epoch_s"], lang) in text  # and 100 of them
    gpt = results_of("gpt_train")
    assert val(gpt["timing"]["tokens_per_s_median"]) in text
    assert f"{100 * gpt['profile']['matmul_share']:.0f}%" in text
    assert f"{gpt['memory']['peak_bytes'] / 2 ** 20:.1f} MiB" in text
    assert f"{gpt['memory']['measured_over_estimate']:.2f}" in text
    mem = results_of("train_memory")
    assert [m["name"] for m in mem["models"]] == ["GPT-2 small", "GPT-3 XL", "Llama-2 7B",
                                                   "Llama-2 70B"], "the page names models by index"
    assert f"{val(mem['models'][3]['states_gib'])} GiB" in text
    assert f"{val(mem['models'][2]['states_gib'])} GiB" in text
    # the Amdahl bound of the C2.3 verdict: from the GPU's profile once there is one
    prof = (results_of("gpt_train", "cuda") if has_cuda("gpt_train") else gpt)["profile"]
    if prof["matmul_plus_attention_share"] < 1:
        assert f"{1 / (1 - prof['matmul_plus_attention_share']):.1f}" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_no_gpu_until_one_is_measured(built_site, lang):
    doc = page(built_site, lang)
    note = "尚未测量 GPU" if lang == "zh" else "No GPU measured yet"
    expected = int(any(not has_cuda(s) for s in ("cnn_train", "gpt_train", "cpu_control")))
    assert doc.count(note) == expected  # once per page, where it matters
    if not has_cuda("gpt_train"):  # no measured MFU figure without a GPU run
        assert not re.search(r"MFU[^.。;;]{0,12}\d+(\.\d+)?%", text_of(doc))
    if not has_cuda("cnn_train"):  # and no GPU images/s
        assert not re.search(r"(NVIDIA|H100|H200)[^.。]{0,40}images/s", text_of(doc))
