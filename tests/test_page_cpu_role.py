"""The CPU-role page (claims C5.1, C5.2) and charts/cpu_control.py, charts/dataloader.py.

Numbers come from the committed docs/results/*/{cpu_control,dataloader}.json and are formatted
the way the page formats them, so a page that drops a number, shows another run's or types one
by hand fails here. A second build with made-up GPU runs (in the snippets' CUDA schema) checks
the page's GPU branches, which the committed CPU-only results never reach.
"""
import copy
import importlib
import json
import math
import re
import subprocess
import sys

import pytest

from conftest import ROOT, check_rendered, committed_runs, copy_project, has_cuda, results_of, text_of, val

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SNIPPETS = ("cpu_control", "dataloader")
PAGE = {"zh": "site/cpu-role/index.html", "en": "site/en/cpu-role/index.html"}
CHARTS = {"cpu_control": ["cpu_control-update", "cpu_control-launch"],
          "dataloader": ["dataloader-throughput"]}
TABLES = {"cpu_control": ["cpu_control-update-table", "cpu_control-launch-table"],
          "dataloader": ["dataloader-table"]}
# A line only the snippet's own source has: proof the snippet itself is on the page.
SOURCE_MARK = {"cpu_control": "count_cuda_kernels", "dataloader": "SyntheticImages"}
NO_GPU = {"zh": "尚未测量 GPU", "en": "No GPU measured yet"}
VERDICT = {"zh": "结论:成立但有限定", "en": "Verdict: holds with qualifiers"}
# Without a GPU run both verdicts wait for one (lib/verdicts.py).
PENDING = {"zh": "结论:待定", "en": "Verdict: undecided"}
UPPER_BOUND = {"zh": "合成数据是上限", "en": "Synthetic data is an upper bound"}
# Sentences the page writes only from a GPU run.
GPU_ONLY = {"zh": ("在显存里只要", "录成 CUDA graph 之后", "上(主机"),
            "en": ("in GPU memory takes only", "Captured as a CUDA graph", "(host with")}


def shows(text, number):
    """`number` (a formatted string, maybe with its unit) stands alone in `text`: "162.3" does
    not match inside "162.34", nor "8" inside "18"."""
    return re.search(r"(?<![\d.,])" + re.escape(number) + r"(?!\d|[.,]\d)", text) is not None


# ---------------------------------------------------------------- made-up GPU results

def _spread(med, runs=7):
    return {"status": "ok", "runs": runs, "min_s": med * 0.95, "median_s": med, "max_s": med * 1.1,
            "iqr_s": med * 0.03}


def fake_cpu_control_gpu():
    """A CUDA result of cpu_control.py, in its schema: a fast on-device AdamW, offload paying
    two ~25 GB/s copies and a 40 GB/s CPU step; launch-bound small MLP with CUDA graphs."""
    sizes = []
    for n in (10_000_000, 100_000_000, 500_000_000):
        on = {**_spread(28 * n / 2.0e12), "impl": "fused", "gb_per_s": 2000.0}
        d2h = {**_spread(4 * n / 25e9), "gb_per_s": 25.0}
        h2d = {**_spread(4 * n / 24e9), "gb_per_s": 24.0}
        cpu = {**_spread(28 * n / 40e9), "impl": "fused", "threads": 16, "gb_per_s": 40.0}
        tot = _spread(d2h["median_s"] + cpu["median_s"] + h2d["median_s"])
        tot["vs_on_device"] = tot["median_s"] / on["median_s"]
        sizes.append({"params": n, "adamw_bytes": 28 * n, "copy_bytes": 4 * n, "on_device": on,
                      "offload": {"d2h": d2h, "cpu_step": cpu, "h2d": h2d, "total": tot}})
    batches = []
    for b, eager, graph in ((32, 400e-6, 60e-6), (2048, 520e-6, 150e-6)):
        flops = 6 * b * 4 * 256 ** 2
        batches.append({
            "batch": b, "width": 256, "layers": 4, "flops_per_step": flops,
            "aten_ops_per_step": 51, "view_ops_per_step": 40, "cuda_kernels_per_step": 58,
            "eager": {**_spread(eager), "tflops": flops / eager / 1e12, "us_per_op": eager / 51 * 1e6},
            "cuda_graph": {**_spread(graph), "loss_rel_diff_vs_eager": 1e-7, "loss_check": "ok",
                           "tflops": flops / graph / 1e12, "speedup_vs_eager": eager / graph,
                           "us_per_op": graph / 51 * 1e6}})
    return {"snippet": "cpu_control", "method_version": 1, "quick": False,
            "device": {"type": "cuda", "name": "Test GPU 9000", "capability": "9.0"},
            "update": {"check": {"cpu_step_max_abs_diff": 1e-9, "on_device_max_abs_diff": 1e-9,
                                 "status": "ok"}, "cpu_threads": 16, "sizes": sizes},
            "launch": {"batches": batches, "work_ratio": 64.0, "eager_time_ratio": 520 / 400}}


