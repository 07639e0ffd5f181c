"""Charts and tables for snippets/roofline.py (claim X2).

roofline                  per run, log-log: x = arithmetic intensity (FLOP/byte), y = GFLOP/s;
                          the roof min(peak, intensity x bandwidth) from the device's two
                          ceilings (lib/ceilings.py: the best rate any snippet reached on
                          it, named; one roof per dtype), the ridge point marked, the ISA's
                          theoretical peak as a dashed line (arithmetic), every kernel a
                          labelled point with its min–max as a vertical bar.
roofline-table            every kernel: intensity, GFLOP/s, GB/s, bound, fraction of the roof
roofline-ceilings-table   the two ceilings (with the kernel that reached each), the ridge point,
                          roofline.py's own best and the ISA peak, per run and dtype
roofline-summary-table    per run and bound: how close the kernels come to their roof
"""
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

FAMILY = {"copy": "memory", "vector_add": "memory", "triad": "memory", "sum": "memory",
          "softmax": "memory", "gemv": "memory", "matmul": "matmul", "bmm": "bmm"}
FAMILY_COLOR = {"memory": "C0", "matmul": "C1", "bmm": "C2"}
DTYPE_STYLE = {"fp32": "-", "bf16": "-."}


def _ok(k):
    return "status" not in k and "intensity_flop_per_byte" in k


def run_label(r):
    return r["label"] + (" · --quick" if r["result"].get("quick") else "")


def _dtypes(r):
    return [d for d in r["result"].get("ceilings", {}) if d != "bandwidth"]


def _short(k):
    """A short label for a kernel point: 'triad', 'n=512', 'bmm 32' (batches of 32x32 matmuls).
    The dtype is in the marker (filled: fp32, hollow: bf16), the full shape in the table."""
    if k["name"] == "matmul":
        return f"n={k.get('n', k['shape'].split('x')[0])}"
    if k["name"] == "bmm":
        return f"bmm {k.get('n', '?')}"
    return k["name"]


# ---------------------------------------------------------------- the roofs

def roofs(r):
    """The roofs a run's kernels are placed under: the device's ceilings (lib/ceilings.py:
    the best rate any snippet reached on it, named), for the dtypes this run measured.
    {"bandwidth": candidate or None, "compute": {dtype: candidate}, "isa": {dtype: ...}}."""
    own = r["result"].get("ceilings", {})
    ceil = r.get("ceilings") or {}
    compute = {}
    for dt in _dtypes(r):
        best = (ceil.get("compute") or {}).get(dt)
        if best is None and dt in own:  # no machine ceiling (a --quick GPU run): its own
            best = {"value": own[dt]["peak_gflop_per_s"], "snippet": "roofline",
                    "kernel": f"{own[dt]['kernel']} {own[dt]['shape']}"}
        if best:
            compute[dt] = best
    bw = ceil.get("bandwidth")
    if bw is None and "bandwidth" in own:
        bw = {"value": own["bandwidth"]["peak_gb_per_s"], "snippet": "roofline",
              "kernel": own["bandwidth"]["kernel"]}
    return {"bandwidth": bw, "compute": compute, "isa": ceil.get("isa_peak") or {}}


def ridge(rf, dt):
    c, b = rf["compute"].get(dt), rf["bandwidth"]
    return c["value"] / b["value"] if c and b else None


def place(k, rf):
    """(bound, roof GFLOP/s, fraction of the roof reached) of one kernel under the roofs."""
    c, b = rf["compute"].get(k["dtype"]), rf["bandwidth"]
    if not c or not b:
        return None, None, None
    i = k["intensity_flop_per_byte"]
    roof = min(c["value"], i * b["value"])
    bound = "memory" if i < c["value"] / b["value"] else "compute"
    return bound, roof, (k["gflop_per_s_median"] / roof if roof > 0 else None)


