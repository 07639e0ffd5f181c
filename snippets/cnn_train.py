#!/usr/bin/env python3
"""Training throughput of a small ResNet on CIFAR-10-shaped images, by precision.

Tests claim C1.2 of the article: a GPU trains an image classifier much faster than a CPU,
on which training "can be too slow to be practical". A ResNet-14 (stem convolution, three
stages of two residual blocks with BatchNorm, about 0.7 M parameters) is trained on random
32 x 32 RGB images with random labels from 10 classes, with SGD + momentum and
cross-entropy. One step = forward + backward + optimizer step, with the batch already on
the device, so this is the compute side only (claim C5.2's data loading is in dataloader.py).

Precisions: fp32 (full fp32, TF32 off), tf32 (PyTorch's default for CUDA convolutions:
TF32 tensor cores; CUDA only) and bf16 (torch.autocast: convolutions in bfloat16, weights,
gradients and the optimizer in fp32).

Copy and run (only torch is needed):

    python cnn_train.py                          # CUDA if present, else CPU
    python cnn_train.py --device cpu --quick     # seconds on a laptop
    python cnn_train.py --device cuda --out cnn_train.json

Prints one JSON object to stdout (or to --out): the parameter count, the FLOPs per image,
and per precision and batch size ("curve": 64 on a CPU; 256 and 1024 on a GPU, so that a
large GPU is not shown waiting on kernel launches of a small batch) the step time (min / median / max / IQR over the timed
runs), images per second, achieved TFLOP/s, and the *projected* time of one 50,000-image
CIFAR-10 epoch (50,000 / images per second; no real epoch is run). The loss of the last
timed step is recorded to show that training ran and stayed finite; as one batch is reused,
the model memorises its random labels and the loss falls, which says nothing about
accuracy. Each precision's own figures are those of its fastest batch size. A precision
the device cannot run is reported as skipped, with the reason.
Progress lines go to stderr.

FLOPs: a convolution producing an output of C_out x H x W from C_in channels with a k x k
kernel costs 2 * C_out * H * W * C_in * k * k (one multiply-add = 2 FLOPs); the Linear
layer 2 * in * out. BatchNorm, ReLU and pooling are left out (under 1 %). A training step
counts as 3 x forward: the backward pass computes gradients for both the inputs and the
weights, each about as costly as the forward pass.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

METHOD_VERSION = 2  # 2: no blocked_autorange; a batch-size curve on CUDA
MIN_RUNS = 5
EPOCH_IMAGES = 50_000  # CIFAR-10's training set
PRECISIONS = ["fp32", "tf32", "bf16"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- the model: a ResNet for 32 x 32 inputs -------------------------------------------

class Block(nn.Module):
    """Two 3x3 convolutions with BatchNorm, plus a shortcut (1x1 conv where the shape changes)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


def make_model(widths=(32, 64, 128), blocks_per_stage=2, classes=10):
    layers = [nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    c_in = widths[0]
    for i, w in enumerate(widths):
        for j in range(blocks_per_stage):
            # Each stage after the first halves the resolution: 32 -> 16 -> 8.
            layers.append(Block(c_in, w, stride=2 if i > 0 and j == 0 else 1))
            c_in = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, classes)]
    return nn.Sequential(*layers)


