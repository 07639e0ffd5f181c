#!/usr/bin/env python3
"""Can the CPU feed the model? DataLoader throughput vs training throughput.

Tests claim C5.2 of the article: the CPU prepares the data (here: decoding stand-in,
random resized crop, flip, normalise) so that the GPU gets its input on time. Three
measurements, each in samples per second:

1. loader alone: a torch.utils.data.DataLoader over a Dataset that makes every image in
   __getitem__ on the CPU, for several num_workers (0, 1, 2 on a 2-core machine; 0, 2, 4, 8
   with 8+ cores) and, where CUDA exists, pin_memory off and on;
2. model alone: training steps (forward + backward + SGD step) of a small ResNet on one
   batch that is already on the device;
3. end to end: the loader feeding the model, with the host-to-device copy
   (non_blocking when the batch is pinned, so the copy can overlap the computation).

The end-to-end rate cannot beat min(loader, model); whichever is lower is the bottleneck.
The device's idle share is estimated as 1 - (time the model alone would need for the same
samples) / (end-to-end time) = 1 - end_to_end_rate / model_rate: the fraction of the time
the GPU waits for data. On a CPU-only run the "device" is the same CPU that runs the
workers, so there it measures contention rather than idleness.

Copy and run (only torch is needed):

    python dataloader.py                          # CUDA if present, else CPU
    python dataloader.py --device cpu --quick     # seconds on a laptop
    python dataloader.py --device cuda --out dataloader.json

Prints one JSON object to stdout (or to --out). Every rate is measured over windows of
several batches after warm-up batches (the first batch, and the batches the workers
prefetched while the main process waited for it), with runs / min / median / max / IQR
over the windows; the time to the first batch (worker start-up) is reported separately.
Configurations the device cannot run are reported as skipped, with the reason. Progress
lines go to stderr.

Cost model: images are random uint8 H x W x 3 arrays (standing in for decoded files);
real pipelines that decode JPEGs spend far more CPU time per sample, so these loader
rates are an upper bound for real data of the same size.
"""
import argparse
import json
import multiprocessing
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

METHOD_VERSION = 2  # 2: model-alone blocks timed directly, not by blocked_autorange
MIN_RUNS = 5
PREFETCH = 2  # DataLoader's prefetch_factor: batches each worker prepares ahead


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- the data: made on the CPU in __getitem__, like a real image pipeline --------------

class SyntheticImages(Dataset):
    """n random images, each 'decoded' at src x src, then random-resized-cropped to
    size x size, flipped half the time, converted to float and normalised; 10 classes.

    Defined at module level so that worker processes started with 'spawn' can import it.
    """

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, n, size=64, src=80, seed=0):
        self.n, self.size, self.src, self.seed = n, size, src, seed
        self.mean = torch.tensor(self.MEAN).view(3, 1, 1)
        self.std = torch.tensor(self.STD).view(3, 1, 1)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        # A generator per sample: the same index gives the same sample in any worker.
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        img = torch.randint(0, 256, (self.src, self.src, 3), dtype=torch.uint8, generator=g)
        r = torch.randint(0, 1 << 30, (5,), generator=g).tolist()
        side = self.src // 2 + r[0] % (self.src - self.src // 2 + 1)  # crop 50-100 % of the side
        top, left = r[1] % (self.src - side + 1), r[2] % (self.src - side + 1)
        x = img[top:top + side, left:left + side].permute(2, 0, 1).float().unsqueeze(0)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)[0]
        if r[3] % 2:
            x = x.flip(-1)
        x = (x / 255.0 - self.mean) / self.std
        return x, r[4] % 10


# ---- the model: a small ResNet (stride-2 stem, three stages of one residual block) ------

class Block(nn.Module):
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
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def make_model(classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),  # 64 -> 32 px
        Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, classes))


# ---- timing helpers ----------------------------------------------------------------------

