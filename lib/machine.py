"""Which machine this is: the record written into every results file (no host name, user or
path: it is published), the name of its results folder, and how two records differ."""
import hashlib
import os
import platform
import re
import subprocess

from lib.results import ROOT


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_slug(cpu, gpu):
    """The results folder's name: the CPU's name, its family and model numbers (which tell
    apart CPUs that share a marketing name, such as two 'AMD EPYC' VMs of different
    generations), its logical cores, and the GPU model and count where there is one:
    'amd-epyc-f26m2-2c', 'intel-xeon-platinum-8480-f6m143-16c-nvidia-h100-80gb-hbm3'."""
    name = re.sub(r"\((r|tm)\)|\bcpu\b|\bprocessor\b|@.*$", " ", cpu["model"], flags=re.I)
    ident = cpu.get("id") or {}
    fam, model = ident.get("cpu family"), ident.get("model")
    slug = _slug(name) or "cpu"
    if fam is not None and model is not None:
        slug += f"-f{_slug(str(fam))}m{_slug(str(model))}"
    slug += f"-{cpu['logical_cores']}c"
    if gpu:
        slug += (f"-{gpu['count']}x-{_slug(gpu['name'])}" if gpu["count"] > 1
                 else f"-{_slug(gpu['name'])}")
    return slug


def _cpu_info():
    model, cores, ident = platform.processor() or platform.machine(), set(), {}
    phys = core = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name":
                    model = val
                elif key in ("cpu family", "model", "stepping", "flags", "vendor_id", "cpu MHz"):
                    ident[key] = val
                elif key == "physical id":
                    phys = val
                elif key == "core id":
                    core = val
                elif not key and core is not None:
                    cores.add((phys, core))
                    phys = core = None
        if core is not None:
            cores.add((phys, core))
    except OSError:
        pass
    ram = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = round(int(line.split()[1]) * 1024 / 1e9, 1)
    except OSError:
        pass
    logical = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    # family/model/stepping and the feature flags tell apart CPUs that share a marketing name
    flags = ident.pop("flags", "")
    vendor = ident.pop("vendor_id", None)
    mhz, clock_source = _cpu_clock_mhz(ident.pop("cpu MHz", None))
    ident["flags_sha256"] = hashlib.sha256(flags.encode()).hexdigest()[:12] if flags else None
    sockets = len({phys for phys, _ in cores if phys is not None}) or None
    return {"model": re.sub(r"\s+", " ", model).strip(), "logical_cores": logical, "sockets": sockets,
            "usable_cores": usable, "physical_cores": len(cores) or None, "ram_gb": ram,
            "id": ident, "vendor": vendor,
            # the vector extensions the theoretical peak is worked out from (lib/ceilings.py)
            "isa": sorted(set(flags.split()) & ISA_FLAGS), "clock_mhz": mhz,
            "clock_source": clock_source, "llc_bytes": _cpu_llc_bytes()}


ISA_FLAGS = {"sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16",
             "amx_tile", "asimd", "sve"}


def _cpu_clock_mhz(reported):
    """The CPU's highest clock the OS can tell: cpufreq's maximum where it exists (a host),
    else the 'cpu MHz' of /proc/cpuinfo (in a VM often the nominal clock, not the turbo)."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as f:
            return round(int(f.read()) / 1000, 1), "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    try:
        return (round(float(reported), 1), "/proc/cpuinfo cpu MHz") if reported else (None, None)
    except ValueError:
        return None, None


def _cpu_llc_bytes():
    """The last-level cache (L3 summed over its instances, else L2), from /sys."""
    import glob
    best = {}
    for d in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cache/index[0-9]*"):
        try:
            level = int(open(d + "/level").read())
            text = open(d + "/size").read().strip()
            shared = open(d + "/shared_cpu_list").read().strip()
            if open(d + "/type").read().strip() == "Instruction":
                continue
        except (OSError, ValueError):
            continue
        unit = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(text[-1:], 1)
        try:
            best.setdefault(level, {})[shared] = int(text.rstrip("KMG")) * unit
        except ValueError:
            continue
    if not best:
        return None
    return sum(best[max(best)].values())


def _gpu_info(torch):
    if not torch.cuda.is_available():
        return None
    p = torch.cuda.get_device_properties(0)
    driver = None
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30).stdout.split("\n")[0].strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"name": p.name, "count": torch.cuda.device_count(),
            "memory_gb": round(p.total_memory / 1e9, 1), "capability": f"{p.major}.{p.minor}",
            "multiprocessors": p.multi_processor_count, "driver": driver,
            "cuda": torch.version.cuda, "l2_bytes": getattr(p, "L2_cache_size", None) or None}


def machine_info():
    """Describe this machine (no host name, user or path: this data is published)."""
    import torch
    cpu, gpu = _cpu_info(), _gpu_info(torch)
    return {"slug": machine_slug(cpu, gpu), "cpu": cpu, "gpu": gpu, "os": platform.system(),
            "arch": platform.machine()}


def software_info():
    import torch
    sw = {"python": platform.python_version(), "torch": torch.__version__,
          "cuda": torch.version.cuda, "cudnn": None, "numpy": None}
    if torch.cuda.is_available():
        sw["cudnn"] = torch.backends.cudnn.version()
    try:
        import numpy
        sw["numpy"] = numpy.__version__
    except ImportError:
        pass
    return sw


def git_commit():
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "snippets"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None




# What makes two machine records the same machine: what the results depend on and a person
# would call "another box" (a new driver or more RAM is the same box; the cache key sees those).
IDENTITY = (("cpu", "model"), ("cpu", "id", "cpu family"), ("cpu", "id", "model"),
            ("cpu", "id", "stepping"), ("cpu", "id", "flags_sha256"), ("cpu", "logical_cores"),
            ("gpu", "name"), ("gpu", "count"))


def _get(record, keys):
    for k in keys:
        if not isinstance(record, dict):
            return None
        record = record.get(k)
    return record


def differences(stored, current):
    """How two machine records differ in identity, as ['cpu.id.stepping: 1 there, 2 here'];
    a field missing from either record (an older file) is not held against it."""
    out = []
    for keys in IDENTITY:
        if keys[0] == "gpu" and (stored.get("gpu") is None) != (current.get("gpu") is None):
            if keys[1] == "name":
                out.append(f"gpu: {_get(stored, keys) or 'none'} there, {_get(current, keys) or 'none'} here")
            continue
        a, b = _get(stored, keys), _get(current, keys)
        if a is not None and b is not None and a != b:
            out.append(f"{'.'.join(keys)}: {a} there, {b} here")
    return out
