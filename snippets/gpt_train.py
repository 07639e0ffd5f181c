#!/usr/bin/env python3
"""Train a small GPT on random tokens: tokens/s, TFLOP/s, MFU, matmul share, peak memory.

Tests claims C2.3 (language-model training is mostly matrix multiply-add, so FLOPS
decide its speed) and C3.2 (parameters and intermediate results take a lot of memory).
A nanoGPT-style decoder (token + position embedding, pre-LayerNorm blocks of causal
self-attention via F.scaled_dot_product_attention and a 4x GELU MLP, tied output head)
is defined below and trained with AdamW on random tokens: no download, realistic shapes.

Copy and run (only torch is needed):

    python gpt_train.py                          # CUDA if present, else CPU
    python gpt_train.py --device cpu --quick     # a tiny model, seconds on a laptop
    python gpt_train.py --device cpu --peak-tflops 1.5 --out gpt.json   # MFU vs your CPU

Model sizes: --quick 2 layers, d=64; CPU 4 layers, d=256, seq 256, batch 8, vocab 8192
(5.3M parameters, fp32); CUDA the GPT-2 small shape (12 layers, d=768, seq 1024, batch 8,
vocab 50304, 124M parameters) in bf16 autocast. Override the precision with --precision.
Eager mode, no torch.compile, no gradient clipping: a plain training loop.

Prints one JSON object to stdout (or to --out): per training step (forward + backward +
AdamW step) the time with min / median / max over the timed steps, tokens/s, achieved
TFLOP/s and MFU (model FLOPs utilisation: achieved / the device's datasheet dense peak),
the share of op / kernel time that torch.profiler puts in matrix multiplication and in
attention, and the peak memory next to an estimate. Progress lines go to stderr.

Peak memory, tensors only: on CUDA torch.cuda.max_memory_allocated over the timed steps;
on CPU the weights and AdamW states plus the peak of the allocations that
torch.profiler(profile_memory=True) logs during one step. The estimate (16 bytes per
parameter for fp32 weights, grads and two AdamW moments, plus the activations kept for
backward) is written out in memory_estimate() below.

FLOPs per token (training = forward 2 + backward 4 FLOPs per weight per token, as in
Kaplan et al. 2020 and nanoGPT's estimate_mfu):
    6 * N_matmul + 12 * n_layer * d_model * seq_len
N_matmul = 12 * n_layer * d_model^2 + vocab * d_model: the weights that enter a matrix
product (the tied embedding counts once, as the output head; position embedding and
LayerNorm do not). The attention term counts the full seq x seq score matrix (Q K^T and
A V, 2 * 2 * seq * d per token and layer forward, x3 with backward); a causal kernel skips
about half of it, so this overstates the real work a little, as nanoGPT's estimate does.
"""
import argparse
import contextlib
import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

METHOD_VERSION = 2  # 2: states that attention FLOPs are counted without the causal mask
MIN_RUNS = 5

# Model and run sizes. Steps: warm-up (not timed: the first steps allocate memory, create
# the AdamW states and pick kernels), timed, then (CPU only) one step for peak memory,
# then profiled.
CONFIGS = {
    "quick": dict(n_layer=2, n_head=2, d_model=64, seq_len=64, batch_size=4, vocab_size=512,
                  warmup_steps=2, timed_steps=5, profiled_steps=1),
    "cpu": dict(n_layer=4, n_head=4, d_model=256, seq_len=256, batch_size=8, vocab_size=8192,
                warmup_steps=2, timed_steps=5, profiled_steps=1),
    # GPT-2 small (124M); vocab 50257 padded to a multiple of 64 as nanoGPT does.
    "cuda": dict(n_layer=12, n_head=12, d_model=768, seq_len=1024, batch_size=8,
                 vocab_size=50304, warmup_steps=5, timed_steps=20, profiled_steps=3),
}

