#!/usr/bin/env python3
"""Matrix-multiply throughput by dtype, and each dtype's error against an fp64 reference.

Tests claims C2.1 and C2.2 of the article: is a GPU faster *and* more precise at
floating point than a CPU? Square products C = A @ B are timed over a sweep of sizes for
fp64, fp32 (TF32 off), tf32, bf16, fp16 and fp8 (``torch._scaled_mm`` with per-tensor
scales, bf16 output, and use_fast_accum=False: full-precision accumulation). Before anything
is timed, every dtype's result is compared with an fp64 product of the same inputs.

Copy and run (only torch is needed; numpy, where installed, is timed as a CPU reference):

    python matmul.py                          # CUDA if present, else CPU
    python matmul.py --device cpu --quick     # seconds on a laptop
    python matmul.py --device cuda --out matmul.json

Prints one JSON object to stdout (or to --out): per dtype the TFLOP/s at each size with
min / median / max over the timed runs, the best size, and the relative error vs fp64.
A dtype the device cannot run is reported as skipped, with the reason. Progress lines go
to stderr.

FLOPs of one n x n x n product: n^3 multiply-adds = 2 * n^3 floating-point operations.
"""
import argparse
import json
import sys
import time

import torch

METHOD_VERSION = 3  # 2: blocks sized from one warm call; fp8 accumulation stated
                    # 3: a CPU's largest size follows its core count (see sizes_for)
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of calls per timed block (see time_call)

DTYPES = ["fp64", "fp32", "tf32", "bf16", "fp16", "fp8"]
TORCH_DTYPE = {"fp64": torch.float64, "fp32": torch.float32, "tf32": torch.float32,
               "bf16": torch.bfloat16, "fp16": torch.float16}
# Relative Frobenius error vs fp64 above which a result counts as wrong, not just imprecise.
# Generous: the point is to catch a broken kernel, the page reports the measured error.
FP8_FAST_ACCUM = False  # torch._scaled_mm's use_fast_accum
MAX_REL_ERR = {"fp64": 1e-12, "fp32": 1e-4, "tf32": 1e-2, "bf16": 5e-2, "fp16": 1e-2, "fp8": 0.2}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sizes_for(device, quick):
    if quick:
        return [128, 256, 512]
    if device.type == "cuda":
        return [256, 512, 1024, 2048, 4096, 8192, 16384]
    # A few cores are busy for tens of milliseconds per call at n = 2048, past where the rate
    # stops growing; more cores need larger products to keep busy. (On 2 vCPUs, 3072 was no
    # faster than 2048 for any dtype but fp64, within noise, and cost half the run's time.)
    if torch.get_num_threads() <= 4:
        return [256, 512, 1024, 2048]
    return [256, 512, 1024, 2048, 3072, 4096]


def set_tf32(enabled):
    # "highest" keeps fp32 matmuls in full fp32; "high" lets CUDA use TF32 tensor cores.
    torch.set_float32_matmul_precision("high" if enabled else "highest")


def skip_reason(name, device):
    """Why `device` cannot run dtype `name`, or None if it can."""
    if name == "tf32" and device.type != "cuda":
        return "TF32 is a CUDA tensor-core mode; CPUs have no TF32 matmul"
    if name == "fp8":
        if device.type != "cuda":
            return "fp8 matmul (torch._scaled_mm) needs a CUDA GPU of compute capability 8.9+"
        if torch.cuda.get_device_capability(device) < (8, 9):
            return "fp8 matmul needs compute capability 8.9+ (Ada, Hopper or newer)"
        if not hasattr(torch, "_scaled_mm") or not hasattr(torch, "float8_e4m3fn"):
            return "this torch has no torch._scaled_mm / float8_e4m3fn"
    return None


def make_product(name, a64, b64):
    """Cast fp64 inputs to dtype `name`; return a zero-argument function computing A @ B."""
    if name == "fp8":
        # Per-tensor scaling into e4m3's range; _scaled_mm wants B column-major.
        fmax = torch.finfo(torch.float8_e4m3fn).max
        sa = (a64.abs().max() / fmax).float()
        sb = (b64.abs().max() / fmax).float()
        a8 = (a64 / sa).to(torch.float8_e4m3fn)
        b8 = (b64 / sb).to(torch.float8_e4m3fn).t().contiguous().t()
        # use_fast_accum=False: products are accumulated at full precision, not in the
        # faster, coarser accumulator of fp8 tensor cores (FP8_FAST_ACCUM, recorded in the output).
        return lambda: torch._scaled_mm(a8, b8, scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16,
                                        use_fast_accum=FP8_FAST_ACCUM)
    a = a64.to(TORCH_DTYPE[name])
    b = b64.to(TORCH_DTYPE[name])
    return lambda: torch.matmul(a, b)


def rel_err(c, ref):
    c = c.to(torch.float64)
    return float(torch.linalg.norm(c - ref) / torch.linalg.norm(ref))


