#!/usr/bin/env python3
"""Measure this machine, render the results, build the site.

    python build_results.py                 # measure + render + site (the main command)
    python build_results.py measure [--quick] [--only NAME ...] [--device cpu|cuda|all] [--force]
                                    [--timeout SECONDS] [--deadline SECONDS]
    python build_results.py render          # results -> charts and tables (no torch needed)
    python build_results.py site            # mkdocs build --strict

measure runs each snippets/<name>.py as a subprocess, the same command a reader runs, and
stores its JSON with the run's provenance in docs/results/<machine>/<name>.json. A snippet
is run again only when its source, its arguments, torch or numpy, the machine or the thread
settings changed (--force runs it anyway). A snippet that fails, hangs or runs out of memory
is reported and the last good result is kept; the command then exits 1. measure needs only
the standard library and torch, so it runs on a bare GPU box.

Snippets run in a priority order, so that a run cut short by --deadline SECONDS (a GPU box
lent for minutes) has what matters most: the headline figures first (matmul's FLOP/s,
bandwidth's GB/s, and the roofline built on both), then training (a small GPT, a CNN), then
what explains it (parallelism, the CPU's share, data loading, all-reduce), and framework
last (two cold torch.compile runs: the longest, and it decides no headline). With
--device all the GPU goes before the CPU. On a GPU box: scripts/gpu-measure.sh.
"""
import argparse
import datetime as dt
import hashlib
import json
import math
import os
import pathlib
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent
SNIPPETS_DIR = ROOT / "snippets"
RESULTS_DIR = ROOT / "docs" / "results"
GENERATED_DIR = ROOT / "docs" / "generated"
SCHEMA_VERSION = 1
DEFAULT_TIMEOUT_S = {"quick": 180, "full": 600}
MIN_START_S = 1.0  # with --deadline, a snippet is not started with less time than this left
# Fields every run record must carry; render refuses a file that lacks one.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
RUN_FIELDS = ("method_version", "source_sha256", "command", "args", "measured_at", "software",
              "cache_key", "quick", "result")


class UserError(Exception):
    """A problem with the input that deserves one clear line, not a traceback (exit 2)."""


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------- results files

def snippet_names():
    return sorted(p.stem for p in SNIPPETS_DIR.glob("*.py") if not p.name.startswith("_"))


def source_sha256(name):
    return hashlib.sha256((SNIPPETS_DIR / f"{name}.py").read_bytes()).hexdigest()