# Dense (no 2:4 sparsity) tensor-core peaks in TFLOP/s from NVIDIA's datasheets, which print
# the sparse figure: these are half of it. "fp32" is the plain (non-tensor-core) FP32 rate.
# Matched against torch.cuda.get_device_name() as a whole model name, first match wins, so
# "H100 NVL" and "H100 PCIe" come before the SXM "H100". lib/datasheets.py in the
# project holds the same figures (a test checks that the two agree).
PEAK_TFLOPS = [
    ("H200 NVL", {"bf16": 835.5, "tf32": 417.5, "fp32": 60}),
    ("H200", {"bf16": 989.5, "tf32": 494.5, "fp32": 67}),  # SXM: "NVIDIA H200"
    ("H100 NVL", {"bf16": 835.5, "tf32": 417.5, "fp32": 60}),
    ("H100 PCIe", {"bf16": 756.5, "tf32": 378, "fp32": 51}),
    ("H100", {"bf16": 989.5, "tf32": 494.5, "fp32": 67}),  # SXM5: "NVIDIA H100 80GB HBM3"
    ("A100", {"bf16": 312, "tf32": 156, "fp32": 19.5}),
    ("L40S", {"bf16": 366.5, "tf32": 183, "fp32": 91.6}),
    ("L4", {"bf16": 121, "tf32": 60, "fp32": 30.3}),
    ("A10", {"bf16": 125, "tf32": 62.5, "fp32": 31.2}),
]

# How profiler names are sorted into matrix multiplication, attention and the rest.
# CPU: ATen op names. CUDA: kernel names (cuBLAS: *gemm*, nvjet_* on Hopper, cutlass,
# xmma; attention: flash / memory-efficient (fmha) / cuDNN sdpa kernels).
CPU_MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul",
                  "aten::linear", "aten::addmv", "aten::mv", "aten::dot"}
ATTENTION_WORDS = ("scaled_dot_product", "flash", "fmha", "sdpa", "attention")
GEMM_WORDS = ("gemm", "nvjet", "cutlass", "xmma", "cublas", "matmul", "wgmma")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the model

class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, 4 * d_model, bias=False)
        self.fc_out = nn.Linear(4 * d_model, d_model, bias=False)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(b, s, self.n_head, d // self.n_head).transpose(1, 2) for t in (q, k, v))
        # One fused kernel (flash / memory-efficient on CUDA, a flash-style loop on CPU):
        # the seq x seq score matrix is never stored, so memory stays linear in seq.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, s, d))
        return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, d_model, seq_len, vocab_size):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        for m in self.modules():  # GPT-2 init: small weights, so the first loss is ~ln(vocab)
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx, targets):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.tok.weight)  # tied head: reuses the embedding
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def count_params(cfg):
    """Parameters of GPT(cfg) by formula; measure() checks it against the real model."""
    L, d, s, V = cfg["n_layer"], cfg["d_model"], cfg["seq_len"], cfg["vocab_size"]
    # per block: qkv 3d^2 + proj d^2 + MLP 8d^2 weights, two LayerNorms (weight + bias) 4d
    matmul = 12 * L * d * d + V * d
    return {"total": V * d + s * d + L * (12 * d * d + 4 * d) + 2 * d,
            "matmul": matmul, "position_embedding": s * d}


def flops_per_token(cfg):
    """6 * N_matmul + 12 * n_layer * d_model * seq_len (see the module docstring)."""
    dense = 6 * count_params(cfg)["matmul"]
    attention = 12 * cfg["n_layer"] * cfg["d_model"] * cfg["seq_len"]
    return {"per_token": dense + attention, "weights_6n": dense, "attention": attention,
            "formula": "6 * N_matmul + 12 * n_layer * d_model * seq_len",
            # The attention term is the full seq x seq score matrix: the causal mask's skipped
            # half is not subtracted (as nanoGPT's estimate_mfu), so TFLOP/s and MFU are
            # slightly above the work a causal kernel really does.
            "attention_causal": False}


