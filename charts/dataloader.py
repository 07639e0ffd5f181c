"""Charts and tables for snippets/dataloader.py (claim C5.2: can the CPU keep the device fed?).

dataloader-throughput  one panel per run: samples/s of the loader alone and of loader + model
                       end to end, by num_workers (pin_memory off and on where CUDA exists),
                       against the model alone (a line with its min–max band); error bars
                       min–max; above each end-to-end bar the estimated share of the time
                       the device did not train (1 - end to end / model alone)
dataloader-table       every configuration as numbers, with the bottleneck
"""
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

# (phase, pin_memory) -> colour; pinned bars are hatched.
SERIES = [("loader", False), ("loader", True), ("end_to_end", False), ("end_to_end", True)]
COLORS = {"loader": "C1", "end_to_end": "C0", "model": "C3"}


def _ok(e):
    return isinstance(e, dict) and e.get("status") == "ok"


def run_label(r):
    return r["label"] + (" · --quick" if r["result"].get("quick") else "")


def _plain(v, _=None):
    return f"{v:,.0f}" if v >= 1 else f"{v:g}"


def _entry(res, phase, w, pin):
    return next((e for e in res.get(phase, []) if e.get("num_workers") == w and e.get("pin_memory") == pin), None)


def _series_name(phase, pin, t):
    name = t("只有数据加载", "loader alone") if phase == "loader" else t("端到端(加载 + 训练)", "end to end (loader + model)")
    return name + (" · pin_memory" if pin else "")