def time_call(fn, device, min_run_time, block_s=BLOCK_S):
    """Seconds per call of fn(), one figure per timed block of calls.

    Blocks are sized from one timed warm call: a block is as many calls as fill block_s, and
    blocks are timed until there are MIN_RUNS of them and min_run_time has passed. (Not
    torch.utils.benchmark's blocked_autorange: on a GPU it grows blocks until they are about
    10^4 times the cost of a synchronisation, seconds per point.) The clock is read only after
    torch.cuda.synchronize(), so queued GPU work is counted in the block that queued it.
    """
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    fn()  # warm-up: the first call picks kernels (cuBLAS / oneDNN), allocates, faults in pages
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    one = time.perf_counter() - t0
    number = max(1, int(block_s / max(one, 1e-7)))
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or spent < min_run_time:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        took = time.perf_counter() - t0
        times.append(took / number)
        spent += took
    return times


def spread(times, flops):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    return {"runs": len(t), "min_s": t[0], "median_s": med, "max_s": t[-1], "iqr_s": q3 - q1,
            "tflops_median": flops / med / 1e12, "tflops_max": flops / t[0] / 1e12,
            "tflops_min": flops / t[-1] / 1e12}


def sweep(make_fn, sizes, device, min_run_time, budget_s, gen):
    """Time square products over `sizes`; stop early once one size takes longer than budget_s."""
    points = []
    for n in sizes:
        a64 = torch.randn(n, n, dtype=torch.float64, device=device, generator=gen)
        b64 = torch.randn(n, n, dtype=torch.float64, device=device, generator=gen)
        fn = make_fn(a64, b64)
        del a64, b64
        t0 = time.perf_counter()
        times = time_call(fn, device, min_run_time)
        point = {"n": n, **spread(times, 2 * n ** 3)}
        points.append(point)
        log(f"  n={n:6d}  {point['tflops_median']:9.4f} TFLOP/s (median of {point['runs']})")
        if time.perf_counter() - t0 > budget_s:
            log(f"  stopping this sweep: n={n} took over {budget_s:.0f} s")
            break
    best = max(points, key=lambda p: p["tflops_median"])
    return {"sizes": points, "best": {"n": best["n"], "tflops": best["tflops_median"],
                                      "tflops_min": best["tflops_min"], "tflops_max": best["tflops_max"]}}


def measure(device, quick=False, dtypes=DTYPES, with_numpy=True):
    """Measure every dtype in `dtypes` on `device`; return a plain dict (see module docstring)."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(0)
    sizes = sizes_for(device, quick)
    min_run_time = 0.05 if quick else (0.2 if device.type == "cuda" else 0.3)
    budget_s = 5.0 if quick else 20.0
    check_n = 256 if quick else 1024
    out = {"dtypes": {}, "sizes": sizes, "check_n": check_n}

    # 1. Validate: each dtype's product against fp64 on the same inputs (C2.1's "precision").
    a64 = torch.randn(check_n, check_n, dtype=torch.float64, device=device, generator=gen)
    b64 = torch.randn(check_n, check_n, dtype=torch.float64, device=device, generator=gen)
    ref = a64 @ b64
    for name in dtypes:
        reason = skip_reason(name, device)
        if reason:
            out["dtypes"][name] = {"status": "skipped", "reason": reason}
            log(f"{name}: skipped ({reason})")
            continue
        set_tf32(name == "tf32")
        try:
            err = rel_err(make_product(name, a64, b64)(), ref)
        except (RuntimeError, NotImplementedError) as e:  # e.g. an op not built for this device
            out["dtypes"][name] = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}
            log(f"{name}: skipped ({e})")
            continue
        ok = err <= MAX_REL_ERR[name]
        out["dtypes"][name] = {"status": "ok" if ok else "wrong", "rel_err_vs_fp64": err,
                               "max_rel_err": MAX_REL_ERR[name]}
        if name == "fp8":
            out["dtypes"][name]["fast_accum"] = FP8_FAST_ACCUM
        log(f"{name}: relative error vs fp64 {err:.2e} ({'ok' if ok else 'WRONG'})")
    del a64, b64, ref
    if all(d["status"] != "wrong" for d in out["dtypes"].values()):
        log("All results match their fp64 reference. Starting benchmarks.")

    # 2. Time: the sweep over sizes for every dtype that validated.
    for name, entry in out["dtypes"].items():
        if entry["status"] != "ok":
            continue
        log(f"{name}:")
        set_tf32(name == "tf32")
        entry.update(sweep(lambda a, b: make_product(name, a, b), sizes, device,
                           min_run_time, budget_s, gen))
    set_tf32(False)

    # 3. Reference: numpy's BLAS on the same sizes (CPU only), when numpy is installed.
    out["numpy"] = None
    if with_numpy and device.type == "cpu":
        try:
            import numpy as np
        except ImportError:
            np = None
        if np is not None:
            out["numpy"] = {"version": np.__version__}
            for name, npdt in (("fp64", np.float64), ("fp32", np.float32)):
                log(f"numpy {name}:")
                out["numpy"][name] = sweep(
                    lambda a, b, npdt=npdt: (lambda x=a.cpu().numpy().astype(npdt),
                                             y=b.cpu().numpy().astype(npdt): x @ y),
                    sizes, device, min_run_time, budget_s, gen)
    return out


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}"}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="device to measure (default: cuda if available, else cpu)")
    ap.add_argument("--quick", action="store_true", help="small sizes that finish in seconds")
    ap.add_argument("--dtypes", nargs="+", default=DTYPES, choices=DTYPES,
                    help="dtypes to measure (default: all)")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy reference on CPU")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    result = {"snippet": "matmul", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, dtypes=args.dtypes, with_numpy=not args.no_numpy)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
