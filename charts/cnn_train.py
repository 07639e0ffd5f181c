"""Charts and tables for snippets/cnn_train.py (claim C1.2).

cnn_train-throughput  images/s of a ResNet-14 training step, per precision and device
                      (median, min–max error bars)
cnn_train-epoch       the PROJECTED time of one 50,000-image epoch (50,000 / images per s;
                      no real epoch is run), against one minute and one hour
cnn_train-table       all of it as numbers
"""
import matplotlib.pyplot as plt
import numpy as np

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

PRECISIONS = ["fp32", "tf32", "bf16"]


def _ok(r, p):
    return r["result"].get("precisions", {}).get(p, {}).get("status") == "ok"


def run_label(r, t):
    return r["label"] + (" · --quick" if r["result"].get("quick") else "")


def draw_throughput(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 4))
        x = np.arange(len(PRECISIONS))
        w = 0.8 / max(len(runs), 1)
        ink = plt.rcParams["text.color"]
        lows = []
        for i, r in enumerate(runs):
            ps = r["result"].get("precisions", {})
            med = np.array([ps[p]["images_per_s"] if _ok(r, p) else np.nan for p in PRECISIONS])
            lo = np.array([ps[p]["images_per_s_min"] if _ok(r, p) else np.nan for p in PRECISIONS])
            hi = np.array([ps[p]["images_per_s_max"] if _ok(r, p) else np.nan for p in PRECISIONS])
            pos = x + (i - (len(runs) - 1) / 2) * w
            ax.bar(pos, med, w, yerr=[med - lo, hi - med], ecolor=ink, label=run_label(r, t),
                   color=f"C{i}")
            lows += list(lo[~np.isnan(lo)])
        log_axis(ax)
        bottom = min(lows) / 3 if lows else 1
        ax.set_ylim(bottom=bottom)
        for i, r in enumerate(runs):  # say where a precision was not run, instead of a gap
            pos = x + (i - (len(runs) - 1) / 2) * w
            for p, name in zip(pos, PRECISIONS):
                if not _ok(r, name):
                    ax.annotate(t("未测", "not run"), (p, bottom), xytext=(0, 3),
                                textcoords="offset points", ha="center", va="bottom", fontsize=7,
                                rotation=90, color=plt.rcParams["axes.edgecolor"])
        ax.set_xticks(x, PRECISIONS)
        ax.set_xlabel(t("精度", "precision"))
        ax.set_ylabel(t("图像/秒(中位数,误差线为最小–最大,对数轴)",
                        "images/s (median, bars: min–max, log scale)"))
        ax.set_title(t("ResNet-14 训练吞吐(32×32 图像,前向 + 反向 + SGD)",
                       "ResNet-14 training throughput (32×32 images, forward + backward + SGD)"))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return fig
    return draw


def draw_epoch(runs):
    def draw(t):
        bars = [(r, p) for r in runs for p in PRECISIONS if _ok(r, p)]
        fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * max(len(bars), 1)))
        if not bars:
            ax.text(0.5, 0.5, t("没有数据", "no data"), ha="center", transform=ax.transAxes)
            return fig
        y = np.arange(len(bars))
        n = [r["result"]["epoch_images"] for r, _ in bars]
        med = np.array([r["result"]["precisions"][p]["projected_epoch_s"] for r, p in bars])
        fast = np.array([k / r["result"]["precisions"][p]["images_per_s_max"] for k, (r, p) in zip(n, bars)])
        slow = np.array([k / r["result"]["precisions"][p]["images_per_s_min"] for k, (r, p) in zip(n, bars)])
        colors = [f"C{runs.index(r)}" for r, _ in bars]
        ax.barh(y, med, 0.6, xerr=[med - fast, slow - med], color=colors,
                ecolor=plt.rcParams["text.color"])
        for sec, zh, en in ((60, "1 分钟", "1 minute"), (3600, "1 小时", "1 hour")):
            ax.axvline(sec, color="#888", ls="--", lw=1)
            ax.annotate(t(zh, en), (sec, 1), xycoords=("data", "axes fraction"), xytext=(3, -10),
                        textcoords="offset points", fontsize=8, color="#888")
        ax.set_yticks(y, [f"{run_label(r, t)} · {p}" for r, p in bars], fontsize=8)
        ax.invert_yaxis()
        log_axis(ax, "x")
        lo, hi = min(fast.min(), 60), max(slow.max(), 3600)
        ax.set_xlim(lo / 2, hi * 2)
        ax.set_xlabel(t("推算的每轮时间(秒,对数轴;误差线由最快与最慢的一步推出)",
                        "projected epoch time (s, log scale; bars from the fastest and slowest step)"))
        ax.set_title(t("推算:训练一轮 50,000 张图像要多久(未实际跑完一轮)",
                       "Projected: one epoch of 50,000 images (no real epoch was run)"))
        return fig
    return draw


def duration(s, t):
    """Seconds as a reader thinks of them: 42 s, 41 min, 3.2 h."""
    if s < 120:
        return t(f"{s:.3g} 秒", f"{s:.3g} s")
    if s < 7200:
        return t(f"{s / 60:.3g} 分钟", f"{s / 60:.3g} min")
    return t(f"{s / 3600:.3g} 小时", f"{s / 3600:.3g} h")


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("精度", "precision"), t("批大小", "batch"),
              t("每步 ms(中位数)", "ms per step (median)"), t("最小–最大", "min–max"), t("次数", "runs"),
              t("图像/秒", "images/s"), t("最小–最大", "min–max"), "TFLOP/s",
              t("推算每轮(50,000 张)", "projected epoch (50,000 images)"), t("GPU 峰值显存", "GPU peak memory")]
    rows = []
    for r in runs:
        for p in PRECISIONS:
            e = r["result"].get("precisions", {}).get(p)
            if e is None:
                continue
            if e.get("status") != "ok":
                rows.append([run_label(r, t), p, "–", t("未测:", "not run: ") + e.get("reason", "")[:90],
                             "–", "–", "–", "–", "–", "–", "–"])
                continue
            # One row per batch size measured (a curve on a GPU); the fastest one is marked.
            curve = e.get("curve") or [e]
            for c in curve:
                if c.get("status") != "ok":
                    rows.append([run_label(r, t), p, c.get("batch", "–"),
                                 t("未测:", "not run: ") + c.get("reason", "")[:90],
                                 "–", "–", "–", "–", "–", "–", "–"])
                    continue
                s = c["step"]
                mem = f"{fmt(c['peak_memory_gb'])} GB" if c.get("peak_memory_gb") is not None else "–"
                best = len(curve) > 1 and c["batch"] == e["batch"]
                rows.append([run_label(r, t), p, f"{c['batch']}" + (t("(最快)", " (fastest)") if best else ""),
                             fmt(s["median_s"] * 1e3),
                             f"{fmt(s['min_s'] * 1e3)}–{fmt(s['max_s'] * 1e3)}", s["runs"],
                             fmt(c["images_per_s"]), f"{fmt(c['images_per_s_min'])}–{fmt(c['images_per_s_max'])}",
                             fmt(c["tflops"]), duration(c["projected_epoch_s"], t), mem])
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "cnn_train")  # the tables below keep every run
    files = []
    files += save(out_dir, "cnn_train-throughput", draw_throughput(drawn))
    files += save(out_dir, "cnn_train-epoch", draw_epoch(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"cnn_train-table.{lang}.md", table(runs, lang)))
    return files