def write_json_atomic(path, data):
    """Write JSON so that a reader (or a crash) never sees a half-written file."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # published data: mkstemp would leave it readable by its owner only
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def read_results_file(path):
    """Load and check one results file; raise UserError naming the file and the field."""
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    for field in ("schema_version", "snippet", "machine", "runs"):
        if field not in data:
            raise UserError(f"{path}: missing field '{field}'")
    if data["schema_version"] != SCHEMA_VERSION:
        raise UserError(f"{path}: schema_version {data['schema_version']!r} is not supported "
                        f"(this build reads {SCHEMA_VERSION})")
    for device, run in data["runs"].items():
        for field in RUN_FIELDS:
            if field not in run:
                raise UserError(f"{path}: missing field 'runs.{device}.{field}'")
    return data


def load_all(results_dir=RESULTS_DIR):
    """Every results file under results_dir, as {(machine_slug, snippet): data}."""
    out = {}
    for path in sorted(pathlib.Path(results_dir).glob("*/*.json")):
        data = read_results_file(path)
        data["_path"] = path
        out[(path.parent.name, data["snippet"])] = data
    return out


# ---------------------------------------------------------------- the machine

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
    return {"model": re.sub(r"\s+", " ", model).strip(), "logical_cores": logical,
            "usable_cores": usable, "physical_cores": len(cores) or None, "ram_gb": ram,
            "id": ident, "vendor": vendor,
            # the vector extensions the theoretical peak is worked out from (charts/ceilings.py)
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


# ---------------------------------------------------------------- measure

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cache_key(name, args, software, machine):
    """What determines a snippet's result: its source, its arguments, torch and numpy, the
    machine (the exact CPU, usable cores, the GPU and its driver) and thread settings."""
    cpu, gpu = machine["cpu"], machine.get("gpu") or {}
    blob = json.dumps([source_sha256(name), args, software["torch"], software.get("numpy"),
                       cpu.get("model"), cpu.get("id"), cpu.get("usable_cores"),
                       gpu.get("name"), gpu.get("count"), gpu.get("driver"),
                       {v: os.environ.get(v) for v in THREAD_VARS}], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_snippet(name, args, timeout_s, prefix):
    """Run one snippet as a reader would; stream its progress; return (json, None) or (None, cause)."""
    cmd = [sys.executable, str(SNIPPETS_DIR / f"{name}.py"), *args]
    with tempfile.TemporaryDirectory() as tmp:
        out_file = pathlib.Path(tmp) / "out.json"
        err_file = pathlib.Path(tmp) / "err.txt"
        with open(err_file, "w") as err:
            # Own process group, so that a timeout or Ctrl-C also ends the snippet's children.
            # Ctrl-C and kill are held back while it starts, so that no signal can land between
            # the start and the try below and leave the snippet running on its own.
            held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            try:
                proc = subprocess.Popen(
                    [*cmd, "--out", str(out_file)], cwd=ROOT, stdout=err, stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held))
            except BaseException:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                raise
            shown, deadline = 0, time.monotonic() + timeout_s
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held signal is raised here
                while proc.poll() is None:
                    time.sleep(0.2)
                    shown = _echo_new_lines(err_file, shown, prefix)
                    if time.monotonic() > deadline:
                        _kill_group(proc)
                        return None, f"timed out after {timeout_s:.0f} s"
            except BaseException:
                _kill_group(proc)
                raise
            _echo_new_lines(err_file, shown, prefix)
        tail = err_file.read_text(errors="replace")[-2000:]
        if proc.returncode != 0:
            if proc.returncode < 0:
                cause = f"killed by signal {signal.Signals(-proc.returncode).name}"
            else:
                cause = f"exited with status {proc.returncode}"
            if "out of memory" in tail.lower() or "MemoryError" in tail:
                cause += " (out of memory)"
            last = [ln for ln in tail.strip().splitlines() if ln.strip()]
            return None, cause + (f": {last[-1].strip()[:300]}" if last else "")
        try:
            return json.loads(out_file.read_text()), None
        except (OSError, json.JSONDecodeError) as e:
            return None, f"printed no valid JSON ({e})"


def _echo_new_lines(path, shown, prefix):
    text = pathlib.Path(path).read_text(errors="replace")
    if len(text) > shown:
        end = text.rfind("\n", shown) + 1
        for line in text[shown:end].splitlines():
            log(f"{prefix}{line}")
        return end or shown
    return shown


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# The order snippets run in, most wanted first, so that a run cut short by --deadline (a GPU
# box lent for minutes) has the figures that matter most: the headline figures (matmul's
# FLOP/s, bandwidth's GB/s) and the roofline built on them; then training (a small GPT, a
# CNN); then what explains training (parallelism, the CPU's share of the work, data loading);
# the arithmetic of train_memory and the all-reduce (skipped on one GPU); framework last: two
# cold torch.compile runs make it the longest and it decides no headline. Snippets not named
# here (a new one) run after these, by name. With --device all the GPU goes first.
PRIORITY = ["matmul", "bandwidth", "roofline", "gpt_train", "cnn_train", "parallel",
            "cpu_control", "dataloader", "train_memory", "allreduce", "framework"]
DEVICE_ORDER = ["cuda", "cpu"]


def job_order(names, devices):
    """(snippet, device) jobs in the order measure runs them (see PRIORITY)."""
    rank = {n: i for i, n in enumerate(PRIORITY)}
    ordered = sorted(names, key=lambda n: (rank.get(n, len(PRIORITY)), n))
    devs = sorted(devices, key=lambda d: DEVICE_ORDER.index(d) if d in DEVICE_ORDER else len(DEVICE_ORDER))
    return [(n, d) for d in devs for n in ordered]


def measure(names, devices, quick=False, force=False, results_dir=RESULTS_DIR, timeout_s=None,
            deadline_s=None):
    """Run `names` on `devices` in priority order; write results atomically.

    deadline_s: one wall-clock budget for the whole run. Each snippet gets at most the time
    left; one not started before it runs out is reported as not run. Returns
    (failures, not_run): [(name, device, cause)] and [(name, device)]."""
    import torch
    machine, software = machine_info(), software_info()
    commit = git_commit()
    timeout_s = timeout_s or DEFAULT_TIMEOUT_S["quick" if quick else "full"]
    out_dir = pathlib.Path(results_dir) / machine["slug"]
    log(f"machine: {machine['slug']}  (torch {software['torch']}, results in "
        f"{_rel(out_dir)})")
    jobs = job_order(names, devices)
    failures, not_run, t_all = [], [], time.monotonic()
    ends_at = t_all + deadline_s if deadline_s else None
    for i, (name, device) in enumerate(jobs, 1):
        args = ["--device", device] + (["--quick"] if quick else [])
        key = cache_key(name, args, software, machine)
        path = out_dir / f"{name}.json"
        old = read_results_file(path) if path.exists() else None
        prev = (old or {}).get("runs", {}).get(device)
        head = f"[{i}/{len(jobs)}] {name} on {device}"
        why = _why_run(prev, key, name, args, software, force)
        if why is None:
            log(f"{head}: skipped, cached (nothing that determines its result changed)")
            continue
        budget = timeout_s
        if ends_at is not None:
            left = ends_at - time.monotonic()
            if left < MIN_START_S:
                log(f"{head}: NOT RUN: the --deadline of {deadline_s:g} s has run out")
                not_run.append((name, device))
                continue
            budget = min(timeout_s, left)
        log(f"{head}: running ({why})")
        t0 = time.monotonic()
        result, cause = run_snippet(name, args, budget, prefix="    ")
        took = time.monotonic() - t0
        if cause and budget < timeout_s and cause.startswith("timed out"):
            # Stopped by the deadline, not by its own timeout: not the snippet's failure.
            log(f"{head}: NOT FINISHED: stopped at the --deadline after {took:.1f} s; "
                f"the last good result, if any, is kept")
            not_run.append((name, device))
            continue
        data = old or {"schema_version": SCHEMA_VERSION, "snippet": name, "runs": {}}
        data["machine"] = machine
        data.setdefault("failures", {})
        cause, result = scrub(cause), scrub(result)
        if cause:
            log(f"{head}: FAILED after {took:.1f} s: {cause}; last good result kept")
            failures.append((name, device, cause))
            data["failures"][device] = {"at": _now(), "cause": cause, "command": _command(name, args)}
        else:
            data["runs"][device] = {
                "method_version": result.get("method_version"),
                "source_sha256": source_sha256(name), "command": _command(name, args),
                "args": args, "measured_at": _now(), "duration_s": round(took, 2),
                "git_commit": commit, "software": software, "cache_key": key, "quick": quick,
                "result": result}
            data["failures"].pop(device, None)
            log(f"{head}: done in {took:.1f} s")
        if not data["failures"]:
            del data["failures"]
        if data["runs"] or data.get("failures"):
            write_json_atomic(path, data)
    log(f"measure: {len(jobs)} job(s) in {time.monotonic() - t_all:.1f} s, "
        f"{len(failures)} failed" + (f", {len(not_run)} not run before the deadline" if not_run else ""))
    return failures, not_run


def scrub(obj):
    """Replace paths that name this host's user or layout (home, checkout, temp folders) in
    every string of a result or failure cause: results files are published."""
    places = sorted({str(pathlib.Path.home()), str(ROOT), tempfile.gettempdir()} - {"/", ""},
                    key=len, reverse=True)
    if isinstance(obj, str):
        for place, name in ((p, "~" if p == str(pathlib.Path.home()) else
                             "." if p == str(ROOT) else "$TMPDIR") for p in places):
            obj = re.sub(re.escape(place) + r"(?=/|$|[^\w.-])", lambda _: name, obj)
        return obj
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def _why_run(prev, key, name, args, software, force):
    if force:
        return "--force"
    if prev is None:
        return "no result yet"
    if prev.get("cache_key") == key:
        return None
    if prev.get("source_sha256") != source_sha256(name):
        return "snippet source changed"
    if prev.get("args") != args:
        return f"arguments changed ({' '.join(prev.get('args', []))} -> {' '.join(args)})"
    if prev.get("software", {}).get("torch") != software["torch"]:
        return "torch version changed"
    if prev.get("software", {}).get("numpy") != software.get("numpy"):
        return "numpy version changed"
    return "machine or thread settings changed"


def _command(name, args):
    return " ".join(["python", f"snippets/{name}.py", *args])


def _now():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _rel(path):
    try:
        return str(pathlib.Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- plausibility

def plausibility(data):
    """Figures that cannot be right, as [(id, message)], waived ones left out.

    A figure above the datasheet peak of the device it names, a zero or negative time, a
    GPU whose best matmul rate or memory bandwidth is below its own machine's CPU. A results
    file may waive a check with "waivers": {"<id>": "why this figure is right after all"}.
    """
    from charts.ceilings import CACHE_FACTOR, llc_bytes
    from charts.datasheets import datasheet_for
    problems = []
    for (slug, snippet), d in sorted(data.items()):
        found = []
        for device, run in d["runs"].items():
            where = f"{slug}/{snippet}/{device}"
            for path, key, value, _ in _numbers(run["result"]):
                if not math.isfinite(value):
                    found.append((f"{where}:not-finite:{path}", f"{where}: {path} = {value}"))
                elif _is_time(key) and value <= 0:
                    found.append((f"{where}:nonpositive:{path}", f"{where}: time {path} = {value} s"))
            sheet = datasheet_for((d["machine"].get("gpu") or {}).get("name")) if device == "cuda" else None
            if sheet:
                llc = llc_bytes(d["machine"], device, {snippet: run["result"]})
                for path, key, value, parent in _numbers(run["result"]):
                    peak = _peak_for(sheet, path, key)
                    ws = parent.get("working_set_bytes")
                    if key.startswith("gb_per_s") and ws and llc and ws < CACHE_FACTOR * llc:
                        continue  # a working set that (partly) fits in L2 measures cache, not HBM
                    if peak and value > peak:
                        found.append((f"{where}:above-datasheet:{path}",
                                      f"{where}: {path} = {value:.4g} is above the {sheet['name']} "
                                      f"datasheet peak {peak:g}"))
        runs = d["runs"]
        if snippet in PEAK_OF and "cpu" in runs and "cuda" in runs:
            best = {dev: PEAK_OF[snippet](runs[dev]["result"]) for dev in ("cpu", "cuda")}
            if best["cuda"] < best["cpu"]:
                found.append((f"{slug}/{snippet}:gpu-below-cpu",
                              f"{slug}/{snippet}: the GPU's peak ({best['cuda']:.4g}) is below "
                              f"its own CPU's ({best['cpu']:.4g})"))
        waivers = d.get("waivers", {})
        problems += [(pid, msg) for pid, msg in found if not str(waivers.get(pid, "")).strip()]
    return problems


def _is_time(key):
    """A duration in seconds by the naming rule of the snippets: median_s, min_s, step_s..."""
    return (key.endswith("_s") and "_per_s" not in key and not key.startswith("per_s")
            and not key.startswith("iqr"))  # a spread of 0 is fine; a time of 0 is not


# A device's headline ceiling in a snippet's result: GPU below its own CPU here is a bug.
PEAK_OF = {
    "matmul": lambda r: max((e["best"]["tflops"] for e in r["dtypes"].values() if "best" in e), default=0),
    "bandwidth": lambda r: r.get("best_gb_per_s", 0),
}


def _numbers(obj, path="", key="", parent=None):
    """(path, key, value, the dict holding it) of every number in a nested result."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}.{k}" if path else str(k), str(k), obj)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}.{i}", key, parent)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, key, obj, parent if parent is not None else {}


