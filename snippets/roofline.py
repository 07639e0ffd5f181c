#!/usr/bin/env python3
"""The roofline of one device: its two ceilings, and kernels of known arithmetic intensity under them.

Tests claim X2: whether a kernel is bound by compute or by memory follows from its
arithmetic intensity (FLOPs per byte moved to or from DRAM) and two measured ceilings of the
device: peak FLOP/s and peak memory bandwidth. Below the ridge point (peak FLOP/s divided by
peak bytes/s) a kernel can at best run at intensity x bandwidth; above it, at peak FLOP/s.

Measured here, on one device:
  ceilings   this run's own: peak bandwidth, the best of the memory-bound kernels below
             (bytes counted as read + written once), on buffers at least 4x the last-level
             cache (CPU: L3 from /sys; GPU: L2 size); peak compute, the best matmul of the
             sweep below, per dtype. (The site's roofline page draws the machine's ceilings
             instead: the best rate any snippet reached on the device.)
  kernels    vector add, triad, sum, row softmax, GEMV (fp32): memory bound by design;
             square matmuls n = 64 .. 4096 (8192 on CUDA; the sweep stops early where the
             next size would take too long) and batches of 32x32 .. 128x128 matmuls
             (fp32, plus bf16 on CUDA): intensity grows with n.
Each kernel gets its intensity, its achieved GFLOP/s and GB/s (min / median / max over the
timed runs), the roofline's bound at that intensity and the fraction of it reached.

Copy and run (only torch is needed):

    python roofline.py                          # CUDA if present, else CPU
    python roofline.py --device cpu --quick     # seconds on a laptop (small buffers: cache, not DRAM)
    python roofline.py --device cuda --out roofline.json

Prints one JSON object to stdout (or to --out); progress lines go to stderr.

Bytes are the minimum DRAM traffic: every input read once, every output written once (the
STREAM convention; a CPU's write-allocate reads are not counted, so kernels that store run
below the roof there, and sum, which stores nothing, may set the bandwidth ceiling). With s = bytes per element
(4 for fp32, 2 for bf16), over N elements:
  copy        y = x                0 FLOPs,        8N bytes   intensity 0
  vector_add  z = x + y            N FLOPs,       12N bytes   1/12
  triad       z = y + a * x       2N FLOPs,       12N bytes   1/6
  sum         s = sum(x)           N FLOPs,        4N bytes   1/4
  softmax     rows of 1024        5N FLOPs,        8N bytes   5/8  (max, subtract, exp, sum,
                                                                    divide; exp counted as 1)
  gemv        y = A x, A m x k   2mk FLOPs, 4(mk + k + m) bytes  ~1/2
  matmul      C = A B, n x n    2n^3 FLOPs,     3 s n^2 bytes   n/6 fp32, n/3 bf16
  bmm         b matmuls n x n  2bn^3 FLOPs,   3 s b n^2 bytes   the same as one matmul
"""
import argparse
import glob
import json
import os
import sys
import time

import torch

METHOD_VERSION = 2  # 2: blocks sized from one warm call; bandwidth roof from every memory kernel
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of calls per timed block (see time_call)
ROW = 1024    # softmax row length
GEMV_K = 4096  # GEMV matrix width
MEMORY_KERNELS = ("copy", "vector_add", "triad", "sum", "softmax", "gemv")
DTYPE = {"fp32": torch.float32, "bf16": torch.bfloat16}
SIZE = {"fp32": 4, "bf16": 2}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def random_buffer(shape, device, gen, dtype=None):
    """A buffer of normal random values, filled at memory speed: one random block of 2^20
    elements, repeated. (randn itself fills about 0.2 GB/s on a 2-core CPU, most of this
    snippet's run time for buffers of gigabytes; the rates timed here do not depend on the values.)"""
    numel = 1
    for s in (shape if isinstance(shape, tuple) else (shape,)):
        numel *= s
    block = torch.randn(min(numel, 1 << 20), dtype=dtype, device=device, generator=gen)
    out = torch.empty(numel, dtype=block.dtype, device=device)
    whole = numel // block.numel() * block.numel()
    out[:whole].view(-1, block.numel()).copy_(block)  # each row one copy of the block
    out[whole:].copy_(block[:numel - whole])
    return out.view(shape)


