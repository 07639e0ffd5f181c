"""Charts and tables for snippets/cpu_control.py (claim C5.1: what the CPU does in training).

cpu_control-update        who updates the parameters: the time of one AdamW step, one panel
                          per parameter count, one bar per run and way: on the GPU (normal
                          training), offloaded (gradients GPU -> CPU, AdamW on the CPU, parameters
                          CPU -> GPU, stacked, with the measured end-to-end time), and on a
                          CPU-only run the CPU step alone; error bars min–max
cpu_control-launch        launch overhead of a small MLP: step time per batch in eager mode and
                          as a CUDA graph (left, with µs per op), and how much the step time
                          grows when the work grows by the batch ratio (right)
cpu_control-update-table  every phase of part A as numbers
cpu_control-launch-table  every step of part B as numbers
"""
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

# One colour per kind of work, the same in every panel and for every run.
COLORS = {"gpu": "C0", "cpu": "C1", "d2h": "C2", "h2d": "C3", "eager": "C0", "graph": "C2",
          "work": "C7"}


def _ok(e):
    return isinstance(e, dict) and e.get("status") == "ok"


def run_label(r):
    return r["label"] + (" · --quick" if r["result"].get("quick") else "")


def _wrapped(r, width=16):
    """A run's label over several short lines, for tick labels under narrow bars."""
    return "\n".join(textwrap.fill(part, width) for part in run_label(r).split(" · "))


def _plain(v, _=None):
    """A log-axis tick as a plain number: 300, 30,000, 1,000,000 (not 1e+06)."""
    return f"{v:,.0f}" if v >= 1 else f"{v:g}"


def _pad(ax, n):
    """Keep a bar group narrow when there are only one or two of them."""
    pad = max(0.0, (3 - n) / 2)
    ax.set_xlim(-0.5 - pad, n - 0.5 + pad)


def _params(n):
    """10_000_000 -> '10 M'."""
    if n >= 1e9:
        return f"{n / 1e9:g} G"
    if n >= 1e6:
        return f"{n / 1e6:g} M"
    if n >= 1e3:
        return f"{n / 1e3:g} K"
    return f"{n:g}"


def _ms(e):
    return e["median_s"] * 1e3, e["min_s"] * 1e3, e["max_s"] * 1e3


def _sizes(r):
    up = r["result"].get("update")
    return up.get("sizes", []) if isinstance(up, dict) else []


def _batches(r):
    la = r["result"].get("launch")
    return la.get("batches", []) if isinstance(la, dict) else []


def _empty(ax, t, zh="没有数据", en="no data"):
    ax.text(0.5, 0.5, t(zh, en), ha="center", va="center", transform=ax.transAxes,
            color=plt.rcParams["axes.edgecolor"])
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------- part A: the update

def update_rows(runs, n, t):
    """The bars of the panel for n parameters: [(label, kind, entry)], kind 'gpu', 'cpu'
    (a CPU-only run's step) or 'offload' (entry = the offload dict)."""
    rows = []
    for r in runs:
        s = next((s for s in _sizes(r) if s.get("params") == n), None)
        if s is None:
            continue
        off = s.get("offload", {})
        if r["device"] == "cuda":
            if _ok(s.get("on_device")):
                rows.append((run_label(r) + "\n" + t("在 GPU 上更新(常规训练)",
                                                     "update on the GPU (normal training)"), "gpu", s["on_device"]))
            if _ok(off.get("cpu_step")):
                threads = off["cpu_step"].get("threads")
                rows.append((run_label(r) + "\n" + t(f"卸载:拷回 + CPU 更新({threads} 线程)+ 拷去",
                                                     f"offload: copy down + CPU update ({threads} threads) + copy up"),
                             "offload", off))
        elif _ok(off.get("cpu_step")):
            rows.append((run_label(r) + "\n" + t("在 CPU 上更新(纯 CPU 测量)", "update on the CPU (CPU-only run)"),
                         "cpu", off["cpu_step"]))
    return rows


