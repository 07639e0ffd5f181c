#!/usr/bin/env python3
"""One training step of a small transformer, in eager mode and under torch.compile, fp32 and bf16.

Tests claims C4.1 and C4.2 of the article: the frameworks ship optimised libraries for the
GPU, and they keep getting faster there. The same step (forward, loss, backward, AdamW) of a
two-block pre-LayerNorm transformer is timed in four modes:

    eager_fp32         plain PyTorch, float32
    eager_autocast     torch.autocast to bfloat16 (matmuls and attention in bf16)
    compile_fp32       torch.compile(model) (default mode, the Inductor backend), float32
    compile_autocast   torch.compile(model) under torch.autocast to bfloat16

Per mode: the step time (min / median / max / iqr over at least 5 runs), the speedup over
eager_fp32, the first step's time (for compiled modes it holds the compilation), and the
first step's loss next to eager_fp32's as a check that every mode computes the same thing.
The libraries this torch was built with (BLAS, oneDNN, cuDNN, NCCL, Triton, the SDPA kernels)
are recorded as the evidence for C4.1.

Copy and run (only torch is needed; torch.compile also needs a C compiler on CPU):

    python framework.py                          # CUDA if present, else CPU
    python framework.py --device cpu --quick     # seconds; skips torch.compile
    python framework.py --device cpu --quick --compile on
    python framework.py --device cuda --out framework.json

Prints one JSON object to stdout (or to --out); progress lines go to stderr. A mode the
machine cannot run (for example torch.compile without a C compiler) is reported as
skipped, with the reason. Each compiled mode compiles into its own fresh, empty Inductor
and Triton cache (and in-memory compiler caches are cleared first), so every compile_s is a
cold compile; the first compiled mode also pays for importing and starting the compiler.

FLOPs of one training step (matmuls only; LayerNorm, GELU, softmax and AdamW are left out):
    per block, weights: qkv 3d^2 + proj d^2 + mlp 8d^2 = 12 d^2 multiply-adds per token
    per block, attention: QK^T and AV, 2 T d multiply-adds per token (causal masking
      is not subtracted: the kernels skip part of it, so the figure is an upper bound)
    forward = 2 FLOPs per multiply-add; backward = 2 x forward; so
    FLOPs/step = 6 * B * T * layers * (12 d^2 + 2 T d)
"""
import argparse
import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

METHOD_VERSION = 2  # 2: an empty compiler cache per compiled mode; blocks sized from one warm step
MIN_RUNS = 5
BLOCK_S = 0.02  # seconds of steps per timed block (see time_step)
MODES = ["eager_fp32", "eager_autocast", "compile_fp32", "compile_autocast"]
# A mode's first-step loss may differ from eager_fp32's by this much (relative) before it
# counts as wrong. fp32 compiled code reorders sums (~1e-6); bf16 keeps ~3 significant digits.
MAX_LOSS_REL_DIFF = {"eager_fp32": 0.0, "compile_fp32": 1e-4,
                     "eager_autocast": 5e-2, "compile_autocast": 5e-2}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def config_for(device, quick):
    """Model and batch sizes: small on a CPU, a realistic small-model step on a GPU."""
    if quick:
        return {"layers": 1, "d_model": 128, "heads": 4, "seq_len": 64, "batch": 4}
    if device.type == "cuda":
        return {"layers": 2, "d_model": 1024, "heads": 16, "seq_len": 1024, "batch": 8}
    return {"layers": 2, "d_model": 256, "heads": 4, "seq_len": 128, "batch": 8}


