"""A SYNTHETIC GPU box for tests: every snippet's committed CPU result turned into a CUDA result
`factor` times as fast (0.5: a GPU slower than the CPU; 100: far faster), in each snippet's
CUDA schema. Only ever written into a temporary copy of the project: never published.

The host CPU's own work (the data loader, the offloaded AdamW step) keeps the CPU's speed, so
that the verdicts about the CPU keeping up with the GPU follow the factor as they would on a
real box."""
import copy
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME = "Test GPU 9000"      # no datasheet matches it: the plausibility bound does not apply
SLUG = "test-gpu-box"
GPUS = 8


def _is_rate(key):
    return "per_s" in key or key.startswith("tflops") or key.endswith("_tflops")


def _is_time(key):
    return key.endswith("_s") and "per_s" not in key


def scaled(obj, factor, key=""):
    """Rates times factor, durations divided by it, everything else as it was."""
    if isinstance(obj, dict):
        return {k: scaled(v, factor, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scaled(v, factor, key) for v in obj]
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        if _is_rate(key):
            return obj * factor
        if _is_time(key):
            return obj / factor
    return obj


def _spread(med, runs=7):
    return {"status": "ok", "runs": runs, "min_s": med * 0.95, "median_s": med, "max_s": med * 1.1,
            "iqr_s": med * 0.03}


def _device(extra=None):
    return {"type": "cuda", "name": NAME, "capability": "9.0", "multiprocessors": 132, **(extra or {})}


def parallel(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    q = g["tiny_op"]["queued"]["median_s"]
    g["tiny_op"]["round_trip"] = {"runs": 5, "min_s": 2 * q, "median_s": 2.2 * q, "max_s": 3 * q, "iqr_s": q / 10}
    g["cpu_threads"] = {"status": "skipped", "reason": "a thread sweep is a CPU experiment"}
    return g


def matmul(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    tf32 = copy.deepcopy(g["dtypes"]["fp32"])
    tf32["rel_err_vs_fp64"] = 1000 * tf32["rel_err_vs_fp64"]
    tf32["max_rel_err"] = 0.01
    g["dtypes"]["tf32"] = tf32
    g.pop("numpy", None)
    return g


def bandwidth(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    link = lambda gb: {"gb_per_s": gb, "gb_per_s_min": gb * 0.9, "gb_per_s_max": gb * 1.05,
                       "bytes": 1 << 30, **_spread((1 << 30) / (gb * 1e9))}
    g["host_device"] = {"h2d_pinned": link(25.0), "d2h_pinned": link(26.0),
                        "h2d_pageable": link(12.0), "d2h_pageable": link(11.0)}
    return g


def cnn_train(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    g["precisions"]["tf32"] = copy.deepcopy(g["precisions"]["fp32"])
    return g


def gpt_train(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    g["profile"]["source"] = "CUDA kernel time"
    return g


def cpu_control(cpu, k):
    """On-device AdamW `k` times the CPU's rate; offloading pays two 25 GB/s copies and the
    host CPU's own step (the committed CPU step)."""
    g = scaled(cpu, k)
    g["device"] = _device()
    sizes = []
    for s in cpu["update"]["sizes"]:
        n, step = s["params"], s["offload"]["cpu_step"]
        on = {**_spread(step["median_s"] / k), "impl": "fused", "gb_per_s": step["gb_per_s"] * k}
        d2h = {**_spread(4 * n / 25e9), "gb_per_s": 25.0}
        h2d = {**_spread(4 * n / 24e9), "gb_per_s": 24.0}
        tot = _spread(d2h["median_s"] + step["median_s"] + h2d["median_s"])
        tot["vs_on_device"] = tot["median_s"] / on["median_s"]
        sizes.append({**s, "on_device": on,
                      "offload": {"d2h": d2h, "cpu_step": copy.deepcopy(step), "h2d": h2d, "total": tot}})
    g["update"]["sizes"] = sizes
    for b in g["launch"]["batches"]:
        b["cuda_kernels_per_step"] = 58
        e = b["eager"]["median_s"]
        b["cuda_graph"] = {**_spread(e / 3), "loss_rel_diff_vs_eager": 1e-7, "loss_check": "ok",
                           "tflops": b["flops_per_step"] / (e / 3) / 1e12, "speedup_vs_eager": 3.0}
    return g


def dataloader(cpu, k):
    """The model `k` times as fast; the loaders keep the host CPU's committed rates."""
    g = copy.deepcopy(cpu)
    g["device"] = _device({"host_cores": cpu.get("cores", 2)})
    model = cpu["model"]["samples_per_s"] * k
    g["model"] = {**scaled(cpu["model"], k), "samples_per_s": model}
    loaders = []
    for lo in g["loader"]:  # a CPU run skips pin_memory; on a GPU box it runs, a little slower
        if lo.get("status") != "ok" and loaders:
            lo = {**copy.deepcopy(loaders[-1]), "pin_memory": True}
            lo["samples_per_s"] *= 0.97
        loaders.append(lo)
    g["loader"] = loaders
    g["end_to_end"] = []
    for lo in g["loader"]:
        e = min(lo["samples_per_s"], model) * 0.95
        g["end_to_end"].append({**copy.deepcopy(lo), "samples_per_s": e, "samples_per_s_min": e * 0.9,
                                "samples_per_s_max": e * 1.05, "expected_samples_per_s": min(lo["samples_per_s"], model),
                                "bottleneck": "loader" if lo["samples_per_s"] < model else "model",
                                "device_idle_share_estimate": max(0.0, 1 - e / model)})
    best = max(g["end_to_end"], key=lambda e: e["samples_per_s"])
    keep = [lo["num_workers"] for lo in g["loader"] if lo["samples_per_s"] >= model]
    g["summary"] = {**g["summary"], "model_samples_per_s": model,
                    "best_end_to_end": {x: best[x] for x in ("num_workers", "pin_memory", "samples_per_s",
                                                             "bottleneck", "device_idle_share_estimate")},
                    "min_workers_to_keep_up": min(keep) if keep else None}
    return g


def framework(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    g["libraries"].update(cuda_version="12.8", cuda_available=True, cudnn_version=90100,
                          nccl_version="2.26.2", triton_version="3.3.0", cudnn_available=True)
    g["libraries"]["build_settings"].update(USE_CUDA="ON", USE_CUDNN="ON", USE_NCCL="1")
    return g


def roofline(cpu, k):
    g = scaled(cpu, k)
    g["device"] = _device()
    g.pop("skipped_dtypes", None)
    g["kernels"] += [dict(kk, dtype="bf16", intensity_flop_per_byte=2 * kk["intensity_flop_per_byte"],
                          gflop_per_s_median=4 * kk["gflop_per_s_median"], gflop_per_s_min=4 * kk["gflop_per_s_min"],
                          gflop_per_s_max=4 * kk["gflop_per_s_max"])
                     for kk in g["kernels"] if "status" not in kk and kk["name"] in ("matmul", "bmm")]
    g["ceilings"]["bf16"] = dict(g["ceilings"]["fp32"])
    return g


def allreduce(cpu, k):
    g = scaled(cpu, k)
    g["backend"] = "nccl"
    g["device"] = _device({"gpus": GPUS})
    for grp in g["groups"]:
        grp["world_size"] = GPUS
    return g


FAKES = {"parallel": parallel, "matmul": matmul, "bandwidth": bandwidth, "cnn_train": cnn_train,
         "gpt_train": gpt_train, "cpu_control": cpu_control, "dataloader": dataloader,
         "framework": framework, "roofline": roofline, "allreduce": allreduce}


def fake_box(factor, results_dir=ROOT / "docs" / "results"):
    """{snippet: results-file dict} of a synthetic GPU box whose GPU is `factor` times the CPU."""
    out = {}
    for snippet, make in FAKES.items():
        path = next(pathlib.Path(results_dir).glob(f"*/{snippet}.json"))
        data = json.loads(path.read_text())
        run = copy.deepcopy(data["runs"]["cpu"])
        run.pop("repeats", None)  # the CPU's own independent runs are no GPU's
        run["result"] = make(run["result"], factor)
        run["quick"] = run["result"]["quick"] = False
        run["software"] = {**run["software"], "cuda": "12.8"}
        out[snippet] = {"schema_version": data["schema_version"], "snippet": snippet,
                        "machine": dict(data["machine"], slug=SLUG,
                                        gpu={"name": NAME, "count": GPUS, "memory_gb": 80}),
                        "runs": {"cuda": run}}
    return out


def write_box(proj, factor):
    folder = pathlib.Path(proj) / "docs" / "results" / SLUG
    folder.mkdir(parents=True)
    box = fake_box(factor, pathlib.Path(proj) / "docs" / "results")
    for snippet, data in box.items():
        (folder / f"{snippet}.json").write_text(json.dumps(data))
    return box