def draw_update(runs):
    def draw(t):
        sizes = sorted({s["params"] for r in runs for s in _sizes(r) if "params" in s})
        panels = [(n, update_rows(runs, n, t)) for n in sizes]
        panels = [(n, rows) for n, rows in panels if rows]
        if not panels:
            fig, ax = plt.subplots(figsize=(8, 2))
            _empty(ax, t)
            return fig
        heights = [len(rows) + 0.6 for _, rows in panels]
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.9 + 0.62 * sum(heights)),
                                 gridspec_kw={"height_ratios": heights}, squeeze=False)
        ink = plt.rcParams["text.color"]
        used = set()
        for ax, (n, rows) in zip(axes[:, 0], panels):
            y = np.arange(len(rows))
            right = 0.0
            for yi, (label, kind, e) in zip(y, rows):
                if kind in ("gpu", "cpu"):
                    med, lo, hi = _ms(e)
                    ax.barh(yi, med, 0.6, xerr=[[med - lo], [hi - med]], color=COLORS[kind], ecolor=ink)
                    used.add(kind)
                    right = max(right, hi)
                    ax.annotate(f"{fmt(med)} ms", (hi, yi), xytext=(4, 0), textcoords="offset points",
                                va="center", fontsize=8)
                    continue
                left = 0.0
                for phase, color in (("d2h", "d2h"), ("cpu_step", "cpu"), ("h2d", "h2d")):
                    p = e.get(phase)
                    if not _ok(p):
                        continue
                    ax.barh(yi, p["median_s"] * 1e3, 0.6, left=left, color=COLORS[color])
                    used.add(color)
                    left += p["median_s"] * 1e3
                end = left
                note = t(f"三段之和 {fmt(left)} ms", f"sum of phases {fmt(left)} ms")
                tot = e.get("total")
                if _ok(tot):
                    med, lo, hi = _ms(tot)
                    ax.errorbar([med], [yi + 0.42], xerr=[[med - lo], [hi - med]], fmt="D", ms=4,
                                color=ink, ecolor=ink, lw=1)
                    used.add("total")
                    end = max(end, hi)
                    note = t(f"端到端实测 {fmt(med)} ms", f"end to end {fmt(med)} ms")
                    if tot.get("vs_on_device"):
                        note += t(f",是 GPU 上更新的 {fmt(tot['vs_on_device'])} 倍",
                                  f", {fmt(tot['vs_on_device'])}× the GPU update")
                right = max(right, end)
                ax.annotate(note, (end, yi), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=8)
            ax.set_xlim(0, right * 1.7 if right > 0 else 1)
            ax.set_yticks(y, [label for label, _, _ in rows], fontsize=8)
            ax.set_ylim(len(rows) - 0.4, -0.6)
            ax.set_title(t(f"{_params(n)} 个 fp32 参数(AdamW 一步读写 {fmt(28 * n / 1e9)} GB)",
                           f"{_params(n)} fp32 parameters (one AdamW step moves {fmt(28 * n / 1e9)} GB)"),
                         fontsize=9, loc="left")
        axes[-1, 0].set_xlabel(t("AdamW 一步的时间(毫秒,中位数;误差线为最小–最大;各面板刻度不同)",
                                 "time of one AdamW step (ms, median; bars: min–max; each panel its own scale)"))
        from matplotlib.lines import Line2D
        names = {"gpu": t("GPU 上的 AdamW", "AdamW on the GPU"),
                 "cpu": t("CPU 上的 AdamW", "AdamW on the CPU"),
                 "d2h": t("梯度 GPU→CPU 拷贝", "gradients GPU→CPU copy"),
                 "h2d": t("参数 CPU→GPU 拷贝", "parameters CPU→GPU copy")}
        handles = [Patch(color=COLORS[k], label=v) for k, v in names.items() if k in used]
        if "total" in used:
            handles.append(Line2D([], [], marker="D", ls="", color=ink, ms=4,
                                  label=t("卸载端到端实测(最小–最大)", "offload end to end, measured (min–max)")))
        title = t("谁来更新参数:AdamW 一步在 GPU 上,还是卸载到 CPU",
                  "Who updates the parameters: one AdamW step on the GPU, or offloaded to the CPU")
        if not {"gpu", "d2h", "h2d"} & used:
            title += "\n" + t("(还没有 GPU 测量:只有 CPU 上的那一步;GPU 上的更新和卸载的两次拷贝需要 CUDA)",
                              "(no GPU measured yet: only the CPU step exists; the GPU update and the "
                              "offload copies need CUDA)")
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        # Under the figure: it grows with what was measured, and savefig's tight box keeps it.
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8)
        return fig
    return draw


# ---------------------------------------------------------------- part B: launch overhead