def _peak_for(sheet, path, key):
    """The datasheet ceiling that a figure at `path` must stay under, or None."""
    if key.startswith("gb_per_s"):
        return sheet["gb_per_s"]
    if key.startswith("tflops"):
        parts = path.split(".")
        if len(parts) > 1 and parts[0] == "dtypes" and parts[1] in sheet["tflops"]:
            return sheet["tflops"][parts[1]]
        return max(sheet["sparse_tflops"].values())
    return None


# ---------------------------------------------------------------- render and site

def render(results_dir=RESULTS_DIR, out_dir=GENERATED_DIR):
    """Results -> SVG charts and markdown tables in out_dir. Imports no torch."""
    from charts import render_all
    data = load_all(results_dir)
    files = render_all(data, out_dir)
    return files + publish_for_notebook(data, out_dir)


def publish_for_notebook(data, out_dir=GENERATED_DIR):
    """Copies of the snippets and an index of the results, so that the notebook page can
    fetch both from the published site when it runs outside a clone of the repository."""
    from charts.style import write_bytes, write_text
    out_dir = pathlib.Path(out_dir)
    files = [write_bytes(out_dir / "snippets" / f"{n}.py", (SNIPPETS_DIR / f"{n}.py").read_bytes())
             for n in snippet_names()]
    index = {"snippets": snippet_names(),
             "results": sorted(f"results/{slug}/{snippet}.json" for slug, snippet in data)}
    files.append(write_text(out_dir / "results-index.json", json.dumps(index, indent=2) + "\n"))
    return files


