"""Charts and tables for snippets/matmul.py (claims C2.1, C2.2)."""
import matplotlib.pyplot as plt
import numpy as np

from lib.datasheets import datasheet_for
from charts.style import LANGS, chart_runs, fmt, log_axis, md_table, save, write_text

DTYPES = ["fp64", "fp32", "tf32", "bf16", "fp16", "fp8"]


def _series(runs):
    """Bars to draw: each run's torch figures, plus numpy's BLAS where a CPU run has it."""
    out = []
    for r in runs:
        d = r["result"]["dtypes"]
        out.append((r["label"] + " · torch", {k: v["best"]["tflops"] for k, v in d.items()
                                              if v.get("status") == "ok" and "best" in v}, r))
        if r["result"].get("numpy"):
            np_ = r["result"]["numpy"]
            out.append((r["label"] + " · numpy", {k: np_[k]["best"]["tflops"] for k in ("fp64", "fp32")
                                                  if k in np_}, r))
    return out


def draw_best(runs):
    def draw(t):
        series = _series(runs)
        fig, ax = plt.subplots(figsize=(8, 4.2))
        x = np.arange(len(DTYPES))
        w = 0.8 / max(len(series), 1)
        for i, (label, vals, _) in enumerate(series):
            ys = [vals.get(d, np.nan) for d in DTYPES]
            ax.bar(x + (i - (len(series) - 1) / 2) * w, ys, w, label=label,
                   hatch="//" if label.endswith("numpy") else None)
        for r in runs:
            sheet = datasheet_for(r["info"]["gpu"]["name"]) if r["device"] == "cuda" else None
            if sheet:
                ax.scatter(x, [sheet["tflops"].get(d, np.nan) for d in DTYPES], marker="_", s=400,
                           color="#888", zorder=5,
                           label=t(f"{sheet['name']} 数据手册峰值(非实测)",
                                   f"{sheet['name']} datasheet peak (not measured)"))
        ax.set_xticks(x, DTYPES)
        log_axis(ax)
        ax.set_ylabel(t("最佳吞吐 (TFLOP/s, 对数轴)", "best throughput (TFLOP/s, log scale)"))
        ax.set_title(t("方阵乘法:各数据类型的最佳吞吐", "Square matmul: best throughput by dtype"))
        ax.legend(fontsize=8, loc="upper left")
        return fig
    return draw


def draw_curve(runs):
    def draw(t):
        fig, axes = plt.subplots(1, len(runs), figsize=(max(8, 4.2 * len(runs) + 1), 3.8), squeeze=False)
        for ax, r in zip(axes[0], runs):
            for i, name in enumerate(DTYPES):
                e = r["result"]["dtypes"].get(name, {})
                if e.get("status") == "ok" and "sizes" in e:
                    ax.plot([p["n"] for p in e["sizes"]], [p["tflops_median"] for p in e["sizes"]],
                            marker="o", ms=3, label=name, color=f"C{i}")
                    ax.fill_between([p["n"] for p in e["sizes"]], [p["tflops_min"] for p in e["sizes"]],
                                    [p["tflops_max"] for p in e["sizes"]], alpha=0.2, color=f"C{i}")
            ax.set_xscale("log", base=2)
            log_axis(ax)
            ax.set_title(r["label"], fontsize=9)
            ax.set_xlabel(t("矩阵边长 n", "matrix size n"))
        axes[0][0].set_ylabel(t("TFLOP/s(中位数,阴影为最小–最大)", "TFLOP/s (median; band: min–max)"))
        axes[0][-1].legend(fontsize=8)
        return fig
    return draw


def draw_error(runs):
    def draw(t):
        fig, ax = plt.subplots(figsize=(8, 3.6))
        x = np.arange(len(DTYPES))
        w = 0.8 / max(len(runs), 1)
        for i, r in enumerate(runs):
            d = r["result"]["dtypes"]
            ys = [d.get(k, {}).get("rel_err_vs_fp64", np.nan) for k in DTYPES]
            pos = x + (i - (len(runs) - 1) / 2) * w
            ax.bar(pos, [y if y and y > 0 else np.nan for y in ys], w, label=r["label"])
            for p, y in zip(pos, ys):
                if y == 0:
                    ax.annotate(t("0\n(精确)", "0\n(exact)"), (p, 3e-17), ha="center", fontsize=8)
        ax.set_xticks(x, DTYPES)
        ax.set_xlim(-0.6, len(DTYPES) - 0.4)
        ax.set_yscale("log")
        ax.set_ylim(1e-17, 1)
        ax.set_ylabel(t("相对误差 ‖C − C_fp64‖ / ‖C_fp64‖", "relative error ‖C − C_fp64‖ / ‖C_fp64‖"))
        ax.set_title(t("与 fp64 参考结果相比的误差(越低越精确)",
                       "Error against an fp64 reference (lower is more precise)"))
        ax.legend(fontsize=8)
        return fig
    return draw


def table(runs, lang):
    t = (lambda zh, en: zh) if lang == "zh" else (lambda zh, en: en)
    header = [t("设备", "device"), t("实现", "library"), "dtype", t("最佳 TFLOP/s(中位数)", "best TFLOP/s (median)"),
              t("最小–最大", "min–max"), t("次数", "runs"), "n", t("相对误差", "rel. error")]
    rows = []
    for r in runs:
        for name in DTYPES:
            e = r["result"]["dtypes"].get(name)
            if e is None:
                continue
            if e.get("status") != "ok":
                rows.append([r["label"], "torch", name, t("未测", "not run"), "–", "–", "–",
                             e.get("reason", e.get("status"))])
                continue
            best = next(p for p in e["sizes"] if p["n"] == e["best"]["n"])
            rows.append([r["label"], "torch", name, fmt(best["tflops_median"]),
                         f"{fmt(best['tflops_min'])}–{fmt(best['tflops_max'])}", best["runs"],
                         best["n"], f"{e['rel_err_vs_fp64']:.1e}"])
        for name, e in (r["result"].get("numpy") or {}).items():
            if name == "version":
                continue
            best = next(p for p in e["sizes"] if p["n"] == e["best"]["n"])
            rows.append([r["label"], f"numpy {r['result']['numpy']['version']}", name,
                         fmt(best["tflops_median"]), f"{fmt(best['tflops_min'])}–{fmt(best['tflops_max'])}",
                         best["runs"], best["n"], "–"])
    return md_table(header, rows)


def render(runs, out_dir):
    drawn = chart_runs(runs, out_dir, "matmul")  # the tables below keep every run
    files = []
    files += save(out_dir, "matmul-best", draw_best(drawn))
    files += save(out_dir, "matmul-curve", draw_curve(drawn))
    files += save(out_dir, "matmul-error", draw_error(drawn))
    for lang in LANGS:
        files.append(write_text(out_dir / f"matmul-table.{lang}.md", table(runs, lang)))
    return files
