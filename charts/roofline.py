"""Charts and tables for snippets/roofline.py (claim X2).

roofline                  per run, log-log: x = arithmetic intensity (FLOP/byte), y = GFLOP/s;
                          the roof min(peak, intensity x bandwidth) from the run's own two
                          measured ceilings (one roof per dtype), the ridge point marked, every
                          kernel a labelled point with its min–max as a vertical bar. For
                          information, the ceilings that snippets/matmul.py and
                          snippets/bandwidth.py measured on the same machine and device are
                          overlaid as thin grey lines where those results exist.
roofline-table            every kernel: intensity, GFLOP/s, GB/s, bound, fraction of the roof
roofline-ceilings-table   the two ceilings and the ridge point per run and dtype, next to the
                          matmul and bandwidth snippets' figures
roofline-summary-table    per run and bound: how close the kernels come to their roof
"""
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from charts.style import LANGS, fmt, log_axis, md_table, save, write_text

FAMILY = {"copy": "memory", "vector_add": "memory", "triad": "memory", "sum": "memory",
          "softmax": "memory", "gemv": "memory", "matmul": "matmul", "bmm": "bmm"}
FAMILY_COLOR = {"memory": "C0", "matmul": "C1", "bmm": "C2"}
DTYPE_STYLE = {"fp32": "-", "bf16": "-."}
OTHER_COLOR = {"bandwidth.py": "C5", "matmul.py torch fp32": "C4", "matmul.py numpy fp32": "C6",
               "matmul.py torch bf16": "C7"}


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


# ---------------------------------------------------------------- other snippets' ceilings

def other_ceilings(run):
    """For information only: what snippets/matmul.py and snippets/bandwidth.py measured on the
    same machine and device, read from the results folder the run came from. {} when absent or
    unreadable: the roofline itself needs only its own run."""
    try:
        import build_results
        data = build_results.load_all(run.get("results_dir") or build_results.RESULTS_DIR)
    except Exception:  # noqa: BLE001 - an overlay must never break the roofline chart
        return {}
    out = {}
    mm = data.get((run["machine"], "matmul"), {}).get("runs", {}).get(run["device"])
    if mm:
        res = mm["result"]
        for dt in ("fp32", "bf16"):
            e = res.get("dtypes", {}).get(dt, {})
            if e.get("status") == "ok" and "best" in e:
                out[f"matmul.py torch {dt}"] = ("flops", dt, e["best"]["tflops"] * 1000)
        np_fp32 = (res.get("numpy") or {}).get("fp32")
        if np_fp32 and "best" in np_fp32:
            out["matmul.py numpy fp32"] = ("flops", "fp32", np_fp32["best"]["tflops"] * 1000)
    bw = data.get((run["machine"], "bandwidth"), {}).get("runs", {}).get(run["device"])
    if bw and bw["result"].get("best_gb_per_s"):
        out["bandwidth.py"] = ("bytes", None, bw["result"]["best_gb_per_s"])
    return out


# ---------------------------------------------------------------- the chart

