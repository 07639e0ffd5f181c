"""Charts and tables for snippets/bandwidth.py (claim C3.1)."""
import matplotlib.pyplot as plt
import numpy as np

from lib.datasheets import datasheet_for
from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

KERNELS = ["read", "update", "copy", "triad"]
LINKS = ["h2d_pinned", "d2h_pinned", "h2d_pageable", "d2h_pageable"]


def _figures(r):
    """{name: spread dict} of a run: its memory kernels and, on CUDA, the host links."""
    out = dict(r["result"]["kernels"])
    out.update({k: v for k, v in (r["result"].get("host_device") or {}).items() if k in LINKS})
    return out


def draw(runs):
    def draw_(t):
        names = [k for k in KERNELS if any(k in _figures(r) for r in runs)]
        names += [k for k in LINKS if any(k in _figures(r) for r in runs)]
        fig, ax = plt.subplots(figsize=(8, 4))
        x = np.arange(len(names))
        w = 0.8 / max(len(runs), 1)
        for i, r in enumerate(runs):
            f = _figures(r)
            med = np.array([f[k]["gb_per_s"] if k in f else np.nan for k in names])
            lo = np.array([f[k]["gb_per_s_min"] if k in f else np.nan for k in names])
            hi = np.array([f[k]["gb_per_s_max"] if k in f else np.nan for k in names])
            # Several independent runs (--repeat): the bar is their median, a second, open
            # marker spans the range across runs beside the within-run min–max.
            across = [_figures(dict(r, result=res)) for res in r.get("repeats", [r["result"]])]
            if len(across) > 1:
                vals = [[a[k]["gb_per_s"] for a in across if k in a] for k in names]
                med = np.array([float(np.median(v)) if v else np.nan for v in vals])
            xs = x + (i - (len(runs) - 1) / 2) * w
            ax.bar(xs, med, w, yerr=[np.maximum(med - lo, 0), np.maximum(hi - med, 0)],
                   ecolor=plt.rcParams["text.color"], label=r["label"])
            if len(across) > 1:
                rlo = np.array([min(v) if v else np.nan for v in vals])
                rhi = np.array([max(v) if v else np.nan for v in vals])
                ax.errorbar(xs + w * 0.3, med, yerr=[med - rlo, rhi - med], fmt="none", capsize=4,
                            ecolor=plt.rcParams["axes.edgecolor"], elinewidth=1.5,
                            label=t(f"{len(across)} 次独立运行的范围", f"range across {len(across)} independent runs")
                            if i == 0 else None)
            sheet = datasheet_for(r["info"]["gpu"]["name"]) if r["device"] == "cuda" else None
            if sheet:
                ax.axhline(sheet["gb_per_s"], color="#888", ls="--", lw=1,
                           label=t(f"{sheet['name']} 数据手册显存带宽(非实测)",
                                   f"{sheet['name']} datasheet memory bandwidth (not measured)"))
        ax.set_xticks(x, names, rotation=20)
        log_axis(ax)
        ax.set_ylabel(t("GB/s(中位数,误差线为最小–最大,对数轴)", "GB/s (median, bars: min–max, log scale)"))
        ax.set_title(t("内存带宽:读、原地更新、拷贝、triad 以及主机↔设备", "Memory bandwidth: read, update, copy, triad, host↔device"))
        ax.legend(fontsize=8)
        return fig
    return draw_


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("内核", "kernel"), t("GB/s(中位数)", "GB/s (median)"),
              t("最小–最大", "min–max"), t("次数", "runs"), t("计入字节/次", "bytes counted per call"),
              t("write-allocate", "write-allocate"),
              t("计入 write-allocate 的 GB/s", "GB/s with write-allocate counted"),
              t("缓冲区 / 末级缓存", "buffer / last-level cache")]
    wa = {"none: the kernel stores nothing": t("无(不写入)", "none (no stores)"),
          "none: a GPU writes whole sectors without reading them first":
              t("无(GPU 整扇区写入,不先读)", "none (a GPU writes whole sectors unread)"),
          "none: stores go to lines just read (in place)": t("无(原地写回刚读过的行)", "none (in place: stores hit lines just read)"),
          "not counted (STREAM convention)": t("未计入(STREAM 惯例)", "not counted (STREAM convention)")}
    rows = []
    for r in runs:
        ratio = r["result"].get("buffer_over_cache")
        for name, s in _figures(r).items():
            with_wa = s.get("gb_per_s_incl_write_allocate")
            rows.append([r["label"], name, fmt(s["gb_per_s"]),
                         f"{fmt(s['gb_per_s_min'])}–{fmt(s['gb_per_s_max'])}", s["runs"],
                         f"{s['bytes'] / 2 ** 20:,.0f} MiB",
                         wa.get(s.get("write_allocate"), s.get("write_allocate") or "–"),
                         fmt(with_wa) if with_wa else "–",
                         f"{ratio:.0f}×" if ratio and name in KERNELS else "–"])
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "bandwidth")  # the tables below keep every run
    files = save(out_dir, "bandwidth", draw(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"bandwidth-table.{lang}.md", table(runs, lang)))
    return files