def draw_launch(runs):
    def draw(t):
        fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [3, 2]})
        ink = plt.rcParams["text.color"]
        muted = plt.rcParams["axes.edgecolor"]
        groups = [(r, b) for r in runs for b in _batches(r) if _ok(b.get("eager"))]
        if not groups:
            _empty(ax, t)
        else:
            x = np.arange(len(groups))
            w = 0.38
            lows, highs = [], []
            for xi, (r, b) in zip(x, groups):
                cuda = r["device"] == "cuda"
                e = b["eager"]
                med, lo, hi = (v * 1e3 for v in _ms(e))  # µs
                ax.bar(xi - w / 2 if cuda else xi, med, w, yerr=[[med - lo], [hi - med]], ecolor=ink,
                       color=COLORS["eager"])
                lows.append(lo)
                highs.append(hi)
                if e.get("us_per_op"):
                    ax.annotate(t(f"{fmt(e['us_per_op'])} µs/算子", f"{fmt(e['us_per_op'])} µs/op"),
                                (xi - w / 2 if cuda else xi, hi), xytext=(0, 3), textcoords="offset points",
                                ha="center", fontsize=7)
                g = b.get("cuda_graph")
                if cuda and _ok(g):
                    gm, gl, gh = (v * 1e3 for v in _ms(g))
                    ax.bar(xi + w / 2, gm, w, yerr=[[gm - gl], [gh - gm]], ecolor=ink, color=COLORS["graph"])
                    lows.append(gl)
                    highs.append(gh)
                    if g.get("us_per_op"):
                        ax.annotate(t(f"{fmt(g['us_per_op'])} µs/算子", f"{fmt(g['us_per_op'])} µs/op"),
                                    (xi + w / 2, gh), xytext=(0, 3), textcoords="offset points",
                                    ha="center", fontsize=7)
                elif cuda:
                    ax.annotate(t("CUDA graph 未测", "CUDA graph not run"), (xi + w / 2, 0), xytext=(0, 3),
                                xycoords=("data", "axes fraction"), textcoords="offset points",
                                ha="center", va="bottom", rotation=90, fontsize=7, color=muted)
            log_axis(ax)
            ax.yaxis.set_major_formatter(FuncFormatter(_plain))
            ax.set_ylim(bottom=min(lows) / 3, top=max(highs) * 4)
            _pad(ax, len(groups))
            ticks = [_wrapped(r) + "\n" + t(f"批 {b['batch']}", f"batch {b['batch']}") for r, b in groups]
            ax.set_xticks(x, ticks, fontsize=7)
            ax.set_ylabel(t("每个训练步(微秒,中位数,误差线为最小–最大,对数轴)",
                            "per training step (µs, median, bars: min–max, log scale)"))
            first = groups[0][1]
            ax.set_title(t(f"小型 MLP({first['layers']} 层 × {first['width']} 宽)的一个训练步",
                           f"One training step of a small MLP ({first['layers']} layers × {first['width']} wide)"),
                         fontsize=10)

        # Right: the work grows by the batch ratio; how much does the time grow?
        grow = []
        for r in runs:
            bs = [b for b in _batches(r) if _ok(b.get("eager"))]
            if len(bs) < 2:
                continue
            small, big = bs[0], bs[-1]
            work = big["batch"] / small["batch"]
            eager = big["eager"]["median_s"] / small["eager"]["median_s"]
            graph = None
            if _ok(small.get("cuda_graph")) and _ok(big.get("cuda_graph")):
                graph = big["cuda_graph"]["median_s"] / small["cuda_graph"]["median_s"]
            grow.append((r, small["batch"], big["batch"], work, eager, graph))
        if not grow:
            _empty(ax_r, t, "需要完整测量(两个批大小);\n--quick 模式只测一个",
                   "needs the full run (two batch sizes);\n--quick measures one")
            ax_r.set_title(t("工作量增长与时间增长", "growth of work and of time"), fontsize=10)
        else:
            x = np.arange(len(grow))
            w = 0.27
            for xi, (r, b0, b1, work, eager, graph) in zip(x, grow):
                bars = [(work, "work", t("工作量", "work")), (eager, "eager", "eager")]
                if graph is not None:
                    bars.append((graph, "graph", "CUDA graph"))
                for k, (v, key, _) in enumerate(bars):
                    pos = xi + (k - (len(bars) - 1) / 2) * w
                    ax_r.bar(pos, v, w, color=COLORS[key])
                    ax_r.annotate(f"×{fmt(v)}", (pos, v), xytext=(0, 2), textcoords="offset points",
                                  ha="center", fontsize=7)
            log_axis(ax_r)
            ax_r.axhline(1, color=muted, lw=0.8)
            ax_r.set_ylim(0.5, max(max(g[3], g[4]) for g in grow) * 4)
            _pad(ax_r, len(grow))
            ax_r.set_xticks(x, [_wrapped(r) + "\n" + t(f"批 {b0} → {b1}", f"batch {b0} → {b1}")
                                for r, b0, b1, *_ in grow], fontsize=7)
            ax_r.set_ylabel(t("从小批到大批的增长倍数(对数轴)", "growth from the small to the big batch (×, log scale)"))
            ax_r.set_title(t("时间增长远小于工作量增长 = 小批时受固定开销限制",
                             "time growing far less than work = overhead-bound at the small batch"),
                           fontsize=9)
        fig.tight_layout()
        handles = [Patch(color=COLORS["eager"], label=t("eager:CPU 逐个发起算子", "eager: the CPU launches op by op"))]
        if any(r["device"] == "cuda" for r in runs):
            handles.append(Patch(color=COLORS["graph"], label=t("CUDA graph:整步一次发起",
                                                                "CUDA graph: one launch per step")))
        if grow:
            handles.append(Patch(color=COLORS["work"], label=t("工作量(FLOPs)的增长", "growth of the work (FLOPs)")))
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=8)
        return fig
    return draw


