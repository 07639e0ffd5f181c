#!/usr/bin/env python3
"""What the CPU does in training: who updates the parameters, and what launching ops costs.

Tests claim C5.1 of the article: the CPU "drives" training and "updates the parameters".

Part A, the parameter update. An AdamW step over N fp32 parameters, done two ways:
  on_device   where the parameters live: on the GPU in normal training (fused AdamW)
  offload     as in CPU-offload schemes (ZeRO-Offload style): the gradients are copied
              GPU -> CPU (d2h), AdamW runs on the CPU (cpu_step, fused AdamW on fp32 master
              weights and states), the new parameters are copied CPU -> GPU (h2d); each
              phase is timed alone, and the three together end to end (total)
On a CPU-only machine only the CPU step is measured; the rest is reported as skipped.

Part B, launch overhead. A small MLP (4 Linear layers of width 256, batch 32) whose
training step is a long chain of tiny ops: the step time in eager mode, the number of
ops per step (aten ops, counted with a dispatch mode; on CUDA also the GPU kernels, from
the profiler), the time per op, and on CUDA the same step captured once as a CUDA graph
and replayed, which removes the CPU's per-op launch work. Over batch sizes 32 .. 2048 the op
count stays and the work grows, so the step time is fitted as T = fixed + FLOPs / rate
(least squares on relative error): "fixed" is what a step costs with no work at all, and
fixed / ops is the fixed cost per op (launch and dispatch), not step time / ops.

Copy and run (only torch is needed):

    python cpu_control.py                          # CUDA if present, else CPU
    python cpu_control.py --device cpu --quick     # seconds on a laptop
    python cpu_control.py --device cuda --out cpu_control.json

Prints one JSON object to stdout (or to --out); progress lines go to stderr. Every time
has min / median / max / iqr over at least 5 runs.

The AdamW implementations timed are first checked against the plain for-loop AdamW on
the CPU: their largest difference relative to the largest parameter must stay under 1e-6.

Bytes of one AdamW step: it reads param, grad, exp_avg, exp_avg_sq and writes param,
exp_avg, exp_avg_sq: 7 x 4 bytes = 28 N bytes for N fp32 parameters.
Bytes of each offload copy: 4 N (fp32 gradients down, fp32 parameters up).
FLOPs of one MLP step: 6 x batch x layers x width^2 (forward 2, backward 4 per multiply-add).
"""
import argparse
import glob
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

METHOD_VERSION = 2  # 2: launch cost fitted across batch sizes; relative AdamW check; direct block timing
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of calls per timed block (see time_fn)
CHECK_REL_TOL = 1e-6  # AdamW check: largest difference / largest parameter
CHUNK = 1 << 22  # parameters are split into tensors of 4M elements, like a model's layers
MLP_WIDTH, MLP_LAYERS = 256, 4


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_llc_bytes():
    """The CPU's last-level cache (L3 summed over its instances), from /sys; None if unknown."""
    sizes = {}
    for d in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cache/index[0-9]*"):
        try:
            with open(d + "/level") as f:
                if f.read().strip() != "3":
                    continue
            with open(d + "/size") as f:
                text = f.read().strip()
            with open(d + "/shared_cpu_list") as f:
                sizes[f.read().strip()] = int(text.rstrip("KMG")) * {"K": 2 ** 10, "M": 2 ** 20,
                                                                     "G": 2 ** 30}.get(text[-1:], 1)
        except (OSError, ValueError):
            continue
    return sum(sizes.values()) or None


