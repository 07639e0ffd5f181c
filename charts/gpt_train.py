"""Charts and tables for snippets/gpt_train.py (claims C2.3, C3.2).

gpt_train-throughput  tokens/s and achieved TFLOP/s per run (median, min–max error bars),
                      MFU written next to a run whose device has a datasheet peak
gpt_train-profile     where the time of a training step goes: matmul / attention / other
gpt_train-memory      measured peak memory next to the estimate, split into its parts
gpt_train-table       all of it as numbers
"""
import matplotlib.pyplot as plt
import numpy as np

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

MIB = 2 ** 20
GIB = 2 ** 30
PARTS = [  # estimate parts: key, zh, en
    ("weights_bytes", "权重 (fp32)", "weights (fp32)"),
    ("grads_bytes", "梯度 (fp32)", "gradients (fp32)"),
    ("adamw_states_bytes", "AdamW 两个矩 (fp32)", "AdamW moments (fp32)"),
    ("autocast_weight_copies_bytes", "autocast 的 bf16 权重副本", "autocast bf16 weight copies"),
    ("activations_bytes", "为反向传播保存的激活", "activations kept for backward"),
]


def ok_runs(runs):
    """Runs that trained (a CUDA run that ran out of memory has only status and reason)."""
    return [r for r in runs if "timing" in r["result"]]


def model_label(r, t):
    c = r["result"]["config"]
    p = r["result"]["params"]["total"]
    return t(f"{p / 1e6:.1f}M 参数 · {c['precision']}", f"{p / 1e6:.1f}M params · {c['precision']}")


def run_label(r, t):
    quick = t(" · --quick", " · --quick") if r["result"].get("quick") else ""
    return f"{r['label']}\n{model_label(r, t)}{quick}"


def _short(v):
    """A tick label for a log axis: 0.001, 30, 3k, 1M."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def wide_log_x(ax, lo, hi):
    """A log x axis; over more than three decades only the powers of ten are labelled."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    log_axis(ax, "x")
    if hi / max(lo, 1e-30) > 1e3:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v)))


