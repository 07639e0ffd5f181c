"""A device's ceilings: the best rate any snippet measured on it, and the ISA's arithmetic.

No single kernel can be assumed to be a machine's fastest: on one CPU torch's matmul leads, on
another numpy's BLAS or oneDNN's convolution. So a device's compute ceiling for a dtype is the
highest FLOP rate measured on that device, for that dtype, across every kernel the suite runs
(matmuls, convolutions, training steps), named with the kernel that reached it; its bandwidth
ceiling is the highest rate of any memory-bound kernel whose working set is at least
CACHE_FACTOR times the last-level cache (so that it streams from DRAM / HBM, not cache).

Beside the measured ceilings, a CPU's theoretical peak from its ISA is worked out:
cores x FMA units x SIMD lanes x 2 FLOP x clock. It is arithmetic, not a measurement, and is
labelled so wherever it is shown.

Each candidate is a dict: {"kind": "compute"|"bandwidth", "dtype", "value" (GFLOP/s or GB/s),
"snippet", "kernel" (zh/en-neutral text), "path" (the key in the snippet's result),
"working_set_bytes" (bandwidth)}.
"""
CACHE_FACTOR = 4   # a bandwidth point counts as DRAM only with a working set >= 4x the LLC
FMA_UNITS = 2      # FMA pipes per core assumed for the ISA peak (true of recent x86 servers)


def _ok(x):
    return isinstance(x, dict) and x.get("status", "ok") == "ok"


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and x > 0


def _compute(out, dtype, gflops, snippet, kernel, path):
    if _num(gflops):
        out.append({"kind": "compute", "dtype": dtype, "value": float(gflops), "snippet": snippet,
                    "kernel": kernel, "path": path})


def _bandwidth(out, gb, ws, snippet, kernel, path, note=None):
    if _num(gb):
        out.append({"kind": "bandwidth", "dtype": None, "value": float(gb), "snippet": snippet,
                    "kernel": kernel, "path": path, "working_set_bytes": ws, "note": note})


# ---------------------------------------------------------------- one extractor per snippet

def _matmul(r, out):
    for dt, e in (r.get("dtypes") or {}).items():
        for i, p in enumerate(e.get("sizes", []) if _ok(e) else []):
            _compute(out, dt, 1000 * p.get("tflops_median", 0), "matmul",
                     f"torch.matmul {p.get('n')}³", f"dtypes.{dt}.sizes.{i}.tflops_median")
    for dt, e in (r.get("numpy") or {}).items():
        if isinstance(e, dict):
            for i, p in enumerate(e.get("sizes", [])):
                _compute(out, dt, 1000 * p.get("tflops_median", 0), "matmul",
                         f"numpy matmul {p.get('n')}³", f"numpy.{dt}.sizes.{i}.tflops_median")


def _parallel(r, out):
    conv = r.get("conv")
    if _ok(conv):
        dt = "tf32" if conv.get("tf32") else "fp32"
        for i, p in enumerate(conv.get("points", [])):
            _compute(out, dt, p.get("gflop_per_s_median"), "parallel",
                     f"conv2d 3×3, batch {p.get('batch')}", f"conv.points.{i}.gflop_per_s_median")
    th = r.get("cpu_threads")
    if _ok(th):
        for i, p in enumerate(th.get("points", [])):
            _compute(out, "fp32", p.get("gflop_per_s_median"), "parallel",
                     f"conv2d 3×3, batch {th.get('batch')}, {p.get('threads')} threads",
                     f"cpu_threads.points.{i}.gflop_per_s_median")
    ew = r.get("elementwise")
    if _ok(ew):
        for i, p in enumerate(ew.get("points", [])):
            _bandwidth(out, p.get("gb_per_s_median"),
                       p.get("working_set_bytes", 12 * p.get("elements", 0)), "parallel",
                       f"y = a·x + b, 2^{int(p.get('elements', 1)).bit_length() - 1} elements",
                       f"elementwise.points.{i}.gb_per_s_median")


def _cnn_train(r, out):
    for prec, e in (r.get("precisions") or {}).items():
        if not _ok(e):
            continue
        curve = e.get("curve") or [e]
        for i, c in enumerate(curve):
            if _ok(c) and "tflops" in c:
                path = f"precisions.{prec}.curve.{i}.tflops" if "curve" in e else f"precisions.{prec}.tflops"
                _compute(out, prec, 1000 * c["tflops"], "cnn_train",
                         f"ResNet-14 training step, batch {c.get('batch')}", path)


def _gpt_train(r, out):
    t = r.get("timing")
    if isinstance(t, dict) and "tflops_median" in t:
        prec = (r.get("config") or {}).get("precision", "fp32")
        _compute(out, prec, 1000 * t["tflops_median"], "gpt_train", "small GPT training step",
                 "timing.tflops_median")