def sizes_for(device, quick):
    """Parameter counts for part A. On a CPU the largest is big enough that the update's
    working set (param, grad and two moments: 16 bytes a parameter) is at least 4x the
    last-level cache, so its bandwidth is the memory's, not the cache's."""
    if quick:
        return [4_000_000]
    if device.type == "cuda":
        return [10_000_000, 100_000_000, 500_000_000]
    dram = 4 * (cpu_llc_bytes() or 32 * 2 ** 20) // 16
    return [10_000_000, 50_000_000] + ([-(-dram // 10_000_000) * 10_000_000] if dram > 50_000_000 else [])


def sync(device):
    # CUDA work is asynchronous: wait for it before a clock is read or a result is used.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def spread(times):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    return {"status": "ok", "runs": len(t), "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": q3 - q1}


def time_fn(fn, min_run_time, device, block_s=BLOCK_S):
    """Time fn() (already warm) in blocks of calls: a block is as many calls as fill block_s,
    sized from one timed call; blocks are timed until there are MIN_RUNS of them and
    min_run_time has passed. The clock is read only after a CUDA synchronisation."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    number = max(1, int(block_s / max(time.perf_counter() - t0, 1e-7)))
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or spent < min_run_time:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync(device)
        took = time.perf_counter() - t0
        times.append(took / number)
        spent += took
    return spread(times)


def skipped(reason):
    return {"status": "skipped", "reason": reason}


def make_adamw(params, **kw):
    """AdamW, fused (one kernel for all tensors) where this torch supports it on the device."""
    try:
        return torch.optim.AdamW(params, lr=1e-3, fused=True, **kw), "fused"
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, lr=1e-3, foreach=True, **kw), "foreach"


def chunks(n, device, gen):
    """n random fp32 values as a list of tensors of at most CHUNK elements."""
    return [torch.randn(min(CHUNK, n - i), device=device, generator=gen) for i in range(0, n, CHUNK)]


# ---------------------------------------------------------------- Part A: the update

def check_update(device):
    """Before timing: one AdamW step by each implementation timed here must match the
    plain for-loop AdamW on the CPU (same parameters, same gradients)."""
    gen = torch.Generator().manual_seed(1)
    p0, g = torch.randn(1 << 16, generator=gen), torch.randn(1 << 16, generator=gen)

    def one_step(dev, impl):
        p = p0.clone().to(dev).requires_grad_()
        p.grad = g.to(dev)
        if impl == "reference":
            opt = torch.optim.AdamW([p], lr=1e-3, foreach=False, fused=False)
        else:
            opt = make_adamw([p])[0]
        opt.step()
        return p.detach().cpu()

    ref = one_step("cpu", "reference")
    scale = float(ref.abs().max())
    out = {"rel_tolerance": CHECK_REL_TOL}
    impls = [("cpu_step", "cpu")] + ([("on_device", device)] if device.type == "cuda" else [])
    for name, dev in impls:
        diff = float((one_step(dev, "timed") - ref).abs().max())
        out[f"{name}_max_abs_diff"] = diff
        out[f"{name}_max_rel_diff"] = diff / scale  # relative to the largest parameter
    worst = max(v for k, v in out.items() if k.endswith("_max_rel_diff"))
    out["status"] = "ok" if worst <= CHECK_REL_TOL else "wrong"
    return out


def measure_update(n, device, min_run_time, gen):
    bytes_step = 28 * n
    entry = {"params": n, "adamw_bytes": bytes_step, "copy_bytes": 4 * n}
    cuda = device.type == "cuda"
    params = [p.requires_grad_() for p in chunks(n, device, gen)]
    for p in params:
        p.grad = torch.randn(p.shape, device=device, generator=gen)

    # (1) On the device that holds the parameters: what normal GPU training does.
    if cuda:
        opt, impl = make_adamw(params)
        opt.step()  # warm-up; the first step also allocates exp_avg and exp_avg_sq
        sync(device)
        r = time_fn(opt.step, min_run_time, device)
        r.update(impl=impl, gb_per_s=bytes_step / r["median_s"] / 1e9, working_set_bytes=16 * n)
        entry["on_device"] = r
        del opt  # free the GPU optimizer state before the offload test
        log(f"  N={n:>11,d}  on_device  {r['median_s'] * 1e3:9.2f} ms ({impl})")
    else:
        entry["on_device"] = skipped("no GPU: the device is the CPU, so its update is offload.cpu_step")

    # (2) Offload: fp32 master parameters and AdamW states live on the CPU. Pinned (page-
    # locked) host memory lets the copies run by DMA at full PCIe speed; it exists only with CUDA.
    # On a CPU-only machine the parameters are already there and serve as the master copy.
    master = params
    if cuda:
        master = []
        for p in params:
            m = torch.empty(p.shape, pin_memory=True).copy_(p.detach()).requires_grad_()
            m.grad = torch.empty(p.shape, pin_memory=True)  # filled by d2h() below
            master.append(m)
    cpu_opt, cpu_impl = make_adamw(master)
    off = {}

    def d2h():  # gradients GPU -> CPU
        for m, p in zip(master, params):
            m.grad.copy_(p.grad, non_blocking=True)
        sync(device)

    def h2d():  # updated parameters CPU -> GPU
        with torch.no_grad():
            for m, p in zip(master, params):
                p.copy_(m, non_blocking=True)
        sync(device)

    def total():
        d2h()
        cpu_opt.step()
        h2d()

    if cuda:
        d2h()  # warm-up, and real gradients for the CPU step
        r = time_fn(d2h, min_run_time, device)
        off["d2h"] = {**r, "gb_per_s": 4 * n / r["median_s"] / 1e9}
    else:
        off["d2h"] = skipped("no GPU: gradients are already in CPU memory, nothing to copy")
    cpu_opt.step()  # warm-up: allocates the states in CPU memory
    r = time_fn(cpu_opt.step, min_run_time, device)
    off["cpu_step"] = {**r, "impl": cpu_impl, "threads": torch.get_num_threads(),
                       "gb_per_s": bytes_step / r["median_s"] / 1e9,
                       "working_set_bytes": 16 * n}  # param, grad, exp_avg, exp_avg_sq
    if cuda:
        h2d()
        r = time_fn(h2d, min_run_time, device)
        off["h2d"] = {**r, "gb_per_s": 4 * n / r["median_s"] / 1e9}
        # End to end; a real offload engine overlaps the phases, layer by layer.
        r = time_fn(total, min_run_time, device)
        r["vs_on_device"] = r["median_s"] / entry["on_device"]["median_s"]
        off["total"] = r
    else:
        off["h2d"] = skipped("no GPU: the parameters are already in CPU memory, nothing to copy")
        off["total"] = skipped("no GPU: only the CPU step can be measured")
    entry["offload"] = off
    phases = ", ".join(f"{k} {v['median_s'] * 1e3:.2f} ms" for k, v in off.items() if v["status"] == "ok")
    log(f"  N={n:>11,d}  offload    {phases}")
    return entry


# ---------------------------------------------------------------- Part B: launch overhead

def count_ops(step):
    """aten ops one call of step() runs, counted as they pass the dispatcher."""
    from torch.utils._python_dispatch import TorchDispatchMode  # private, hence the try around it

    class Counter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = self.views = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.namespace != "profiler":
                if func.is_view:  # t(), view(), detach(): metadata only, no kernel
                    self.views += 1
                else:
                    self.ops += 1
            return func(*args, **(kwargs or {}))

    counter = Counter()
    with counter:
        step()
    return counter.ops, counter.views


def count_cuda_kernels(step, device):
    """GPU kernels (and memcpy / memset) one step launches, from the profiler."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
        sync(device)
    return sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)


def make_mlp_step(device, batch, gen):
    torch.manual_seed(0)  # same weights for the eager and the graphed model
    model = nn.Sequential(*[m for _ in range(MLP_LAYERS)
                            for m in (nn.Linear(MLP_WIDTH, MLP_WIDTH), nn.ReLU())]).to(device)
    # capturable=True keeps AdamW's step counter on the GPU, which a CUDA graph needs; the
    # eager model uses the same setting so that both run the same kernels.
    kw = {"capturable": True} if device.type == "cuda" else {}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True, **kw)
    x = torch.randn(batch, MLP_WIDTH, device=device, generator=gen)
    y = torch.randn(batch, MLP_WIDTH, device=device, generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def capture_graph(step, device, warmup=3):
    """Capture one whole training step as a CUDA graph (the recipe of the PyTorch docs)."""
    # Warm up on a side stream, so that lazy initialisation (cuBLAS handles, AdamW state)
    # happens outside the capture.
    s = torch.cuda.Stream(device)
    s.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(s):
        for _ in range(warmup):
            step()
    torch.cuda.current_stream(device).wait_stream(s)
    g = torch.cuda.CUDAGraph()
    # step() sets the grads to None first, so backward allocates them from the graph's
    # private pool and each replay overwrites (does not accumulate) them.
    with torch.cuda.graph(g):
        static_loss = step()
    return g, static_loss


def measure_launch(device, batch, min_run_time, gen):
    flops = 6 * batch * MLP_LAYERS * MLP_WIDTH ** 2
    entry = {"batch": batch, "width": MLP_WIDTH, "layers": MLP_LAYERS, "flops_per_step": flops}
    step = make_mlp_step(device, batch, gen)
    for _ in range(3):
        step()  # warm-up: first calls pick kernels and create the AdamW state
    sync(device)
    try:
        entry["aten_ops_per_step"], entry["view_ops_per_step"] = count_ops(step)
    except Exception as e:  # the dispatch-mode API is private and may change
        entry["aten_ops_per_step"] = None
        entry["ops_count_error"] = f"{type(e).__name__}: {e}"[:300]
    if device.type == "cuda":
        try:
            entry["cuda_kernels_per_step"] = count_cuda_kernels(step, device)
        except Exception as e:  # profiler (CUPTI) not available
            entry["cuda_kernels_per_step"] = None
            entry["kernel_count_error"] = f"{type(e).__name__}: {e}"[:300]
    ops = entry["aten_ops_per_step"]

    r = time_fn(step, min_run_time, device)
    r["tflops"] = flops / r["median_s"] / 1e12
    if ops:
        r["us_per_op"] = r["median_s"] / ops * 1e6
    entry["eager"] = r
    log(f"  batch={batch:5d}  eager       {r['median_s'] * 1e6:9.1f} us/step, {ops} ops")

    if device.type != "cuda":
        entry["cuda_graph"] = skipped("CUDA graphs need a CUDA GPU")
        return entry
    try:
        # Check first: a graph replay must give the loss that eager gives after as many steps.
        # The eager model has taken 3 warm-up steps + 1 counted + the timed ones; a fresh pair
        # of models is compared instead: 3 warm-up steps, then the 4th step's loss.
        eager_step = make_mlp_step(device, batch, torch.Generator(device=device).manual_seed(7))
        graph_step = make_mlp_step(device, batch, torch.Generator(device=device).manual_seed(7))
        for _ in range(3):
            eager_step()
        ref = float(eager_step())
        g, static_loss = capture_graph(graph_step, device, warmup=3)
        g.replay()
        got = float(static_loss)  # float() synchronises
        diff = abs(got - ref) / abs(ref)
        r = time_fn(g.replay, min_run_time, device)
        r.update(loss_rel_diff_vs_eager=diff, loss_check="ok" if diff <= 1e-4 else "wrong",
                 tflops=flops / r["median_s"] / 1e12, speedup_vs_eager=entry["eager"]["median_s"] / r["median_s"])
        if ops:
            r["us_per_op"] = r["median_s"] / ops * 1e6
        entry["cuda_graph"] = r
        log(f"  batch={batch:5d}  cuda_graph  {r['median_s'] * 1e6:9.1f} us/step")
    except Exception as e:  # e.g. an op that cannot be captured in this torch version
        entry["cuda_graph"] = skipped(f"{type(e).__name__}: {e}"[:400])
        log(f"  cuda_graph skipped: {e}")
    return entry


def measure(device, quick=False, sizes=None):
    """Part A (AdamW on the device vs offloaded to the CPU) and part B (launch overhead)."""
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(0)
    min_run_time = 0.1 if quick else 0.3
    sizes = sizes or sizes_for(device, quick)
    log("Part A: who updates the parameters")
    check = check_update(device)
    log(f"  AdamW check vs the for-loop reference: {check['status']}")
    update = {"check": check, "cpu_threads": torch.get_num_threads(), "sizes": []}
    for n in sizes:
        update["sizes"].append(measure_update(n, device, min_run_time, gen))
        if device.type == "cuda":
            torch.cuda.empty_cache()
    log("Part B: launch overhead of a small model")
    batches = [32, 256] if quick else [32, 128, 512, 2048]
    launch = {"batches": [measure_launch(device, b, min_run_time, gen) for b in batches]}
    small, big = launch["batches"][0], launch["batches"][-1]
    # Work grows by big/small; if the time grows far less, fixed per-op cost dominated.
    launch["work_ratio"] = big["batch"] / small["batch"]
    launch["eager_time_ratio"] = big["eager"]["median_s"] / small["eager"]["median_s"]
    launch["fit"] = {}
    for mode in ("eager", "cuda_graph"):
        pts = [(b["flops_per_step"], b[mode]["median_s"]) for b in launch["batches"]
               if b.get(mode, {}).get("status") == "ok"]
        fit = fit_fixed_cost([f for f, _ in pts], [t for _, t in pts]) if len(pts) >= 2 else None
        if fit and small.get("aten_ops_per_step"):
            fit["ops_per_step"] = small["aten_ops_per_step"]
            fit["fixed_us_per_op"] = fit["fixed_s"] / small["aten_ops_per_step"] * 1e6
        launch["fit"][mode] = fit or skipped("fewer than 2 batch sizes measured, or the step "
                                             "time does not grow with the work")
        if fit:
            log(f"  fit {mode}: fixed {fit['fixed_s'] * 1e6:.1f} us per step"
                + (f", {fit['fixed_us_per_op']:.2f} us per op" if "fixed_us_per_op" in fit else ""))
    return {"update": update, "launch": launch}


def fit_fixed_cost(flops, times):
    """Fit T = fixed + FLOPs / rate to the step times of several batch sizes, weighting each
    point by 1 / T^2 (relative error). fixed >= 0. None if T does not grow with the work."""
    w = [1.0 / t ** 2 for t in times]
    sw, sf = sum(w), sum(wi * f for wi, f in zip(w, flops))
    st = sum(wi * t for wi, t in zip(w, times))
    sff = sum(wi * f * f for wi, f in zip(w, flops))
    sft = sum(wi * f * t for wi, f, t in zip(w, flops, times))
    det = sw * sff - sf * sf
    if det <= 0:
        return None
    slope = (sw * sft - sf * st) / det
    fixed = (st - slope * sf) / sw
    if fixed < 0:
        fixed, slope = 0.0, sft / sff
    if slope <= 0:
        return None
    return {"status": "ok", "model": "T = fixed + FLOPs / rate", "fixed_s": fixed,
            "marginal_tflops": 1 / slope / 1e12, "points": len(times),
            "max_rel_residual": max(abs(fixed + slope * f - t) / t for f, t in zip(flops, times))}


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
    ap.add_argument("--params", nargs="+", type=int, default=None,
                    help="parameter counts for part A (default: by device and --quick)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    if args.params and min(args.params) < 1:
        ap.error("--params: counts must be positive")
    result = {"snippet": "cpu_control", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, sizes=args.params)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
