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

Verdicts (lib/verdicts.py) and reference figures (lib/datasheets.py, lib/cpu_datasheets.py):
    verdict(claim)                               the claim's verdict admonition, from its rule
    verdict_title(claim), verdict_status(claim)  its status in words / as a key
    rule(name)                                   a threshold the rules use (RULES)
    glance_table(), glance_reasons()             every claim at a glance (the home page)
    measured_summary()                           which machines were measured, any GPU or not
    no_gpu_note(*snippets)                       the "no GPU measured yet" note, once per page
    cpu_name(snippet)                            the CPU as measured: "2 vCPUs of an Intel Xeon VM"
    sheet(model, path), sheet_link(model)        a GPU datasheet figure; its source, linked
    link_figure(key, path), link_source(key)     a host link's figure (PCIe) from its specification
    socket(kind, end, snippet), socket_why(),    one whole socket of the measured CPU's family,
    socket_table()                               by datasheet arithmetic, and why that family
    gb(bytes), gib(bytes)                        bytes in GB (10^9) or GiB (2^30), with the unit
    fits(states_bytes, model)                    training states against a GPU's memory, in GB
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
        if e.get("repeat"):  # the best of a snippet's independent runs was not its newest
            i = e["repeat"] - 1
            cache += t(f";来自较早的一次独立运行(文件中的 `repeats[{i}]`)",
                       f"; from an earlier independent run (`repeats[{i}]` in the file)")
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
        note = t("\n★ 为各页正文引用的机器(`mkdocs.yml` 的 `extra.featured_machine`)。",
                 "\n★ marks the machine the pages' prose quotes (`extra.featured_machine` in `mkdocs.yml`).")
        return md_table(header, rows) + (note if home else "")

    @env.macro
    def source(snippet):
        path = ROOT / "snippets" / f"{snippet}.py"
        if not path.exists():
            raise ResultMissing(f"{where()}: snippets/{snippet}.py does not exist")
        title = t(f"代码片段 snippets/{snippet}.py(完整,可直接复制运行)",
                  f"The snippet: snippets/{snippet}.py (complete, copy and run)")
        return f'??? example "{title}"\n\n    ```python\n    --8<-- "snippets/{snippet}.py"\n    ```\n'

    # ---------------------------------------------------------------- verdicts and references
    # Each claim's verdict comes from a rule in lib/verdicts.py; datasheet figures and
    # constants come from lib/datasheets.py and lib/cpu_datasheets.py. No page types either.
    from lib import verdicts as V
    from lib.cpu_datasheets import describe as describe_cpu, identify as identify_cpu
    from lib.datasheets import LINKS, by_name as sheet_by_name
    verdicts = V.compute(runs, home)

    def lang_of(d):
        return d[lang()] if isinstance(d, dict) else d

    def verdict_of(claim):
        if claim not in verdicts:
            raise ResultMissing(f"{where()}: no verdict rule for claim '{claim}' in lib/verdicts.py")
        return verdicts[claim]

    def data_links(v):
        files = list(dict.fromkeys(v["files"]))
        return ", ".join(f"[{f.split('/')[-2]}/{f.split('/')[-1]}]({f})" for f in files)

    @env.macro
    def verdict(claim):
        """The claim's verdict as an admonition, in the page's language (lib/verdicts.py)."""
        v = verdict_of(claim)
        lines = [f'!!! abstract "{t("结论:", "Verdict: ")}{lang_of(v["title"])}"',
                 "    " + lang_of(v["reason"]), "",
                 "    " + t("**由什么决定**:", "**Decided by**: ") + lang_of(v["decided_by"])
                 + (f"({t('数据', 'data')}:{data_links(v)})" if lang() == "zh" and v["files"] else
                    f" (data: {data_links(v)})" if v["files"] else "") + t("。", ".")]
        if v["missing"]:
            lines += ["", "    " + t("**还缺**:", "**Missing**: ") + lang_of(v["missing"]) + t("。", ".")]
        if v["reference"]:
            r = v["reference"]
            lines += ["", "    " + t("**旁注,不参与判定**:", "**Beside it, deciding nothing**: ")
                      + lang_of(r["text"]) + f" ([{t('来源', 'source')}]({r['url']}))"
                      + (t(";", "; ") + lang_of(v["socket"]) + t("(见[内存带宽](bandwidth.md#like-with-like)页)",
                                                                 " (see [memory bandwidth](bandwidth.md#like-with-like))")
                         if v["socket"] else "") + t("。", ".")]
        return "\n".join(lines) + "\n"

    @env.macro
    def verdict_title(claim):
        """The claim's status in words (成立 / holds ...), for a sentence."""
        return lang_of(verdict_of(claim)["title"])

    @env.macro
    def verdict_status(claim):
        """The claim's status key: holds, qualified, fails or undecided."""
        return verdict_of(claim)["status"]

    @env.macro
    def rule(name):
        """A threshold of the verdict rules (lib/verdicts.py RULES), so prose quotes the rule itself."""
        return V.RULES[name]

    def gpu_machines():
        out = {}
        for rs in runs.values():
            for r in rs:
                if r["device"] == "cuda":
                    out.setdefault(r["machine"], r["label"])
        return out

    @env.macro
    def measured_summary():
        """Which machines were measured, and whether any had a GPU, in one plain paragraph."""
        cpus = {}
        for rs in runs.values():
            for r in rs:
                if r["device"] == "cpu":
                    cpus.setdefault(r["machine"], lang_of(describe_cpu(r["info"]["cpu"])))
        gpus = gpu_machines()
        slugs = sorted(set(cpus) | set(gpus), key=lambda s: (s != home, s))
        if not slugs:
            return t("还没有任何测量结果。", "Nothing has been measured yet.")
        parts = []
        for s in slugs:
            what = [x for x in (cpus.get(s), gpus.get(s)) if x]
            parts.append(f"`{s}`(" + "、".join(what) + ")" if lang() == "zh" else f"`{s}` ({' and '.join(what)})")
        n = len(slugs)
        head = t(f"已测量 {n} 台机器:" + ";".join(parts) + "。", f"{n} machine{'s' if n > 1 else ''} measured: "
                 + "; ".join(parts) + ".")
        if not gpus:
            return head + t("**其中没有一台有 GPU:本站还没有任何 GPU 实测数字。**GPU 一侧只有数据手册的数值,"
                            "每处都标为“非实测”,而且不参与任何结论;凡是要靠 GPU 实测才能判断的论断,结论都是“待定”。",
                            " **None of them had a GPU: this site has no measured GPU figure yet.** The GPU "
                            "side has datasheet figures only, each labelled 'not measured' and deciding no "
                            "verdict; every claim that needs a GPU measurement is 'undecided'.")
        return head + t(f"其中 {len(gpus)} 台有 GPU:" + "、".join(gpus.values()) + "。",
                        f" {len(gpus)} of them had a GPU: " + ", ".join(gpus.values()) + ".")

    @env.macro
    def glance_table():
        """Every claim with the figure that decides it, both sides, the datasheet, the ratio and
        the verdict, each row linked to its chapter (the home page's answer at a glance)."""
        from charts.style import md_table
        header = [t("论断", "claim"), t("决定它的数字", "deciding figure"), t("CPU 实测", "CPU, measured"),
                  t("GPU 实测", "GPU, measured"), t("数据手册(非实测,不参与判定)", "datasheet (not measured, decides nothing)"),
                  t("GPU ÷ CPU", "GPU ÷ CPU"), t("结论", "verdict")]
        cpu_home = featured("cpu")
        rows = []
        for cid, label, page in V.CLAIMS:
            v = verdicts[cid]
            cpu = v["cpu"]
            cpu_cell = lang_of(cpu["text"]) if cpu else "–"
            if cpu and cpu["run"] and cpu["run"]["machine"] != cpu_home:
                cpu_cell += f" ({lang_of(describe_cpu(cpu['run']['info']['cpu']))})"
            gpu = v["gpu"]
            gpu_cell = (lang_of(gpu["text"]) + f" ({V.gpu_name(gpu['run'])})" if gpu else
                        t("尚未测量", "not measured yet"))
            ref = v["reference"]
            notes = ([f"{lang_of(ref['text'])} ([{t('来源', 'source')}]({ref['url']}))"] if ref else []) + (
                [f"[{lang_of(v['socket'])}](bandwidth.md#like-with-like)"] if v["socket"] else [])
            ref_cell = t(";", "; ").join(notes) or "–"
            ratio = f"{fmt(v['ratio'])}×" if v["ratio"] is not None else "–"
            rows.append([f"[{label}]({page}#{cid})", lang_of(v["figure"]), cpu_cell, gpu_cell, ref_cell,
                         ratio, f"[**{lang_of(v['title'])}**]({page}#{cid})"])
        return md_table(header, rows)

    @env.macro
    def glance_reasons():
        """Each verdict's one-sentence reason, as a list linked to the chapters."""
        return "\n".join(f"- [{v['label']}]({v['page']}#{v['id']}) **{lang_of(v['title'])}**"
                         + t(":", ": ") + lang_of(v["reason"]) for v in verdicts.values())

    @env.macro
    def no_gpu_note(*snippets):
        """The "no GPU measured yet" note, once per page: which of the page's snippets have no
        GPU run. Nothing when each has one, or when the page already showed the note."""
        lacking = [s for s in snippets if not has(s, "cuda")]
        page = env.page
        if not lacking or getattr(page, "_no_gpu_note_shown", False):
            return ""
        if page is not None:  # marked on the page being rendered: once per page and build
            page._no_gpu_note_shown = True
        names = "、".join(f"`{s}`" for s in lacking) if lang() == "zh" else ", ".join(f"`{s}`" for s in lacking)
        return "\n".join([
            '!!! warning "' + t("尚未测量 GPU", "No GPU measured yet") + '"',
            "    " + t(f"本页的 {names} 在 `docs/results/` 里还没有 GPU 上的结果,所以下文只有 CPU 的实测数字;"
                       "凡是写着 GPU 的数字都来自数据手册,标为“非实测”,不参与任何结论,要靠 GPU 实测才能判断的结论都是“待定”。"
                       "在有 GPU 的机器上运行 `python build_results.py` 即可补上(见[复现](reproduce.md))。",
                       f"This page's {names} {'has' if len(lacking) == 1 else 'have'} no GPU result under "
                       "`docs/results/` yet, so the figures below are measured on CPUs only; every GPU figure "
                       "comes from a datasheet, is labelled 'not measured' and decides no verdict, and the "
                       "verdicts that need a GPU measurement are 'undecided'. Running `python build_results.py` "
                       "on a machine with a GPU adds it (see [Reproduce](reproduce.md))."), ""])

    @env.macro
    def cpu_name(snippet="bandwidth"):
        """The CPU a snippet's figures come from, as what was measured: "2 vCPUs of an Intel Xeon VM"."""
        return lang_of(describe_cpu(pick(snippet, "cpu")["info"]["cpu"]))

    def sheet_entry(model):
        try:
            return sheet_by_name(model)
        except KeyError as e:
            raise ResultMissing(f"{where()}: {e.args[0]}") from None

    @env.macro
    def sheet(model, path):
        """A GPU datasheet figure (lib/datasheets.py), e.g. sheet("H100 SXM", "tflops.bf16") (dense)."""
        value = sheet_entry(model)
        for part in path.split("."):
            if not isinstance(value, dict) or value.get(part) is None:
                raise ResultMissing(f"{where()}: datasheet '{model}' has no '{path}'")
            value = value[part]
        return value

    @env.macro
    def sheet_link(model):
        """The datasheet's name linked to its source, for a label beside a datasheet figure."""
        e = sheet_entry(model)
        return f"[NVIDIA {e['name']} {t('数据手册', 'datasheet')}]({e['url']})"

    @env.macro
    def link_figure(key, path="gb_per_s"):
        """A host link's figure from its specification (lib/datasheets.py LINKS)."""
        return LINKS[key][path]

    @env.macro
    def link_source(key):
        return LINKS[key]["source"]

    def cpu_family(snippet):
        return identify_cpu(pick(snippet, "cpu")["info"]["cpu"])

    @env.macro
    def socket(kind="bandwidth", end="low", snippet="bandwidth"):
        """The per-socket datasheet arithmetic of the measured CPU's family: kind "bandwidth"
        (GB/s) or "fp32" (GFLOP/s); end "low" or "high" of the range over the families the CPU
        may be (one family: both ends are the same). None when no family fits."""
        key = "gb_per_s" if kind == "bandwidth" else "fp32_gflop_per_s"
        vals = [e[key] for e in cpu_family(snippet)["entries"]]
        if not vals:
            return None
        return min(vals) if end == "low" else max(vals)

    @env.macro
    def socket_why(snippet="bandwidth"):
        """Which family's figures the page uses and why (or why none can be identified)."""
        return lang_of(cpu_family(snippet)["why"])

    @env.macro
    def socket_table(snippet="bandwidth"):
        """One socket of each family the measured CPU may be, by datasheet arithmetic, with sources."""
        from charts.style import md_table
        fam = cpu_family(snippet)
        if not fam["entries"]:
            return t("*表中没有与这颗 CPU 相符的系列,所以这里不给整颗插槽的数字。*",
                     "*No family in the table fits this CPU, so no whole-socket figure is given.*")
        header = [t("系列", "family"), t("代表型号", "part"), t("核心", "cores"),
                  t("内存带宽 = 通道 × 速率 × 8 B", "memory bandwidth = channels × rate × 8 B"),
                  t("fp32 峰值 = 核心 × 每周期 FLOP × 基频", "fp32 peak = cores × FLOP/cycle × base clock"),
                  t("来源", "source")]
        rows = [[lang_of({"zh": e["name_zh"], "en": e["name"]}), e["part"], e["cores"],
                 f"{e['gb_formula']} = **{fmt(e['gb_per_s'])} GB/s**",
                 f"{e['fp32_formula']} = **{fmt(e['fp32_gflop_per_s'])} GFLOP/s**", e["source"]]
                for e in fam["entries"]]
        return (t("*数据手册算术,非实测;每个系列取核心最多的型号,一台服务器常有两颗插槽。*\n\n",
                  "*Datasheet arithmetic, not measured; each family by its part with the most cores; "
                  "a server often has two sockets.*\n\n") + md_table(header, rows))

    @env.macro
    def gb(nbytes, digits=3):
        """Bytes in GB (10^9 bytes), with the unit."""
        return f"{fmt(nbytes / 1e9, digits)} GB"

    @env.macro
    def gib(nbytes, digits=3):
        """Bytes in GiB (2^30 bytes), with the unit."""
        return f"{fmt(nbytes / 2 ** 30, digits)} GiB"

    @env.macro
    def fits(states_bytes, model, per_server=None):
        """Training states against a GPU's datasheet memory, read as GB (10^9 bytes) as printed:
        share of one GPU, fewest GPUs (sharded evenly), GB left per GPU on one server."""
        import math
        cap = sheet(model, "memory_gb") * 1e9
        n = per_server or num("train_memory", "gpus_per_server")
        return {"share": states_bytes / cap, "min_gpus": math.ceil(states_bytes / cap),
                "fits_one": states_bytes <= cap, "fits_server": states_bytes <= n * cap,
                "left_per_gpu_on_server_gb": (n * cap - states_bytes) / n / 1e9, "server": n}
