#!/usr/bin/env python3
"""Memory bandwidth of a device, and of the link between host and GPU.

Tests claim C3.1 of the article: GPU memory is much faster than CPU memory, and training,
which streams weights and activations through memory all the time, feels the difference.

Four kernels run on fp64 buffers (as STREAM does) at least 4x the last-level cache, so that
they measure DRAM/HBM, not cache. (Bytes are bytes, but on a CPU with few cores torch's fp32
elementwise loops can fall short of the memory, while its fp64 ones keep up.)
    read    s = sum(a)            bytes = N*8              (read only: no store at all)
    update  a = s*a, in place     bytes = 2*N*8            (read a + write a back)
    copy    b = a                 bytes = 2*N*8            (read a + write b)
    triad   a = b + s*c           bytes = 3*N*8            (read b, c + write a)
Bytes are counted as STREAM counts them: each array read or written once. On a CPU a
store first reads its cache line (write-allocate) unless the code uses streaming stores,
so copy and triad move more bytes than counted and under-report the hardware; each kernel
says so ("write_allocate") and a CPU run also gives the rate with that read counted
(copy 3N*8, triad 4N*8 bytes). The read kernel has no stores and avoids the question, and
so does update, whose stores land on the lines it has just read (like an optimizer step,
which updates its tensors in place); a GPU writes whole sectors without reading them first. The device's bandwidth is the best
kernel as counted ("best_gb_per_s", "best_kernel"). Where CUDA exists, host<->device
copies are timed too, from pinned (page-locked) and pageable host memory.

Copy and run (only torch is needed):

    python bandwidth.py                        # CUDA if present, else CPU
    python bandwidth.py --device cpu --quick
    python bandwidth.py --device cuda --out bandwidth.json

Prints one JSON object to stdout (or to --out): per kernel the GB/s with min / median /
max over the timed runs (1 GB = 1e9 bytes), the buffer size and the cache size it was
chosen from. Progress lines go to stderr.
"""
import argparse
import json
import os
import sys
import time

import torch

METHOD_VERSION = 2  # 2: blocks sized from one warm call; write-allocate stated per kernel
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of calls per timed block (see time_call)
ELT = 8  # bytes per fp64 element
DTYPE = torch.float64


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


