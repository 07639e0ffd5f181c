#!/usr/bin/env python3
"""All-reduce bandwidth through torch.distributed, by message size: Gloo on CPUs, NCCL on GPUs.

Tests claim X1: once a model is spread over several workers, every training step ends with
an all-reduce of the gradients, so the bandwidth of that collective matters as much as
FLOPS. The snippet starts one process per worker on this machine (loopback only), sums a
float32 buffer across them with dist.all_reduce, and reports the time per call and the
bandwidth for message sizes from 4 KiB up to 256 MiB (1 GiB on GPUs).

    --device cpu   Gloo across 2 processes, and 4 if the machine has 4+ CPU cores
    --device cuda  NCCL across every visible GPU (skipped, with the reason, if fewer than 2)

Copy and run (only torch is needed):

    python allreduce.py                          # CUDA if present, else CPU
    python allreduce.py --device cpu --quick     # seconds on a laptop
    python allreduce.py --device cpu --world-sizes 2 4 8 --out allreduce.json

Prints one JSON object to stdout (or to --out): per group of processes and per message
size, the seconds per all-reduce (min / median / max / IQR over the timed runs, each run
the slowest rank's time) and two bandwidths, defined as in NVIDIA's nccl-tests:

    algbw = S / t                    S = message size in bytes, t = seconds per all-reduce
    busbw = algbw * 2 * (n - 1) / n  n = number of ranks

GB/s here are 10^9 bytes per second, as in nccl-tests. Per group, the time model
T(S) = alpha + S / beta is fitted over all sizes (least squares on relative error, so small
and large messages weigh alike): alpha is the fixed cost (latency) of one call and beta the
algorithm bandwidth it tends to; beta * 2(n - 1)/n is the matching bus bandwidth. A time
estimate for another world size m scales the bytes by 2(m - 1)/m. Before each size is timed, the sum
is checked (rank r contributes r + 1 everywhere, so every element must equal n(n+1)/2).
Whatever cannot run (no second GPU, a crashed or hung worker) is reported with a reason.
Progress lines go to stderr.
"""
import argparse
import datetime
import json
import os
import queue
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

METHOD_VERSION = 2  # 2: latency fitted over all sizes, T(S) = alpha + S / beta
MIN_RUNS = 5
DEADLINE_S = {True: 60.0, False: 180.0}  # per group of ranks, --quick or not; then they are killed
DTYPE = torch.float32  # 4 bytes per element; gradients are usually all-reduced in fp32 or bf16
KiB, MiB = 1024, 1024 ** 2


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sizes_for(device_type, quick):
    """Message sizes in bytes: powers of 4 from 4 KiB (latency-bound) to the bandwidth plateau."""
    if quick:
        return [4 * KiB, 256 * KiB, 4 * MiB, 16 * MiB]
    top = 1024 * MiB if device_type == "cuda" else 256 * MiB
    sizes, s = [], 4 * KiB
    while s <= top:
        sizes.append(s)
        s *= 4
    return sizes


def free_port():
    # Port 0 lets the kernel pick a free port; the store of rank 0 binds it a moment later.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spread(times, nbytes, n):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    # nccl-tests' definitions. algbw: bytes of the message over the time of the call.
    # busbw: a ring all-reduce makes each rank send (and receive) 2 * (n - 1) / n * S bytes
    # (a reduce-scatter then an all-gather), so algbw * 2(n-1)/n is the bandwidth each link
    # really carried: comparable across n and with the hardware's link speed.
    factor = 2 * (n - 1) / n
    algbw = {"median": nbytes / med / 1e9, "min": nbytes / t[-1] / 1e9, "max": nbytes / t[0] / 1e9}
    out = {"runs": len(t), "min_s": t[0], "median_s": med, "max_s": t[-1], "iqr_s": q3 - q1}
    for k, v in algbw.items():
        out[f"algbw_gb_per_s_{k}"] = v
        out[f"busbw_gb_per_s_{k}"] = v * factor
    return out


def fit_latency_bandwidth(sizes, times):
    """Fit T(S) = alpha + S / beta to (bytes, seconds), weighting each point by 1 / T^2 (the
    relative error counts, not the absolute one). alpha >= 0; returns a dict, or None if the
    times do not grow with the size (no bandwidth can be read off them)."""
    w = [1.0 / t ** 2 for t in times]
    sw = sum(w)
    ss = sum(wi * s for wi, s in zip(w, sizes))
    st = sum(wi * t for wi, t in zip(w, times))
    sss = sum(wi * s * s for wi, s in zip(w, sizes))
    sst = sum(wi * s * t for wi, s, t in zip(w, sizes, times))
    det = sw * sss - ss * ss
    if det <= 0:
        return None
    inv_beta = (sw * sst - ss * st) / det
    alpha = (st - inv_beta * ss) / sw
    if alpha < 0:  # the fit wants a negative latency: pin it at 0, refit the slope alone
        alpha, inv_beta = 0.0, sst / sss
    if inv_beta <= 0:
        return None
    residuals = [abs(alpha + s * inv_beta - t) / t for s, t in zip(sizes, times)]
    return {"model": "T(S) = alpha + S / beta", "alpha_s": alpha, "beta_bytes_per_s": 1 / inv_beta,
            "points": len(times), "max_rel_residual": max(residuals)}