def named(c):
    """'452 GFLOP/s, parallel.py: conv2d 3×3, batch 16' style text for a ceiling."""
    return f"{c['snippet']}.py: {c['kernel']}"


# ---------------------------------------------------------------- the chart

def _draw_run(ax, r, t):
    res = r["result"]
    rf = roofs(r)
    ks = [k for k in res.get("kernels", []) if _ok(k) and k["intensity_flop_per_byte"] > 0]
    muted = plt.rcParams["axes.edgecolor"]
    ink = plt.rcParams["text.color"]
    xs_k = [k["intensity_flop_per_byte"] for k in ks]
    ridges = [x for x in (ridge(rf, d) for d in rf["compute"]) if x]
    lo_x = min(xs_k + ridges + [1.0]) / 3
    hi_x = max(xs_k + ridges + [1.0]) * 3
    x = np.logspace(np.log10(lo_x), np.log10(hi_x), 200)
    bw = rf["bandwidth"]["value"] if rf["bandwidth"] else None
    handles = []
    for dt, c in rf["compute"].items():
        peak = c["value"]
        roof = np.minimum(peak, x * bw) if bw else np.full_like(x, peak)
        ls = DTYPE_STYLE.get(dt, "--")
        ax.plot(x, roof, color=ink, lw=1.8, ls=ls)
        handles.append((Line2D([], [], color=ink, lw=1.8, ls=ls),
                        t(f"屋顶 {dt}:峰值 {fmt(peak)} GFLOP/s({named(c)})",
                          f"roof {dt}: peak {fmt(peak)} GFLOP/s ({named(c)})")))
        rp = ridge(rf, dt)
        if rp:
            ax.axvline(rp, color=muted, ls=":", lw=1)
            ax.plot([rp], [peak], marker="D", ms=6, color=ink, zorder=6)
            ax.annotate(t(f"{dt} 脊点 {fmt(rp)} FLOP/B", f"{dt} ridge {fmt(rp)} FLOP/B"), (rp, peak),
                        xytext=(6, 6), textcoords="offset points", fontsize=7.5, color=ink)
        isa = rf["isa"].get(dt)
        if isa:
            ax.axhline(isa["gflop_per_s"], color=muted, lw=1, ls="--")
            handles.append((Line2D([], [], color=muted, lw=1, ls="--"),
                            t(f"{dt} 指令集理论峰值 {fmt(isa['gflop_per_s'])} GFLOP/s(算术,非实测)",
                              f"{dt} ISA peak {fmt(isa['gflop_per_s'])} GFLOP/s (arithmetic, not measured)")))
    if bw:
        ax.text(0.02, 0.98, t(f"斜线:带宽上限 {fmt(bw)} GB/s({named(rf['bandwidth'])})",
                              f"slope: bandwidth ceiling {fmt(bw)} GB/s ({named(rf['bandwidth'])})"),
                transform=ax.transAxes, va="top", fontsize=7.5, color=ink)
    # the kernels
    seen = set()
    for i, k in enumerate(ks):
        fam = FAMILY.get(k["name"], "memory")
        c = FAMILY_COLOR[fam]
        med = k["gflop_per_s_median"]
        hollow = k["dtype"] != "fp32"
        ax.errorbar([k["intensity_flop_per_byte"]], [med],
                    yerr=[[med - k["gflop_per_s_min"]], [k["gflop_per_s_max"] - med]],
                    marker="s" if hollow else "o", ms=5, color=c, ecolor=c, elinewidth=1,
                    mfc="none" if hollow else c, ls="none", zorder=5)
        ax.annotate(_short(k),
                    (k["intensity_flop_per_byte"], med), xytext=(4, -9 if fam == "bmm" or (fam == "memory" and i % 2) else 3),
                    textcoords="offset points", fontsize=6.5, color=ink)
        key = (fam, k["dtype"])
        if key not in seen:
            seen.add(key)
            names = {"memory": t("访存型内核", "memory-bound kernels"),
                     "matmul": t("方阵乘法", "square matmul"), "bmm": t("批量小矩阵乘法", "batched small matmuls")}
            handles.append((Line2D([], [], marker="s" if hollow else "o", color=c, ls="none",
                                   mfc="none" if hollow else c),
                            f"{names[fam]} ({k['dtype']})"))
    ax.set_xscale("log")
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlim(lo_x, hi_x)
    ys = [k["gflop_per_s_min"] for k in ks if k["gflop_per_s_min"] > 0]
    peaks = [c["value"] for c in rf["compute"].values()] + [v["gflop_per_s"] for v in rf["isa"].values()
                                                            if isinstance(v, dict)]
    ax.set_ylim(min(ys + [lo_x * (bw or 1)]) / 2, max(peaks + [max(ys, default=1)]) * 3)
    ax.set_title(run_label(r), fontsize=9)
    ax.set_xlabel(t("算术强度 (FLOP/字节,对数轴)", "arithmetic intensity (FLOP/byte, log scale)"))
    return handles


