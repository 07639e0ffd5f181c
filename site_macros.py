"""Macros (mkdocs-macros-plugin) that put measured numbers on the pages.

No page types a measured figure: it writes {{ val("matmul", "dtypes.fp32.best.tflops") }}
and the number comes from docs/results/<machine>/matmul.json at build time. A page that
asks for a result that does not exist fails the build, naming the page and the key.

    val(snippet, path, device="cpu", digits=3)   the figure, formatted
    fmt(x, digits=3)                             any number, formatted as val() does
    text(snippet, path, device="cpu")            a string from the result (a status, a reason)
    exists(snippet, path, device="cpu")          does the result have this key, not null?
    num(snippet, path, device="cpu")             the figure, as a number (for ratios)
    has(snippet, device="cuda")                  is there a run of it on such a device?
    who(snippet, device="cpu")                   which machine a val() came from
    ceiling(kind, device="cpu")                  the device's ceiling: "bandwidth" (GB/s) or a
                                                 dtype (GFLOP/s), the best any snippet reached
    ceiling_kernel(kind, device="cpu")           the kernel that reached it, linked to its data
    isa_peak(dtype, device="cpu"), isa_formula() the CPU's theoretical peak (arithmetic)
    chart(name, alt)                             a chart, light and dark, in the page's language
    table(name)                                  a rendered table, in the page's language
    provenance(snippet)                          machines, dates, versions, spread, raw files
    no_gpu(snippet)                              the note shown where no GPU run exists yet
    machines_table()                             every machine under docs/results
    compare_table()                              headline figures of every machine and device
    source(snippet)                              the snippet, included verbatim, collapsible
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.results import load_all  # noqa: E402
from charts import runs_by_snippet  # noqa: E402


class ResultMissing(Exception):
    pass


# The headline figure of each snippet, for the machines page: (zh, en, snippet, path, page#anchor)
HEADLINES = [
    ("矩阵乘法 fp32 最佳 (TFLOP/s)", "matmul fp32, best (TFLOP/s)", "matmul", "dtypes.fp32.best.tflops", "flops.md#c2-2"),
    ("矩阵乘法 bf16 最佳 (TFLOP/s)", "matmul bf16, best (TFLOP/s)", "matmul", "dtypes.bf16.best.tflops", "flops.md#c2-2"),
    ("numpy fp32 最佳 (TFLOP/s)", "numpy fp32, best (TFLOP/s)", "matmul", "numpy.fp32.best.tflops", "flops.md#c2-2"),
    ("内存带宽最佳 (GB/s)", "memory bandwidth, best (GB/s)", "bandwidth", "best_gb_per_s", "bandwidth.md#c3-1"),
    ("主机到 GPU,锁页 (GB/s)", "host to GPU, pinned (GB/s)", "bandwidth", "host_device.h2d_pinned.gb_per_s", "bandwidth.md#c3-1"),
    ("CNN 训练 fp32 (图像/秒)", "CNN training fp32 (images/s)", "cnn_train", "precisions.fp32.images_per_s", "training.md#c1-2"),
    ("CNN 训练 bf16 (图像/秒)", "CNN training bf16 (images/s)", "cnn_train", "precisions.bf16.images_per_s", "training.md#c1-2"),
    ("GPT 训练 (token/秒)", "GPT training (tokens/s)", "gpt_train", "timing.tokens_per_s_median", "training.md#c2-3"),
    ("fp32 算力上限 (GFLOP/s)", "fp32 compute ceiling (GFLOP/s)", "@ceiling", "fp32", "roofline.md#x2"),
    ("内存带宽上限 (GB/s)", "memory bandwidth ceiling (GB/s)", "@ceiling", "bandwidth", "roofline.md#x2"),
    ("all-reduce 峰值 busbw (GB/s)", "all-reduce peak busbw (GB/s)", "allreduce", "groups.0.peak.busbw_gb_per_s", "distributed.md#x1"),
    ("数据加载:模型吞吐 (样本/秒)", "data loading: model alone (samples/s)", "dataloader", "summary.model_samples_per_s", "cpu-role.md#c5-2"),
]


def define_env(env):
    runs = runs_by_snippet(load_all())

    def lang():  # the page being rendered: flops.md is Chinese, flops.en.md English
        page = env.page
        src = page.file.src_uri if page is not None else ""
        return "en" if src.endswith(".en.md") else "zh"

    def t(zh, en):
        return zh if lang() == "zh" else en

    def where():
        return env.page.file.src_uri if env.page is not None else "?"

    def usable(r, device):
        # A --quick run on a GPU never supplies a figure to a page: its sizes are too small.
        return r["device"] == device and not (device == "cuda" and r["record"].get("quick"))

    def featured(device):
        """The machine whose `device` figures the pages quote: the one with the most snippets
        measured on it (the newest among equals), so that one page's sentences all describe
        one machine."""
        count = {}
        for rs in runs.values():
            for r in rs:
                if usable(r, device):
                    n, newest = count.get(r["machine"], (0, ""))
                    count[r["machine"]] = (n + 1, max(newest, r["record"]["measured_at"]))
        return max(count, key=lambda m: count[m]) if count else None

    def pick(snippet, device):
        """The run a figure comes from: the featured machine's run of `snippet` on `device`,
        else the newest run of it on such a device."""
        candidates = [r for r in runs.get(snippet, []) if usable(r, device)]
        if not candidates:
            raise ResultMissing(f"{where()}: no result for snippet '{snippet}' on device "
                                f"'{device}' under docs/results")
        home = [r for r in candidates if r["machine"] == featured(device)]
        return max(home or candidates, key=lambda r: r["record"]["measured_at"])

    def ceilings_of(device):
        machine = featured(device)
        for rs in runs.values():
            for r in rs:
                if r["machine"] == machine and usable(r, device) and r.get("ceilings"):
                    return r["ceilings"]
        raise ResultMissing(f"{where()}: no ceilings for device '{device}': nothing measured on it")

    def ceiling_entry(kind, device):
        c = ceilings_of(device)
        entry = c["bandwidth"] if kind == "bandwidth" else c["compute"].get(kind)
        if entry is None:
            raise ResultMissing(f"{where()}: no {kind} ceiling on device '{device}' (no kernel "
                                f"of that kind measured, or none with a working set in DRAM)")
        return entry

    @env.macro
    def ceiling(kind, device="cpu"):
        """The device's ceiling: kind "bandwidth" (GB/s) or a dtype such as "fp32" (GFLOP/s),
        the best rate any snippet measured on it (lib/ceilings.py)."""
        return ceiling_entry(kind, device)["value"]

    @env.macro
    def ceiling_kernel(kind, device="cpu"):
        """Which kernel reached the ceiling, linked to the results file it is in."""
        e = ceiling_entry(kind, device)
        link = f"{'../' * where().count('/')}results/{featured(device)}/{e['snippet']}.json"
        cache = t(";工作集小于末级缓存的 4 倍,可能是缓存而不是内存的带宽",
                  "; its working set is under 4× the last-level cache: this may be cache, not memory, "
                  "bandwidth") if e.get("in_cache") else ""
        return f"`{e['snippet']}.py`: {e['kernel']} ([{t('数据', 'data')}]({link}){cache})"

    @env.macro
    def isa_peak(dtype="fp32", device="cpu"):
        """The CPU's theoretical peak from its ISA (arithmetic, not a measurement), or None."""
        return ((ceilings_of(device).get("isa_peak") or {}).get(dtype) or {}).get("gflop_per_s")

    @env.macro
    def isa_formula(dtype="fp32", device="cpu"):
        return ((ceilings_of(device).get("isa_peak") or {}).get(dtype) or {}).get("formula", "")

    def lookup(snippet, path, device):
        value = pick(snippet, device)["result"]
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            else:
                raise ResultMissing(f"{where()}: result key '{path}' does not exist in "
                                    f"{snippet} ({device}); stopped at '{part}'")
        return value

    @env.macro
    def exists(snippet, path, device="cpu"):
        if not has(snippet, device):
            return False
        try:
            return lookup(snippet, path, device) is not None
        except ResultMissing:
            return False

    @env.macro
    def text(snippet, path, device="cpu"):
        value = lookup(snippet, path, device)
        if not isinstance(value, str):
            raise ResultMissing(f"{where()}: result key '{path}' of {snippet} ({device}) is not text")
        return value

    @env.macro
    def num(snippet, path, device="cpu"):
        value = lookup(snippet, path, device)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ResultMissing(f"{where()}: result key '{path}' of {snippet} ({device}) "
                                f"is not a number: {value!r}")
        return value

    @env.macro
    def fmt(x, digits=3):
        """A number as val() writes it: 3 significant digits, thousands separated."""
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}g}"

    @env.macro
    def val(snippet, path, device="cpu", digits=3):
        return fmt(num(snippet, path, device), digits)

    @env.macro
    def has(snippet, device="cuda"):
        return any(usable(r, device) for r in runs.get(snippet, []))

    @env.macro
    def who(snippet, device="cpu"):
        return pick(snippet, device)["label"]

    @env.macro
    def chart(name, alt):
        base = f"generated/{name}.{lang()}"
        for theme in ("light", "dark"):
            if not (ROOT / "docs" / f"{base}.{theme}.svg").exists():
                raise ResultMissing(f"{where()}: chart '{name}' was not rendered "
                                    f"(no results for it under docs/results?)")
        prefix = "../" * (where().count("/"))
        return (f"![{alt}]({prefix}{base}.light.svg#only-light)\n"
                f"![{alt}]({prefix}{base}.dark.svg#only-dark)")

    @env.macro
    def table(name):
        path = ROOT / "docs" / "generated" / f"{name}.{lang()}.md"
        if not path.exists():
            raise ResultMissing(f"{where()}: table '{name}' was not rendered")
        return path.read_text()

    @env.macro
    def provenance(snippet):
        if snippet not in runs:
            raise ResultMissing(f"{where()}: no results for snippet '{snippet}'")
        lines = []
        for r in runs[snippet]:
            rec, sw = r["record"], r["record"]["software"]
            cuda = f", CUDA {sw['cuda']}" if r["device"] == "cuda" and sw.get("cuda") else ""
            parts = [f"**{r['label']}**",
                     t(f"测于 {rec['measured_at'][:10]}", f"measured {rec['measured_at'][:10]}"),
                     f"torch {sw['torch']}{cuda}",
                     f"`snippets/{snippet}.py` v{rec['method_version']}",
                     t("图中为中位数与最小–最大值", "medians with min–max shown"),
                     f"[{t('原始数据', 'raw data')}]({'../' * where().count('/')}{r['path']})"]
            if rec.get("quick"):
                parts.append(t("**--quick 模式(规模缩小)**", "**--quick mode (reduced sizes)**"))
            if r["stale"]:
                parts.append('<span class="stale">' + t(
                    "已过期:代码片段在这次测量之后改动过", "stale: the snippet changed after this run") + "</span>")
            if r["failure"]:
                parts.append('<span class="stale">' + t(
                    f"最近一次重测失败({r['failure']['at'][:10]}:{r['failure']['cause']}),此处仍是上一次的有效结果",
                    f"the latest re-run failed ({r['failure']['at'][:10]}: {r['failure']['cause']}); "
                    f"this is the last good result") + "</span>")
            lines.append(" · ".join(parts))
        body = "<br>\n".join(lines)
        return f'<p class="provenance" markdown>\n{body}\n</p>'

    @env.macro
    def no_gpu(snippet):
        if has(snippet, "cuda"):
            return ""
        return "\n".join([
            '!!! warning "' + t("尚未测量 GPU", "No GPU measured yet") + '"',
            "    " + t(f"`docs/results/` 中还没有 `{snippet}` 在 GPU 上的结果,所以本节只有 CPU 的数字,"
                       "没有任何 GPU 实测数字。在有 GPU 的机器上运行 `python build_results.py` 即可补上"
                       "(见[复现](reproduce.md))。",
                       f"There is no GPU result of `{snippet}` under `docs/results/` yet, so this "
                       "section shows CPU figures only and no measured GPU figure. Running "
                       "`python build_results.py` on a machine with a GPU adds it "
                       "(see [Reproduce](reproduce.md)).")])

    @env.macro
    def machines_table():
        data = load_all()
        machines = {}
        for (slug, snippet), d in data.items():
            m = machines.setdefault(slug, {"info": d["machine"], "dates": [], "snippets": set(),
                                           "devices": set()})
            for device, rec in d["runs"].items():
                m["dates"].append(rec["measured_at"])
                m["snippets"].add(snippet)
                m["devices"].add(device)
        header = [t("机器", "machine"), "CPU", t("核心(物理/逻辑)", "cores (physical/logical)"),
                  t("内存", "RAM"), "GPU", t("测量时间", "measured"), t("代码片段", "snippets")]
        rows = []
        for slug, m in sorted(machines.items()):
            cpu, gpu = m["info"]["cpu"], m["info"]["gpu"]
            dates = sorted(m["dates"])
            if not dates:  # only failed runs so far: nothing measured to show
                continue
            span = dates[0][:10] if dates[0][:10] == dates[-1][:10] else f"{dates[0][:10]} – {dates[-1][:10]}"
            gpu_text = (f"{gpu['name']} ×{gpu['count']}, {gpu['memory_gb']} GB" if gpu
                        else t("无", "none"))
            rows.append([f"`{slug}`", cpu["model"], f"{cpu['physical_cores'] or '?'}/{cpu['logical_cores']}",
                         f"{cpu['ram_gb']} GB", gpu_text, span, len(m["snippets"])])
        if not rows:
            return t("*还没有任何测量结果。*", "*No measurements yet.*")
        from charts.style import md_table
        return md_table(header, rows)

    @env.macro
    def compare_table():
        """One column per (machine, device) found under docs/results, one row per headline."""
        columns = sorted({(r["machine"], r["device"], r["label"]) for rs in runs.values() for r in rs
                          if usable(r, r["device"])}, key=lambda c: (c[1] != "cpu", c[0]))
        if not columns:
            return t("*还没有任何测量结果。*", "*No measurements yet.*")
        from charts.style import fmt, md_table
        rows = []
        for zh, en, snippet, path, anchor in HEADLINES:
            cells = []
            for slug, device, _ in columns:
                if snippet == "@ceiling":  # the device's ceiling, from every snippet (lib/ceilings.py)
                    c = next((r["ceilings"] for rs in runs.values() for r in rs if r["machine"] == slug
                              and r["device"] == device and r.get("ceilings")), None) or {}
                    e = c.get("bandwidth") if path == "bandwidth" else (c.get("compute") or {}).get(path)
                    cells.append(f"[{fmt(e['value'])}](results/{slug}/{e['snippet']}.json)" if e else "–")
                    continue
                run = next((r for r in runs.get(snippet, []) if r["machine"] == slug
                            and usable(r, device)), None)
                value = run["result"] if run else None
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else (
                        value[int(part)] if isinstance(value, list) and part.isdigit()
                        and int(part) < len(value) else None)
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                quick = " (quick)" if run and run["record"].get("quick") else ""
                cells.append(f"[{fmt(value)}]({run['path']}){quick}" if ok else "–")
            rows.append([f"[{t(zh, en)}]({anchor})"] + cells)
        header = [t("指标", "figure")] + [f"{label} (`{slug}`)" for slug, _, label in columns]
        return md_table(header, rows)

    @env.macro
    def source(snippet):
        path = ROOT / "snippets" / f"{snippet}.py"
        if not path.exists():
            raise ResultMissing(f"{where()}: snippets/{snippet}.py does not exist")
        title = t(f"代码片段 snippets/{snippet}.py(完整,可直接复制运行)",
                  f"The snippet: snippets/{snippet}.py (complete, copy and run)")
        return f'??? example "{title}"\n\n    ```python\n    --8<-- "snippets/{snippet}.py"\n    ```\n'