def fake_cpu_control_full_cpu(cpu):
    """The committed CPU result with a second, bigger batch: the full run's shape."""
    r = copy.deepcopy(cpu)
    small = r["launch"]["batches"][0]
    big = copy.deepcopy(small)
    big["batch"] = 64 * small["batch"]
    big["flops_per_step"] = 64 * small["flops_per_step"]
    for k in ("min_s", "median_s", "max_s"):
        big["eager"][k] = small["eager"][k] * 10
    r["launch"]["batches"].append(big)
    r["launch"]["work_ratio"], r["launch"]["eager_time_ratio"] = 64.0, 10.0
    r["quick"] = False
    return r


def fake_dataloader_gpu(cpu):
    """A CUDA result of dataloader.py: a GPU that trains 20,000 samples/s, a loader that needs
    8 workers to keep up."""
    g = copy.deepcopy(cpu)
    g.update(device={"type": "cuda", "name": "Test GPU 9000", "capability": "9.0", "host_cores": 16},
             batch=256, cores=16, workers=[0, 2, 4, 8], quick=False, image_size=64, source_size=80)
    model = 20000.0
    g["model"] = {"status": "ok", "batch": 256, "step": _spread(256 / model), "steps_per_block": 20,
                  "samples_per_s": model, "samples_per_s_min": model / 1.1,
                  "samples_per_s_max": model / 0.95}
    rate = {0: 4000.0, 2: 7800.0, 4: 15000.0, 8: 28000.0}
    g["loader"], g["end_to_end"] = [], []
    for w in g["workers"]:
        for pin in (False, True):
            lr = rate[w] * (0.95 if pin else 1.0)
            common = {"num_workers": w, "pin_memory": pin, "status": "ok", "first_batch_s": 0.05,
                      "warmup_batches": 1 + 2 * w, "batches_per_window": 8}
            g["loader"].append({**common, "samples_per_s": lr, "samples_per_s_min": lr * 0.8,
                                "samples_per_s_max": lr * 1.1, "window": _spread(8 * 256 / lr)})
            e = min(lr, model) * (0.97 if pin else 0.92)
            g["end_to_end"].append({**common, "samples_per_s": e, "samples_per_s_min": e * 0.85,
                                    "samples_per_s_max": e * 1.05, "window": _spread(8 * 256 / e),
                                    "expected_samples_per_s": min(lr, model),
                                    "bottleneck": "loader" if lr < model else "model",
                                    "device_idle_share_estimate": max(0.0, 1 - e / model)})
    best = max(g["end_to_end"], key=lambda e: e["samples_per_s"])
    g["summary"] = {"model_samples_per_s": model,
                    "best_end_to_end": {k: best[k] for k in ("num_workers", "pin_memory", "samples_per_s",
                                                              "bottleneck", "device_idle_share_estimate")},
                    "min_workers_to_keep_up": 8, "loader_us_per_sample_one_process": 1e6 / rate[0]}
    return g


def fake_run(run, device, result, label):
    r = copy.deepcopy(run)
    r["device"], r["label"], r["result"] = device, label, result
    if device == "cuda":
        r["info"] = {**r["info"], "gpu": {"name": label, "count": 1, "memory_gb": 80}}
    return r


# ---------------------------------------------------------------- the chart modules

@pytest.mark.parametrize("snippet", SNIPPETS)
def test_chart_module_renders_every_file(snippet, tmp_path):
    mod = importlib.import_module(f"charts.{snippet}")
    check_rendered(mod.render(committed_runs(snippet), tmp_path), tmp_path,
                   CHARTS[snippet], TABLES[snippet])


