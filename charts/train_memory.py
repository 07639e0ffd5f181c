"""Charts and tables for snippets/train_memory.py (claim C3.2). ARITHMETIC, NOT MEASUREMENT:
the snippet multiplies out bytes per parameter and per activation; nothing is timed or
allocated, and the GPU capacities it compares against are datasheet figures. Every chart
and table says so.

train_memory-models   memory of weights + grads + AdamW states, and of activations per
                      sequence, for 124M..70B models against one GPU and one 8-GPU server
train_memory-gpus     the fewest GPUs whose memory holds those states (sharded evenly)
train_memory-table    the same as numbers, per model
train_memory-bytes    the 16 bytes per parameter, part by part
"""
import matplotlib.pyplot as plt
import numpy as np

from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

GIB = 2 ** 30
GREYS = ["#8c8c8c", "#c9a227", "#6f9fd8"]  # one colour per GPU kind for its capacity lines


def pick(runs):
    """The arithmetic is the same on every machine; a CUDA run adds its own GPU. Prefer it."""
    return max(runs, key=lambda r: (r["device"] == "cuda", r["record"]["measured_at"]))["result"]


def is_datasheet(g):
    return not g["name"].startswith("this GPU")


def gpu_name(g, t):
    if is_datasheet(g):
        return t(f"{g['name']}(数据手册容量)", f"{g['name']} (datasheet capacity)")
    return t(f"{g['name']}(torch 报告的容量)", f"{g['name']} (capacity torch reports)")


def draw_models(runs):
    def draw(t):
        res = pick(runs)
        models, gpus, n = res["models"], res["gpus"], res["gpus_per_server"]
        fig, ax = plt.subplots(figsize=(9, 4.8))
        y = np.arange(len(models))
        bars = [("states_bytes", t("权重 + 梯度 + AdamW 状态(16 字节/参数)",
                                   "weights + grads + AdamW states (16 bytes/param)"), "C0"),
                ("activations_per_seq_bytes", t("激活,每条序列", "activations per sequence"), "C3"),
                ("activations_per_seq_checkpointed_bytes",
                 t("激活,每条序列,全量重计算", "activations per sequence, full checkpointing"), "C4")]
        h = 0.8 / len(bars)
        for i, (key, label, color) in enumerate(bars):
            vals = np.array([m[key] / GIB for m in models])
            ax.barh(y + (i - (len(bars) - 1) / 2) * h, vals, h, label=label, color=color)
        for j, g in enumerate(gpus):
            c = GREYS[j % len(GREYS)]
            ax.axvline(g["memory_gib"], color=c, lw=1.2,
                       label=t(f"1 × {gpu_name(g, t)}", f"1 × {gpu_name(g, t)}"))
            ax.axvline(n * g["memory_gib"], color=c, lw=1.2, ls="--",
                       label=t(f"{n} × {g['name']}(一台服务器)", f"{n} × {g['name']} (one server)"))
        ax.set_yticks(y, [f"{m['name']}\n{m['n_params'] / 1e9:g}B" if m["n_params"] >= 1e9
                          else f"{m['name']}\n{m['n_params'] / 1e6:g}M" for m in models])
        ax.invert_yaxis()
        log_axis(ax, "x")
        ax.set_xlabel(t("GiB(对数轴)", "GiB (log scale)"))
        ax.set_title(t("训练需要多少内存:纯算术,非实测(混合精度 + AdamW)",
                       "Memory that training needs: arithmetic, not measured (mixed precision + AdamW)"))
        ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1))
        return fig
    return draw