class Block(nn.Module):
    """A pre-LayerNorm transformer block: causal self-attention, then a 4x GELU MLP."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        # SDPA dispatches to the fastest attention kernel the device has (flash on a GPU).
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


def flops_per_step(c):
    per_token = c["layers"] * (12 * c["d_model"] ** 2 + 2 * c["seq_len"] * c["d_model"])
    return 6 * c["batch"] * c["seq_len"] * per_token


def make_step(mode, c, device, x, y):
    """Build a fresh model (same seed, so same weights in every mode) and its step function."""
    torch.manual_seed(0)
    model = nn.Sequential(*[Block(c["d_model"], c["heads"]) for _ in range(c["layers"])]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    # Default mode: Inductor fuses the elementwise ops (LayerNorm, GELU, residual adds)
    # into generated kernels and leaves the matmuls to cuBLAS / MKL. The optimizer stays eager.
    fwd = torch.compile(model) if mode.startswith("compile") else model
    autocast = mode.endswith("autocast")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            out = fwd(x)
        loss = F.mse_loss(out.float(), y)
        loss.backward()
        opt.step()
        return loss

    return step


def sync(device):
    # GPU work is queued asynchronously: wait for it before reading a clock.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def spread(times):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    return {"runs": len(t), "min_s": t[0], "median_s": med, "max_s": t[-1], "iqr_s": q3 - q1}


def time_step(step, device, min_run_time, block_s=BLOCK_S):
    """Seconds per warm step, one figure per timed block of steps (the step is already warm).

    A block is as many steps as fill block_s, sized from one timed step; blocks are timed until
    there are MIN_RUNS of them and min_run_time has passed. The clock is read only after a
    synchronisation, so queued GPU work is counted in the block that queued it."""
    sync(device)
    t0 = time.perf_counter()
    step()
    sync(device)
    number = max(1, int(block_s / max(time.perf_counter() - t0, 1e-7)))
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or spent < min_run_time:
        t0 = time.perf_counter()
        for _ in range(number):
            step()
        sync(device)
        took = time.perf_counter() - t0
        times.append(took / number)
        spent += took
    return times


@contextlib.contextmanager
def cold_compiler_cache():
    """A fresh, empty Inductor (and Triton) cache for one compiled mode, and no compiled code
    kept in memory from an earlier mode: each mode's compile_s is then a cold compile."""
    cache = tempfile.mkdtemp(prefix="framework_inductor_")
    saved = {k: os.environ.get(k) for k in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")}
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
    os.environ["TRITON_CACHE_DIR"] = os.path.join(cache, "triton")

    def clear_memory_caches():
        torch._dynamo.reset()  # compiled frames and guards
        try:  # Inductor's in-process caches (compiled modules, autotuning); a private API
            from torch._inductor import utils as inductor_utils
            clear = (getattr(inductor_utils, "clear_caches", None)
                     or getattr(inductor_utils, "clear_inductor_caches", None))
            if clear:
                clear()
        except Exception:
            pass

    clear_memory_caches()
    try:
        yield cache
    finally:
        clear_memory_caches()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(cache, ignore_errors=True)


def run_mode(mode, c, device, x, y, min_run_time):
    step = make_step(mode, c, device, x, y)
    # The first call pays one-off costs: for compiled modes the tracing and code generation of
    # the forward and backward graphs, for eager ones the library start-up (kernel choice,
    # workspaces). It is a wall-clock figure, so synchronise before reading the clock.
    sync(device)
    t0 = time.perf_counter()
    loss0 = float(step().detach())  # float() waits for the result
    first = time.perf_counter() - t0
    warm = []
    for _ in range(2):  # a second or third call may still recompile or autotune
        t0 = time.perf_counter()
        step()
        sync(device)
        warm.append(time.perf_counter() - t0)
    entry = {"status": "ok", "first_step_s": first, "warmup_steps_s": warm, "loss_first_step": loss0}
    entry.update(spread(time_step(step, device, min_run_time)))
    if mode.startswith("compile"):
        # Compilation time: the first step's wall time less one warm step.
        entry["compile_s"] = max(first - entry["median_s"], 0.0)
    last = float(step().detach())
    entry["loss_finite"] = math.isfinite(last)
    return entry


def measure(device, quick=False, modes=MODES, compile_modes=None):
    """Time one training step in each of `modes` on `device`; return a plain dict.

    compile_modes: True / False to run or skip the torch.compile modes; None means
    "not in --quick" (a cold compile takes tens of seconds on a small CPU).
    """
    device = torch.device(device)
    if compile_modes is None:
        compile_modes = not quick
    c = config_for(device, quick)
    min_run_time = 0.1 if quick else (0.3 if device.type == "cuda" else 0.5)
    flops = flops_per_step(c)
    gen = torch.Generator(device=device).manual_seed(0)
    shape = (c["batch"], c["seq_len"], c["d_model"])
    x = torch.randn(*shape, device=device, generator=gen)
    y = torch.randn(*shape, device=device, generator=gen)
    out = {"config": c, "flops_per_step": flops, "tokens_per_step": c["batch"] * c["seq_len"],
           "float32_matmul_precision": torch.get_float32_matmul_precision(),
           "libraries": describe_libraries(),
           "compile_cache": "a fresh, empty Inductor/Triton cache per compiled mode (cold)",
           "modes": {}}

    for mode in modes:
        if mode.startswith("compile") and not compile_modes:
            reason = ("skipped in --quick: a cold torch.compile takes tens of seconds"
                      if quick else "skipped: torch.compile turned off (--compile off)")
            out["modes"][mode] = {"status": "skipped", "reason": reason}
            log(f"{mode}: {reason}")
            continue
        log(f"{mode}: ...")
        try:
            if mode.startswith("compile"):
                with cold_compiler_cache():
                    entry = run_mode(mode, c, device, x, y, min_run_time)
            else:
                entry = run_mode(mode, c, device, x, y, min_run_time)
        except Exception as e:  # e.g. no C compiler, an unsupported Python, an Inductor bug
            msg = f"{type(e).__name__}: {e}".strip()
            out["modes"][mode] = {"status": "skipped", "reason": msg[:400]}
            log(f"{mode}: skipped ({msg[:200]})")
            continue
        entry["tflops_median"] = flops / entry["median_s"] / 1e12
        entry["tokens_per_s"] = out["tokens_per_step"] / entry["median_s"]
        out["modes"][mode] = entry
        extra = f", first step {entry['first_step_s']:.2f} s"
        log(f"{mode}: {entry['median_s'] * 1e3:.2f} ms/step (median of {entry['runs']}){extra}")

    # Check each mode against eager fp32 (same weights, same batch), then the speedups.
    base = out["modes"].get("eager_fp32", {})
    for mode, e in out["modes"].items():
        if e["status"] != "ok" or base.get("status") != "ok":
            continue
        diff = abs(e["loss_first_step"] - base["loss_first_step"]) / abs(base["loss_first_step"])
        e["loss_rel_diff_vs_eager_fp32"] = diff
        e["loss_check"] = "ok" if diff <= MAX_LOSS_REL_DIFF[mode] and e["loss_finite"] else "wrong"
        e["speedup_vs_eager_fp32"] = base["median_s"] / e["median_s"]
    return out


def _safe(fn):
    try:
        return fn()
    except Exception:  # a query the build does not support: record null, do not crash
        return None


def describe_libraries():
    """Which optimised libraries this torch uses: the evidence for claim C4.1."""
    info = {
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,  # None on a CPU-only build
        "cuda_available": torch.cuda.is_available(),
        "cudnn_available": _safe(torch.backends.cudnn.is_available),
        "cudnn_version": _safe(torch.backends.cudnn.version),
        "nccl_version": _safe(lambda: ".".join(map(str, torch.cuda.nccl.version()))),
        "mkl_available": _safe(torch.backends.mkl.is_available),
        "mkldnn_available": _safe(torch.backends.mkldnn.is_available),  # oneDNN
        "openmp_available": _safe(torch.backends.openmp.is_available),
        "cpu_capability": _safe(torch.backends.cpu.get_cpu_capability),
        "c_compiler": shutil.which(os.environ.get("CXX", "")) or shutil.which("g++")
        or shutil.which("clang++") or shutil.which("cc"),
        "triton_version": None,
    }
    if torch.cuda.is_available():
        info["sdpa_kernels_enabled"] = {
            "flash": _safe(torch.backends.cuda.flash_sdp_enabled),
            "mem_efficient": _safe(torch.backends.cuda.mem_efficient_sdp_enabled),
            "cudnn": _safe(torch.backends.cuda.cudnn_sdp_enabled),
            "math": _safe(torch.backends.cuda.math_sdp_enabled)}
    try:
        import triton  # ships with CUDA builds of torch; torch.compile's GPU code generator
        info["triton_version"] = triton.__version__
    except Exception:
        pass
    # torch.__config__.show(): the libraries named in the build ("Intel oneAPI MKL",
    # "MKL-DNN v3.x", "CuDNN 9.x", "CUDA Runtime 12.x") and the build settings.
    text = _safe(torch.__config__.show) or ""
    info["build_libraries"] = [ln.strip(" -") for ln in text.splitlines()
                               if ln.startswith("  - ") and "Build settings" not in ln
                               and "CXX_FLAGS" not in ln]
    settings = dict(re.findall(r"\b([A-Z_]+)=([^,\s]*)", text))
    keep = ("BLAS_INFO", "LAPACK_INFO", "CUDA_VERSION", "CUDNN_VERSION", "USE_CUDA", "USE_CUDNN",
            "USE_MKL", "USE_MKLDNN", "USE_NCCL", "USE_OPENMP", "USE_ROCM")
    info["build_settings"] = {k: settings[k] for k in keep if k in settings}
    return info


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
                    help="a tiny model that finishes in seconds (torch.compile off unless --compile on)")
    ap.add_argument("--modes", nargs="+", default=MODES, choices=MODES,
                    help="modes to measure (default: all four)")
    ap.add_argument("--compile", default="auto", choices=["auto", "on", "off"],
                    help="run the torch.compile modes: auto = yes, except with --quick")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    compile_modes = {"auto": None, "on": True, "off": False}[args.compile]
    result = {"snippet": "framework", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, modes=args.modes, compile_modes=compile_modes)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
