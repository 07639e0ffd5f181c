"""Charts and tables for snippets/allreduce.py (claim X1).

One series per run and group of ranks (e.g. "AMD EPYC · 2 threads · gloo · n=2"): the
bus bandwidth against the message size (allreduce-busbw), the time per call against the
message size (allreduce-time, where the small-message latency shows), a summary table
(allreduce-summary) and the full table (allreduce-table). Groups that did not run (NCCL
on a machine with one GPU, Gloo n=4 on two cores) are named with their reason under the
charts and in the summary table, never drawn.
"""
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3

# Published interconnect figures, NOT measured here; drawn only next to a measured NCCL run
# on a matching GPU. busbw is a per-direction figure, so the line is half the datasheet's
# bidirectional total (18 NVLink 4 links x 50 GB/s = 900 GB/s per H100 / H200 SXM).
NVLINK = [
    {"match": "H100", "name": "NVLink 4 (H100 SXM)", "gb_per_s_per_direction": 450,
     "source": "https://www.nvidia.com/en-us/data-center/h100/"},
    {"match": "H200", "name": "NVLink 4 (H200 SXM)", "gb_per_s_per_direction": 450,
     "source": "https://www.nvidia.com/en-us/data-center/h200/"},
]


def size_label(nbytes):
    """4096 -> '4 KiB', 16777216 -> '16 MiB'."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if nbytes >= unit:
            return f"{nbytes / unit:g} {name}"
    return f"{nbytes} B"


def series(runs):
    """[(label, run, group)] for every group of ranks that ran."""
    out = []
    for r in runs:
        res = r["result"]
        for g in res.get("groups", []):
            if g.get("status") == "ok" and g.get("sizes"):
                out.append((f"{r['label']} · {res['backend']} · n={g['world_size']}", r, g))
    return out


def not_run(runs):
    """[(label, reason)] for runs skipped as a whole and for groups that did not run."""
    out = []
    for r in runs:
        res = r["result"]
        if res.get("status") != "ok":
            out.append((f"{r['label']} · {res['backend']}", res.get("reason", res.get("status"))))
        for g in res.get("groups", []):
            if g.get("status") != "ok":
                out.append((f"{r['label']} · {res['backend']} · n={g['world_size']}",
                            f"{g['status']}: {g.get('reason', '')}"))
    return out


def nvlink_for(run):
    """The NVLink datasheet entry for a measured NCCL run on an SXM H100/H200, or None."""
    if run["device"] != "cuda":
        return None
    name = (run["info"].get("gpu") or {}).get("name") or run["result"]["device"].get("name", "")
    if "PCIe" in name or "NVL" in name:
        return None
    return next((e for e in NVLINK if e["match"] in name), None)


def _size_axis(ax, sizes):
    ax.set_xscale("log", base=2)
    ticks = sorted(set(sizes))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [size_label(s) for s in ticks], rotation=30, fontsize=8)


def _legend(ax, t, runs):
    """The legend under the plot (it grows with the runs), then one line per group not run."""
    handles, labels = ax.get_legend_handles_labels()
    for label, why in not_run(runs):
        handles.append(Line2D([], [], ls="none"))
        labels.append(t("未测:", "not measured: ") + f"{label} ({why})")
    if handles:
        ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.2),
                  handlelength=2.5)


def _empty(ax, t):
    ax.text(0.5, 0.5, t("没有可画的测量结果", "no measured group to draw"), ha="center",
            va="center", transform=ax.transAxes)


def draw_busbw(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sizes = []
        for i, (label, r, g) in enumerate(series(runs)):
            pts = g["sizes"]
            x = [p["bytes"] for p in pts]
            sizes += x
            c = f"C{i % 9}"
            ax.plot(x, [p["busbw_gb_per_s_median"] for p in pts], marker="o", ms=3, color=c,
                    label=label)
            ax.fill_between(x, [p["busbw_gb_per_s_min"] for p in pts],
                            [p["busbw_gb_per_s_max"] for p in pts], color=c, alpha=0.2)
        drawn = set()
        for r in runs:
            sheet = nvlink_for(r)
            if sheet and any(s[1] is r for s in series(runs)) and sheet["name"] not in drawn:
                drawn.add(sheet["name"])
                ax.axhline(sheet["gb_per_s_per_direction"], color="#888", ls="--", lw=1,
                           label=t(f"{sheet['name']} 数据手册单向带宽(非实测)",
                                   f"{sheet['name']} datasheet, per direction (not measured)"))
        if sizes:
            _size_axis(ax, sizes)
            log_axis(ax)
        else:
            _empty(ax, t)
        ax.set_xlabel(t("消息大小(字节,对数轴)", "message size (bytes, log scale)"))
        ax.set_ylabel(t("busbw (GB/s,中位数,阴影为最小–最大,对数轴)",
                        "busbw (GB/s, median; band: min–max, log scale)"))
        ax.set_title(t("all-reduce 总线带宽 busbw 随消息大小的变化",
                       "All-reduce bus bandwidth (busbw) by message size"))
        _legend(ax, t, runs)
        return fig
    return draw


def draw_time(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4.2))
        sizes = []
        model_labelled = False
        for i, (label, r, g) in enumerate(series(runs)):
            pts = g["sizes"]
            x = [p["bytes"] for p in pts]
            sizes += x
            c = f"C{i % 9}"
            us = 1e6
            ax.plot(x, [p["median_s"] * us for p in pts], marker="o", ms=3, color=c, label=label)
            ax.fill_between(x, [p["min_s"] * us for p in pts], [p["max_s"] * us for p in pts],
                            color=c, alpha=0.2)
            # The two-term model t = alpha + S / beta, fitted by the snippet to all the sizes.
            fit = g.get("fit") or {}
            if fit.get("alpha_s") is not None and fit.get("beta_bytes_per_s"):
                alpha, beta = fit["alpha_s"], fit["beta_bytes_per_s"]
                ax.plot(x, [(alpha + s / beta) * us for s in x], ls=":", lw=1, color=c,
                        label=None if model_labelled else t("拟合 α + S/β(对所有消息大小)",
                                                            "fit α + S/β (over all message sizes)"))
                model_labelled = True
        if sizes:
            _size_axis(ax, sizes)
            log_axis(ax)
        else:
            _empty(ax, t)
        ax.set_xlabel(t("消息大小(字节,对数轴)", "message size (bytes, log scale)"))
        ax.set_ylabel(t("每次 all-reduce 耗时 (µs,中位数,阴影为最小–最大,对数轴)",
                        "time per all-reduce (µs, median; band: min–max, log scale)"))
        ax.set_title(t("小消息受延迟限制,大消息受带宽限制",
                       "Small messages are latency-bound, large ones bandwidth-bound"))
        _legend(ax, t, runs)
        return fig
    return draw


def _spread(p, key, scale=1.0):
    return f"{fmt(p[key + '_min'] * scale)}–{fmt(p[key + '_max'] * scale)}"


def summary_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("后端", "backend"), t("进程数 n", "ranks n"), t("状态", "status"),
              t("最小消息耗时 µs(中位数)", "smallest message, µs (median)"),
              t("峰值 busbw GB/s(中位数)", "peak busbw GB/s (median)"), t("最小–最大", "min–max"),
              t("峰值处消息大小", "at message size"), t("峰值处 algbw GB/s", "algbw at peak, GB/s")]
    rows = []
    for r in runs:
        res = r["result"]
        if res.get("status") != "ok":
            rows.append([r["label"], res["backend"], "–", t("跳过", "skipped") + f": {res.get('reason', '')}",
                         "–", "–", "–", "–", "–"])
            continue
        for g in res.get("groups", []):
            if g.get("status") != "ok":
                status = {"skipped": t("跳过", "skipped"), "error": t("出错", "error")}.get(
                    g["status"], g["status"])
                rows.append([r["label"], res["backend"], g["world_size"], f"{status}: {g.get('reason', '')}",
                             "–", "–", "–", "–", "–"])
                continue
            first = g["sizes"][0]
            best = next(p for p in g["sizes"] if p["bytes"] == g["peak"]["bytes"])
            rows.append([r["label"], res["backend"], g["world_size"], t("已测", "measured"),
                         f"{fmt(first['median_s'] * 1e6)} ({size_label(first['bytes'])})",
                         fmt(best["busbw_gb_per_s_median"]), _spread(best, "busbw_gb_per_s"),
                         size_label(best["bytes"]), fmt(best["algbw_gb_per_s_median"])])
    return md_table(header, rows)


def full_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("后端", "backend"), "n", t("消息大小", "message size"),
              t("耗时 µs(中位数)", "time µs (median)"), t("最小–最大", "min–max"),
              t("algbw GB/s(中位数)", "algbw GB/s (median)"), t("busbw GB/s(中位数)", "busbw GB/s (median)"),
              t("busbw 最小–最大", "busbw min–max"), t("次数 × 每次调用数", "runs × calls per run"),
              t("求和校验", "sum check")]
    rows = []
    for label, r, g in series(runs):
        for p in g["sizes"]:
            rows.append([r["label"], r["result"]["backend"], g["world_size"], size_label(p["bytes"]),
                         fmt(p["median_s"] * 1e6), f"{fmt(p['min_s'] * 1e6)}–{fmt(p['max_s'] * 1e6)}",
                         fmt(p["algbw_gb_per_s_median"]), fmt(p["busbw_gb_per_s_median"]),
                         _spread(p, "busbw_gb_per_s"), f"{p['runs']} × {p['iters_per_run']}",
                         p["check"]])
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "allreduce")  # the tables below keep every run
    files = []
    files += save(out_dir, "allreduce-busbw", draw_busbw(drawn))
    files += save(out_dir, "allreduce-time", draw_time(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"allreduce-summary.{lang}.md", summary_table(runs, lang)))
        files.append(write_text(out_dir / f"allreduce-table.{lang}.md", full_table(runs, lang)))
    return files
