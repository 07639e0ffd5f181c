"""Charts and tables for snippets/parallel.py (claim C1.1).

parallel-elementwise         y = a*x + b against the number of elements, log-log, one line per
                             run with its min–max band: time per call (left, with each run's
                             tiny-op time as a dotted floor) and GB/s (right)
parallel-conv                a 3x3 conv against batch size: images/s (GFLOP/s on the right axis)
parallel-threads             CPU runs: speedup of the conv against threads, with the ideal line
parallel-summary-table       per run: the tiny-op floor, the smallest and largest elementwise
                             call, the best conv, the thread speedup
parallel-elementwise-table   every elementwise point
parallel-conv-table          every conv point
parallel-crossover-table     CPU against GPU at the sizes both measured: below which size the
                             CPU is faster. Needs a CUDA run; without one it says so.
"""
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text


def _ok(r, key):
    """The run's section `key` if it was measured (has points), else None."""
    s = r["result"].get(key)
    if isinstance(s, dict) and s.get("status") != "skipped" and s.get("points"):
        return s
    return None


def run_label(r):
    return r["label"] + (" · --quick" if r["result"].get("quick") else "")


def _count(n):
    """1024 -> '1K', 2**20 -> '1M': element counts on a power-of-two axis."""
    for unit, name in ((2 ** 30, "G"), (2 ** 20, "M"), (2 ** 10, "K")):
        if n >= unit:
            return f"{n / unit:g}{name}"
    return f"{n:g}"


def _pow2_axis(ax, values, label_fn=_count):
    ax.set_xscale("log", base=2)
    ticks = sorted(set(values))
    if len(ticks) > 9:  # keep the labels readable: every other power of two
        ticks = ticks[::2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: label_fn(v)))
    ax.xaxis.set_minor_locator(NullLocator())


def _us(s):
    return s * 1e6


def draw_elementwise(runs):
    def draw(t):
        fig, (ax_t, ax_b) = plt.subplots(1, 2, figsize=(10, 4))
        sizes = []
        floor_drawn = False
        for i, r in enumerate(runs):
            e = _ok(r, "elementwise")
            if not e:
                continue
            pts = e["points"]
            n = np.array([p["elements"] for p in pts], dtype=float)
            sizes += list(n)
            c = f"C{i}"
            ax_t.plot(n, [_us(p["median_s"]) for p in pts], marker="o", ms=3, color=c,
                      label=run_label(r))
            ax_t.fill_between(n, [_us(p["min_s"]) for p in pts], [_us(p["max_s"]) for p in pts],
                              color=c, alpha=0.2)
            ax_b.plot(n, [p["gb_per_s_median"] for p in pts], marker="o", ms=3, color=c,
                      label=run_label(r))
            ax_b.fill_between(n, [p["gb_per_s_min"] for p in pts], [p["gb_per_s_max"] for p in pts],
                              color=c, alpha=0.2)
            tiny = r["result"].get("tiny_op", {}).get("queued")
            if tiny and "median_s" in tiny:
                ax_t.axhline(_us(tiny["median_s"]), color=c, ls=":", lw=1.2)
                floor_drawn = True
        for ax in (ax_t, ax_b):
            _pow2_axis(ax, sizes)
            log_axis(ax)
            ax.set_xlabel(t("元素个数 N(K = 1024,M = 1024²)", "elements N (K = 1024, M = 1024²)"))
        ax_t.set_ylabel(t("每次调用耗时 (µs,中位数,阴影为最小–最大)",
                          "time per call (µs; median, band: min–max)"))
        ax_b.set_ylabel(t("有效带宽 (GB/s,每元素 12 字节)", "effective bandwidth (GB/s, 12 bytes per element)"))
        ax_t.set_title(t("y = a·x + b:每次调用的耗时", "y = a·x + b: time per call"), fontsize=10)
        ax_b.set_title(t("y = a·x + b:吞吐", "y = a·x + b: throughput"), fontsize=10)
        handles, labels = ax_t.get_legend_handles_labels()
        if floor_drawn:
            handles.append(Line2D([], [], color=plt.rcParams["axes.edgecolor"], ls=":"))
            labels.append(t("点线:单个极小运算的耗时(固定开销)", "dotted: one tiny op (fixed cost)"))
        ax_t.legend(handles, labels, fontsize=8, loc="upper left")
        return fig
    return draw


