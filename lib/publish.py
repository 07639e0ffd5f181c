"""Files the site publishes beside its pages, made from the results at build time."""
import json
import pathlib

from lib.results import GENERATED_DIR, SNIPPETS_DIR, snippet_names


def publish_for_notebook(data, out_dir=GENERATED_DIR):
    """Copies of the snippets and an index of the results, so that the notebook page can
    fetch both from the published site when it runs outside a clone of the repository."""
    from charts.style import write_bytes, write_text  # write only what changed (serve)
    out_dir = pathlib.Path(out_dir)
    files = [write_bytes(out_dir / "snippets" / f"{n}.py", (SNIPPETS_DIR / f"{n}.py").read_bytes())
             for n in snippet_names()]
    index = {"snippets": snippet_names(),
             "results": sorted(f"results/{slug}/{snippet}.json" for slug, snippet in data)}
    files.append(write_text(out_dir / "results-index.json", json.dumps(index, indent=2) + "\n"))
    return files




# The headline figures of each machine and device: the comparison table on the machines page
# and results/summary.csv. snippet "@ceiling" is the device's ceiling (lib/ceilings.py).
HEADLINES = [
    {"key": "matmul_fp32", "zh": "矩阵乘法 fp32 最佳", "en": "matmul fp32, best", "unit": "TFLOP/s",
     "snippet": "matmul", "path": "dtypes.fp32.best.tflops", "anchor": "flops.md#c2-2"},
    {"key": "matmul_bf16", "zh": "矩阵乘法 bf16 最佳", "en": "matmul bf16, best", "unit": "TFLOP/s",
     "snippet": "matmul", "path": "dtypes.bf16.best.tflops", "anchor": "flops.md#c2-2"},
    {"key": "numpy_fp32", "zh": "numpy fp32 最佳", "en": "numpy fp32, best", "unit": "TFLOP/s",
     "snippet": "matmul", "path": "numpy.fp32.best.tflops", "anchor": "flops.md#c2-2"},
    {"key": "compute_ceiling_fp32", "zh": "fp32 算力上限", "en": "fp32 compute ceiling", "unit": "GFLOP/s",
     "snippet": "@ceiling", "path": "fp32", "anchor": "roofline.md#x2"},
    {"key": "bandwidth_best", "zh": "内存带宽最佳", "en": "memory bandwidth, best", "unit": "GB/s",
     "snippet": "bandwidth", "path": "best_gb_per_s", "anchor": "bandwidth.md#c3-1"},
    {"key": "bandwidth_ceiling", "zh": "内存带宽上限", "en": "memory bandwidth ceiling", "unit": "GB/s",
     "snippet": "@ceiling", "path": "bandwidth", "anchor": "roofline.md#x2"},
    {"key": "h2d_pinned", "zh": "主机到 GPU,锁页", "en": "host to GPU, pinned", "unit": "GB/s",
     "snippet": "bandwidth", "path": "host_device.h2d_pinned.gb_per_s", "anchor": "bandwidth.md#c3-1"},
    {"key": "cnn_fp32", "zh": "CNN 训练 fp32", "en": "CNN training fp32", "unit": "images/s",
     "snippet": "cnn_train", "path": "precisions.fp32.images_per_s", "anchor": "training.md#c1-2"},
    {"key": "cnn_bf16", "zh": "CNN 训练 bf16", "en": "CNN training bf16", "unit": "images/s",
     "snippet": "cnn_train", "path": "precisions.bf16.images_per_s", "anchor": "training.md#c1-2"},
    {"key": "gpt_tokens", "zh": "GPT 训练", "en": "GPT training", "unit": "tokens/s",
     "snippet": "gpt_train", "path": "timing.tokens_per_s_median", "anchor": "training.md#c2-3"},
    {"key": "allreduce_busbw", "zh": "all-reduce 峰值 busbw", "en": "all-reduce peak busbw", "unit": "GB/s",
     "snippet": "allreduce", "path": "groups.0.peak.busbw_gb_per_s", "anchor": "distributed.md#x1"},
    {"key": "model_samples", "zh": "数据加载:模型吞吐", "en": "data loading: model alone",
     "unit": "samples/s", "snippet": "dataloader", "path": "summary.model_samples_per_s",
     "anchor": "cpu-role.md#c5-2"},
]


def _at(value, path):
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def headline_values(runs_by_snippet):
    """Every machine's and device's headline figures, as dicts with the figure's key, value,
    unit, machine, device, label, results file and date. A --quick GPU run supplies none."""
    out = []
    for snippet, runs in runs_by_snippet.items():
        for r in runs:
            if r["device"] == "cuda" and r["record"].get("quick"):
                continue
            base = {"machine": r["machine"], "device": r["device"], "label": r["label"],
                    "quick": bool(r["record"].get("quick"))}
            for h in HEADLINES:
                if h["snippet"] == snippet:
                    v = _at(r["result"], h["path"])
                    if v is not None:
                        out.append({**base, "key": h["key"], "value": v, "unit": h["unit"],
                                    "figure": h["en"], "file": r["path"],
                                    "measured_at": r["record"]["measured_at"]})
    seen = set()
    for runs in runs_by_snippet.values():  # the ceilings: once per machine and device
        for r in runs:
            key = (r["machine"], r["device"])
            if key in seen or not r.get("ceilings"):
                continue
            seen.add(key)
            c = r["ceilings"]
            for h in HEADLINES:
                if h["snippet"] != "@ceiling":
                    continue
                e = c.get("bandwidth") if h["path"] == "bandwidth" else c["compute"].get(h["path"])
                if e:
                    out.append({"machine": r["machine"], "device": r["device"], "label": r["label"],
                                "quick": bool(r["record"].get("quick")), "key": h["key"],
                                "value": e["value"], "unit": h["unit"], "figure": h["en"],
                                "file": f"results/{r['machine']}/{e['snippet']}.json",
                                "measured_at": r["record"]["measured_at"]})
    return out


def summary_csv(runs_by_snippet):
    """results/summary.csv: one line per machine, device and headline figure."""
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["machine", "device", "device_name", "figure", "value", "unit", "results_file", "quick"])
    rows = sorted(headline_values(runs_by_snippet), key=lambda v: (v["machine"], v["device"], v["key"]))
    for v in rows:
        w.writerow([v["machine"], v["device"], v["label"], v["figure"], repr(float(v["value"])),
                    v["unit"], v["file"], "yes" if v["quick"] else "no"])
    return buf.getvalue()
