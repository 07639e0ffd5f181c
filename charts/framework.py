"""Charts and tables for snippets/framework.py (claims C4.1, C4.2).

framework-steps      time of one training step per mode (eager / torch.compile, fp32 / bf16
                     autocast) and run: median, min–max error bars; modes not run are marked
framework-speedup    each mode's speedup over eager fp32 on the same run
framework-compile    the one-off cost of torch.compile (compile_s) and the number of steps
                     after which it pays off: compile_s / (eager step - compiled step), eager
                     of the same precision; "never" where the compiled step is not faster
framework-table      all of it as numbers, with the reason of every mode that was skipped
framework-libraries  the optimised libraries each run's torch was built with (C4.1 evidence)
framework-code       the lines of snippets/framework.py that pick the device, move the model
                     and the data, and switch on autocast and torch.compile: read from the
                     snippet at render time, so the page shows the code that ran
"""
import math
import pathlib
import re

import matplotlib.pyplot as plt
import numpy as np

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

SNIPPET = pathlib.Path(__file__).resolve().parent.parent / "snippets" / "framework.py"
MODES = ["eager_fp32", "eager_autocast", "compile_fp32", "compile_autocast"]
# compiled mode -> the eager mode of the same precision it is weighed against
EAGER_OF = {"compile_fp32": "eager_fp32", "compile_autocast": "eager_autocast"}


def mode_name(mode, t):
    return {"eager_fp32": "eager fp32",
            "eager_autocast": t("eager + bf16 autocast", "eager + bf16 autocast"),
            "compile_fp32": "torch.compile fp32",
            "compile_autocast": t("torch.compile + bf16 autocast", "torch.compile + bf16 autocast")}[mode]


def entry(r, mode):
    return r["result"].get("modes", {}).get(mode) or {"status": "skipped", "reason": "not in result"}


def ok(r, mode):
    return entry(r, mode).get("status") == "ok"


def config_text(r):
    c = r["result"].get("config")
    if not c:
        return ""
    return f"{c['layers']}×d{c['d_model']}, T{c['seq_len']}, B{c['batch']}"


def run_label(r, t=None):
    quick = " · --quick" if r["result"].get("quick") else ""
    cfg = config_text(r)
    return r["label"] + (f" · {cfg}" if cfg else "") + quick


def break_even(r, mode):
    """Steps after which compiling `mode` has paid for itself, against eager of the same precision.

    Returns None when either mode was not run, math.inf when the compiled step is not faster
    (compiling never pays off), otherwise compile_s / (eager median - compiled median).
    """
    base = EAGER_OF[mode]
    if not (ok(r, mode) and ok(r, base)) or "compile_s" not in entry(r, mode):
        return None
    saved = entry(r, base)["median_s"] - entry(r, mode)["median_s"]
    if saved <= 0:
        return math.inf
    return entry(r, mode)["compile_s"] / saved


def _grouped_bars(ax, runs, t, values):
    """Bars per mode (x) and run (colour); values(r, mode) -> (median, lo, hi) or None."""
    x = np.arange(len(MODES))
    w = 0.8 / max(len(runs), 1)
    ink = plt.rcParams["text.color"]
    missing = []
    for i, r in enumerate(runs):
        pos = x + (i - (len(runs) - 1) / 2) * w
        v = [values(r, m) for m in MODES]
        med = np.array([a[0] if a else np.nan for a in v])
        lo = np.array([a[1] if a else np.nan for a in v])
        hi = np.array([a[2] if a else np.nan for a in v])
        ax.bar(pos, med, w, yerr=[med - lo, hi - med], ecolor=ink, color=f"C{i}",
               label=run_label(r, t))
        missing += [p for p, a in zip(pos, v) if a is None]
    ax.set_xticks(x, [mode_name(m, t).replace(" + ", "\n+ ").replace("compile ", "compile\n")
                      for m in MODES], fontsize=8)
    ax.set_xlabel(t("运行方式", "mode"))
    return missing


def _mark_missing(ax, positions, y, t):
    for p in positions:
        ax.annotate(t("未运行", "not run"), (p, y), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7, rotation=90,
                    color=plt.rcParams["axes.edgecolor"])