def forward_flops_per_image(model, device):
    """Count conv and linear FLOPs of one 3x32x32 image with forward hooks (formula above)."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            total[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
        else:  # nn.Linear
            total[0] += 2 * out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()  # eval + no_grad: counting must not change BatchNorm's running statistics
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32, device=device))
    model.train()
    for h in handles:
        h.remove()
    return total[0]


# ---- timing ----------------------------------------------------------------------------

def sync(device):
    # CUDA kernels run asynchronously: wait until queued work has really finished.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def set_tf32(enabled):
    """TF32 for CUDA convolutions (on by default in PyTorch) and matmuls (off by default)."""
    mode = "tf32" if enabled else "ieee"
    if hasattr(torch.backends.cudnn, "conv") and hasattr(torch.backends.cudnn.conv, "fp32_precision"):
        # torch >= 2.9: the per-operator API. Do not mix it with the legacy allow_tf32
        # flags: reading a legacy flag after setting the new one can raise. RNN is set
        # too only so that conv and RNN agree (an RNN-vs-conv mismatch is what raises).
        torch.backends.cudnn.conv.fp32_precision = mode
        torch.backends.cudnn.rnn.fp32_precision = mode
        torch.backends.cuda.matmul.fp32_precision = mode
    else:
        torch.backends.cudnn.allow_tf32 = enabled
        torch.backends.cuda.matmul.allow_tf32 = enabled


def skip_reason(precision, device):
    if precision == "tf32" and device.type != "cuda":
        return "TF32 is a CUDA tensor-core mode; CPUs have no TF32 convolution"
    if precision == "tf32" and torch.cuda.get_device_capability(device) < (8, 0):
        return "TF32 needs compute capability 8.0+ (Ampere or newer)"
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "this GPU has no bfloat16 support"
    return None


def spread(times):
    t = sorted(times)
    n = len(t)
    med = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
    return {"runs": n, "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": t[(3 * n) // 4] - t[n // 4]}


def time_steps(step, device, warmup, block_s, min_run_time, max_run_time):
    """Warm up, then time blocks of step() calls.

    Returns (seconds per step of each timed block, steps per block)."""
    for _ in range(warmup - 1):  # first steps pick convolution algorithms, allocate memory
        step()
    sync(device)
    t0 = time.perf_counter()
    step()
    sync(device)
    est = time.perf_counter() - t0  # one warm step: a rough step time, only to size the run
    # A timed block is n steps: one on a CPU (a step takes 0.1-1 s), enough on a GPU to fill
    # block_s, so that the synchronisation at both ends of a block costs next to nothing.
    n = max(1, round(block_s / est))
    # At least MIN_RUNS blocks and min_run_time of them; no new block after max_run_time.
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or (spent < min_run_time and spent < max_run_time):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        sync(device)  # the clock is read only once the GPU has finished the block
        took = time.perf_counter() - t0
        times.append(took / n)
        spent += took
    return times, n


def train_throughput(precision, device, batch, plan, flops_per_image, gen):
    torch.manual_seed(0)  # same initial weights for every precision
    model = make_model().to(device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    # Synthetic CIFAR-10-shaped batch, already on the device (normalised pixels, random labels).
    x = torch.randn(batch, 3, 32, 32, device=device, generator=gen)
    x = x.contiguous(memory_format=torch.channels_last)  # NHWC: what tensor cores / oneDNN prefer
    y = torch.randint(0, 10, (batch,), device=device, generator=gen)
    set_tf32(precision == "tf32")
    use_bf16 = precision == "bf16"
    last_loss = [None]

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        last_loss[0] = loss  # keep the tensor; .item() here would synchronise every step

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        times, n = time_steps(step, device, *plan)
    finally:
        set_tf32(False)  # back to full fp32 for whatever runs next
    loss = float(last_loss[0].detach())
    s = spread(times)
    entry = {"status": "ok", "batch": batch, "step": s, "steps_per_block": n,
             "images_per_s": batch / s["median_s"],
             "images_per_s_min": batch / s["max_s"], "images_per_s_max": batch / s["min_s"],
             "tflops": 3 * flops_per_image * batch / s["median_s"] / 1e12,
             "projected_epoch_s": EPOCH_IMAGES / (batch / s["median_s"]),
             "last_loss": loss, "loss_finite": math.isfinite(loss),
             "peak_memory_gb": (torch.cuda.max_memory_allocated(device) / 1e9
                                if device.type == "cuda" else None)}
    return entry


def default_batches(device, quick):
    """A CPU step at batch 64 already takes a tenth of a second or more; a large GPU needs
    batches in the hundreds to thousands before it stops waiting on kernel launches."""
    if device.type == "cpu":
        return [8] if quick else [64]
    return [256] if quick else [256, 1024]


def measure(device, quick=False, precisions=PRECISIONS, batches=None):
    """Train the model on `device` in each precision and batch size; return a plain dict.

    Per precision, "curve" holds one entry per batch size, and the precision's own fields are
    those of the batch size with the most images per second (see the module docstring)."""
    device = torch.device(device)
    if device.type == "cuda":
        # Fixed input shapes: let cuDNN benchmark its algorithms once and keep the fastest.
        torch.backends.cudnn.benchmark = True
    gen = torch.Generator(device=device).manual_seed(0)
    batches = list(batches or default_batches(device, quick))
    # Timing plan per precision: warm-up steps, seconds per timed block, min and max seconds
    # of timed blocks. A few single steps on a CPU; blocks of many steps on a GPU.
    if device.type == "cpu":
        plan = (1, 0.0, 0.05, 1.0) if quick else (2, 0.0, 2.0, 6.0)
    else:
        plan = (10, 0.3, 0.3, 2.0) if quick else (10, 0.3, 1.0, 4.0)
    model = make_model()
    fwd = forward_flops_per_image(model, "cpu")
    out = {"model": "ResNet-14 (widths 32/64/128, 2 blocks per stage)", "image_shape": [3, 32, 32],
           "classes": 10, "params": sum(p.numel() for p in model.parameters()),
           "forward_flops_per_image": fwd, "train_flops_per_image": 3 * fwd,
           "epoch_images": EPOCH_IMAGES, "memory_format": "channels_last",
           "optimizer": "SGD(lr=0.05, momentum=0.9, weight_decay=5e-4)", "batches": batches,
           "precisions": {}}
    log(f"model: {out['params'] / 1e6:.2f} M parameters, {fwd / 1e6:.0f} MFLOP forward per image")
    for name in precisions:
        reason = skip_reason(name, device)
        curve = []
        for batch in batches if reason is None else []:
            try:
                entry = train_throughput(name, device, batch, plan, fwd, gen)
            except torch.cuda.OutOfMemoryError as e:  # a batch this GPU cannot hold: keep the others
                curve.append({"status": "skipped", "batch": batch,
                              "reason": f"out of memory: {e}"[:300]})
                log(f"{name}: batch {batch} skipped (out of memory)")
                torch.cuda.empty_cache()
                continue
            except (RuntimeError, NotImplementedError) as e:  # e.g. no bf16 kernel on this CPU
                reason = f"{type(e).__name__}: {e}"[:300]
                break
            curve.append(entry)
            log(f"{name}: batch {batch}, {entry['step']['median_s'] * 1e3:.1f} ms/step "
                f"(median of {entry['step']['runs']}), {entry['images_per_s']:.0f} images/s, "
                f"projected epoch {entry['projected_epoch_s']:.1f} s, loss {entry['last_loss']:.3f}")
        ok = [e for e in curve if e["status"] == "ok"]
        if reason is None and not ok:
            reason = "no batch size fitted in memory"
        if reason is not None:
            out["precisions"][name] = {"status": "skipped", "reason": reason}
            log(f"{name}: skipped ({reason})")
            continue
        best = max(ok, key=lambda e: e["images_per_s"])
        out["precisions"][name] = {**best, "batches_tried": [e["batch"] for e in curve],
                                   "curve": curve}
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
    ap.add_argument("--quick", action="store_true", help="small batch and short runs (seconds)")
    ap.add_argument("--precisions", nargs="+", default=PRECISIONS, choices=PRECISIONS,
                    help="precisions to measure (default: all)")
    ap.add_argument("--batches", type=int, nargs="+", default=None, metavar="N",
                    help="images per step, one run per size (default: 64 on CPU, 8 with --quick; "
                         "256 and 1024 on CUDA, 256 with --quick)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    if args.batches and min(args.batches) < 1:
        ap.error("--batches: sizes must be positive")
    result = {"snippet": "cnn_train", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, precisions=args.precisions, batches=args.batches)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
