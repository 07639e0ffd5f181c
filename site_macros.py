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
    across(snippet, path, device="cpu")          the range of a figure across independent runs
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
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.results import load_all  # noqa: E402
from charts import runs_by_snippet  # noqa: E402


class ResultMissing(Exception):
    pass


def define_env(env):
    from mkdocs.exceptions import PluginError

    from lib.featured import featured_machine
    from lib.results import UserError
    try:
        data = load_all()
        home = featured_machine(data, (env.conf.get("extra") or {}).get("featured_machine", "auto"))
    except UserError as e:
        raise PluginError(str(e)) from None
    runs = runs_by_snippet(data, home)

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
        """The machine whose `device` figures the pages quote: the featured machine (mkdocs.yml
        extra.featured_machine, lib/featured.py) where it measured that device, else the one
        with the most snippets measured on it (the newest among equals)."""
        count = {}
        for rs in runs.values():
            for r in rs:
                if usable(r, device):
                    n, newest = count.get(r["machine"], (0, ""))
                    count[r["machine"]] = (n + 1, max(newest, r["record"]["measured_at"]))
        if home in count:
            return home
        return max(count, key=lambda m: count[m]) if count else None

    @env.macro
    def featured_machine_name():
        """The featured machine's folder name (or an empty string when nothing was measured)."""
        return home or ""

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

    def walk(value, path):
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value

    def across_runs(snippet, path, device):
        """The figure in every independent run (--repeat) that has it, as numbers."""
        vals = [walk(res, path) for res in pick(snippet, device).get("repeats", [])]
        return [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]

    @env.macro
    def across(snippet, path, device="cpu"):
        """'(median of 3 runs, 41.2–44.0)' where a figure was measured in several independent
        runs, else nothing: the range across runs, beside the spread within one."""
        vals = sorted(across_runs(snippet, path, device))
        if len(vals) < 2:
            return ""
        return t(f"({len(vals)} 次独立运行的中位数,范围 {fmt(vals[0])}–{fmt(vals[-1])})",
                 f"(median of {len(vals)} independent runs, range {fmt(vals[0])}–{fmt(vals[-1])})")

    def lookup(snippet, path, device):
        value = pick(snippet, device)["result"]
        vals = across_runs(snippet, path, device)
        if len(vals) > 1:  # a figure measured in several runs: their median
            vals.sort()
            n = len(vals)
            return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
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
        images = (f"![{alt}]({prefix}{base}.light.svg#only-light)\n"
                  f"![{alt}]({prefix}{base}.dark.svg#only-dark)")
        # A chart draws at most a few runs (charts/style.py chart_runs); say which it left out.
        charted = ROOT / "docs" / "generated" / f"{name.split('-')[0]}.charted.json"
        left_out = json.loads(charted.read_text()).get("left_out", []) if charted.exists() else []
        if left_out:
            images += ('\n\n<p class="left-out" markdown>' + t("图中未画出(数据见下表与[机器](machines.md)页):",
                       "Not drawn here (their figures are in the table below and on the [machines](machines.md) page): ")
                       .replace("machines.md", prefix + "machines.md")
                       + ", ".join(left_out) + "</p>")
        return images

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
            if len(r.get("repeats", [])) > 1:
                parts.append(t(f"{len(r['repeats'])} 次独立运行(正文取中位数)",
                               f"{len(r['repeats'])} independent runs (the text quotes their median)"))
            if r.get("busy"):
                parts.append('<span class="stale">' + t(
                    "测量时机器上还有别的进程在占用 CPU:这些数字可能偏低",
                    "the box was busy while this was measured: these figures may be low") + "</span>")
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
        for slug, m in sorted(machines.items(), key=lambda kv: (kv[0] != home, kv[0])):
            cpu, gpu = m["info"]["cpu"], m["info"]["gpu"]
            dates = sorted(m["dates"])
            if not dates:  # only failed runs so far: nothing measured to show
                continue
            span = dates[0][:10] if dates[0][:10] == dates[-1][:10] else f"{dates[0][:10]} – {dates[-1][:10]}"
            gpu_text = (f"{gpu['name']} ×{gpu['count']}, {gpu['memory_gb']} GB" if gpu
                        else t("无", "none"))
            rows.append([("★ " if slug == home else "") + f"`{slug}`", cpu["model"],
                         f"{cpu.get('physical_cores') or '?'}/{cpu['logical_cores']}",
                         f"{cpu.get('ram_gb') or '?'} GB", gpu_text, span, len(m["snippets"])])
        if not rows:
            return t("*还没有任何测量结果。*", "*No measurements yet.*")
        from charts.style import md_table
        return md_table(header, rows)

    @env.macro
    def compare_table():
        """One row per machine and device found under docs/results (the featured machine first),
        one column per headline figure (lib/publish.py), each linked to its results file."""
        from charts.style import fmt, md_table
        from lib.publish import HEADLINES, headline_values
        values = headline_values(runs)
        rows_of = {}
        for v in values:
            rows_of.setdefault((v["machine"], v["device"], v["label"]), {})[v["key"]] = v
        if not rows_of:
            return t("*还没有任何测量结果。*", "*No measurements yet.*")
        order = sorted(rows_of, key=lambda k: (k[0] != home, k[1] != "cuda", k[0]))
        header = [t("机器 · 设备", "machine · device")] + [
            f"[{t(h['zh'], h['en'])}]({h['anchor']}) ({h['unit']})" for h in HEADLINES]
        rows = []
        for key in order:
            slug, device, label = key
            cells = [f"{'★ ' if slug == home else ''}{label} (`{slug}`)"]
            for h in HEADLINES:
                v = rows_of[key].get(h["key"])
                cells.append(f"[{fmt(v['value'])}]({v['file']})" + (" (quick)" if v["quick"] else "")
                             if v else "–")
            rows.append(cells)
        note = t(f"\n★ 为各页正文引用的机器(`mkdocs.yml` 的 `extra.featured_machine`)。",
                 f"\n★ marks the machine the pages' prose quotes (`extra.featured_machine` in `mkdocs.yml`).")
        return md_table(header, rows) + (note if home else "")

    @env.macro
    def source(snippet):
        path = ROOT / "snippets" / f"{snippet}.py"
        if not path.exists():
            raise ResultMissing(f"{where()}: snippets/{snippet}.py does not exist")
        title = t(f"代码片段 snippets/{snippet}.py(完整,可直接复制运行)",
                  f"The snippet: snippets/{snippet}.py (complete, copy and run)")
        return f'??? example "{title}"\n\n    ```python\n    --8<-- "snippets/{snippet}.py"\n    ```\n'