def memory_estimate(cfg, bf16):
    """Bytes one training step needs at its peak, by formula.

    Weights, grads and both AdamW moments are fp32: 4 + 4 + 8 = 16 bytes per parameter
    (bf16 autocast keeps the fp32 weights as the master copy and casts on the fly; it
    caches one bf16 copy of each matmul weight for the step: + 2 bytes per N_matmul).
    Activations saved for backward, per layer, per token and per channel: 17 values
    (LayerNorm inputs 2, the qkv and MLP-up inputs 2, q k v 3, attention output and its
    re-laid-out copy 2, MLP hidden before and after GELU 4 + 4), 4 bytes each in fp32
    = 68 bytes; under bf16 autocast 38 bytes (the residual stream and LayerNorm inputs
    stay fp32). The head: the final LayerNorm input and output (8 bytes per token and
    channel in fp32, 6 in bf16) and 12 bytes per token and vocabulary entry (the fp32
    log-softmax kept for backward, plus two logits-sized buffers alive at the start of
    backward). The flash-style attention stores no seq x seq matrix.
    """
    p = count_params(cfg)
    L, d, V = cfg["n_layer"], cfg["d_model"], cfg["vocab_size"]
    tokens = cfg["batch_size"] * cfg["seq_len"]
    weights = grads = 4 * p["total"]
    adam = 8 * p["total"]
    casts = 2 * p["matmul"] if bf16 else 0
    activations = tokens * ((38 if bf16 else 68) * L * d + (6 if bf16 else 8) * d + 12 * V)
    return {"weights_bytes": weights, "grads_bytes": grads, "adamw_states_bytes": adam,
            "autocast_weight_copies_bytes": casts, "activations_bytes": activations,
            "total_bytes": weights + grads + adam + casts + activations,
            "formula": "16 * N_params + (2 * N_matmul if bf16) + batch * seq * "
                       "((68 fp32 | 38 bf16) * n_layer * d + (8 | 6) * d + 12 * vocab)"}


# ---------------------------------------------------------------- peaks, timing, profile

def lookup_peak(gpu_name, precision):
    """(dense peak TFLOP/s, table entry) for a GPU name from PEAK_TFLOPS, or (None, None)."""
    for pattern, peaks in PEAK_TFLOPS:
        # Whole-word match, so "A10" matches neither "A100" nor "A10G", "L4" not "L40S".
        if re.search(r"(?<![A-Za-z0-9])" + re.escape(pattern) + r"(?![A-Za-z0-9])",
                     gpu_name, re.I):
            return peaks[precision], pattern
    return None, None


def peak_tflops(device, precision, override):
    """The dense peak for MFU: --peak-tflops, else the datasheet table, else None + why."""
    if override:
        return {"peak_tflops": override, "source": "--peak-tflops"}
    if device.type != "cuda":
        return {"peak_tflops": None, "reason": "no datasheet peak for a CPU: pass --peak-tflops "
                                              "(e.g. the best fp32 TFLOP/s of matmul.py)"}
    name = torch.cuda.get_device_name(device)
    peak, entry = lookup_peak(name, precision)
    if peak is None:
        return {"peak_tflops": None, "reason": f"{name!r} is not in the peak table: "
                                              "pass --peak-tflops"}
    return {"peak_tflops": peak,
            "source": f"NVIDIA {entry} datasheet, dense {precision} (PEAK_TFLOPS in gpt_train.py)"}