def test_tables_hold_the_committed_numbers():
    from charts import cpu_control, dataloader
    from charts.style import fmt
    res = results_of("cpu_control")
    table = cpu_control.update_table(committed_runs("cpu_control"), "en")
    for s in res["update"]["sizes"]:
        step = s["offload"]["cpu_step"]
        assert f"| {s['params']:,} | AdamW on the CPU ({step['impl']}, {step['threads']} threads) | " \
               f"{fmt(step['median_s'] * 1e3)} | {fmt(step['min_s'] * 1e3)}–{fmt(step['max_s'] * 1e3)} |" in table
        assert "| AdamW on the GPU |" not in table or has_cuda("cpu_control")  # skipped: no row
    table = cpu_control.launch_table(committed_runs("cpu_control"), "zh")
    for b in res["launch"]["batches"]:
        assert f"| {b['batch']} | eager | {b['aten_ops_per_step']} | – | {fmt(b['eager']['median_s'] * 1e6)} |" in table
    res = results_of("dataloader")
    table = dataloader.table(committed_runs("dataloader"), "en")
    for e in res["loader"]:
        if e["status"] == "ok":
            assert f"| {e['num_workers']} | – | {fmt(e['samples_per_s'])} |" in table
    assert f"| {fmt(res['model']['samples_per_s'])} |" in table
    for e in res["end_to_end"]:
        if e["status"] == "ok":
            assert f"| {e['device_idle_share_estimate']:.0%} |" in table


def test_update_chart_stacks_the_offload_phases_of_a_gpu_run():
    """Look at the matplotlib figure (SVG text is paths): the GPU run's offload row is three
    stacked bars (d2h, CPU step, h2d) whose ends add up to the sum of the medians."""
    import matplotlib.pyplot as plt
    from charts import cpu_control
    cpu = committed_runs("cpu_control")[0]
    gpu = fake_run(cpu, "cuda", fake_cpu_control_gpu(), "Test GPU 9000")
    fig = cpu_control.draw_update([cpu, gpu])(lambda zh, en: en)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    n = gpu["result"]["update"]["sizes"][-1]
    ax = fig.axes[titles.index(next(t for t in titles if t.startswith("500 M")))]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any("update on the GPU" in x for x in labels) and any("offload" in x for x in labels)
    ends = sorted(p.get_x() + p.get_width() for p in ax.patches)
    off = n["offload"]
    total_ms = (off["d2h"]["median_s"] + off["cpu_step"]["median_s"] + off["h2d"]["median_s"]) * 1e3
    assert math.isclose(ends[-1], total_ms, rel_tol=1e-9)
    assert len(ax.patches) == 4  # the GPU bar and three stacked phases
    plt.close(fig)


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_chart_modules_render_several_runs(snippet, tmp_path):
    mod = importlib.import_module(f"charts.{snippet}")
    runs = committed_runs(snippet)
    cpu = next(r for r in runs if r["device"] == "cpu")
    other = copy.deepcopy(cpu)
    other["machine"], other["label"] = "other", "Another CPU · 64 threads"
    if snippet == "cpu_control":
        other["result"] = fake_cpu_control_full_cpu(cpu["result"])
        gpu = fake_run(cpu, "cuda", fake_cpu_control_gpu(), "Test GPU 9000")
    else:
        gpu = fake_run(cpu, "cuda", fake_dataloader_gpu(cpu["result"]), "Test GPU 9000")
    files = {p.name for p in mod.render(runs + [other, gpu], tmp_path)}
    assert all(f"{n}.{lang}.dark.svg" in files for n in CHARTS[snippet] for lang in ("zh", "en"))
    for name in TABLES[snippet]:
        table = (tmp_path / f"{name}.en.md").read_text()
        assert "Another CPU · 64 threads" in table and "Test GPU 9000" in table
    if snippet == "cpu_control":
        table = (tmp_path / "cpu_control-launch-table.en.md").read_text()
        b = gpu["result"]["launch"]["batches"][0]
        assert "| CUDA graph | 51 | 58 |" in table
        assert f"{b['cuda_graph']['speedup_vs_eager']:.3g}×" in table