def _framework(r, out):
    fp32 = "tf32" if r.get("float32_matmul_precision") in ("high", "medium") else "fp32"
    for mode, e in (r.get("modes") or {}).items():
        if _ok(e) and "tflops_median" in e:
            _compute(out, "bf16" if mode.endswith("autocast") else fp32, 1000 * e["tflops_median"],
                     "framework", f"transformer training step, {mode}", f"modes.{mode}.tflops_median")


def _roofline(r, out):
    for i, k in enumerate(r.get("kernels", [])):
        if not _ok(k) or "gflop_per_s_median" not in k:
            continue
        if k["name"] in ("matmul", "bmm"):
            _compute(out, k["dtype"], k["gflop_per_s_median"], "roofline",
                     f"{k['name']} {k['shape']}", f"kernels.{i}.gflop_per_s_median")
        else:
            _bandwidth(out, k.get("gb_per_s_median"), k.get("working_set_bytes", k.get("bytes")),
                       "roofline", f"{k['name']} ({k['dtype']}, {k['shape']})",
                       f"kernels.{i}.gb_per_s_median", "no write-allocate counted")


def _bandwidth_snippet(r, out):
    n_arrays = {"read": 1, "update": 1, "copy": 2, "triad": 3}
    for name, k in (r.get("kernels") or {}).items():
        ws = k.get("working_set_bytes", n_arrays.get(name, 1) * r.get("buffer_bytes", 0))
        _bandwidth(out, k.get("gb_per_s"), ws, "bandwidth", f"{name}", f"kernels.{name}.gb_per_s",
                   k.get("write_allocate"))


def _cpu_control(r, out, device):
    for i, s in enumerate((r.get("update") or {}).get("sizes", [])):
        n = s.get("params", 0)
        if device == "cpu":
            e, path = (s.get("offload") or {}).get("cpu_step"), f"update.sizes.{i}.offload.cpu_step.gb_per_s"
        else:
            e, path = s.get("on_device"), f"update.sizes.{i}.on_device.gb_per_s"
        if _ok(e):
            _bandwidth(out, e.get("gb_per_s"), e.get("working_set_bytes", 16 * n), "cpu_control",
                       f"AdamW step, {n / 1e6:.0f} M parameters", path)
    for i, b in enumerate((r.get("launch") or {}).get("batches", [])):
        for mode in ("eager", "cuda_graph"):
            e = b.get(mode)
            if _ok(e) and "tflops" in e:
                _compute(out, "fp32", 1000 * e["tflops"], "cpu_control",
                         f"MLP training step, batch {b.get('batch')}, {mode}",
                         f"launch.batches.{i}.{mode}.tflops")


def candidates(results, device):
    """Every rate measured on one device: `results` is {snippet: result dict, or the list of
    a run's independent repeats, newest first (--repeat)} of that device. A rate from an
    earlier repeat says which ("repeat": 1 is the one before the newest)."""
    out = []
    for snippet, rs in results.items():
        for i, r in enumerate(rs if isinstance(rs, list) else [rs]):
            if not isinstance(r, dict):
                continue
            found = []
            if snippet == "cpu_control":
                _cpu_control(r, found, device)
            elif snippet == "bandwidth":
                _bandwidth_snippet(r, found)
            elif snippet in EXTRACT:
                EXTRACT[snippet](r, found)
            out += [dict(c, repeat=i) if i else c for c in found]
    return out


EXTRACT = {"matmul": _matmul, "parallel": _parallel, "cnn_train": _cnn_train,
           "gpt_train": _gpt_train, "framework": _framework, "roofline": _roofline}


# ---------------------------------------------------------------- last-level cache

def llc_bytes(info, device, results):
    """The device's last-level cache: the machine record, else what a snippet found."""
    if device == "cuda":
        gpu = info.get("gpu") or {}
        if gpu.get("l2_bytes"):
            return gpu["l2_bytes"]
        from lib.datasheets import datasheet_for
        sheet = datasheet_for(gpu.get("name"))
        if sheet and sheet.get("l2_mb"):
            return sheet["l2_mb"] * 10 ** 6
    else:
        cpu = info.get("cpu") or {}
        if cpu.get("llc_bytes"):
            return cpu["llc_bytes"]
    bw = results.get("bandwidth") or {}
    if bw.get("last_level_cache_bytes"):
        return bw["last_level_cache_bytes"]
    rl = (results.get("roofline") or {}).get("llc") or {}
    return rl.get("bytes")


def in_dram(c, llc):
    """Does a bandwidth candidate stream from memory (working set >= CACHE_FACTOR x LLC)?"""
    ws = c.get("working_set_bytes")
    return bool(ws and llc and ws >= CACHE_FACTOR * llc)


# ---------------------------------------------------------------- the ISA's arithmetic