def _draw_run(ax, r, t, others):
    res = r["result"]
    ceil = res.get("ceilings", {})
    ks = [k for k in res.get("kernels", []) if _ok(k) and k["intensity_flop_per_byte"] > 0]
    muted = plt.rcParams["axes.edgecolor"]
    ink = plt.rcParams["text.color"]
    xs_k = [k["intensity_flop_per_byte"] for k in ks]
    ridges = [ceil[d]["ridge_point_flop_per_byte"] for d in _dtypes(r) if "ridge_point_flop_per_byte" in ceil[d]]
    lo_x = min(xs_k + ridges + [1.0]) / 3
    hi_x = max(xs_k + ridges + [1.0]) * 3
    x = np.logspace(np.log10(lo_x), np.log10(hi_x), 200)
    bw = ceil.get("bandwidth", {}).get("peak_gb_per_s")
    handles = []
    for dt in _dtypes(r):
        peak = ceil[dt]["peak_gflop_per_s"]
        roof = np.minimum(peak, x * bw) if bw else np.full_like(x, peak)
        ls = DTYPE_STYLE.get(dt, "--")
        ax.plot(x, roof, color=ink, lw=1.8, ls=ls)
        handles.append((Line2D([], [], color=ink, lw=1.8, ls=ls),
                        t(f"屋顶 {dt}:min(峰值, 强度 × 带宽)", f"roof {dt}: min(peak, intensity × bandwidth)")))
        ridge = ceil[dt].get("ridge_point_flop_per_byte")
        if ridge:
            ax.axvline(ridge, color=muted, ls=":", lw=1)
            ax.plot([ridge], [peak], marker="D", ms=6, color=ink, zorder=6)
            ax.annotate(t(f"{dt} 脊点 {fmt(ridge)} FLOP/B", f"{dt} ridge {fmt(ridge)} FLOP/B"), (ridge, peak),
                        xytext=(6, 6), textcoords="offset points", fontsize=7.5, color=ink)
    if bw:
        ax.text(0.02, 0.98, t(f"斜线:带宽上限 {fmt(bw)} GB/s", f"slope: bandwidth ceiling {fmt(bw)} GB/s"),
                transform=ax.transAxes, va="top", fontsize=7.5, color=ink)
    # other snippets' figures, for information
    for name, (kind, dt, value) in sorted(others.items()):
        if kind == "flops" and dt not in ceil:
            continue  # a dtype this roofline did not measure: no roof to compare it with
        c = OTHER_COLOR.get(name, "#8c8c8c")
        if kind == "flops":
            ax.axhline(value, color=c, lw=1, ls=":")
        else:
            ax.plot(x, x * value, color=c, lw=1, ls=":")
        handles.append((Line2D([], [], color=c, lw=1, ls=":"),
                        t(f"参考:{name} 的最佳值", f"for comparison: best of {name}")))
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
    peaks = [ceil[d]["peak_gflop_per_s"] for d in _dtypes(r)] + [v for kind, _, v in others.values() if kind == "flops"]
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
            for h, label in _draw_run(ax, r, t, other_ceilings(r)):
                handles.setdefault(label, h)
        axes[0][0].set_ylabel(t("GFLOP/s(中位数,误差线为最小–最大,对数轴)",
                                "GFLOP/s (median, bars: min–max, log scale)"))
        fig.suptitle(t("屋顶线:实测的两条上限与各内核的位置", "Roofline: the two measured ceilings and where each kernel sits"),
                     fontsize=10)
        fig.legend(list(handles.values()), list(handles.keys()), fontsize=7.5, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=2 if n == 1 else 3)
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
    bound = {"memory": t("内存带宽", "memory"), "compute": t("算力", "compute")}
    rows = []
    for r in runs:
        for k in r["result"].get("kernels", []):
            if not _ok(k):
                rows.append([run_label(r), k["name"], k.get("dtype", "–"), k.get("shape", "–"),
                             t("未测", "not run"), k.get("reason", "–"), "–", "–", "–", "–"])
                continue
            frac = k.get("fraction_of_roofline")
            rows.append([
                run_label(r), k["name"], k["dtype"], k["shape"], fmt(k["intensity_flop_per_byte"]),
                f"{fmt(k['gflop_per_s_median'])} ({fmt(k['gflop_per_s_min'])}–{fmt(k['gflop_per_s_max'])})",
                fmt(k["gb_per_s_median"]), bound.get(k.get("bound"), "–"),
                fmt(k.get("roofline_gflop_per_s")) if k.get("roofline_gflop_per_s") else "–",
                f"{100 * frac:.0f}%" if frac is not None else "–"])
    note = t("\n字节数为最少的 DRAM 流量(每个输入读一次、每个输出写一次);copy 没有浮点运算,强度为 0,"
             "只用来确定带宽上限。比例超过 100% 说明数据(部分)留在了缓存里,实际 DRAM 流量比计入的少。\n",
             "\nBytes are the minimum DRAM traffic (every input read once, every output written once); "
             "copy does no FLOPs, has intensity 0 and serves only the bandwidth ceiling. A fraction above "
             "100% means the data (partly) stayed in cache, so less DRAM traffic happened than was counted.\n")
    return md_table(header, rows) + note


def ceilings_table(runs, lang):
    t = _tr(lang)
    header = [t("设备", "device"), "dtype",
              t("带宽上限 GB/s(内核,最小–最大)", "bandwidth ceiling GB/s (kernel, min–max)"),
              t("缓冲区 / 末级缓存", "buffer / last-level cache"),
              t("算力上限 GFLOP/s(内核,形状)", "compute ceiling GFLOP/s (kernel, shape)"),
              t("脊点 (FLOP/B)", "ridge point (FLOP/B)"),
              t("参考:matmul.py 最佳 GFLOP/s", "for comparison: matmul.py best GFLOP/s"),
              t("参考:bandwidth.py 最佳 GB/s", "for comparison: bandwidth.py best GB/s")]
    rows = []
    for r in runs:
        ceil = r["result"].get("ceilings", {})
        others = other_ceilings(r)
        b = ceil.get("bandwidth")
        bw_cell = (f"{fmt(b['peak_gb_per_s'])} ({b['kernel']}, {fmt(b['gb_per_s_min'])}–{fmt(b['gb_per_s_max'])})"
                   if b else "–")
        ratio = f"{b['buffer_times_llc']:.1f}×" if b else "–"
        bw_other = fmt(others["bandwidth.py"][2]) if "bandwidth.py" in others else "–"
        for dt in _dtypes(r) or ["–"]:
            c = ceil.get(dt)
            mm = [f"{name.split()[1]} {fmt(v)}" for name, (kind, d, v) in sorted(others.items())
                  if kind == "flops" and d == dt]
            rows.append([run_label(r), dt, bw_cell, ratio,
                         f"{fmt(c['peak_gflop_per_s'])} ({c['kernel']} {c['shape']})" if c else "–",
                         fmt(c.get("ridge_point_flop_per_byte")) if c else "–",
                         ", ".join(mm) or "–", bw_other])
    return md_table(header, rows)


def summary(r):
    """{bound: (count, median fraction, min, max)} over the kernels of one run with a roof."""
    out = {}
    for bound in ("memory", "compute"):
        fr = sorted(k["fraction_of_roofline"] for k in r["result"].get("kernels", [])
                    if _ok(k) and k.get("bound") == bound and k.get("fraction_of_roofline") is not None)
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
    out_dir = pathlib.Path(out_dir)
    files = save(out_dir, "roofline", draw(runs))
    for name, fn in (("table", table), ("ceilings-table", ceilings_table), ("summary-table", summary_table)):
        for lang in LANGS:
            files.append(write_text(out_dir / f"roofline-{name}.{lang}.md", fn(runs, lang)))
    return files