def _empty(ax, t):
    ax.text(0.5, 0.5, t("没有成功完成的运行", "no run that finished"), ha="center", va="center",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_throughput(runs):
    def draw(t):
        rs = ok_runs(runs)
        fig, axes = plt.subplots(1, 2, figsize=(9, 1.2 + 0.9 * max(len(rs), 1)), sharey=True)
        if not rs:
            for ax in axes:
                _empty(ax, t)
            return fig
        y = np.arange(len(rs))
        ink = plt.rcParams["text.color"]
        for ax, key in ((axes[0], "tokens_per_s"), (axes[1], "tflops")):
            med = np.array([r["result"]["timing"][f"{key}_median"] for r in rs])
            lo = np.array([r["result"]["timing"][f"{key}_min"] for r in rs])
            hi = np.array([r["result"]["timing"][f"{key}_max"] for r in rs])
            ax.barh(y, med, 0.6, xerr=[med - lo, hi - med], ecolor=ink,
                    color=[f"C{i}" for i in range(len(rs))])
            wide_log_x(ax, min(lo.min(), med.min()), hi.max())
        for i, r in enumerate(rs):
            mfu = r["result"]["mfu"]
            if mfu.get("status") == "ok":
                axes[1].scatter([mfu["peak_tflops"]], [i], marker="|", s=300, color="#888", zorder=5)
                axes[1].annotate(t(f"MFU {mfu['mfu_median']:.0%}\n(峰值取自数据手册)",
                                   f"MFU {mfu['mfu_median']:.0%}\n(peak from datasheet)"),
                                 (mfu["peak_tflops"], i), xytext=(4, 0), textcoords="offset points",
                                 va="center", fontsize=8, color="#888")
                axes[1].set_xlim(right=mfu["peak_tflops"] * 8)
                wide_log_x(axes[1], *axes[1].get_xlim())  # the axis now reaches the peak
        axes[0].set_yticks(y, [run_label(r, t) for r in rs], fontsize=8)
        axes[0].invert_yaxis()
        axes[0].set_xlabel(t("tokens/s(中位数,误差线为最小–最大,对数轴)",
                             "tokens/s (median, bars: min–max, log scale)"))
        axes[1].set_xlabel(t("实际 TFLOP/s(6N + 注意力公式,对数轴)",
                             "achieved TFLOP/s (6N + attention formula, log scale)"))
        fig.suptitle(t("小型 GPT 训练吞吐(每步 = 前向 + 反向 + AdamW)",
                       "Small GPT training throughput (one step = forward + backward + AdamW)"))
        return fig
    return draw


def draw_profile(runs):
    def draw(t):
        rs = [r for r in ok_runs(runs) if r["result"]["profile"].get("status") == "ok"]
        fig, ax = plt.subplots(figsize=(8.5, 1.3 + 0.75 * max(len(rs), 1)))
        if not rs:
            _empty(ax, t)
            return fig
        y = np.arange(len(rs))
        left = np.zeros(len(rs))
        kinds = [("matmul_share", t("矩阵乘法", "matrix multiply"), "C0"),
                 ("attention_share", t("注意力", "attention"), "C1"),
                 (None, t("其他(逐元素、归一化、softmax、优化器……)",
                          "other (elementwise, norms, softmax, optimizer...)"), "#9c9c9c")]
        for key, name, color in kinds:
            share = np.array([r["result"]["profile"][key] if key else
                              1 - r["result"]["profile"]["matmul_plus_attention_share"]
                              for r in rs]) * 100
            ax.barh(y, share, 0.6, left=left, label=name, color=color)
            for yi, (start, v) in enumerate(zip(left, share)):
                if v >= 6:  # a label only where it fits inside its segment
                    ax.text(start + v / 2, yi, f"{v:.0f}%", ha="center", va="center", fontsize=8,
                            color="white")
            left += share
        labels = [run_label(r, t) + "\n" + (t("GPU 内核时间", "GPU kernel time")
                                           if r["result"]["profile"]["source"].startswith("CUDA")
                                           else t("CPU 上 aten 算子自身时间", "CPU self time of aten ops"))
                  for r in rs]
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(t("占剖析时间的百分比 (%)", "share of profiled time (%)"))
        ax.set_title(t("一个训练步的时间花在哪里(torch.profiler)",
                       "Where a training step's time goes (torch.profiler)"))
        # the legend sits a fixed 0.55 inch below the axes, whatever the number of runs
        from matplotlib.transforms import offset_copy
        ax.legend(fontsize=8, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0),
                  bbox_transform=offset_copy(ax.transAxes, fig=fig, y=-0.5, units="inches"))
        return fig
    return draw


def _unit(total):
    return (GIB, "GiB") if total >= 4 * GIB else (MIB, "MiB")


