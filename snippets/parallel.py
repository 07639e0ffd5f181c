#!/usr/bin/env python3
"""How throughput grows with the amount of parallel work: elementwise ops, convolutions, launch cost.

Tests claim C1.1 of the article: deep-learning work applies one operation to many data
points at once, and a GPU runs far more of it in parallel than a CPU. Four experiments:

1. elementwise: y = a * x + b (fp32, ``torch.add(b, x, alpha=a)``) over a growing number
   of elements, 2^10 .. 2^26 on CUDA (2^10 .. 2^24 on CPU). Small sizes cannot fill a
   GPU, so its time stays flat at the launch cost; big sizes show its memory bandwidth.
2. conv: a 3x3 convolution, 64 -> 64 channels on 32 x 32 images (fp32, padding 1), over a
   growing batch, 1 .. 256 images on CUDA (1 .. 32 on CPU). One image is not enough work to
   fill a GPU; a batch is.
3. tiny_op: the fixed cost of one almost empty op (adding two 1-element tensors). On CUDA
   that is the floor set by the CPU launching a kernel; nothing on a GPU is cheaper.
4. cpu_threads (CPU only): the convolution at a fixed batch with 1, 2, 4 ... threads: how
   far the CPU's own parallelism goes.

On CUDA, ops are queued: the time per call of a small op is how fast the CPU can launch
kernels, which is also what a training loop of small ops sees.

The sizes on CPU are a prefix of the sizes on CUDA, so a page can put a CPU run and a CUDA
run side by side and find the crossover: the smallest size above which one device wins.

Copy and run (only torch is needed):

    python parallel.py                          # CUDA if present, else CPU
    python parallel.py --device cpu --quick     # seconds on a laptop
    python parallel.py --device cuda --out parallel.json

Prints one JSON object to stdout (or to --out): per series a list of points, each with the
time per call (runs, min / median / max / iqr over the timed runs), the throughput and the
time per element or per image. Progress lines go to stderr.

Formulas (what counts):
  elementwise: 2 FLOPs per element (a multiply and an add); bytes = 12 per element
               (read x and b, write y, 4 bytes each, fp32).
  conv:        FLOPs = 2 * Cin * Cout * k * k * Hout * Wout * N (one multiply-add per weight
               per output pixel per image; the bias add is not counted).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

METHOD_VERSION = 2  # 2: blocks sized from one warm call; working set per point
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of calls per timed block (see time_call)

# Conv layer shape: a typical mid-network ResNet-style block on CIFAR-sized feature maps.
CIN, COUT, K, HW = 64, 64, 3, 32


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def grids(device, quick):
    """Element counts and batch sizes. CPU grids are prefixes of the CUDA grids, so the two
    runs share every size the CPU reaches (the page needs equal sizes to compare)."""
    elems = [2 ** e for e in range(10, 27)]          # 2^10 .. 2^26, every power of two
    batches = [2 ** e for e in range(0, 9)]          # 1 .. 256
    if quick:
        return [2 ** e for e in range(10, 19, 2)], batches[:3]  # 2^10..2^18 step 4x; 1, 2, 4
    if device.type == "cpu":
        return elems[:15], batches[:6]               # up to 2^24 elements, 32 images
    return elems, batches


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


def spread(times):
    t = sorted(times)
    n = len(t)
    med = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
    return {"runs": n, "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": t[(3 * n) // 4] - t[n // 4]}


def elementwise(device, sizes, min_run_time, gen):
    points = []
    for n in sizes:
        x = torch.randn(n, device=device, generator=gen)
        b = torch.randn(n, device=device, generator=gen)
        y = torch.empty(n, device=device)
        # out= keeps allocation out of the timing: we time the arithmetic and memory traffic.
        fn = lambda: torch.add(b, x, alpha=1.5, out=y)
        s = spread(time_call(fn, device, min_run_time))
        nbytes = 12 * n
        p = {"elements": n, **s, "working_set_bytes": nbytes,
             "elements_per_s": n / s["median_s"], "s_per_element": s["median_s"] / n,
             "gb_per_s_median": nbytes / s["median_s"] / 1e9,
             "gb_per_s_max": nbytes / s["min_s"] / 1e9, "gb_per_s_min": nbytes / s["max_s"] / 1e9,
             "gflop_per_s_median": 2 * n / s["median_s"] / 1e9}
        points.append(p)
        log(f"  elements=2^{n.bit_length() - 1:<2d} {s['median_s'] * 1e6:10.1f} us "
            f"{p['gb_per_s_median']:8.2f} GB/s  (median of {s['runs']})")
        del x, b, y
    return {"op": "y = a * x + b (torch.add(b, x, alpha=a, out=y)), fp32",
            "bytes_per_element": 12, "flops_per_element": 2, "points": points}


def conv_flops(n):
    # Every output pixel of every output channel of every image is a dot product of length
    # Cin*k*k: that many multiplies and adds. Stride 1, padding 1: Hout = Wout = HW.
    return 2 * CIN * COUT * K * K * HW * HW * n


def conv_point(device, n, min_run_time, gen, w, bias):
    x = torch.randn(n, CIN, HW, HW, device=device, generator=gen)
    fn = lambda: F.conv2d(x, w, bias, padding=1)
    s = spread(time_call(fn, device, min_run_time))
    f = conv_flops(n)
    return {"batch": n, **s, "flops": f,
            "images_per_s": n / s["median_s"], "s_per_image": s["median_s"] / n,
            "gflop_per_s_median": f / s["median_s"] / 1e9,
            "gflop_per_s_max": f / s["min_s"] / 1e9, "gflop_per_s_min": f / s["max_s"] / 1e9}


def conv(device, batches, min_run_time, gen):
    w = torch.randn(COUT, CIN, K, K, device=device, generator=gen) * 0.05
    bias = torch.randn(COUT, device=device, generator=gen)
    points = []
    for n in batches:
        p = conv_point(device, n, min_run_time, gen, w, bias)
        points.append(p)
        log(f"  batch={n:4d} {p['median_s'] * 1e3:9.3f} ms {p['gflop_per_s_median']:9.1f} GFLOP/s "
            f"{p['images_per_s']:10.0f} images/s")
    return {"op": f"conv2d {CIN}->{COUT} channels, {K}x{K}, {HW}x{HW}, padding 1, fp32",
            "cin": CIN, "cout": COUT, "kernel": K, "height": HW, "width": HW, "points": points}


def tiny_op(device, min_run_time):
    a = torch.randn(1, device=device)
    b = torch.randn(1, device=device)
    c = torch.empty(1, device=device)
    fn = lambda: torch.add(a, b, out=c)
    # queued: ops issued back to back; time_call syncs only around a block of many calls, so this
    # is the cost per op as the CPU dispatches and launches it (the GPU keeps up easily).
    out = {"op": "torch.add of two 1-element fp32 tensors",
           "queued": spread(time_call(fn, device, min_run_time))}
    log(f"  tiny op, back to back: {out['queued']['median_s'] * 1e6:.2f} us per op")
    if device.type == "cuda":
        # round_trip: launch one op and wait for it: launch + GPU execution + synchronise.
        def one_and_wait():
            torch.add(a, b, out=c)
            torch.cuda.synchronize(device)
        out["round_trip"] = spread(time_call(one_and_wait, device, min_run_time))
        log(f"  tiny op, launch and wait: {out['round_trip']['median_s'] * 1e6:.2f} us")
    else:
        out["round_trip"] = {"status": "skipped",
                             "reason": "CPU ops run synchronously: 'queued' is already the round trip"}
    return out


def cpu_threads(quick, min_run_time, gen, batch):
    """The conv at a fixed batch with a growing number of CPU threads (intra-op parallelism)."""
    max_t = torch.get_num_threads()
    counts = sorted({1, max_t} if quick else {min(2 ** e, max_t) for e in range(8)} | {max_t})
    w = torch.randn(COUT, CIN, K, K, generator=gen) * 0.05
    bias = torch.randn(COUT, generator=gen)
    points = []
    try:
        for t in counts:
            torch.set_num_threads(t)  # intra-op threads for the calls time_call makes
            p = {"threads": t, **conv_point(torch.device("cpu"), batch, min_run_time, gen, w, bias)}
            points.append(p)
            log(f"  threads={t:3d} {p['gflop_per_s_median']:9.1f} GFLOP/s")
    finally:
        torch.set_num_threads(max_t)
    base = points[0]["median_s"]
    for p in points:
        p["speedup_vs_1_thread"] = base / p["median_s"]
    return {"batch": batch, "max_threads": max_t, "points": points}


def measure(device, quick=False):
    """Run every experiment on `device`; return a plain dict (see the module docstring)."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(0)
    elems, batches = grids(device, quick)
    min_run_time = 0.03 if quick else 0.2
    out = {"sizes": {"elements": elems, "batches": batches}}

    log("tiny op (fixed cost per op):")
    try:
        out["tiny_op"] = tiny_op(device, min_run_time)
    except Exception as e:  # record, do not crash: the other series still mean something
        out["tiny_op"] = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}

    log("elementwise y = a*x + b:")
    try:
        out["elementwise"] = elementwise(device, elems, min_run_time, gen)
    except Exception as e:
        out["elementwise"] = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}

    log("conv2d 3x3 over batch:")
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32)
    try:
        if device.type == "cuda":
            # benchmark=True: cuDNN tries its algorithms once per shape (during the warm-up)
            # and keeps the fastest, as training scripts do. allow_tf32=False: cuDNN would
            # otherwise run "fp32" convolutions in TF32 on tensor cores; we measure real fp32.
            torch.backends.cudnn.benchmark = True
            torch.backends.cudnn.allow_tf32 = False
        out["conv"] = conv(device, batches, min_run_time, gen)
        out["conv"]["tf32"] = False
    except Exception as e:
        out["conv"] = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32 = saved

    if device.type == "cpu":
        log("conv2d on CPU over threads:")
        try:
            out["cpu_threads"] = cpu_threads(quick, min_run_time, gen, batch=4 if quick else 16)
        except Exception as e:
            out["cpu_threads"] = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}
    else:
        out["cpu_threads"] = {"status": "skipped",
                              "reason": "a thread sweep is a CPU experiment; run with --device cpu"}
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
    ap.add_argument("--quick", action="store_true", help="small sizes that finish in seconds")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    result = {"snippet": "parallel", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device), **measure(device, quick=args.quick)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