def last_level_cache_bytes(device):
    """Size of the last cache before DRAM: L2 on an NVIDIA GPU, the highest level on a CPU."""
    if device.type == "cuda":
        return int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0)) or None
    best = None
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in sorted(os.listdir(base)):
            if not entry.startswith("index"):
                continue
            with open(f"{base}/{entry}/level") as f:
                level = int(f.read())
            with open(f"{base}/{entry}/size") as f:
                text = f.read().strip()
            size = int(text[:-1]) * {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[text[-1]] \
                if text[-1] in "KMG" else int(text)
            if best is None or level > best[0]:
                best = (level, size)
    except (OSError, ValueError, KeyError):
        return None
    return best[1] if best else None


def spread(times, nbytes):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    return {"runs": len(t), "bytes": nbytes, "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": q3 - q1, "gb_per_s": nbytes / med / 1e9, "gb_per_s_max": nbytes / t[0] / 1e9,
            "gb_per_s_min": nbytes / t[-1] / 1e9}


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


def measure(device, quick=False, buffer_mb=None):
    """Measure read / update / copy / triad on `device` (and host<->device on CUDA); a dict."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(0)
    llc = last_level_cache_bytes(device)
    if buffer_mb:
        nbytes = int(buffer_mb * 2 ** 20)
    else:
        # 4x the last-level cache, and at least 256 MiB on a GPU (HBM wants big transfers).
        floor = 256 * 2 ** 20 if device.type == "cuda" else 64 * 2 ** 20
        nbytes = max(4 * (llc or 32 * 2 ** 20), floor)
        if device.type == "cuda" and not quick:
            nbytes = max(nbytes, 1024 * 2 ** 20)
        if quick:  # seconds, not minutes, on a CPU with a large L3: the data may sit in cache
            nbytes = floor
    n = nbytes // ELT
    min_run_time = 0.1 if quick else 0.5
    log(f"buffers: {n * ELT / 2 ** 20:.0f} MiB each; last-level cache: "
        f"{(llc or 0) / 2 ** 20:.0f} MiB")

    a = random_buffer(n, device, gen, DTYPE)
    b = random_buffer(n, device, gen, DTYPE)
    c = random_buffer(n, device, gen, DTYPE)
    scalar = 3.0
    # name: (call, bytes counted, arrays touched, stores: arrays written, -1 in place)
    kernels = {
        "read": (lambda: a.sum(), n * ELT, 1, 0),
        # 0.999999: the values barely move, and no kernel can skip a multiply by it.
        "update": (lambda: c.mul_(0.999999), 2 * n * ELT, 1, -1),
        "copy": (lambda: b.copy_(a), 2 * n * ELT, 2, 1),
        "triad": (lambda: torch.add(b, c, alpha=scalar, out=a), 3 * n * ELT, 3, 1),
    }
    # Check the triad computes what it claims before timing it.
    torch.add(b, c, alpha=scalar, out=a)
    ok = torch.allclose(a[:1000], b[:1000] + scalar * c[:1000])
    log(f"triad check: {'ok' if ok else 'WRONG'}")
    out = {"buffer_bytes": n * ELT, "last_level_cache_bytes": llc,
           "buffer_over_cache": (n * ELT / llc) if llc else None,
           "dtype": "fp64", "validated": bool(ok), "kernels": {}}
    for name, (fn, nb, arrays, stores) in kernels.items():
        k = spread(time_call(fn, device, min_run_time), nb)
        k["working_set_bytes"] = arrays * n * ELT
        if stores == 0:
            k["write_allocate"] = "none: the kernel stores nothing"
        elif stores < 0:  # in place: each store lands on a line the kernel has just read
            k["write_allocate"] = "none: stores go to lines just read (in place)"
        elif device.type == "cuda":
            k["write_allocate"] = "none: a GPU writes whole sectors without reading them first"
        else:
            # The line read before each store, which STREAM's count leaves out.
            k["write_allocate"] = "not counted (STREAM convention)"
            k["gb_per_s_incl_write_allocate"] = (nb + stores * n * ELT) / k["median_s"] / 1e9
        out["kernels"][name] = k
        log(f"{name:6s} {k['gb_per_s']:9.1f} GB/s (median)")
    del a, b, c

    out["host_device"] = None
    if device.type == "cuda":
        out["host_device"] = host_device(device, quick, min_run_time, gen)
    best = max(out["kernels"], key=lambda k: out["kernels"][k]["gb_per_s"])
    out["best_gb_per_s"] = out["kernels"][best]["gb_per_s"]
    out["best_kernel"] = best
    return out


def host_device(device, quick, min_run_time, gen):
    """Time host->device and device->host copies from pinned and pageable host buffers."""
    nbytes = (64 if quick else 512) * 2 ** 20
    n = nbytes // ELT
    dev = torch.randn(n, dtype=DTYPE, device=device, generator=gen)
    res = {"bytes": nbytes, "working_set_bytes": nbytes}
    for pinned in (True, False):
        host = torch.randn(n, dtype=DTYPE, pin_memory=pinned)
        kind = "pinned" if pinned else "pageable"
        # non_blocking only helps from pinned memory; time_call synchronises after each block.
        res[f"h2d_{kind}"] = spread(time_call(lambda: dev.copy_(host, non_blocking=pinned),
                                              device, min_run_time), nbytes)
        res[f"d2h_{kind}"] = spread(time_call(lambda: host.copy_(dev, non_blocking=pinned),
                                              device, min_run_time), nbytes)
        log(f"h2d {kind:8s} {res[f'h2d_{kind}']['gb_per_s']:6.1f} GB/s   "
            f"d2h {kind:8s} {res[f'd2h_{kind}']['gb_per_s']:6.1f} GB/s")
    return res


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
    ap.add_argument("--quick", action="store_true",
                    help="small buffers (64 MiB; 256 on a GPU) and fewer runs: seconds, but the "
                         "data may sit in cache, so the figures are not the memory's")
    ap.add_argument("--buffer-mb", type=float, default=None,
                    help="size of each buffer in MiB (default: 4x the last-level cache)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    if args.buffer_mb is not None and args.buffer_mb <= 0:
        ap.error("--buffer-mb must be positive")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    result = {"snippet": "bandwidth", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, buffer_mb=args.buffer_mb)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