def time_steps(step, n, device):
    """Run step() n times; return each step's seconds.

    One timed run is one whole training step (ms to s), so steps are timed one by one
    rather than with torch.utils.benchmark.Timer, whose timeit() adds warm-up calls.
    """
    if device.type == "cuda":
        # CUDA work is asynchronous: step() returns once its kernels are queued. Events
        # recorded on the stream between steps mark when the GPU gets there; after a
        # synchronize, elapsed_time() is GPU time between two marks (idle gaps included).
        torch.cuda.synchronize(device)
        marks = [torch.cuda.Event(enable_timing=True) for _ in range(n + 1)]
        marks[0].record()
        for i in range(n):
            step()
            marks[i + 1].record()
        torch.cuda.synchronize(device)
        return [marks[i].elapsed_time(marks[i + 1]) / 1e3 for i in range(n)]
    times = []  # CPU ops run synchronously: a wall clock around the step is exact
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def spread(times, tokens, flops, peak):
    t = sorted(times)
    med = t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2
    q1, q3 = t[len(t) // 4], t[(3 * len(t)) // 4]
    out = {"runs": len(t), "min_s": t[0], "median_s": med, "max_s": t[-1], "iqr_s": q3 - q1,
           "tokens_per_s_median": tokens / med, "tokens_per_s_min": tokens / t[-1],
           "tokens_per_s_max": tokens / t[0], "tflops_median": flops / med / 1e12,
           "tflops_min": flops / t[-1] / 1e12, "tflops_max": flops / t[0] / 1e12}
    if peak:
        for k in ("median", "min", "max"):
            out[f"mfu_{k}"] = out[f"tflops_{k}"] / peak
    return out


def classify(name):
    """'matmul', 'attention' or 'other' for an ATen op or CUDA kernel name."""
    low = name.lower()
    if any(w in low for w in ATTENTION_WORDS):
        return "attention"
    if name in CPU_MATMUL_OPS or any(w in low for w in GEMM_WORDS):
        return "matmul"
    return "other"


def profile_steps(step, n, device):
    """Profile n steps; share of time in matmul, attention and the rest.

    CPU: self time of each ATen op (self = without its children, so nothing counts
    twice). CUDA: duration of each GPU kernel (and memcpy/memset), summed.
    """
    from torch.profiler import ProfilerActivity, profile
    from torch.autograd import DeviceType
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with profile(activities=acts) as prof:
        sync()  # the wall clock starts with an idle GPU and stops when it is done
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        sync()
        wall = time.perf_counter() - t0
    by_name = {}
    for e in prof.events():
        if device.type == "cuda":
            # GPU-side copies of record_function ranges ("gpu_user_annotation") span
            # kernels; counting them too would count that time twice.
            if (e.device_type != DeviceType.CUDA or getattr(e, "is_user_annotation", False)
                    or "annotation" in str(getattr(e, "activity_type", "") or "")):
                continue
            us = e.time_range.elapsed_us()
        else:
            if e.device_type != DeviceType.CPU or e.is_async or not e.name.startswith("aten::"):
                continue
            us = e.self_cpu_time_total
        by_name[e.name] = by_name.get(e.name, 0.0) + us / 1e6
    total = sum(by_name.values())
    if total <= 0:
        return {"status": "skipped", "reason": "the profiler recorded no "
                + ("CUDA kernels (is CUPTI available?)" if device.type == "cuda" else "ATen ops")}
    sums = {"matmul": 0.0, "attention": 0.0, "other": 0.0}
    for name, s in by_name.items():
        sums[classify(name)] += s
    top = sorted(by_name.items(), key=lambda kv: -kv[1])[:10]
    return {"status": "ok", "steps": n, "wall_s": wall,
            "source": ("CUDA kernel time" if device.type == "cuda"
                       else "CPU self time of aten:: ops"),
            "total_s": total, "matmul_s": sums["matmul"], "attention_s": sums["attention"],
            "other_s": sums["other"], "matmul_share": sums["matmul"] / total,
            "attention_share": sums["attention"] / total,
            "matmul_plus_attention_share": (sums["matmul"] + sums["attention"]) / total,
            # CUDA: how busy the GPU was; CPU: how much of the wall time is inside ATen ops
            "profiled_share_of_wall": total / wall,
            "top": [{"name": k[:120], "kind": classify(k), "s": v, "share": v / total}
                    for k, v in top]}


def tensor_bytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors if torch.is_tensor(t))