def isa_peak(info):
    """A CPU's theoretical peak GFLOP/s by dtype, from its flags and clock, or None.

    cores x FMA units x SIMD lanes x 2 FLOP (a multiply and an add) x clock. Each usable
    core (vCPU) counts as a whole core, so on SMT siblings this overstates the hardware.
    """
    cpu = (info or {}).get("cpu") or {}
    flags, mhz, cores = set(cpu.get("isa") or []), cpu.get("clock_mhz"), cpu.get("usable_cores")
    if not flags or not mhz or not cores:
        return None
    if "avx512f" in flags:
        bits = 512
    elif "avx2" in flags and "fma" in flags:
        bits = 256
    elif "avx" in flags:
        bits = 256
    else:
        bits = 128
    fma = "fma" in flags or "avx512f" in flags
    datapath = bits
    # Zen 4 (AMD family 25 with AVX-512) runs 512-bit instructions on 256-bit FMA units.
    if bits == 512 and cpu.get("vendor") == "AuthenticAMD" and str((cpu.get("id") or {}).get("cpu family")) == "25":
        datapath = 256
    ghz = mhz / 1000
    lanes32 = datapath // 32
    per_cycle32 = FMA_UNITS * lanes32 * (2 if fma else 1)
    out = {}
    for dt, per_cycle, how in (
            ("fp32", per_cycle32, f"{FMA_UNITS} FMA units × {lanes32} fp32 lanes × 2 FLOP"),
            ("fp64", per_cycle32 // 2, f"{FMA_UNITS} FMA units × {lanes32 // 2} fp64 lanes × 2 FLOP")):
        out[dt] = {"gflop_per_s": cores * per_cycle * ghz, "per_cycle_per_core": per_cycle,
                   "formula": f"{cores} cores × {how} × {ghz:.2f} GHz"}
    if "amx_bf16" in flags:  # AMX: a 16x32 by 32x16 bf16 tile product, 1,024 multiply-adds a cycle
        out["bf16"] = {"gflop_per_s": cores * 2048 * ghz, "per_cycle_per_core": 2048,
                       "formula": f"{cores} cores × AMX 1,024 bf16 multiply-adds × 2 FLOP × {ghz:.2f} GHz"}
    elif "avx512_bf16" in flags:  # vdpbf16ps: two bf16 products per fp32 lane
        out["bf16"] = {"gflop_per_s": cores * per_cycle32 * 2 * ghz, "per_cycle_per_core": per_cycle32 * 2,
                       "formula": f"{cores} cores × {FMA_UNITS} FMA units × {lanes32} lanes × 2 bf16 "
                                  f"pairs × 2 FLOP × {ghz:.2f} GHz"}
    for v in out.values():
        v.update(simd_bits=bits, datapath_bits=datapath, clock_mhz=mhz,
                 clock_source=cpu.get("clock_source"), cores=cores)
    return out


# ---------------------------------------------------------------- the ceilings

def ceilings(info, device, results):
    """The ceilings of one device of one machine.

    Returns {"compute": {dtype: best candidate}, "bandwidth": best candidate or None (marked
    "in_cache": True when no kernel with a DRAM-sized working set was measured),
    "llc_bytes", "isa_peak" (CPU only, or None), "candidates": every candidate}.
    """
    cands = candidates(results, device)
    newest = {k: (v[0] if isinstance(v, list) and v else v) for k, v in results.items()}
    llc = llc_bytes(info, device, newest)
    compute = {}
    for c in cands:
        if c["kind"] == "compute" and c["value"] > compute.get(c["dtype"], {}).get("value", 0):
            compute[c["dtype"]] = c
    dram = [c for c in cands if c["kind"] == "bandwidth" and in_dram(c, llc)]
    bandwidth = max(dram, key=lambda c: c["value"]) if dram else None
    if bandwidth is None:  # e.g. only --quick runs: the best there is, marked as (maybe) cache
        small = [c for c in cands if c["kind"] == "bandwidth"]
        bandwidth = dict(max(small, key=lambda c: c["value"]), in_cache=True) if small else None
    return {"compute": compute, "bandwidth": bandwidth, "llc_bytes": llc,
            "isa_peak": isa_peak(info) if device == "cpu" else None, "candidates": cands}


def all_ceilings(runs_by_snippet):
    """{(machine, device): ceilings} from charts.runs_by_snippet()'s runs. A --quick run on a
    GPU supplies no ceiling (its sizes are too small to say anything about the hardware)."""
    grouped = {}
    for snippet, runs in runs_by_snippet.items():
        for r in runs:
            if r["device"] == "cuda" and r["record"].get("quick"):
                continue
            key = (r["machine"], r["device"])
            grouped.setdefault(key, {"info": r["info"], "results": {}})
            # every repeat: the ceiling is the best any of them reached
            grouped[key]["results"][snippet] = r.get("repeats") or [r["result"]]
    return {key: ceilings(g["info"], key[1], g["results"]) for key, g in grouped.items()}