def sync(device):
    # CUDA kernels run asynchronously: wait until queued work has really finished
    # before reading the clock, or the time would only cover launching them.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def spread(times):
    t = sorted(times)
    n = len(t)
    med = t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2
    return {"runs": n, "min_s": t[0], "median_s": med, "max_s": t[-1],
            "iqr_s": t[(3 * n) // 4] - t[n // 4]}


def rates(s, samples):
    """samples/s at the median, slowest and fastest run of `samples` samples."""
    return {"samples_per_s": samples / s["median_s"], "samples_per_s_min": samples / s["max_s"],
            "samples_per_s_max": samples / s["min_s"]}


def make_train_step(model, device):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def model_alone(step, device, batch, size, gen, plan):
    """Training steps on one batch already on the device, timed in blocks of steps.

    plan = (seconds per timed block, min and max seconds of timed blocks)."""
    block_s, min_run_time, max_run_time = plan
    x = torch.randn(batch, 3, size, size, device=device, generator=gen)
    y = torch.randint(0, 10, (batch,), device=device, generator=gen)
    for _ in range(3):  # warm-up: oneDNN / cuDNN pick kernels and allocate memory
        step(x, y)
    sync(device)
    t0 = time.perf_counter()
    step(x, y)
    sync(device)
    est = time.perf_counter() - t0  # one warm step, only to size the timed run
    # A timed block is n steps: one on a CPU, enough on a GPU to fill block_s, so that the
    # synchronisation at both ends of a block costs next to nothing. At least MIN_RUNS
    # blocks and min_run_time of them; no new block after max_run_time.
    n = max(1, round(block_s / est))
    times, spent = [], 0.0
    while len(times) < MIN_RUNS or (spent < min_run_time and spent < max_run_time):
        t0 = time.perf_counter()
        for _ in range(n):
            step(x, y)
        sync(device)  # the clock is read only once the device has finished the block
        took = time.perf_counter() - t0
        times.append(took / n)
        spent += took
    s = spread(times)
    return {"status": "ok", "batch": batch, "step": s, "steps_per_block": n, **rates(s, batch)}


def run_loader(loader, consume, device, warmup, window, windows):
    """Iterate `loader`, pass each batch to consume(); time `windows` windows of `window`
    batches after `warmup` batches. Returns (time to first batch in s, window times)."""
    t0 = time.perf_counter()
    it = iter(loader)  # starts the worker processes
    marks, first_s = [], None
    for i in range(warmup + window * windows):
        x, y = next(it)
        if first_s is None:
            first_s = time.perf_counter() - t0
        consume(x, y)
        done = i + 1 - warmup
        if done >= 0 and done % window == 0:
            sync(device)  # the window ends when the device has finished its work
            marks.append(time.perf_counter())
    del it  # shuts the workers down
    return first_s, [b - a for a, b in zip(marks, marks[1:])]


def make_loader(ds, batch, workers, pin):
    extra = {}
    if workers > 0:
        extra["prefetch_factor"] = PREFETCH
        # fork starts workers in milliseconds; spawn (the default on macOS / Windows, and
        # forkserver on Python 3.14+ Linux) re-imports this file in every worker.
        if "fork" in multiprocessing.get_all_start_methods():
            extra["multiprocessing_context"] = "fork"
    return DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                      pin_memory=pin, generator=torch.Generator().manual_seed(0), **extra)


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))  # what this process may really use
    except AttributeError:
        return os.cpu_count() or 1


def default_workers(cores):
    if cores <= 4:
        return list(range(cores + 1))  # 2 cores: 0, 1, 2
    return [0] + [w for w in (2, 4, 8) if w <= cores]  # 16 cores: 0, 2, 4, 8