def draw(runs):
    def draw_(t):
        n = len(runs)
        fig, axes = plt.subplots(1, n, figsize=(max(7.5, 6 * n), 5), squeeze=False)
        handles = {}
        for ax, r in zip(axes[0], runs):
            for h, label in _draw_run(ax, r, t):
                handles.setdefault(label, h)
        axes[0][0].set_ylabel(t("GFLOP/s(中位数,误差线为最小–最大,对数轴)",
                                "GFLOP/s (median, bars: min–max, log scale)"))
        fig.suptitle(t("屋顶线:实测的两条上限与各内核的位置", "Roofline: the two measured ceilings and where each kernel sits"),
                     fontsize=10)
        fig.legend(list(handles.values()), list(handles.keys()), fontsize=7.5, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=1 if n == 1 else 2)
        return fig
    return draw_


# ---------------------------------------------------------------- tables

def _tr(lang):
    return (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)


def table(runs, lang):
    t = _tr(lang)
    header = [t("设备", "device"), t("内核", "kernel"), "dtype", t("形状", "shape"),
              t("算术强度 (FLOP/B)", "intensity (FLOP/B)"),
              t("GFLOP/s 中位数(最小–最大)", "GFLOP/s median (min–max)"), t("GB/s 中位数", "GB/s median"),
              t("受限于", "bound"), t("屋顶 (GFLOP/s)", "roof (GFLOP/s)"), t("达到屋顶的比例", "fraction of roof")]
    bound_name = {"memory": t("内存带宽", "memory"), "compute": t("算力", "compute")}
    rows = []
    for r in runs:
        rf = roofs(r)
        for k in r["result"].get("kernels", []):
            if not _ok(k):
                rows.append([run_label(r), k["name"], k.get("dtype", "–"), k.get("shape", "–"),
                             t("未测", "not run"), k.get("reason", "–"), "–", "–", "–", "–"])
                continue
            bound, roof, frac = place(k, rf)
            rows.append([
                run_label(r), k["name"], k["dtype"], k["shape"], fmt(k["intensity_flop_per_byte"]),
                f"{fmt(k['gflop_per_s_median'])} ({fmt(k['gflop_per_s_min'])}–{fmt(k['gflop_per_s_max'])})",
                fmt(k["gb_per_s_median"]), bound_name.get(bound, "–"),
                fmt(roof) if roof else "–", f"{100 * frac:.0f}%" if frac is not None else "–"])
    note = t("\n字节数为最少的 DRAM 流量(每个输入读一次、每个输出写一次,不计 CPU 写入前的 write-allocate 读);"
             "copy 没有浮点运算,强度为 0。屋顶是这台设备的两条上限:任何代码片段在它上面测得的最高算力与最高内存带宽"
             "(见上表)。比例超过 100% 只可能出现在数据留在缓存里的时候(如 --quick 的小缓冲区)。\n",
             "\nBytes are the minimum DRAM traffic (every input read once, every output written once; a "
             "CPU's write-allocate reads are not counted); copy does no FLOPs and has intensity 0. The "
             "roofs are the device's two ceilings: the highest FLOP rate and memory bandwidth any snippet "
             "measured on it (table above). A fraction above 100% can only come from data that stayed in "
             "cache (such as --quick's small buffers).\n")
    return md_table(header, rows) + note