def draw_steps(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4))

        def values(r, m):
            if not ok(r, m):
                return None
            e = entry(r, m)
            return e["median_s"] * 1e3, e["min_s"] * 1e3, e["max_s"] * 1e3
        missing = _grouped_bars(ax, runs, t, values)
        lows = [values(r, m)[1] for r in runs for m in MODES if values(r, m)]
        log_axis(ax)
        bottom = min(lows) / 3 if lows else 1
        ax.set_ylim(bottom=bottom)
        _mark_missing(ax, missing, bottom, t)
        ax.set_ylabel(t("每步时间(毫秒,中位数;误差线为最小–最大;对数轴)",
                        "time per step (ms, median; bars: min–max; log scale)"))
        ax.set_title(t("一个训练步(前向 + 反向 + AdamW)的耗时,越低越好",
                       "One training step (forward + backward + AdamW), lower is better"))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return fig
    return draw


def draw_speedup(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4))

        def values(r, m):
            if not (ok(r, m) and ok(r, "eager_fp32")):
                return None
            base, e = entry(r, "eager_fp32")["median_s"], entry(r, m)
            if m == "eager_fp32":
                return 1.0, 1.0, 1.0
            return base / e["median_s"], base / e["max_s"], base / e["min_s"]
        missing = _grouped_bars(ax, runs, t, values)
        ax.axhline(1, color=plt.rcParams["axes.edgecolor"], lw=1, ls="--")
        ax.set_ylim(bottom=0)
        _mark_missing(ax, missing, 0, t)
        ax.set_ylabel(t("相对 eager fp32 的加速(倍)\n误差线:eager fp32 中位数 ÷ 该方式最慢 / 最快的一步",
                        "speedup over eager fp32 (×)\nbars: eager fp32 median ÷ the mode's slowest / fastest step"),
                      fontsize=8)
        ax.set_title(t("各方式相对 eager fp32 的加速(同一设备、同一模型),高于虚线即更快",
                       "Speedup over eager fp32 (same device, same model); above the dashed line is faster"))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return fig
    return draw