def measure_sizes(rank, n, dev, sizes, quick):
    """Run inside every rank: check, then time all_reduce for each size. Returns rank 0's list."""
    is_cuda = dev.type == "cuda"
    repeats = MIN_RUNS if quick else 10
    target_s = 0.01 if quick else 0.05  # wall time of one timed run (a loop of `iters` calls)
    max_iters = 50 if quick else 200
    slow_s = 0.5 if quick else 2.0      # one call slower than this: time it, then stop the sweep
    gen = torch.Generator(device=dev).manual_seed(rank)
    tiny = torch.ones(1, device=dev)

    def sync():
        # NCCL calls only enqueue work on a CUDA stream; wait for the GPU before reading the
        # clock. Gloo's blocking all_reduce has already finished when it returns.
        if is_cuda:
            torch.cuda.synchronize(dev)

    def barrier():
        # A one-element all-reduce that has completed on this rank means every rank reached it.
        dist.all_reduce(tiny)
        sync()

    def slowest(values):
        # A collective is done when its slowest rank is done: keep the max over ranks.
        t = torch.tensor(values, dtype=torch.float64, device=dev)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.tolist()

    def timed(buf, iters):
        barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(buf)  # SUM, in place, like the gradient all-reduce in DDP
        sync()
        return time.perf_counter() - t0

    points = []
    for nbytes in sizes:
        numel = nbytes // DTYPE.itemsize
        buf = torch.full((numel,), float(rank + 1), dtype=DTYPE, device=dev)
        # 1. Check the result before timing it: sum over ranks of (r + 1) = n(n+1)/2, exact in fp32.
        dist.all_reduce(buf)
        ok = bool((buf == n * (n + 1) / 2).all())
        ok = slowest([0.0 if ok else 1.0])[0] == 0.0  # every rank must agree
        # 2. Random data, then warm-up (the first calls set up connections and buffers).
        # The in-place sum multiplies the values by n on each call, so they reach +-inf after a
        # few dozen calls; that costs nothing on CPUs or GPUs (only subnormals are slow).
        buf.normal_(generator=gen)
        for _ in range(2 if quick else 3):
            dist.all_reduce(buf)
        sync()
        # 3. Calibrate: the fastest of 3 single calls (each the slowest rank's time); every
        # rank gets the same numbers, so all derive the same `iters` and call all_reduce alike.
        one = min(slowest([timed(buf, 1) for _ in range(3)]))
        iters = max(1, min(max_iters, round(target_s / max(one, 1e-9))))
        times = slowest([timed(buf, iters) / iters for _ in range(repeats)])
        point = {"bytes": nbytes, "elements": numel, "iters_per_run": iters,
                 "check": "ok" if ok else "wrong", **spread(times, nbytes, n)}
        points.append(point)
        if rank == 0:
            log(f"  n={n} {nbytes / KiB:10.0f} KiB  {point['median_s'] * 1e6:11.1f} us  "
                f"busbw {point['busbw_gb_per_s_median']:8.3f} GB/s  ({repeats} runs x {iters})"
                + ("" if ok else "  WRONG SUM"))
        del buf
        if one > slow_s:
            if rank == 0:
                log(f"  stopping this sweep: one call took {one:.2f} s")
            break
    return points