# ---------------------------------------------------------------- tables

def update_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("参数个数", "parameters"), t("做什么", "what"),
              t("毫秒(中位数)", "ms (median)"), t("最小–最大", "min–max"), t("次数", "runs"),
              "GB/s", t("相对 GPU 上更新", "vs update on the GPU")]
    names = {"on_device": t("GPU 上的 AdamW", "AdamW on the GPU"),
             "d2h": t("梯度 GPU→CPU", "gradients GPU→CPU"),
             "cpu_step": t("CPU 上的 AdamW", "AdamW on the CPU"),
             "h2d": t("参数 CPU→GPU", "parameters CPU→GPU"),
             "total": t("卸载,端到端", "offload, end to end")}
    rows = []
    for r in runs:
        for s in _sizes(r):
            n = s.get("params")
            on = s.get("on_device")
            phases = [("on_device", on)] + [(k, s.get("offload", {}).get(k)) for k in ("d2h", "cpu_step", "h2d", "total")]
            for key, e in phases:
                if not _ok(e):
                    continue  # skipped phases (no GPU) are explained on the page
                med, lo, hi = _ms(e)
                what = names[key]
                if key == "cpu_step" and e.get("impl"):
                    what += f" ({e['impl']}, {e.get('threads', '?')} {t('线程', 'threads')})"
                vs = "–"
                if _ok(on) and key != "on_device":
                    vs = f"{fmt(e['median_s'] / on['median_s'])}×"
                rows.append([run_label(r), f"{n:,}", what, fmt(med), f"{fmt(lo)}–{fmt(hi)}", e["runs"],
                             fmt(e["gb_per_s"]) if e.get("gb_per_s") else "–", vs])
    if not rows:
        return t("*没有数据。*", "*No data.*") + "\n"
    return md_table(header, rows)


def launch_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("批大小", "batch"), t("方式", "mode"),
              t("aten 算子/步", "aten ops/step"), t("GPU 内核/步", "GPU kernels/step"),
              t("微秒/步(中位数)", "µs/step (median)"), t("最小–最大", "min–max"), t("次数", "runs"),
              t("微秒/算子", "µs/op"), "GFLOP/s", t("相对 eager 的加速", "speedup vs eager")]
    rows = []
    for r in runs:
        for b in _batches(r):
            ops = b.get("aten_ops_per_step")
            kernels = b.get("cuda_kernels_per_step")
            for key, name in (("eager", "eager"), ("cuda_graph", "CUDA graph")):
                e = b.get(key)
                if not isinstance(e, dict):
                    continue
                if not _ok(e):
                    if r["device"] == "cuda":  # on a CPU, "no CUDA graph" is said on the page
                        rows.append([run_label(r), b["batch"], name, "–", "–",
                                     t("未测:", "not run: ") + e.get("reason", "")[:80], "–", "–", "–", "–", "–"])
                    continue
                med, lo, hi = (v * 1e3 for v in _ms(e))
                rows.append([run_label(r), b["batch"], name, ops if ops is not None else "–",
                             kernels if kernels is not None else "–", fmt(med), f"{fmt(lo)}–{fmt(hi)}",
                             e["runs"], fmt(e["us_per_op"]) if e.get("us_per_op") else "–",
                             fmt(e["tflops"] * 1e3) if e.get("tflops") else "–",
                             f"{fmt(e['speedup_vs_eager'])}×" if e.get("speedup_vs_eager") else "–"])
    if not rows:
        return t("*没有数据。*", "*No data.*") + "\n"
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "cpu_control")  # the tables below keep every run
    files = []
    files += save(out_dir, "cpu_control-update", draw_update(drawn))
    files += save(out_dir, "cpu_control-launch", draw_launch(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"cpu_control-update-table.{lang}.md", update_table(runs, lang)))
        files.append(write_text(out_dir / f"cpu_control-launch-table.{lang}.md", launch_table(runs, lang)))
    return files