def cpu_step_peak_bytes(step):
    """Peak of CPU tensor memory allocated during one step, above what existed before it.

    With profile_memory=True the profiler logs every CPU tensor allocation and free
    ("[memory]" events, in bytes); their running sum in time order is the memory the
    step holds at each moment, and its maximum is the step's peak (tensors only, like
    torch.cuda.max_memory_allocated; malloc's own slack is not counted).
    """
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    if not events:
        raise RuntimeError("the profiler recorded no memory events")
    held = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        held += e.nbytes()
        peak = max(peak, held)
    return peak


# ---------------------------------------------------------------- measure

def measure(device, quick=False, precision="auto", peak_override=None):
    """Train the GPT of this device's config; return a plain dict (see module docstring)."""
    device = torch.device(device)
    cfg = dict(CONFIGS["quick" if quick else device.type])
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    bf16 = precision == "bf16"
    # "tf32" lets fp32 matmuls use TF32 tensor cores (CUDA only); "highest" keeps true fp32.
    old_matmul_precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == "tf32" else "highest")
    torch.manual_seed(0)

    model = GPT(cfg["n_layer"], cfg["n_head"], cfg["d_model"], cfg["seq_len"],
                cfg["vocab_size"]).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    params = count_params(cfg)
    assert n_params == params["total"], (n_params, params)  # the formula matches the model
    # fused=True: one CUDA kernel updates every tensor; on CPU the plain per-tensor loop.
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1,
                            fused=device.type == "cuda")
    gen = torch.Generator(device=device).manual_seed(0)
    # Four random batches, cycled: x is the tokens, y the same tokens shifted by one.
    data = [torch.randint(cfg["vocab_size"], (cfg["batch_size"], cfg["seq_len"] + 1),
                          device=device, generator=gen) for _ in range(4)]
    batches = [(t[:, :-1].contiguous(), t[:, 1:].contiguous()) for t in data]
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 \
        else contextlib.nullcontext
    state = {"i": 0, "loss": None}

    def step():
        x, y = batches[state["i"] % len(batches)]
        state["i"] += 1
        with autocast():
            loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)  # frees the grads between steps
        state["loss"] = loss.detach()  # no .item() here: it would synchronise the GPU

    tokens = cfg["batch_size"] * cfg["seq_len"]
    fl = flops_per_token(cfg)
    flops_step = fl["per_token"] * tokens
    peak = peak_tflops(device, precision, peak_override)
    log(f"GPT {cfg['n_layer']} layers, d={cfg['d_model']}, seq {cfg['seq_len']}, batch "
        f"{cfg['batch_size']}, {n_params / 1e6:.1f} M params, {precision} on {device.type}; "
        f"{fl['per_token'] / 1e6:.1f} MFLOP/token")

    # 1. Warm up (and note the first loss: random tokens give about ln(vocab)).
    step()
    first_loss = float(state["loss"])
    for _ in range(cfg["warmup_steps"] - 1):
        step()

    # 2. Time, and measure peak memory over the same steps (AdamW states now exist).
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        resident = torch.cuda.memory_allocated(device)  # weights + AdamW states, grads freed
        torch.cuda.reset_peak_memory_stats(device)
    times = time_steps(step, max(MIN_RUNS, cfg["timed_steps"]), device)
    timing = spread(times, tokens, flops_step, peak["peak_tflops"])
    log(f"step {timing['median_s'] * 1e3:.1f} ms median of {timing['runs']}: "
        f"{timing['tokens_per_s_median']:.0f} tokens/s, {timing['tflops_median']:.3f} TFLOP/s")
    est = memory_estimate(cfg, bf16)
    if device.type == "cuda":
        memory = {"status": "ok", "peak_bytes": torch.cuda.max_memory_allocated(device),
                  "resident_bytes": resident,
                  "reserved_peak_bytes": torch.cuda.max_memory_reserved(device),
                  "method": "torch.cuda.max_memory_allocated over the timed steps (tensors "
                            "only; reserved_peak_bytes adds the caching allocator's spare blocks)"}
    else:
        # Between steps only the weights and the AdamW states are alive (grads were freed).
        resident = tensor_bytes(list(model.parameters()) + [
            t for st in opt.state.values() for t in st.values()])
        try:
            extra = cpu_step_peak_bytes(step)
            memory = {"status": "ok", "peak_bytes": resident + extra, "resident_bytes": resident,
                      "method": "weights + AdamW states between steps, plus the peak of the "
                                "CPU tensor allocations torch.profiler(profile_memory=True) "
                                "logs during one more step (tensors only)"}
        except Exception as e:  # an internal profiler API: record why, keep the rest
            memory = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}
    memory["estimate"] = est
    if memory["status"] == "ok":
        memory["measured_over_estimate"] = memory["peak_bytes"] / est["total_bytes"]
        log(f"peak memory {memory['peak_bytes'] / 2**20:.1f} MiB measured, "
            f"{est['total_bytes'] / 2**20:.1f} MiB estimated")

    # 3. Where the time goes: matmul vs attention vs the rest.
    try:
        prof = profile_steps(step, cfg["profiled_steps"], device)
    except Exception as e:  # the profiler is optional machinery; never lose the timings
        prof = {"status": "skipped", "reason": f"{type(e).__name__}: {e}"[:300]}
    if prof["status"] == "ok":
        log(f"profile: matmul {prof['matmul_share']:.0%}, attention "
            f"{prof['attention_share']:.0%}, other {1 - prof['matmul_plus_attention_share']:.0%}")
    last_loss = float(state["loss"])
    torch.set_float32_matmul_precision(old_matmul_precision)

    mfu = ({"status": "ok", "peak_tflops": peak["peak_tflops"], "source": peak["source"],
            "mfu_median": timing["mfu_median"], "mfu_min": timing["mfu_min"],
            "mfu_max": timing["mfu_max"]} if peak["peak_tflops"]
           else {"status": "skipped", "reason": peak["reason"], "mfu_median": None})
    return {"config": {**cfg, "precision": precision, "tokens_per_step": tokens,
                       "optimizer": "AdamW lr 3e-4, weight decay 0.1"
                                    + (", fused" if device.type == "cuda" else "")},
            "params": {**params, "counted": n_params},
            "flops": {**fl, "per_step": flops_step},
            "timing": {"method": "CUDA events" if device.type == "cuda" else "time.perf_counter",
                       **timing},
            "mfu": mfu, "memory": memory, "profile": prof,
            "loss": {"first": first_loss, "last": last_loss,
                     "ln_vocab": math.log(cfg["vocab_size"]), "steps": state["i"]}}


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}",
                "memory_bytes": p.total_memory}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="device to train on (default: cuda if available, else cpu)")
    ap.add_argument("--quick", action="store_true", help="a tiny model that finishes in seconds")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "tf32", "bf16"],
                    help="auto: bf16 autocast on a CUDA GPU that has bf16, else fp32; "
                         "tf32 (CUDA only): fp32 weights, TF32 tensor-core matmuls")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the device's peak TFLOP/s for MFU (default: NVIDIA datasheet table "
                         "for known GPUs; none for a CPU)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    if args.precision == "tf32" and device != "cuda":
        ap.error("--precision tf32 needs a CUDA GPU")
    if args.peak_tflops is not None and args.peak_tflops <= 0:
        ap.error("--peak-tflops must be positive")
    try:
        measured = measure(device, quick=args.quick, precision=args.precision,
                           peak_override=args.peak_tflops)
    except torch.cuda.OutOfMemoryError as e:  # a smaller GPU than this model's config needs
        measured = {"status": "skipped", "reason": f"out of GPU memory: {e}"[:300]}
    result = {"snippet": "gpt_train", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device), **measured}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