def draw_compile(runs):
    def draw(t):
        bars = [(r, m) for r in runs for m in EAGER_OF if ok(r, m) and "compile_s" in entry(r, m)]
        if not bars:
            fig, ax = plt.subplots(figsize=(8, 1.8))
            reasons = sorted({entry(r, m).get("reason", "") for r in runs for m in EAGER_OF})
            ax.text(0.5, 0.6, t("这些结果里没有运行 torch.compile", "torch.compile was not run in these results"),
                    ha="center", va="center", transform=ax.transAxes)
            ax.text(0.5, 0.25, "; ".join(x for x in reasons if x)[:110], ha="center", va="center",
                    transform=ax.transAxes, fontsize=7, color=plt.rcParams["axes.edgecolor"])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for s in ax.spines.values():
                s.set_visible(False)
            return fig
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 1.4 + 0.5 * len(bars)), sharey=True)
        y = np.arange(len(bars))
        colors = [f"C{runs.index(r)}" for r, _ in bars]
        comp = np.array([entry(r, m)["compile_s"] for r, m in bars])
        a1.barh(y, comp, 0.6, color=colors)
        for yi, c in zip(y, comp):
            a1.annotate(f"{c:.3g}", (c, yi), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)
        a1.set_xlim(0, comp.max() * 1.25)
        a1.set_yticks(y, [f"{run_label(r, t)}\n{mode_name(m, t)}" for r, m in bars], fontsize=7)
        a1.invert_yaxis()
        a1.set_xlabel(t("编译耗时(秒,一次性)\n= 首步时间 − 热身后一步的中位数",
                        "compile time (s, one-off)\n= first step − median warm step"), fontsize=8)
        a1.set_title(t("torch.compile 的一次性代价", "The one-off cost of torch.compile"))
        be = [break_even(r, m) for r, m in bars]
        finite = [b for b in be if b is not None and math.isfinite(b)]
        top = max(finite) * 20 if finite else 10
        for yi, b, col in zip(y, be, colors):
            if b is not None and math.isfinite(b):
                a2.barh(yi, b, 0.6, color=col)
                a2.annotate(f"{b:,.0f}", (b, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=8)
            else:
                word = (t("不会回本:编译后并不更快", "never: the compiled step is not faster")
                        if b is not None else t("同精度的 eager 未运行", "eager of that precision not run"))
                a2.annotate(word, (1, yi), xytext=(3, 0), textcoords="offset points", va="center",
                            fontsize=8, color=plt.rcParams["axes.edgecolor"])
        log_axis(a2, "x")
        a2.set_xlim(1, top)
        if top > 1e3:  # over many decades label only the powers of ten: 1, 10, 100, 1k, 10k
            from matplotlib.ticker import FuncFormatter, LogLocator
            a2.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
            a2.xaxis.set_major_formatter(FuncFormatter(
                lambda v, _: f"{v / 1e6:g}M" if v >= 1e6 else f"{v / 1e3:g}k" if v >= 1e3 else f"{v:g}"))
        a2.set_xlabel(t("回本所需的步数(对数轴)\n= 编译耗时 ÷ 每步省下的时间(与同精度 eager 比,中位数)",
                        "steps to break even (log scale)\n= compile time ÷ time saved per step (vs eager of the same precision, medians)"),
                      fontsize=8)
        a2.set_title(t("多少步之后编译才划算", "After how many steps compiling pays off"))
        return fig
    return draw


def _t(lang):
    return (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)


def table(runs, lang):
    t = _t(lang)
    header = [t("设备 · 模型", "device · model"), t("方式", "mode"), t("每步 ms(中位数)", "ms per step (median)"),
              t("最小–最大", "min–max"), t("次数", "runs"), t("相对 eager fp32", "vs eager fp32"),
              "tokens/s", t("首步(秒)", "first step (s)"), t("编译(秒)", "compile (s)"),
              t("回本步数", "break-even steps"), t("损失核对", "loss check")]
    rows = []
    for r in runs:
        for m in MODES:
            e = entry(r, m)
            if e.get("status") != "ok":
                rows.append([run_label(r, t), mode_name(m, t),
                             t("未运行:", "not run: ") + e.get("reason", "")[:100].replace("|", "/"),
                             "–", "–", "–", "–", "–", "–", "–", "–"])
                continue
            b = break_even(r, m) if m in EAGER_OF else None
            be = "–" if b is None else (t("不会回本", "never") if math.isinf(b) else f"{b:,.0f}")
            sp = e.get("speedup_vs_eager_fp32")
            check = e.get("loss_check", "–")
            if "loss_rel_diff_vs_eager_fp32" in e and m != "eager_fp32":
                check += f" ({e['loss_rel_diff_vs_eager_fp32']:.1e})"
            rows.append([run_label(r, t), mode_name(m, t), fmt(e["median_s"] * 1e3),
                         f"{fmt(e['min_s'] * 1e3)}–{fmt(e['max_s'] * 1e3)}", e["runs"],
                         "–" if sp is None else f"{sp:.2f}×", fmt(e["tokens_per_s"]),
                         fmt(e["first_step_s"]),
                         fmt(e["compile_s"]) if "compile_s" in e else "–", be, check])
    return md_table(header, rows)


def cudnn_text(v):
    """torch.backends.cudnn.version(): 90100 -> 9.1.0 (cuDNN 9), 8902 -> 8.9.2 (cuDNN 8)."""
    if not isinstance(v, int):
        return None
    if v >= 90000:
        return f"{v // 10000}.{v % 10000 // 100}.{v % 100}"
    return f"{v // 1000}.{v % 1000 // 100}.{v % 100}"


def _lib_version(libs, pattern):
    for line in libs.get("build_libraries", []):
        m = re.search(pattern, line)
        if m:
            return m.group(1)
    return None


def library_rows(libs, t):
    """[(row name, cell)] for one run's `libraries` record."""
    def yes(v, version=None):
        if v is None:
            return "–"
        word = t("有", "yes") if v else t("无", "no")
        return f"{word} ({version})" if v and version else word
    s = libs.get("build_settings", {})
    sdpa = libs.get("sdpa_kernels_enabled")
    flags = ", ".join(f"{k}={s[k]}" for k in ("USE_CUDA", "USE_CUDNN", "USE_NCCL", "USE_MKL",
                                              "USE_MKLDNN", "USE_OPENMP") if k in s)
    return [
        ("torch", libs.get("torch_version") or "–"),
        (t("CUDA(编译时)", "CUDA (built with)"), libs.get("cuda_version") or t("无(纯 CPU 版)", "none (CPU-only build)")),
        (t("可见的 GPU", "GPU visible"), yes(libs.get("cuda_available"))),
        (t("cuDNN(卷积、注意力)", "cuDNN (convolutions, attention)"),
         cudnn_text(libs.get("cudnn_version")) or yes(libs.get("cudnn_available"))),
        (t("NCCL(多 GPU 通信)", "NCCL (multi-GPU communication)"), libs.get("nccl_version") or "–"),
        (t("Triton(torch.compile 的 GPU 代码生成)", "Triton (torch.compile's GPU code generator)"),
         libs.get("triton_version") or "–"),
        (t("GPU 注意力内核(SDPA)", "GPU attention kernels (SDPA)"),
         ", ".join(k for k, v in sdpa.items() if v) if sdpa else "–"),
        ("BLAS", s.get("BLAS_INFO") or "–"),
        ("MKL", yes(libs.get("mkl_available"), _lib_version(libs, r"Math Kernel Library Version (\d[\d.]*)"))),
        ("oneDNN (MKL-DNN)", yes(libs.get("mkldnn_available"), _lib_version(libs, r"MKL-DNN (v[\d.]+)"))),
        ("OpenMP", yes(libs.get("openmp_available"))),
        (t("CPU 指令集", "CPU instruction set"), libs.get("cpu_capability") or "–"),
        (t("C++ 编译器(CPU 上的 torch.compile 需要)", "C++ compiler (torch.compile needs it on a CPU)"),
         f"`{libs['c_compiler']}`" if libs.get("c_compiler") else t("无", "none")),
        (t("构建开关", "build flags"), f"`{flags}`" if flags else "–"),
    ]


def libraries_table(runs, lang):
    t = _t(lang)
    cols = [library_rows(r["result"].get("libraries", {}), t) for r in runs]
    header = [t("库 / 设置", "library / setting")] + [run_label(r, t) for r in runs]
    rows = [[name] + [c[i][1] for c in cols] for i, (name, _) in enumerate(cols[0])] if cols else []
    return md_table(header, rows)


# What the page shows of the snippet's code: (key, regex on a line, zh comment, en comment
# [, how many of the following lines to show with it]).
# "moves" are what changes between CPU and GPU; "opt_in" are what the framework does not do
# for you. A line that is not found renders as a visible warning (and the page's test fails).
CODE = {
    "moves": [
        ("device", r'device = args\.device or \(', "选设备:有 CUDA 就用 GPU", "pick the device: the GPU if CUDA is there"),
        ("model", r'\)\.to\(device\)$', "把模型(全部权重)搬到设备上", "move the model (all its weights) to the device"),
        ("data", r'torch\.randn\(.*device=device', "输入数据直接在设备上生成", "the input batch is created on the device"),
    ],
    "opt_in": [
        ("autocast", r'with torch\.autocast\(', "低精度(bf16)要自己打开", "lower precision (bf16) is switched on by hand", 1),
        ("compile", r"= torch\.compile\(model\)", "编译也要自己打开", "so is compilation"),
        ("sync", r'torch\.cuda\.synchronize\(', "GPU 异步执行:计时前要等它算完", "the GPU runs asynchronously: wait before reading a clock"),
    ],
}


def code_lines(source=None):
    """{key: (line number, the line(s), dedented) or None} for every entry of CODE."""
    lines = (source if source is not None else SNIPPET.read_text()).splitlines()
    found = {}
    for group in CODE.values():
        for key, pattern, *rest in group:
            after = rest[2] if len(rest) > 2 else 0
            hit = next((i for i, ln in enumerate(lines) if re.search(pattern, ln)), None)
            if hit is None:
                found[key] = None
                continue
            block = lines[hit:hit + 1 + after]
            indent = len(block[0]) - len(block[0].lstrip())
            found[key] = (hit + 1, "\n".join(ln[indent:].rstrip() for ln in block))
    return found


def code_block(lang, source=None):
    t = _t(lang)
    found = code_lines(source)
    out = []
    for group, title in (("moves", t("从 CPU 换到 GPU 时起作用的几行:", "The lines that matter when going from CPU to GPU:")),
                         ("opt_in", t("框架不会替你做、要自己写的几行:", "The lines the framework does not write for you:"))):
        out += [f"{title}", "", "```python"]
        for key, _, zh, en, *_ in CODE[group]:
            hit = found[key]
            if hit is None:
                out.append(f"# !! {key}: " + t("在 snippets/framework.py 中没有找到这一行",
                                                "line not found in snippets/framework.py"))
                continue
            no, line = hit
            out.append(f"# snippets/framework.py:{no}  {t(zh, en)}")
            out.append(line)
        out += ["```", ""]
    return "\n".join(out)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "framework")  # the tables below keep every run
    out_dir = pathlib.Path(out_dir)
    files = []
    files += save(out_dir, "framework-steps", draw_steps(drawn))
    files += save(out_dir, "framework-speedup", draw_speedup(drawn))
    files += save(out_dir, "framework-compile", draw_compile(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"framework-table.{lang}.md", table(runs, lang)))
        files.append(write_text(out_dir / f"framework-libraries.{lang}.md", libraries_table(runs, lang)))
        files.append(write_text(out_dir / f"framework-code.{lang}.md", code_block(lang)))
    return files