def draw_memory(runs):
    def draw(t):
        rs = [r for r in ok_runs(runs) if "memory" in r["result"]]
        fig, axes = plt.subplots(1, max(len(rs), 1), figsize=(max(5.5, 3.6 * len(rs) + 2), 4.2),
                                 squeeze=False)
        if not rs:
            _empty(axes[0][0], t)
            return fig
        labelled = set()
        for k, (ax, r) in enumerate(zip(axes[0], rs)):
            m = r["result"]["memory"]
            est = m["estimate"]
            scale, unit = _unit(max(est["total_bytes"], m.get("peak_bytes") or 0))
            bottom = 0.0
            for i, (key, zh, en) in enumerate(PARTS):
                v = est[key] / scale
                if v > 0:  # each part in the legend once, from whichever run has it first
                    ax.bar(0, v, 0.6, bottom=bottom, color=f"C{i}",
                           label=t(zh, en) if key not in labelled else None)
                    labelled.add(key)
                bottom += v
            if m.get("status") == "ok":
                res = m["resident_bytes"] / scale
                ax.bar(1, res, 0.6, color="#6e7781", hatch="//",
                       label=t("实测:步与步之间常驻(权重 + AdamW 状态)",
                               "measured: resident between steps (weights + AdamW states)")
                       if k == 0 else None)
                ax.bar(1, m["peak_bytes"] / scale - res, 0.6, bottom=res, color="#b1b8c0",
                       label=t("实测:一步之内新增的峰值", "measured: extra peak within a step")
                       if k == 0 else None)
                ax.annotate(t(f"实测/估算 = {m['measured_over_estimate']:.2f}",
                              f"measured / estimate = {m['measured_over_estimate']:.2f}"),
                            (0.5, max(bottom, m["peak_bytes"] / scale)), xytext=(0, 6),
                            textcoords="offset points", ha="center", fontsize=8)
                ax.set_xticks([0, 1], [t("估算", "estimate"), t("实测峰值", "measured peak")])
            else:
                ax.set_xticks([0, 1], [t("估算", "estimate"), t("未测得", "not measured")])
            ax.set_xlim(-0.6, 1.6)
            ax.set_ylim(0, max(bottom, (m.get("peak_bytes") or 0) / scale) * 1.15)
            ax.set_ylabel(t(f"内存 ({unit},仅张量)", f"memory ({unit}, tensors only)"))
            ax.set_title(run_label(r, t), fontsize=8)
        fig.suptitle(t("训练一步的内存峰值:实测与按公式估算", "Peak memory of a training step: measured and estimated"),
                     y=1.05)
        fig.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2)
        return fig
    return draw


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("模型", "model"), t("每步 ms(中位数)", "ms per step (median)"),
              t("最小–最大", "min–max"), t("次数", "runs"), "tokens/s", "TFLOP/s", "MFU",
              t("矩阵乘法占比", "matmul share"), t("注意力占比", "attention share"),
              t("实测峰值内存", "measured peak memory"), t("估算", "estimate")]
    rows = []
    for r in runs:
        res = r["result"]
        if "timing" not in res:
            rows.append([r["label"], "–", t("未完成", "did not run"), "–", "–", "–", "–", "–", "–", "–",
                         "–", res.get("reason", "")[:80]])
            continue
        c, tm, prof, mem = res["config"], res["timing"], res["profile"], res["memory"]
        model = t(f"{c['n_layer']} 层, d={c['d_model']}, 序列 {c['seq_len']}, 批 {c['batch_size']}, "
                  f"{res['params']['total'] / 1e6:.1f}M 参数, {c['precision']}",
                  f"{c['n_layer']} layers, d={c['d_model']}, seq {c['seq_len']}, batch {c['batch_size']}, "
                  f"{res['params']['total'] / 1e6:.1f}M params, {c['precision']}")
        mfu = (f"{res['mfu']['mfu_median']:.1%}" if res["mfu"].get("status") == "ok"
               else t("无峰值", "no peak"))
        pok = prof.get("status") == "ok"
        scale, unit = _unit(mem["estimate"]["total_bytes"])
        peak = (f"{fmt(mem['peak_bytes'] / scale)} {unit}" if mem.get("status") == "ok" else "–")
        rows.append([r["label"], model, fmt(tm["median_s"] * 1e3),
                     f"{fmt(tm['min_s'] * 1e3)}–{fmt(tm['max_s'] * 1e3)}", tm["runs"],
                     fmt(tm["tokens_per_s_median"]), fmt(tm["tflops_median"]), mfu,
                     f"{prof['matmul_share']:.0%}" if pok else "–",
                     f"{prof['attention_share']:.0%}" if pok else "–", peak,
                     f"{fmt(mem['estimate']['total_bytes'] / scale)} {unit}"])
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "gpt_train")  # the tables below keep every run
    files = []
    files += save(out_dir, "gpt_train-throughput", draw_throughput(drawn))
    files += save(out_dir, "gpt_train-profile", draw_profile(drawn))
    files += save(out_dir, "gpt_train-memory", draw_memory(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"gpt_train-table.{lang}.md", table(runs, lang)))
    return files