def ceilings_table(runs, lang):
    t = _tr(lang)
    header = [t("设备", "device"), "dtype",
              t("算力上限 GFLOP/s(测得它的内核)", "compute ceiling GFLOP/s (the kernel that reached it)"),
              t("带宽上限 GB/s(测得它的内核)", "bandwidth ceiling GB/s (the kernel that reached it)"),
              t("脊点 (FLOP/B)", "ridge point (FLOP/B)"),
              t("roofline.py 本次自身的最佳(算力 / 带宽)", "roofline.py's own best this run (compute / bandwidth)"),
              t("指令集理论峰值 GFLOP/s(算术,非实测)", "ISA peak GFLOP/s (arithmetic, not measured)")]
    rows = []
    for r in runs:
        rf = roofs(r)
        own = r["result"].get("ceilings", {})
        b = rf["bandwidth"]
        bw_cell = f"{fmt(b['value'])} ({named(b)})" if b else "–"
        own_bw = fmt(own["bandwidth"]["peak_gb_per_s"]) if "bandwidth" in own else "–"
        for dt in list(rf["compute"]) or ["–"]:
            c = rf["compute"].get(dt)
            isa = rf["isa"].get(dt)
            own_c = fmt(own[dt]["peak_gflop_per_s"]) if dt in own else "–"
            rows.append([run_label(r), dt, f"{fmt(c['value'])} ({named(c)})" if c else "–", bw_cell,
                         fmt(ridge(rf, dt)) if ridge(rf, dt) else "–", f"{own_c} / {own_bw}",
                         f"{fmt(isa['gflop_per_s'])} = {isa['formula']}" if isa else "–"])
    return md_table(header, rows)


def summary(r):
    """{bound: (count, median fraction, min, max)} over the kernels of one run with a roof."""
    rf = roofs(r)
    out = {}
    placed = [place(k, rf) for k in r["result"].get("kernels", []) if _ok(k)]
    for bound in ("memory", "compute"):
        fr = sorted(f for b, _, f in placed if b == bound and f is not None)
        if fr:
            out[bound] = (len(fr), float(np.median(fr)), fr[0], fr[-1])
    return out


def summary_table(runs, lang):
    t = _tr(lang)
    header = [t("设备", "device"), t("受限于", "bound"), t("内核数", "kernels"),
              t("达到屋顶的比例:中位数", "fraction of roof: median"), t("最小–最大", "min–max")]
    bound = {"memory": t("内存带宽(脊点左侧)", "memory (left of the ridge)"),
             "compute": t("算力(脊点右侧)", "compute (right of the ridge)")}
    rows = []
    for r in runs:
        for b, (n, med, lo, hi) in summary(r).items():
            rows.append([run_label(r), bound[b], n, f"{100 * med:.0f}%", f"{100 * lo:.0f}%–{100 * hi:.0f}%"])
    return md_table(header, rows)


def render(runs, out_dir):
    # one panel per run: two (the featured machine's CPU and GPU first); the tables keep every run
    drawn = chart_runs(runs, out_dir, "roofline", limit=2)
    out_dir = pathlib.Path(out_dir)
    files = save(out_dir, "roofline", draw(drawn))
    for name, fn in (("table", table), ("ceilings-table", ceilings_table), ("summary-table", summary_table)):
        for lang in LANGS:
            files.append(write_text(out_dir / f"roofline-{name}.{lang}.md", fn(runs, lang)))
    return files