def draw_throughput(runs):
    def draw(t):
        shown = [r for r in runs if _ok(r["result"].get("model")) or r["result"].get("loader")]
        if not shown:
            fig, ax = plt.subplots(figsize=(8, 2))
            ax.text(0.5, 0.5, t("没有数据", "no data"), ha="center", transform=ax.transAxes)
            return fig
        fig, axes = plt.subplots(len(shown), 1, figsize=(9, 0.6 + 3.6 * len(shown)), squeeze=False)
        ink = plt.rcParams["text.color"]
        muted = plt.rcParams["axes.edgecolor"]
        used = set()
        for ax, r in zip(axes[:, 0], shown):
            res = r["result"]
            workers = res.get("workers", [])
            cuda = r["device"] == "cuda"
            # Pinned memory exists only with CUDA: on a CPU run all its bars are skipped; leave them out.
            series = [(ph, pin) for ph, pin in SERIES
                      if not pin or any(_ok(_entry(res, ph, w, True)) for w in workers)]
            x = np.arange(len(workers))
            bw = 0.8 / max(len(series), 1)
            values = []
            for k, (phase, pin) in enumerate(series):
                for xi, w in zip(x, workers):
                    pos = xi + (k - (len(series) - 1) / 2) * bw
                    e = _entry(res, phase, w, pin)
                    if not _ok(e):
                        ax.annotate(t("未测", "not run"), (pos, 0), xycoords=("data", "axes fraction"),
                                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                                    rotation=90, fontsize=7, color=muted)
                        continue
                    med, lo, hi = e["samples_per_s"], e["samples_per_s_min"], e["samples_per_s_max"]
                    ax.bar(pos, med, bw, yerr=[[med - lo], [hi - med]], ecolor=ink, color=COLORS[phase],
                           hatch="//" if pin else None, edgecolor=muted if pin else None, lw=0)
                    used.add((phase, pin))
                    values += [lo, hi]
                    if phase == "end_to_end" and e.get("device_idle_share_estimate") is not None:
                        ax.annotate(f"{e['device_idle_share_estimate']:.0%}", (pos, hi), xytext=(0, 2),
                                    textcoords="offset points", ha="center", fontsize=7)
            for xi, w in zip(x, workers):  # the bottleneck, once per num_workers
                necks = []
                for pin in (False, True):
                    e = _entry(res, "end_to_end", w, pin)
                    if _ok(e) and e.get("bottleneck") and e["bottleneck"] not in necks:
                        necks.append(e["bottleneck"])
                if necks:
                    words = {"loader": t("加载", "loader"), "model": t("模型", "model")}
                    ax.annotate(t("瓶颈:", "bottleneck: ") + " / ".join(words.get(n, n) for n in necks),
                                (xi, 1), xycoords=("data", "axes fraction"), xytext=(0, -2),
                                textcoords="offset points", ha="center", va="top", fontsize=8, color=muted)
            m = res.get("model")
            if _ok(m):
                ax.axhline(m["samples_per_s"], color=COLORS["model"], lw=1.5, ls="--")
                ax.axhspan(m["samples_per_s_min"], m["samples_per_s_max"], color=COLORS["model"], alpha=0.12, lw=0,
                           zorder=0.5)  # behind the bars
                ax.annotate(t(f"只训练模型 {fmt(m['samples_per_s'])}/秒", f"model alone {fmt(m['samples_per_s'])}/s"),
                            (1, m["samples_per_s"]), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8, color=COLORS["model"])
                values += [m["samples_per_s_min"], m["samples_per_s_max"]]
            if values:
                log_axis(ax)
                ax.yaxis.set_major_formatter(FuncFormatter(_plain))
                ax.set_ylim(min(values) / 3, max(values) * 8)  # room for the bottleneck line
            ax.set_xticks(x, [str(w) for w in workers])
            ax.set_xlabel(t("num_workers(0 = 在主进程里加载)", "num_workers (0 = loading in the main process)"))
            ax.set_ylabel(t("样本/秒(中位数,误差线为最小–最大,对数轴)",
                            "samples/s (median, bars: min–max, log scale)"), fontsize=9)
            where = t("设备就是这颗 CPU:百分比衡量的是争抢,不是空闲;pin_memory 只对 CUDA 有用,未测",
                      "the device is this CPU: the % measures contention, not idling; pin_memory "
                      "(CUDA only) not run") if not cuda else \
                t("百分比:GPU 等数据的时间占比(估计)", "%: estimated share of time the GPU waits for data")
            size = res.get("image_size")
            head = t(f"每批 {res.get('batch')} 张 {size}×{size} 图像,{res.get('cores')} 个核心",
                     f"batch {res.get('batch')}, {size}×{size} images, {res.get('cores')} cores")
            ax.set_title("\n".join(textwrap.wrap(f"{run_label(r)} · {head}", 90)) + "\n" + where,
                         fontsize=9, loc="left")
        handles = [Patch(facecolor=COLORS[ph], hatch="//" if pin else None, edgecolor=muted if pin else COLORS[ph],
                         label=_series_name(ph, pin, t)) for ph, pin in SERIES if (ph, pin) in used]
        handles.append(Line2D([], [], color=COLORS["model"], ls="--",
                              label=t("只训练模型(数据已在设备上;色带为最小–最大)",
                                      "model alone (data already on the device; band: min–max)")))
        fig.suptitle(t("数据加载能否跟上训练:每秒样本数", "Can the data loader keep up? Samples per second"),
                     fontsize=11)
        fig.tight_layout()
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8)
        return fig
    return draw


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = ["device" if lang == "en" else "设备", "num_workers", "pin_memory",
              t("只加载:样本/秒", "loader alone: samples/s"), t("最小–最大", "min–max"),
              t("端到端:样本/秒", "end to end: samples/s"), t("最小–最大", "min–max"),
              t("只训练模型:样本/秒", "model alone: samples/s"), t("瓶颈", "bottleneck"),
              t("设备空闲(估计)", "device idle (estimate)"), t("首批用时 s", "first batch s")]
    neck = {"loader": t("数据加载", "loader"), "model": t("模型", "model")}
    rows = []
    for r in runs:
        res = r["result"]
        m = res.get("model")
        model = fmt(m["samples_per_s"]) if _ok(m) else "–"
        for w in res.get("workers", []):
            for pin in (False, True):
                lo, e2e = _entry(res, "loader", w, pin), _entry(res, "end_to_end", w, pin)
                if lo is None and e2e is None:
                    continue
                if pin and r["device"] != "cuda":
                    continue  # pin_memory only helps copies to a CUDA GPU; the page says so
                if not _ok(lo) and not _ok(e2e):
                    why = (lo or e2e or {}).get("reason", "")
                    rows.append([run_label(r), w, "✓" if pin else "–", t("未测:", "not run: ") + why[:80],
                                 "–", "–", "–", model, "–", "–", "–"])
                    continue
                cells = [run_label(r), w, "✓" if pin else "–"]
                for e in (lo, e2e):
                    if _ok(e):
                        cells += [fmt(e["samples_per_s"]),
                                  f"{fmt(e['samples_per_s_min'])}–{fmt(e['samples_per_s_max'])}"]
                    else:
                        cells += [t("未测", "not run"), "–"]
                idle = e2e.get("device_idle_share_estimate") if _ok(e2e) else None
                cells += [model, neck.get(e2e.get("bottleneck"), "–") if _ok(e2e) else "–",
                          f"{idle:.0%}" if idle is not None else "–",
                          fmt((lo if _ok(lo) else e2e)["first_batch_s"])]
                rows.append(cells)
    if not rows:
        return t("*没有数据。*", "*No data.*") + "\n"
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "dataloader")  # the tables below keep every run
    files = save(out_dir, "dataloader-throughput", draw_throughput(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"dataloader-table.{lang}.md", table(runs, lang)))
    return files