def measure(device, quick=False, workers=None, batch=None):
    """Loader alone, model alone and both together on `device`; return a plain dict."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed shapes: pick the fastest conv kernels once
    cores = usable_cores()
    workers = default_workers(cores) if workers is None else workers
    size, src = (32, 40) if quick else (64, 80)
    if batch is None:
        batch = 256 if cuda else (16 if quick else 32)
    windows = MIN_RUNS
    # Batches per window (at least num_workers, so that every worker delivers in each).
    # On a CPU one training step of a batch of 32 takes ~0.1-0.5 s: one per window.
    if cuda:
        loader_window = e2e_window = 4 if quick else 8
    else:
        loader_window, e2e_window = (2 if quick else 4), 1
    # Model-alone timing: seconds per timed block, min and max seconds of timed blocks.
    if cuda:
        plan = (0.3, 0.3, 2.0) if quick else (0.3, 1.0, 3.0)
    else:
        plan = (0.0, 0.3, 1.0) if quick else (0.0, 2.0, 5.0)
    gen = torch.Generator(device=device).manual_seed(0)
    out = {"image_size": size, "source_size": src, "batch": batch, "cores": cores,
           "workers": workers, "prefetch_factor": PREFETCH, "windows_per_config": windows,
           "start_method": "fork" if "fork" in multiprocessing.get_all_start_methods() else "default"}

    # Workers hand batches over through shared memory; a small /dev/shm (a container's
    # default is 64 MB) makes them fail, and that is then reported as skipped.
    try:
        st = os.statvfs("/dev/shm")
        out["shm_free_gb"] = st.f_bavail * st.f_frsize / 1e9
    except (OSError, AttributeError):
        out["shm_free_gb"] = None

    # Measurement 2 (model alone) runs first: it also warms up the end-to-end kernels.
    torch.manual_seed(0)
    model = make_model().to(device)
    step = make_train_step(model, device)
    out["model"] = model_alone(step, device, batch, size, gen, plan)
    model_rate = out["model"]["samples_per_s"]
    log(f"model alone: {model_rate:.0f} samples/s (batch {batch}, {size}x{size})")

    configs = [(w, pin) for w in workers for pin in (False, True)]
    loader_rate = {}
    for phase in ("loader", "end_to_end"):
        out[phase] = []
        for w, pin in configs:
            entry = {"num_workers": w, "pin_memory": pin}
            out[phase].append(entry)
            if pin and not cuda:
                entry.update(status="skipped", reason="pin_memory only speeds up copies from "
                             "host to a CUDA GPU; this run's device is the CPU")
                continue
            window = max((loader_window if phase == "loader" else e2e_window), w)
            warmup = 1 + w * PREFETCH  # first batch + what the workers prefetched meanwhile
            ds = SyntheticImages(batch * (warmup + window * windows), size, src)
            if phase == "loader":
                consume = lambda x, y: None  # noqa: E731  (the loader's own speed)
            else:
                def consume(x, y, pin=pin):
                    # non_blocking only helps from pinned memory: the copy then runs
                    # asynchronously and can overlap the previous step's kernels.
                    step(x.to(device, non_blocking=pin), y.to(device, non_blocking=pin))
            try:
                first_s, times = run_loader(make_loader(ds, batch, w, pin), consume, device,
                                            warmup, window, windows)
            except (RuntimeError, OSError) as e:  # e.g. no shared memory for workers
                entry.update(status="skipped", reason=f"{type(e).__name__}: {e}"[:300])
                log(f"{phase} workers={w} pin={pin}: skipped ({e})")
                continue
            s = spread(times)
            entry.update(status="ok", first_batch_s=first_s, warmup_batches=warmup,
                         batches_per_window=window, window=s, **rates(s, window * batch))
            rate = entry["samples_per_s"]
            if phase == "loader":
                loader_rate[(w, pin)] = rate
                log(f"loader alone   workers={w} pin={pin!s:5}: {rate:8.0f} samples/s "
                    f"(first batch after {first_s:.2f} s)")
            else:
                expected = min(loader_rate.get((w, pin), float("inf")), model_rate)
                entry.update(
                    expected_samples_per_s=expected,
                    bottleneck="loader" if loader_rate.get((w, pin), float("inf")) < model_rate
                    else "model",
                    # Fraction of the end-to-end time the device did not spend on steps.
                    # Noise can push it slightly below 0; it is clipped there.
                    device_idle_share_estimate=max(0.0, 1.0 - rate / model_rate))
                log(f"end to end     workers={w} pin={pin!s:5}: {rate:8.0f} samples/s, "
                    f"bottleneck {entry['bottleneck']}, device idle "
                    f"{entry['device_idle_share_estimate']:.0%}")

    ok = [e for e in out["end_to_end"] if e["status"] == "ok"]
    best = max(ok, key=lambda e: e["samples_per_s"]) if ok else None
    keep_up = [w for (w, pin), r in sorted(loader_rate.items()) if r >= model_rate]
    out["summary"] = {
        "model_samples_per_s": model_rate,
        "best_end_to_end": None if best is None else {
            k: best[k] for k in ("num_workers", "pin_memory", "samples_per_s", "bottleneck",
                                 "device_idle_share_estimate")},
        # The fewest workers whose loader alone keeps up with the model (None: none did).
        "min_workers_to_keep_up": keep_up[0] if keep_up else None,
        # CPU time one sample costs in a single process (from the num_workers=0 loader).
        "loader_us_per_sample_one_process": (1e6 / loader_rate[(0, False)]
                                             if (0, False) in loader_rate else None)}
    return out


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}",
                "host_cores": usable_cores()}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads(),
            "host_cores": usable_cores()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="device that trains the model (default: cuda if available, else cpu)")
    ap.add_argument("--quick", action="store_true",
                    help="32x32 images, small batches and short runs (seconds)")
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="num_workers values to try (default: 0 1 2 on <= 4 cores, "
                         "else 0 2 4 8)")
    ap.add_argument("--batch", type=int, default=None,
                    help="samples per batch (default: 256 on CUDA, 32 on CPU, 16 with --quick)")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    if args.workers is not None and min(args.workers) < 0:
        ap.error("--workers: values must be >= 0")
    result = {"snippet": "dataloader", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device),
              **measure(device, quick=args.quick, workers=args.workers, batch=args.batch)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