def draw_gpus(runs):
    def draw(t):
        res = pick(runs)
        models, gpus, n = res["models"], res["gpus"], res["gpus_per_server"]
        fig, ax = plt.subplots(figsize=(8, 3.8))
        x = np.arange(len(models))
        w = 0.8 / max(len(gpus), 1)
        for j, g in enumerate(gpus):
            vals = [m["gpus"][g["name"]]["min_gpus_for_states"] for m in models]
            pos = x + (j - (len(gpus) - 1) / 2) * w
            ax.bar(pos, vals, w, color=GREYS[j % len(GREYS)], label=gpu_name(g, t))
            for p, v in zip(pos, vals):
                ax.annotate(str(v), (p, v), xytext=(0, 2), textcoords="offset points",
                            ha="center", fontsize=8)
        ax.axhline(n, color=plt.rcParams["text.color"], ls="--", lw=1,
                   label=t(f"一台服务器 = {n} 块 GPU", f"one server = {n} GPUs"))
        ax.set_xticks(x, [m["name"] for m in models])
        ax.set_ylabel(t("最少 GPU 数(块)", "fewest GPUs (count)"))
        ax.set_title(t("放下权重、梯度和 AdamW 状态最少要几块 GPU(均匀切分;算术,非实测)",
                       "Fewest GPUs that hold weights, grads and AdamW states (sharded evenly; arithmetic)"),
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        return fig
    return draw


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    res = pick(runs)
    gpus, n = res["gpus"], res["gpus_per_server"]
    header = [t("模型", "model"), t("参数", "params"), t("层 / d / 序列", "layers / d / seq"),
              t("权重+梯度+AdamW (GiB)", "weights+grads+AdamW (GiB)"),
              t("仅 bf16 权重 (GiB)", "bf16 weights alone (GiB)"),
              t("激活/序列 (GiB)", "activations/seq (GiB)"),
              t("激活/序列,重计算 (GiB)", "activations/seq, checkpointed (GiB)")]
    for g in gpus:
        header.append(t(f"最少几块 {g['name']}", f"fewest {g['name']}"))
        header.append(t(f"{n} 块 {g['name']} 时每块剩余 (GiB)", f"left per GPU on {n}× {g['name']} (GiB)"))
    rows = []
    for m in res["models"]:
        row = [m["name"], f"{m['n_params']:,}", f"{m['n_layer']} / {m['d_model']} / {m['seq_len']}",
               fmt(m["states_gib"]), fmt(m["weights_bf16_gib"]),
               fmt(m["activations_per_seq_bytes"] / GIB),
               fmt(m["activations_per_seq_checkpointed_bytes"] / GIB)]
        for g in gpus:
            e = m["gpus"][g["name"]]
            left = e["left_per_gpu_on_one_server_gib"]
            row += [e["min_gpus_for_states"],
                    fmt(left) if left >= 0 else t(f"放不下(差 {fmt(-left)})", f"does not fit ({fmt(-left)} short)")]
        rows.append(row)
    note = t(f"*纯算术,非实测。GPU 容量:{'、'.join(gpu_name(g, t) for g in gpus)}。*\n\n",
             f"*Arithmetic, not measured. GPU memory: {', '.join(gpu_name(g, t) for g in gpus)}.*\n\n")
    return note + md_table(header, rows)


def bytes_table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    names = {"bf16_weights": t("bf16 权重", "bf16 weights"), "bf16_grads": t("bf16 梯度", "bf16 gradients"),
             "fp32_master_weights": t("fp32 主权重", "fp32 master weights"),
             "adamw_m_fp32": t("AdamW 一阶矩 m (fp32)", "AdamW first moment m (fp32)"),
             "adamw_v_fp32": t("AdamW 二阶矩 v (fp32)", "AdamW second moment v (fp32)"),
             "total": t("**合计**", "**total**")}
    b = pick(runs)["bytes_per_param"]
    rows = [[names.get(k, k), b[k]] for k in b if k != "total"] + [[names["total"], f"**{b['total']}**"]]
    return md_table([t("每个参数保存的内容", "kept per parameter"), t("字节", "bytes")], rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "train_memory")  # the tables below keep every run
    files = []
    files += save(out_dir, "train_memory-models", draw_models(drawn))
    files += save(out_dir, "train_memory-gpus", draw_gpus(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"train_memory-table.{lang}.md", table(runs, lang)))
        files.append(write_text(out_dir / f"train_memory-bytes.{lang}.md", bytes_table(runs, lang)))
    return files