def worker(rank, n, backend, init_method, sizes, quick, timeout_s, q):
    """One rank. Reports ("ok", points) or ("error", text) on the queue; always cleans up."""
    # Keep our stdout for the JSON alone: anything a library prints here goes to stderr.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        if backend == "nccl":
            torch.cuda.set_device(rank)  # one GPU per rank, on this one machine
            dev = torch.device("cuda", rank)
        else:
            dev = torch.device("cpu")
            if "GLOO_SOCKET_IFNAME" not in os.environ and "lo" in dict(socket.if_nameindex()).values():
                os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # loopback: all ranks are on this machine
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=n,
                                timeout=datetime.timedelta(seconds=timeout_s))
        points = measure_sizes(rank, n, dev, sizes, quick)
        q.put((rank, "ok", points if rank == 0 else None))
    except Exception as e:
        q.put((rank, "error", f"{type(e).__name__}: {e}"[:500]))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_group(backend, n, sizes, quick):
    """Start n ranks, collect rank 0's results; never hang: kill the ranks at the deadline."""
    deadline_s = DEADLINE_S[quick]
    # NCCL ranks need fresh interpreters ("spawn"): CUDA cannot be used in a forked child.
    # Gloo ranks touch no GPU, so on Linux "fork" is safe (DataLoader workers do the same) and
    # saves each rank the seconds of re-importing torch; elsewhere (macOS, Windows), spawn.
    use_fork = backend == "gloo" and sys.platform.startswith("linux")
    ctx = mp.get_context("fork" if use_fork else "spawn")
    q = ctx.Queue()
    init_method = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.perf_counter()
    procs = [ctx.Process(target=worker, args=(r, n, backend, init_method, sizes, quick,
                                              deadline_s / 2, q), daemon=True)
             for r in range(n)]
    for p in procs:
        p.start()
    reports, error = {}, None
    # Read the queue before joining: a child cannot exit while its message is unread.
    while len(reports) < n and error is None:
        left = deadline_s - (time.perf_counter() - t0)
        if left <= 0:
            error = f"timed out after {deadline_s:.0f} s"
            break
        try:
            rank, kind, payload = q.get(timeout=min(1.0, left))
        except queue.Empty:
            dead = [(r, p.exitcode) for r, p in enumerate(procs) if p.exitcode not in (None, 0)]
            if dead:
                error = f"rank {dead[0][0]} exited with code {dead[0][1]} without reporting"
            continue
        reports[rank] = (kind, payload)
        if kind == "error":
            error = f"rank {rank}: {payload}"
    stop = time.perf_counter() + (2 if error else 10)  # ranks that reported are exiting
    for p in procs:
        p.join(timeout=max(0.1, stop - time.perf_counter()))
    for p in procs:
        if p.is_alive():  # stuck in a collective whose peer is gone: end it
            p.kill()
            p.join(timeout=5)
    wall_s = time.perf_counter() - t0
    if error:
        error += f" (exit codes of the ranks: {[p.exitcode for p in procs]})"
        log(f"  n={n}: error: {error}")
        return {"world_size": n, "status": "error", "reason": error, "wall_s": wall_s}
    points = reports[0][1]
    best = max(points, key=lambda p: p["busbw_gb_per_s_median"])
    fit = fit_latency_bandwidth([p["bytes"] for p in points], [p["median_s"] for p in points])
    if fit:
        fit["algbw_gb_per_s"] = fit["beta_bytes_per_s"] / 1e9
        fit["busbw_gb_per_s"] = fit["algbw_gb_per_s"] * 2 * (n - 1) / n
    return {"world_size": n, "status": "ok", "wall_s": wall_s, "sizes": points,
            "peak": {"bytes": best["bytes"], "busbw_gb_per_s": best["busbw_gb_per_s_median"],
                     "algbw_gb_per_s": best["algbw_gb_per_s_median"]},
            "fit": fit if fit else {"status": "skipped",
                                    "reason": "the time per call does not grow with the size"},
            # alpha of the fit; the smallest message's own median is kept beside it
            "latency_s": fit["alpha_s"] if fit else None,
            "smallest_message_s": points[0]["median_s"]}


def measure(device, quick=False, world_sizes=None):
    """Measure all-reduce on `device` ("cpu": Gloo, "cuda": NCCL); return a plain dict."""
    device_type = torch.device(device).type
    backend = "nccl" if device_type == "cuda" else "gloo"
    sizes = sizes_for(device_type, quick)
    out = {"backend": backend, "dtype": "float32", "sizes_bytes": sizes, "groups": []}
    cores = os.cpu_count() or 1
    if not dist.is_available():
        reason = "this torch build has no torch.distributed"
    elif backend == "gloo" and not dist.is_gloo_available():
        reason = "this torch build has no Gloo backend"
    elif backend == "nccl" and not dist.is_nccl_available():
        reason = "this torch build has no NCCL backend"
    elif backend == "nccl" and torch.cuda.device_count() < 2:
        reason = f"NCCL all-reduce needs 2+ GPUs; this machine has {torch.cuda.device_count()}"
    else:
        reason = None
    if reason:
        log(f"{backend}: skipped ({reason})")
        out.update(status="skipped", reason=reason)
        return out
    out["status"] = "ok"
    if backend == "nccl":
        plan = [torch.cuda.device_count()]
    elif world_sizes:
        plan = list(world_sizes)
    else:
        # 4 processes would share 2 cores with each other: that measures the scheduler.
        plan = [2, 4]
    for n in plan:
        if backend == "gloo" and world_sizes is None and n > 2 and (quick or cores < n):
            why = "not run with --quick" if quick else f"needs {n}+ CPU cores; this machine has {cores}"
            out["groups"].append({"world_size": n, "status": "skipped", "reason": why})
            log(f"{backend} n={n}: skipped ({why})")
            continue
        log(f"{backend}, {n} ranks:")
        out["groups"].append(run_group(backend, n, sizes, quick))
    return out


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}",
                "gpus": torch.cuda.device_count()}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="cpu: Gloo between CPU processes; cuda: NCCL between all visible GPUs "
                         "(default: cuda if available, else cpu)")
    ap.add_argument("--quick", action="store_true", help="fewer, smaller messages; 2 processes")
    ap.add_argument("--world-sizes", type=int, nargs="+", default=None, metavar="N",
                    help="Gloo only: numbers of processes to try (default: 2, and 4 on 4+ cores)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    if args.world_sizes and min(args.world_sizes) < 2:
        ap.error("--world-sizes: an all-reduce needs at least 2 processes")
    result = {"snippet": "allreduce", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, world_sizes=args.world_sizes)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