def site(strict=True):
    cmd = [sys.executable, "-m", "mkdocs", "build"] + (["--strict"] if strict else [])
    log("site: " + " ".join(cmd[2:]))
    return subprocess.run(cmd, cwd=ROOT).returncode


# ---------------------------------------------------------------- command line

def _devices(choice):
    import torch
    has_cuda = torch.cuda.is_available()
    if choice == "cuda" and not has_cuda:
        raise UserError("--device cuda: no CUDA GPU is visible to torch on this machine")
    if choice == "all":
        return ["cpu"] + (["cuda"] if has_cuda else [])
    return [choice]


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2: no usage dump to scroll past
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    ap = _Parser(description=__doc__.split("\n\n")[0],
                 formatter_class=argparse.RawDescriptionHelpFormatter,
                 epilog=__doc__.split("\n\n", 1)[1] + "\nOrder of the snippets (measure): "
                 + ", ".join(PRIORITY) + ".")
    sub = ap.add_subparsers(dest="step")
    m = sub.add_parser("measure", help="run the snippets on this machine's CPU (and GPU)",
                       epilog="Order: " + ", ".join(PRIORITY) + " (GPU first with --device all); "
                              "the reason is in build_results.py --help.")
    r = sub.add_parser("render", help="results to charts and tables (no torch needed)")
    sub.add_parser("site", help="mkdocs build --strict")
    # Options are honoured before or after the step's name: the top-level parser holds the
    # defaults, and a subparser sets a value only when it is given there (SUPPRESS), so
    # `--quick measure` and `measure --quick` mean the same.
    for p, top in ((ap, True), (m, False)):
        d = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
        p.add_argument("--quick", action="store_true", default=d(False),
                       help="small sizes: seconds per snippet")
        p.add_argument("--only", nargs="+", metavar="NAME", default=d(None),
                       help="measure only these snippets")
        p.add_argument("--device", choices=["cpu", "cuda", "all"], default=d("all"),
                       help="cpu, cuda, or all: cpu plus cuda when present (default)")
        p.add_argument("--force", action="store_true", default=d(False),
                       help="measure again even if cached")
        p.add_argument("--timeout", type=_positive(float), default=d(None),
                       help="seconds before one snippet run is stopped (default 600, quick 180)")
        p.add_argument("--deadline", type=_positive(float), default=d(None), metavar="SECONDS",
                       help="one wall-clock budget for the whole run: snippets run in the order "
                            "below, each gets at most the time left, those not started in time "
                            "are reported by name as not run (exit 1); finished ones are kept")
    for p, top in ((ap, True), (m, False), (r, False)):
        p.add_argument("--results-dir", default=str(RESULTS_DIR) if top else argparse.SUPPRESS,
                       help="where the results files are" if p is r else argparse.SUPPRESS)
    r.add_argument("--out", default=str(GENERATED_DIR), help="where charts and tables go")
    args = ap.parse_args(argv)
    # A kill (SIGTERM) unwinds like Ctrl-C: the running snippet is stopped, no file is half-written.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return _run(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished results are saved; run again to measure the rest",
              file=sys.stderr)
        return 130


def _run(args):
    step = args.step
    if step in (None, "measure"):
        known = snippet_names()
        names = args.only or known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UserError(f"unknown snippet {', '.join(unknown)} (known: {', '.join(known)})")
        failures, not_run = measure(names, _devices(args.device), quick=args.quick,
                                    force=args.force, results_dir=args.results_dir,
                                    timeout_s=args.timeout, deadline_s=args.deadline)
        for name, device, cause in failures:
            print(f"error: {name} on {device}: {cause}", file=sys.stderr)
        if not_run:
            print("error: not run before the --deadline: "
                  + ", ".join(f"{n} on {d}" for n, d in not_run), file=sys.stderr)
        bad = 1 if failures or not_run else 0
        if step == "measure":
            return bad
        render(args.results_dir)
        rc = site()
        return rc or bad
    if step == "render":
        for pid, msg in plausibility(load_all(args.results_dir)):
            log(f"implausible: {msg}  [waive with \"{pid}\" in the file's \"waivers\"]")
        files = render(args.results_dir, args.out)
        log(f"render: {len(files)} file(s) in {_rel(args.out)}")
        return 0
    return site()


if __name__ == "__main__":
    sys.exit(main())