def test_charts_render_with_nothing_measured(tmp_path):
    """A run whose parts were all skipped draws 'no data' instead of failing."""
    from charts import cpu_control, dataloader
    cpu = committed_runs("cpu_control")[0]
    empty = fake_run(cpu, "cpu", {"snippet": "cpu_control", "update": {"sizes": []},
                                  "launch": {"batches": []}}, "Empty CPU · 1 threads")
    assert cpu_control.render([empty], tmp_path)
    assert "No data" in (tmp_path / "cpu_control-update-table.en.md").read_text()
    dl = fake_run(cpu, "cpu", {"snippet": "dataloader", "workers": [0],
                               "loader": [{"num_workers": 0, "pin_memory": False, "status": "skipped",
                                           "reason": "OSError: no shared memory"}],
                               "end_to_end": [], "model": {"status": "skipped"}}, "Empty CPU · 1 threads")
    assert dataloader.render([dl], tmp_path)
    assert "no shared memory" in (tmp_path / "dataloader-table.en.md").read_text()


# ---------------------------------------------------------------- the built page

def page(site, lang):
    return (site / PAGE[lang]).read_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_charts_tables_provenance_source_and_anchors(built_site, lang):
    doc = page(built_site, lang)
    for anchor in ("c5-1", "c5-2"):
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
    assert doc.count("<table") >= 3  # the three tables, not only their names
    assert "xdnf.cn/news/147019" in doc  # the article is cited
    assert UPPER_BOUND[lang] in text_of(doc)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_verdicts(built_site, lang):
    titles = re.findall(r'<p class="admonition-title">([^<]*)', page(built_site, lang))
    verdicts = [t for t in titles if t.startswith("结论:" if lang == "zh" else "Verdict: ")]
    assert len(verdicts) == 2, titles
    for v in verdicts:
        assert v.startswith(PENDING[lang] if not has_cuda("cpu_control") else VERDICT[lang]), v


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_shows_the_committed_numbers(built_site, lang):
    text = text_of(page(built_site, lang))
    cc = results_of("cpu_control")
    last = cc["update"]["sizes"][-1]
    step = last["offload"]["cpu_step"]
    assert shows(text, f"{last['params']:,}")
    assert shows(text, f"{step['median_s'] * 1000:.1f} " + ("毫秒" if lang == "zh" else "ms"))
    assert shows(text, f"{step['median_s'] / last['params'] * 1e9:.2f} " + ("纳秒" if lang == "zh" else "ns"))
    assert shows(text, f"{val(step['gb_per_s'])} GB/s")
    b0 = cc["launch"]["batches"][0]
    assert shows(text, f"{b0['eager']['median_s'] * 1e6:,.0f} " + ("微秒" if lang == "zh" else "µs"))
    assert shows(text, str(b0["aten_ops_per_step"]))
    # the launch cost is the fit over the batch sizes, not the step time / op count
    fit = cc["launch"]["fit"]["eager"]
    assert shows(text, f"{fit['fixed_us_per_op']:.2f}") and shows(text, f"{fit['fixed_s'] * 1e6:.1f}")
    assert not shows(text, f"{b0['eager']['us_per_op']:.1f}")
    if "eager_time_ratio" in cc["launch"]:
        assert shows(text, f"{cc['launch']['eager_time_ratio']:.1f}")
    dl = results_of("dataloader")
    assert shows(text, val(dl["model"]["samples_per_s"]))
    first = dl["loader"][0]
    if first["status"] == "ok" and first["num_workers"] == 0:
        assert shows(text, val(first["samples_per_s"]))
        assert shows(text, f"{1e6 / first['samples_per_s']:.0f} " + ("微秒" if lang == "zh" else "µs"))
    if dl["summary"]["best_end_to_end"]:
        assert shows(text, val(dl["summary"]["best_end_to_end"]["samples_per_s"]))
    assert ("、" if lang == "zh" else ", ").join(str(w) for w in dl["workers"]) in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_says_no_gpu_until_one_is_measured(built_site, lang):
    doc = page(built_site, lang)
    text = text_of(doc)
    expected = int(not has_cuda("cpu_control") or not has_cuda("dataloader"))  # once per page
    assert doc.count(NO_GPU[lang]) == expected
    if not has_cuda("cpu_control") and not has_cuda("dataloader"):
        assert text.count(PENDING[lang]) == 2
        for phrase in GPU_ONLY[lang]:
            assert phrase not in text, phrase