def last_level_cache(device):
    """(bytes, where it came from) of the last-level cache: the GPU's L2, or the CPU's L3
    summed over its instances (a many-core CPU has one L3 per chiplet)."""
    if device.type == "cuda":
        size = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0)
        if size:
            return size, "torch.cuda.get_device_properties().L2_cache_size"
        return 50 * 2 ** 20, "assumed 50 MiB (this torch does not report the L2 size)"
    instances = {}
    for d in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cache/index[0-9]*"):
        try:
            with open(d + "/level") as f:
                if f.read().strip() != "3":
                    continue
            with open(d + "/size") as f:
                text = f.read().strip()
            with open(d + "/shared_cpu_list") as f:
                shared = f.read().strip()
        except OSError:
            continue
        unit = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(text[-1:], 1)
        instances[shared] = int(text.rstrip("KMG")) * unit
    if instances:
        return sum(instances.values()), f"/sys/devices/system/cpu: {len(instances)} L3 instance(s)"
    return 32 * 2 ** 20, "assumed 32 MiB (no L3 listed under /sys/devices/system/cpu)"


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


def spread(times, flops, nbytes):
    t = sorted(times)
    n = len(t)
    med = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
    return {"runs": n, "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": t[(3 * n) // 4] - t[n // 4], "flops": flops, "bytes": nbytes,
            "intensity_flop_per_byte": flops / nbytes,
            "gflop_per_s_median": flops / med / 1e9, "gflop_per_s_max": flops / t[0] / 1e9,
            "gflop_per_s_min": flops / t[-1] / 1e9,
            "gb_per_s_median": nbytes / med / 1e9, "gb_per_s_max": nbytes / t[0] / 1e9,
            "gb_per_s_min": nbytes / t[-1] / 1e9}


def run_kernel(kernels, name, dtype, shape, fn, flops, nbytes, device, min_run_time):
    """Time one kernel, append its record to `kernels`; a failure is recorded, not raised."""
    try:
        rec = {"name": name, "dtype": dtype, "shape": shape,
               **spread(time_call(fn, device, min_run_time), flops, nbytes),
               "working_set_bytes": nbytes}
        log(f"  {name:10s} {dtype} {shape:22s} I={rec['intensity_flop_per_byte']:8.3f} "
            f"{rec['gflop_per_s_median']:10.1f} GFLOP/s {rec['gb_per_s_median']:9.1f} GB/s")
    except Exception as e:  # e.g. out of memory, or an op this build lacks
        rec = {"name": name, "dtype": dtype, "shape": shape, "status": "skipped",
               "reason": f"{type(e).__name__}: {e}"[:300]}
        log(f"  {name} {dtype} {shape}: skipped ({rec['reason']})")
    kernels.append(rec)
    return rec


def memory_kernels(device, n, min_run_time, gen):
    """The memory-bound kernels on three fp32 buffers of n elements each (views reuse them)."""
    x = random_buffer(n, device, gen)
    y = random_buffer(n, device, gen)
    z = torch.empty(n, device=device)
    # out= everywhere: a fresh output per call would time the allocator (and, on a CPU, the
    # page faults of fresh memory) instead of the kernel.
    ks = []
    args = (device, min_run_time)
    run_kernel(ks, "copy", "fp32", f"{n}", lambda: z.copy_(x), 0, 8 * n, *args)
    run_kernel(ks, "vector_add", "fp32", f"{n}", lambda: torch.add(x, y, out=z), n, 12 * n, *args)
    run_kernel(ks, "triad", "fp32", f"{n}", lambda: torch.add(y, x, alpha=3.0, out=z),
               2 * n, 12 * n, *args)
    run_kernel(ks, "sum", "fp32", f"{n}", lambda: x.sum(), n, 4 * n, *args)
    r = n // ROW
    run_kernel(ks, "softmax", "fp32", f"{r}x{ROW}",
               lambda: torch.softmax(x.view(r, ROW), -1, out=z.view(r, ROW)), 5 * n, 8 * n, *args)
    m = n // GEMV_K
    a, v, out = x.view(m, GEMV_K), y[:GEMV_K], z[:m]
    run_kernel(ks, "gemv", "fp32", f"{m}x{GEMV_K}", lambda: torch.mv(a, v, out=out),
               2 * m * GEMV_K, 4 * (m * GEMV_K + GEMV_K + m), *args)
    return ks


def matmul_kernels(device, dtype, sizes, batched, min_run_time, budget_s, gen):
    """Square matmuls over `sizes`, then batches of small ones, in `dtype`."""
    ks = []
    s, tdt = SIZE[dtype], DTYPE[dtype]
    last = None
    for n in sizes:
        # Skip sizes that would blow the time budget: n doubles, the work grows 8x, and a
        # point costs about (warm-up + MIN_RUNS + calibration) calls.
        if last is not None and last * 8 * (MIN_RUNS + 3) > budget_s:
            log(f"  stopping the matmul sweep before n={n}: it would take over {budget_s:.0f} s")
            break
        a = torch.randn(n, n, device=device, generator=gen).to(tdt)
        b = torch.randn(n, n, device=device, generator=gen).to(tdt)
        c = torch.empty(n, n, device=device, dtype=tdt)
        rec = run_kernel(ks, "matmul", dtype, f"{n}x{n}x{n}", lambda: torch.mm(a, b, out=c),
                         2 * n ** 3, 3 * s * n * n, device, min_run_time)
        rec["n"] = n
        del a, b, c
        last = rec.get("median_s", float("inf"))
    for bsz, n in batched:
        a = random_buffer((bsz, n, n), device, gen).to(tdt)
        b = random_buffer((bsz, n, n), device, gen).to(tdt)
        c = torch.empty(bsz, n, n, device=device, dtype=tdt)
        rec = run_kernel(ks, "bmm", dtype, f"{bsz}x{n}x{n}x{n}", lambda: torch.bmm(a, b, out=c),
                         2 * bsz * n ** 3, 3 * s * bsz * n * n, device, min_run_time)
        rec.update(n=n, batch=bsz)
        del a, b, c
    return ks


def plan(device, quick, llc):
    """Buffer length (elements), square sizes, (batch, n) of the batched matmuls, dtypes."""
    if quick:  # small: finishes in seconds, but the buffers may sit in cache
        return 2 ** 22, [64, 256, 512], [(2 ** 12, 32)], ["fp32"]
    # Each buffer >= 4x the last-level cache (and >= 64 MiB), so the data streams from DRAM.
    need = max(4 * llc, 64 * 2 ** 20) // 4
    n = 1 << (need - 1).bit_length()  # the next power of two: rows of 1024 and 4096 divide it
    # Batched small matmuls, many independent problems at once, with as many elements as one
    # buffer; the batch is capped at 2^15 because some CUDA kernels put the batch on a grid
    # axis limited to 65535.
    batched = [(min(n // (k * k), 2 ** 15), k) for k in (32, 64, 128)]
    if device.type == "cuda":
        return n, [2 ** e for e in range(6, 14)], batched, ["fp32", "bf16"]
    return n, [2 ** e for e in range(6, 13)], batched, ["fp32"]


def measure(device, quick=False):
    """Measure the ceilings and every kernel on `device`; return a plain dict."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(0)
    min_run_time = 0.03 if quick else 0.2
    budget_s = 5.0 if quick else 10.0
    llc, llc_source = last_level_cache(device)
    n, sizes, batched, dtypes = plan(device, quick, llc)
    out = {"llc": {"bytes": llc, "source": llc_source},
           "buffer": {"elements": n, "bytes": 4 * n, "times_llc": 4 * n / llc},
           "kernels": []}
    if device.type == "cpu":
        out["skipped_dtypes"] = {"bf16": {"status": "skipped", "reason":
                                          "bf16 is measured on CUDA only (tensor cores); "
                                          "fp32 is the CPU's native training dtype"}}
    # "highest": fp32 matmuls stay fp32 (no TF32 tensor cores on CUDA), so fp32 means fp32.
    saved_precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        log(f"memory-bound kernels on 3 buffers of {4 * n / 2 ** 20:.0f} MiB "
            f"(last-level cache {llc / 2 ** 20:.0f} MiB):")
        try:
            out["kernels"] += memory_kernels(device, n, min_run_time, gen)
        except Exception as e:  # e.g. out of memory while allocating the buffers
            out["memory_kernels_error"] = f"{type(e).__name__}: {e}"[:300]
        if device.type == "cuda":
            torch.cuda.empty_cache()
        for dt in dtypes:
            log(f"matmuls, {dt}:")
            out["kernels"] += matmul_kernels(device, dt, sizes, batched, min_run_time, budget_s, gen)
    finally:
        torch.set_float32_matmul_precision(saved_precision)

    # The two ceilings, from the measurements above.
    ok = [k for k in out["kernels"] if "status" not in k]
    bw = [k for k in ok if k["name"] in MEMORY_KERNELS]
    ceil = {}
    if bw:
        best = max(bw, key=lambda k: k["gb_per_s_median"])
        ceil["bandwidth"] = {"peak_gb_per_s": best["gb_per_s_median"], "kernel": best["name"],
                             "gb_per_s_min": best["gb_per_s_min"],
                             "gb_per_s_max": best["gb_per_s_max"],
                             "buffer_bytes": 4 * n, "buffer_times_llc": 4 * n / llc}
    for dt in dtypes:
        mm = [k for k in ok if k["dtype"] == dt and k["name"] in ("matmul", "bmm")]
        if not mm:
            continue
        best = max(mm, key=lambda k: k["gflop_per_s_median"])
        ceil[dt] = {"peak_gflop_per_s": best["gflop_per_s_median"], "kernel": best["name"],
                    "shape": best["shape"], "gflop_per_s_min": best["gflop_per_s_min"],
                    "gflop_per_s_max": best["gflop_per_s_max"]}
        if bw:
            # Ridge point: the intensity at which moving the bytes takes as long as the FLOPs.
            ceil[dt]["ridge_point_flop_per_byte"] = (ceil[dt]["peak_gflop_per_s"]
                                                     / ceil["bandwidth"]["peak_gb_per_s"])
    out["ceilings"] = ceil

    # Place each kernel under its dtype's roofline: attainable = min(peak, intensity x bandwidth).
    # fraction_of_roofline can pass 1 where the data sits in cache (small matmuls, --quick).
    for k in ok:
        c = ceil.get(k["dtype"])
        if c and "bandwidth" in ceil:
            roof = min(c["peak_gflop_per_s"],
                       k["intensity_flop_per_byte"] * ceil["bandwidth"]["peak_gb_per_s"])
            k["bound"] = ("memory" if k["intensity_flop_per_byte"] < c["ridge_point_flop_per_byte"]
                          else "compute")
            k["roofline_gflop_per_s"] = roof
            k["fraction_of_roofline"] = k["gflop_per_s_median"] / roof if roof > 0 else None
    return out


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}",
                "multiprocessors": p.multi_processor_count}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads(),
            "logical_cpus": os.cpu_count()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="device to measure (default: cuda if available, else cpu)")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes that finish in seconds (buffers may fit in cache)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    result = {"snippet": "roofline", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device), **measure(device, quick=args.quick)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