def _flops_per_image(runs):
    """FLOPs of the conv for one image, if every run used the same layer, else None."""
    per = {p["flops"] / p["batch"] for r in runs if _ok(r, "conv") for p in r["result"]["conv"]["points"]}
    return per.pop() if len(per) == 1 else None


def draw_conv(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4))
        batches = []
        for i, r in enumerate(runs):
            cv = _ok(r, "conv")
            if not cv:
                continue
            pts = cv["points"]
            b = np.array([p["batch"] for p in pts], dtype=float)
            batches += list(b)
            c = f"C{i}"
            ax.plot(b, [p["images_per_s"] for p in pts], marker="o", ms=3, color=c, label=run_label(r))
            # images/s from the fastest and the slowest call: batch / min_s and batch / max_s
            ax.fill_between(b, [p["batch"] / p["max_s"] for p in pts],
                            [p["batch"] / p["min_s"] for p in pts], color=c, alpha=0.2)
        _pow2_axis(ax, batches, lambda v: f"{v:g}")
        log_axis(ax)
        ax.set_xlabel(t("批大小(每次调用的图像数)", "batch size (images per call)"))
        ax.set_ylabel(t("图像/秒(中位数,阴影为最小–最大)", "images/s (median; band: min–max)"))
        f = _flops_per_image(runs)
        if f:
            sec = ax.secondary_yaxis("right", functions=(lambda x: x * f / 1e9, lambda y: y * 1e9 / f))
            sec.set_ylabel(t(f"GFLOP/s(每张图 {f / 1e6:.1f} MFLOP)", f"GFLOP/s ({f / 1e6:.1f} MFLOP per image)"))
            sec.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
            sec.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            sec.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_title(t("3×3 卷积(64→64 通道,32×32,fp32):吞吐随批大小的变化",
                       "3×3 conv (64→64 channels, 32×32, fp32): throughput against batch size"),
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        return fig
    return draw


def _speedups(th):
    """(threads, median, low, high) of the speedup over 1 thread; low/high from the slowest
    and fastest call at each thread count against the 1-thread median."""
    base = th["points"][0]["median_s"]
    return ([p["threads"] for p in th["points"]], [base / p["median_s"] for p in th["points"]],
            [base / p["max_s"] for p in th["points"]], [base / p["min_s"] for p in th["points"]])


def draw_threads(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        top = 1
        ink = plt.rcParams["text.color"]
        batch = None
        for i, r in enumerate(runs):
            th = _ok(r, "cpu_threads")
            if not th:
                continue
            batch = th["batch"]
            x, med, lo, hi = _speedups(th)
            med, lo, hi = map(np.array, (med, lo, hi))
            ax.errorbar(x, med, yerr=[med - lo, hi - med], marker="o", ms=4, color=f"C{i}",
                        ecolor=ink, label=run_label(r))
            top = max(top, max(x))
        ideal = np.array([1, top])
        ax.plot(ideal, ideal, ls="--", lw=1, color=plt.rcParams["axes.edgecolor"],
                label=t("理想:线程数翻倍,速度翻倍", "ideal: twice the threads, twice the speed"))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_locator(NullLocator())
        ax.set_xlabel(t("线程数", "threads"))
        ax.set_ylabel(t("相对 1 个线程的加速比(中位数,误差线为最小–最大)",
                        "speedup over 1 thread (median; bars: min–max)"))
        ax.set_title(t(f"CPU 上的卷积(批大小 {batch})随线程数的加速", f"CPU conv (batch {batch}): speedup with threads"),
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        return fig
    return draw


# ---------------------------------------------------------------- the CPU/GPU crossover

def crossover(cpu_run, gpu_run, key, size_key):
    """Compare the median time per call of a CPU run and a CUDA run at the sizes both measured.
    The crossover is the smallest common size from which the GPU is faster at every larger
    common size; below it the CPU wins at least once. None when the runs share no size."""
    c = {p[size_key]: p for p in (_ok(cpu_run, key) or {}).get("points", [])}
    g = {p[size_key]: p for p in (_ok(gpu_run, key) or {}).get("points", [])}
    common = sorted(set(c) & set(g))
    if not common:
        return None
    gpu_faster = [g[s]["median_s"] < c[s]["median_s"] for s in common]
    k = len(common)
    while k > 0 and gpu_faster[k - 1]:
        k -= 1
    speed = [c[s]["median_s"] / g[s]["median_s"] for s in common]  # > 1: the GPU is faster
    return {"sizes": common, "gpu_faster": gpu_faster,
            "gpu_from": common[k] if k < len(common) else None,
            "cpu_up_to": common[k - 1] if k > 0 else None,
            "speed_smallest": speed[0], "speed_largest": speed[-1]}


def _ratio(x):
    return f"{x:.2g}×" if x < 10 else f"{x:,.0f}×"


def crossover_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    cpus = [r for r in runs if r["device"] == "cpu"]
    gpus = [r for r in runs if r["device"] == "cuda"]
    if not cpus or not gpus:
        return t("*尚未测量 GPU:没有 CPU 与 GPU 在相同规模下的对比,因此不给出交叉点。*\n",
                 "*No GPU measured yet: there is no CPU and GPU pair at matching sizes, so no "
                 "crossover is shown.*\n")
    header = [t("CPU", "CPU"), "GPU", t("实验", "experiment"), t("比较的规模", "sizes compared"),
              t("CPU 更快的最大规模", "largest size where the CPU is faster"),
              t("GPU 从此规模起一直更快", "GPU faster from this size on"),
              t("GPU 相对 CPU 的速度:最小规模", "GPU speed vs CPU: smallest size"),
              t("最大规模", "largest size")]
    rows = []
    for cpu in cpus:
        for gpu in gpus:
            for key, size_key, name, show in (
                    ("elementwise", "elements", t("y = a·x + b(元素个数)", "y = a·x + b (elements)"), _count),
                    ("conv", "batch", t("3×3 卷积(批大小)", "3×3 conv (batch size)"), lambda v: f"{v:g}")):
                x = crossover(cpu, gpu, key, size_key)
                if x is None:
                    continue
                rows.append([
                    run_label(cpu), run_label(gpu), name,
                    f"{show(x['sizes'][0])} – {show(x['sizes'][-1])} ({len(x['sizes'])})",
                    show(x["cpu_up_to"]) if x["cpu_up_to"] is not None else t("无(GPU 处处更快)", "none (GPU faster at every size)"),
                    show(x["gpu_from"]) if x["gpu_from"] is not None else t("无(CPU 处处更快)", "none (CPU faster at every size)"),
                    _ratio(x["speed_smallest"]), _ratio(x["speed_largest"])])
    if not rows:
        return t("*CPU 与 GPU 的结果没有相同的规模,无法比较。*\n",
                 "*The CPU and GPU results share no size, so they cannot be compared.*\n")
    note = t("\n按每次调用耗时的中位数比较;“GPU 相对 CPU 的速度”= CPU 耗时 / GPU 耗时,大于 1× 表示 GPU 更快。\n",
             "\nCompared by the median time per call; \"GPU speed vs CPU\" = CPU time / GPU time, "
             "above 1× the GPU is faster.\n")
    return md_table(header, rows) + note


# ---------------------------------------------------------------- tables

def _spread_us(p):
    return f"{fmt(_us(p['median_s']))} ({fmt(_us(p['min_s']))}–{fmt(_us(p['max_s']))})"


def summary_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("极小运算,连续发出 (µs)", "tiny op, back to back (µs)"),
              t("极小运算,发出并等待 (µs)", "tiny op, launch and wait (µs)"),
              t("y = a·x + b,最小规模 (µs)", "y = a·x + b, smallest (µs)"),
              t("y = a·x + b,最大规模 (GB/s)", "y = a·x + b, largest (GB/s)"),
              t("卷积最佳 (图像/秒)", "conv best (images/s)"), t("卷积最佳 (GFLOP/s)", "conv best (GFLOP/s)"),
              t("线程加速比", "thread speedup")]
    rows = []
    for r in runs:
        tiny = r["result"].get("tiny_op", {})
        q, rt = tiny.get("queued", {}), tiny.get("round_trip", {})
        e, cv, th = _ok(r, "elementwise"), _ok(r, "conv"), _ok(r, "cpu_threads")
        row = [run_label(r),
               _spread_us(q) if "median_s" in q else "–",
               _spread_us(rt) if "median_s" in rt else t("–(CPU 同步执行)", "– (CPU runs synchronously)")]
        if e:
            first, last = e["points"][0], e["points"][-1]
            row += [f"{_spread_us(first)} @ {_count(first['elements'])}",
                    f"{fmt(last['gb_per_s_median'])} ({fmt(last['gb_per_s_min'])}–{fmt(last['gb_per_s_max'])}) @ {_count(last['elements'])}"]
        else:
            row += ["–", "–"]
        if cv:
            best = max(cv["points"], key=lambda p: p["images_per_s"])
            row += [f"{fmt(best['images_per_s'])} @ {t('批', 'batch')} {best['batch']}",
                    f"{fmt(best['gflop_per_s_median'])} ({fmt(best['gflop_per_s_min'])}–{fmt(best['gflop_per_s_max'])})"]
        else:
            row += ["–", "–"]
        if th:
            last = th["points"][-1]
            row.append(f"{last['speedup_vs_1_thread']:.2f}× @ {last['threads']} {t('线程', 'threads')}")
        else:
            row.append("–")
        rows.append(row)
    return md_table(header, rows)


def _points_table(runs, lang, key, size_key, size_head, show, cells):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    use = [r for r in runs if _ok(r, key)]
    sizes = sorted({p[size_key] for r in use for p in r["result"][key]["points"]})
    header = [size_head]
    for r in use:
        header += [f"{run_label(r)}: {h}" for h in cells[0]]
    rows = []
    for s in sizes:
        row = [show(s)]
        for r in use:
            p = next((p for p in r["result"][key]["points"] if p[size_key] == s), None)
            row += cells[1](p) if p else ["–"] * len(cells[0])
        rows.append(row)
    return md_table(header, rows)


def elementwise_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    return _points_table(
        runs, lang, "elementwise", "elements", t("元素个数", "elements"), lambda n: f"{n:,} ({_count(n)})",
        ([t("µs/次,中位数(最小–最大)", "µs per call, median (min–max)"), "GB/s"],
         lambda p: [_spread_us(p), fmt(p["gb_per_s_median"])]))


def conv_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    return _points_table(
        runs, lang, "conv", "batch", t("批大小", "batch"), str,
        ([t("ms/次,中位数(最小–最大)", "ms per call, median (min–max)"), t("图像/秒", "images/s"), "GFLOP/s"],
         lambda p: [f"{fmt(p['median_s'] * 1e3)} ({fmt(p['min_s'] * 1e3)}–{fmt(p['max_s'] * 1e3)})",
                    fmt(p["images_per_s"]), fmt(p["gflop_per_s_median"])]))


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "parallel")  # the tables below keep every run
    out_dir = pathlib.Path(out_dir)
    files = []
    files += save(out_dir, "parallel-elementwise", draw_elementwise(drawn))
    files += save(out_dir, "parallel-conv", draw_conv(drawn))
    if any(_ok(r, "cpu_threads") for r in drawn):
        files += save(out_dir, "parallel-threads", draw_threads(drawn))
    for name, fn in (("summary", summary_table), ("elementwise", elementwise_table),
                     ("conv", conv_table), ("crossover", crossover_table)):
        for lang in LANGS:
            files.append(write_text(out_dir / f"parallel-{name}-table.{lang}.md", fn(runs, lang)))
    return files