# ---------------------------------------------------------------- the same page with GPU runs

@pytest.fixture(scope="module")
def gpu_site(tmp_path_factory):
    """The site built with a made-up GPU machine that ran both snippets (and a newer, full-mode
    CPU run of cpu_control, so that the CPU's work-ratio sentence is reached too)."""
    proj = tmp_path_factory.mktemp("gpu") / "p"
    copy_project(proj)
    fakes = {}
    for snippet in SNIPPETS:
        src = next((ROOT / "docs" / "results").glob(f"*/{snippet}.json"))
        data = json.loads(src.read_text())
        cpu = data["runs"]["cpu"]
        gpu = copy.deepcopy(cpu)
        gpu["measured_at"] = "2099-01-01T00:00:00Z"
        runs = {"cuda": gpu}
        if snippet == "cpu_control":
            gpu["result"] = fake_cpu_control_gpu()
            full = copy.deepcopy(cpu)
            full["measured_at"] = "2099-01-01T00:00:00Z"
            full["result"] = fake_cpu_control_full_cpu(cpu["result"])
            runs["cpu"] = full
        else:
            gpu["result"] = fake_dataloader_gpu(cpu["result"])
        machine = dict(data["machine"], slug="test-gpu-box",
                       cpu=dict(data["machine"]["cpu"], model="Test CPU", logical_cores=16),
                       gpu={"name": "Test GPU 9000", "count": 1, "memory_gb": 80})
        out = proj / "docs" / "results" / "test-gpu-box"
        out.mkdir(exist_ok=True)
        (out / f"{snippet}.json").write_text(json.dumps(
            {"schema_version": data["schema_version"], "snippet": snippet, "machine": machine, "runs": runs}))
        fakes[snippet] = {d: r["result"] for d, r in runs.items()}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proj, fakes


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_with_gpu_runs_shows_their_numbers(gpu_site, lang):
    proj, fakes = gpu_site
    doc = (proj / PAGE[lang]).read_text()
    text = text_of(doc)
    assert NO_GPU[lang] not in text and PENDING[lang] not in text
    assert "Test GPU 9000" in text
    for phrase in GPU_ONLY[lang]:
        assert phrase in text, phrase
    g = fakes["cpu_control"]["cuda"]
    last = g["update"]["sizes"][-1]
    assert shows(text, f"{last['on_device']['median_s'] * 1000:.2f}")
    assert shows(text, val(last["offload"]["total"]["vs_on_device"]))
    assert shows(text, f"{last['offload']['total']['median_s'] * 1000:.0f}")
    b0 = g["launch"]["batches"][0]
    assert shows(text, f"{b0['cuda_graph']['speedup_vs_eager']:.1f}")
    assert shows(text, f"{b0['cuda_graph']['median_s'] * 1e6:.0f} " + ("微秒" if lang == "zh" else "µs"))
    assert shows(text, f"{g['launch']['eager_time_ratio']:.1f}")
    # the newer full-mode CPU run: its work ratio and time ratio are on the page
    assert shows(text, f"{fakes['cpu_control']['cpu']['launch']['eager_time_ratio']:.1f}")
    d = fakes["dataloader"]["cuda"]
    assert shows(text, val(d["model"]["samples_per_s"]))
    idle0 = d["end_to_end"][0]["device_idle_share_estimate"]
    assert shows(text, f"{100 * idle0:.0f}%")
    keep = d["summary"]["min_workers_to_keep_up"]
    assert (f"从 {keep} 个工作进程起就跟得上" if lang == "zh" else f"from {keep} worker processes on") in text
    assert shows(text, str(math.ceil(d["model"]["samples_per_s"] / d["loader"][0]["samples_per_s"])))
    verdicts = [t for t in re.findall(r'<p class="admonition-title">([^<]*)', doc)
                if t.startswith("结论:" if lang == "zh" else "Verdict: ")]
    assert verdicts == [VERDICT[lang]] * 2, verdicts
