#!/usr/bin/env python3
"""Measure this machine, render the results, build the site.

    python build_results.py                 # measure + render + site (the main command)
    python build_results.py measure [--quick] [--only NAME ...] [--device cpu|cuda|all] [--force]
                                    [--timeout SECONDS] [--deadline SECONDS]
    python build_results.py render          # results -> charts and tables (no torch needed)
    python build_results.py site            # mkdocs build --strict
    python build_results.py check [FOLDER]  # is a results folder fit to publish? (exit 0/1/2)
    python build_results.py verify          # does this box reproduce its published figures?

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
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # run from anywhere: the library lives next to this file
    sys.path.insert(0, str(ROOT))

from lib.machine import differences, git_commit, machine_info, software_info  # noqa: E402
from lib.plausibility import plausibility  # noqa: E402,F401  (hooks and tests call it from here)
from lib.results import (GENERATED_DIR, RESULTS_DIR, SCHEMA_VERSION, SNIPPETS_DIR,  # noqa: E402
                         FolderLock, UserError, load_all, read_results_file, scrub,
                         snippet_names, source_sha256, write_json_atomic)

DEFAULT_TIMEOUT_S = {"quick": 180, "full": 600}
MIN_START_S = 1.0  # with --deadline, a snippet is not started with less time than this left
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def log(msg=""):
    print(msg, flush=True)


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
            proc, held = _start_group([*cmd, "--out", str(out_file)], stdout=err, stderr=subprocess.STDOUT)
            shown, deadline = 0, time.monotonic() + timeout_s
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held signal is raised here
                while proc.poll() is None:
                    time.sleep(0.2)
                    shown = _echo_new_lines(err_file, shown, prefix)
                    if time.monotonic() > deadline:
                        _kill_group(proc)
                        return None, f"timed out after {timeout_s:g} s"
            except BaseException:
                _kill_group(proc)
                raise
            _echo_new_lines(err_file, shown, prefix)
            # The snippet has exited; whatever it started must be gone too, or it would run on
            # beside the next snippets and slow them, their figures stored as good.
            left = _leftovers(proc.pid)
            if left:
                _kill_group(proc)
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
        if left:
            return None, (f"left {left} process(es) running after it exited (now killed); its "
                          "figures may have been disturbed by them, so they are not kept")
        return read_snippet_output(out_file, tail)


def read_snippet_output(out_file, printed):
    """(result, None) if the snippet wrote one JSON object of finite numbers to --out, else
    (None, the cause). printed: what it wrote to stdout and stderr (to tell it where its JSON went)."""
    try:
        text = pathlib.Path(out_file).read_text()
    except OSError:
        text = ""
    # The temporary folder of --out means nothing to a reader of the published file.
    text = text.replace(str(pathlib.Path(out_file).parent), "<temporary folder>")
    if not text.strip():
        if printed.lstrip().startswith("{") or "\n{" in printed or '"method_version"' in printed:
            return None, "printed its JSON to stdout instead of writing it to the --out file"
        return None, "wrote no JSON to its --out file"
    try:
        result = json.loads(text, parse_constant=_not_a_number)
    except ValueError as e:
        return None, f"printed no valid JSON ({e})"
    if not isinstance(result, dict):
        return None, f"printed JSON that is not an object (a {type(result).__name__}): a result is one JSON object"
    bad = next(_bad_numbers(result), None)
    if bad:
        return None, f"printed a figure that is not a finite number: {bad}"
    mv = result.get("method_version")
    if isinstance(mv, bool) or not isinstance(mv, int) or mv < 1:
        return None, f"its JSON has no method_version (a whole number from 1), got {mv!r}"
    return result, None


def _not_a_number(name):
    raise ValueError(f"{name} is not a JSON number")


def _bad_numbers(obj, path=""):
    """'path = value' of every number that is not finite (1e999 parses to inf)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        yield f"{path or '(top)'} = {obj}"
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _bad_numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _bad_numbers(v, f"{path}.{i}")


def _start_group(cmd, **popen_kw):
    """Start cmd in a process group of its own, so that a timeout, Ctrl-C or kill can end it
    with everything it started (DataLoader workers, all-reduce ranks, mkdocs' chart workers),
    even when only this process got the signal. Ctrl-C and kill stay held back on return, so
    that none can land between the start and the caller's try and leave the group running on
    its own: the caller unblocks them (signal.pthread_sigmask(SIG_SETMASK, held)) inside its try."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True,
                                preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, held),
                                **popen_kw)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    return proc, held


def _leftovers(pgid, grace_s=3.0):
    """How many live (not zombie) processes remain in a finished snippet's process group,
    after giving them grace_s to exit by themselves (DataLoader workers, all-reduce ranks)."""
    ends = time.monotonic() + grace_s
    while True:
        alive = 0
        try:
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        stat = pathlib.Path(f"/proc/{d}/stat").read_text()
                    except OSError:
                        continue
                    fields = stat.rsplit(")", 1)[-1].split()
                    if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
                        alive += 1
        except OSError:  # no /proc (macOS): ask the kernel whether the group still exists
            try:
                os.killpg(pgid, 0)
                alive = 1
            except (ProcessLookupError, PermissionError):
                alive = 0
        if not alive or time.monotonic() > ends:
            return alive
        time.sleep(0.1)


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
# here (a new one) run after these, in the order given. With --device all the GPU goes first.
PRIORITY = ["matmul", "bandwidth", "roofline", "gpt_train", "cnn_train", "parallel",
            "cpu_control", "dataloader", "train_memory", "allreduce", "framework"]
DEVICE_ORDER = ["cuda", "cpu"]


# The headline snippets: on a CPU they are measured REPEATS times by default, as separate
# processes, interleaved with the others (a shared box drifts: one run is not the machine).
HEADLINE = ("matmul", "bandwidth")
REPEATS = 3


def repeats_for(name, device, quick, repeat):
    """How many independent runs a snippet gets: --repeat N, else 3 for the headline snippets
    on a CPU (1 with --quick), 1 elsewhere."""
    if repeat:
        return repeat
    return REPEATS if (device == "cpu" and name in HEADLINE and not quick) else 1


def job_order(names, devices, quick=False, repeat=None):
    """(snippet, device, round) jobs in the order measure runs them (see PRIORITY): every
    snippet once, GPU first; then the second runs of those that get repeats, then the third...
    so that repeats are interleaved with the other snippets, not back to back."""
    rank = {n: i for i, n in enumerate(PRIORITY)}
    ordered = sorted(names, key=lambda n: rank.get(n, len(PRIORITY)))  # stable: others as given
    devs = sorted(devices, key=lambda d: DEVICE_ORDER.index(d) if d in DEVICE_ORDER else len(DEVICE_ORDER))
    rounds = max([repeats_for(n, d, quick, repeat) for n in ordered for d in devs] or [1])
    return [(n, d, r) for r in range(1, rounds + 1) for d in devs for n in ordered
            if r <= repeats_for(n, d, quick, repeat)]


def measure(names, devices, quick=False, force=False, results_dir=RESULTS_DIR, timeout_s=None,
            deadline_s=None, repeat=None):
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
    refuse_other_machine(out_dir, machine)
    check_writable(out_dir)
    with FolderLock(out_dir):
        return _measure_locked(names, devices, quick, force, timeout_s, deadline_s, machine,
                               software, commit, out_dir, repeat)


MIN_FREE_BYTES = 64 * 2 ** 20  # a results file is small, but a nearly full disk loses writes


def check_writable(out_dir):
    """Find out before any snippet runs (not after its measurement is lost) that the results
    can be written: the folder can be made, a file written and removed, and space is left."""
    import shutil
    out_dir = pathlib.Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".write-probe.", suffix=".tmp")
        try:
            os.write(fd, b"0" * 65536)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise UserError(f"{_rel(out_dir)}: results cannot be written there ({e.strerror or e}); "
                        "nothing was measured") from None
    free = shutil.disk_usage(out_dir).free
    if free < MIN_FREE_BYTES:
        raise UserError(f"{_rel(out_dir)}: only {free / 2 ** 20:.0f} MiB free on its disk (at least "
                        f"{MIN_FREE_BYTES // 2 ** 20} MiB needed); nothing was measured")


def refuse_other_machine(out_dir, machine):
    """measure never writes into a folder that holds another machine's results."""
    for path in sorted(pathlib.Path(out_dir).glob("*.json")):
        stored = read_results_file(path).get("machine") or {}
        diff = differences(stored, machine)
        if diff:
            raise UserError(
                f"{_rel(out_dir)} holds results of another machine ({'; '.join(diff)}): measuring "
                f"here would replace them; move that folder away or measure into another one "
                f"(--results-dir)")


def _measure_locked(names, devices, quick, force, timeout_s, deadline_s, machine, software,
                    commit, out_dir, repeat=None):
    jobs = job_order(names, devices, quick, repeat)
    failures, not_run, t_all = [], [], time.monotonic()
    ends_at = t_all + deadline_s if deadline_s else None
    fresh = set()  # (name, device) measured from scratch in this run (--force, a changed key)
    for i, (name, device, rnd) in enumerate(jobs, 1):
        args = ["--device", device] + (["--quick"] if quick else [])
        key = cache_key(name, args, software, machine)
        path = out_dir / f"{name}.json"
        old = read_results_file(path) if path.exists() else None
        prev = (old or {}).get("runs", {}).get(device)
        want = repeats_for(name, device, quick, repeat)
        head = f"[{i}/{len(jobs)}] {name} on {device}" + (f", run {rnd} of {want}" if want > 1 else "")
        if (name, device) in fresh:
            why = None if prev and len(all_repeats(prev)) >= rnd else f"run {rnd} of {want}"
        else:
            why = _why_run(prev, key, name, args, software, force and rnd == 1)
            if why is None and len(all_repeats(prev)) < rnd:
                why = f"run {rnd} of {want}"
        if why is None:
            log(f"{head}: skipped, cached (nothing that determines its result changed)")
            continue
        append = prev is not None and prev.get("cache_key") == key and not (force and rnd == 1)
        if not append:
            fresh.add((name, device))
        budget = timeout_s
        if ends_at is not None:
            left = ends_at - time.monotonic()
            if left < MIN_START_S:
                log(f"{head}: NOT RUN: the --deadline of {deadline_s:g} s has run out")
                not_run.append((name, device, rnd, want))
                continue
            budget = min(timeout_s, left)
        log(f"{head}: running ({why})")
        t0 = time.monotonic()
        busy0 = load_sample()
        result, cause = run_snippet(name, args, budget, prefix="    ")
        took = time.monotonic() - t0
        load = load_report(busy0, load_sample(), took, machine)
        if load.get("busy"):
            log(f"{head}: WARNING: the box was busy: other processes used "
                f"{100 * load['others_cpu_share']:.0f}% of its CPUs (steal {100 * load['steal_share']:.0f}%); "
                "its figures are marked so on the page")
        if cause and budget < timeout_s and cause.startswith("timed out"):
            # Stopped by the deadline, not by its own timeout: not the snippet's failure.
            log(f"{head}: NOT FINISHED: stopped at the --deadline after {took:.1f} s; "
                f"the last good result, if any, is kept")
            not_run.append((name, device, rnd, want))
            continue
        # Read again just before writing: keep every other device's run that is in the file now.
        data = (read_results_file(path) if path.exists() else None) or {
            "schema_version": SCHEMA_VERSION, "snippet": name, "runs": {}}
        data["machine"] = machine
        data.setdefault("failures", {})
        cause, result = scrub(cause), scrub(result)
        if cause:
            log(f"{head}: FAILED after {took:.1f} s: {cause}; last good result kept")
            failures.append((name, device, cause))
            data["failures"][device] = {"at": _now(), "cause": cause, "command": _command(name, args)}
        else:
            current = data["runs"].get(device)
            earlier = []  # the repeats kept: every earlier run with the same cache key
            if append and current and current.get("cache_key") == key:
                earlier = [{k: current[k] for k in REPEAT_FIELDS if k in current}] + current.get("repeats", [])
            data["runs"][device] = {
                "method_version": result.get("method_version"),
                "source_sha256": source_sha256(name), "command": _command(name, args),
                "args": args, "measured_at": _now(), "duration_s": round(took, 2),
                "git_commit": commit, "software": software, "cache_key": key, "quick": quick,
                "load": load, "result": result, **({"repeats": earlier} if earlier else {})}
            data["failures"].pop(device, None)
            # A waiver was written for the run it names; the new run needs a new look.
            retired = [] if append else [
                w for w, v in (data.get("waivers") or {}).items()
                if isinstance(v, dict) and v.get("run") == (prev or {}).get("measured_at")]
            for w in retired:
                del data["waivers"][w]
                log(f"{head}: waiver '{w}' retired: it was written for the run this one replaces")
            if "waivers" in data and not data["waivers"]:
                del data["waivers"]
            log(f"{head}: done in {took:.1f} s")
        if not data["failures"]:
            del data["failures"]
        if data["runs"] or data.get("failures"):
            write_json_atomic(path, data)
    log(f"measure: {len(jobs)} job(s) in {time.monotonic() - t_all:.1f} s, "
        f"{len(failures)} failed" + (f", {len(not_run)} not run before the deadline" if not_run else ""))
    return failures, not_run


# What an earlier repeat keeps: its own figures and how it was run (the rest is shared).
REPEAT_FIELDS = ("measured_at", "duration_s", "git_commit", "load", "result")


def all_repeats(run):
    """A run record's independent runs, newest first: itself, then its earlier repeats."""
    return [run] + list(run.get("repeats", [])) if run else []


def load_sample():
    """(time, busy jiffies, steal jiffies, all jiffies, CPU seconds of our reaped children,
    load average): what load_report compares over a snippet's run."""
    import resource
    busy = steal = total = None
    try:
        with open("/proc/stat") as f:
            cols = [int(x) for x in f.readline().split()[1:]]
        idle = cols[3] + (cols[4] if len(cols) > 4 else 0)
        steal = cols[7] if len(cols) > 7 else 0
        total = sum(cols[:8])
        busy = total - idle - steal
    except (OSError, ValueError, IndexError):
        pass
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = None
    return time.monotonic(), busy, steal, total, ru.ru_utime + ru.ru_stime, load1


BUSY_SHARE = 0.15  # other processes using more than this share of the CPUs: a busy box


def load_report(a, b, took, machine):
    """How busy the box was while a snippet ran: the CPU time that other processes used (all
    busy CPU time less the snippet's own), as a share of the CPUs' time, and the hypervisor's
    steal time. busy: over BUSY_SHARE, or steal over 5%."""
    out = {"loadavg_start": a[5], "loadavg_end": b[5]}
    if a[1] is None or b[1] is None:
        return out
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    cpus = (machine.get("cpu") or {}).get("usable_cores") or os.cpu_count() or 1
    wall = max(b[0] - a[0], 1e-6)
    busy_s = (b[1] - a[1]) / hz
    own_s = b[4] - a[4]
    total = max(b[3] - a[3], 1)
    others = max(0.0, busy_s - own_s) / (wall * cpus)
    steal = (b[2] - a[2]) / total
    out.update(others_cpu_share=round(others, 3), steal_share=round(steal, 3),
               busy=bool(others > BUSY_SHARE or steal > 0.05))
    return out


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


# ---------------------------------------------------------------- render and site

def render(results_dir=RESULTS_DIR, out_dir=GENERATED_DIR):
    """Results -> SVG charts and markdown tables in out_dir. Imports no torch."""
    _STAGE[0] = "render"
    from charts import render_all
    from lib.featured import declared_in_config, featured_machine
    from lib.publish import publish_for_notebook
    data = load_all(results_dir)
    files = render_all(data, out_dir, featured_machine(data, declared_in_config()))
    return files + publish_for_notebook(data, out_dir)


def check_render_folders(results_dir, out_dir):
    """render from a folder of machines into a folder of its own, or one clear line."""
    results_dir, out_dir = pathlib.Path(results_dir), pathlib.Path(out_dir)
    if not results_dir.is_dir():
        raise UserError(f"{_rel(results_dir)}: no such results folder")
    if list(results_dir.glob("*.json")) and not list(results_dir.glob("*/*.json")):
        if any(p.name != "schema.json" for p in results_dir.glob("*.json")):
            raise UserError(f"{_rel(results_dir)}: this is one machine's folder; render reads the "
                            f"folder of machines above it ({_rel(results_dir.parent)})")
    if not list(results_dir.glob("*/*.json")):
        raise UserError(f"{_rel(results_dir)}: no results files in it (<machine>/<snippet>.json): "
                        "measure first (build_results.py measure)")
    res, out = results_dir.resolve(), out_dir.resolve()
    if out == res or res in out.parents or out in res.parents:
        raise UserError(f"--out {_rel(out_dir)}: charts must not go into or above the results folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {_rel(out_dir)}: exists and is not a folder")


def site(strict=True):
    """mkdocs build --strict into a fresh folder that replaces site/ only when the build
    succeeded: an interrupted or failed build leaves the previous site whole, never half."""
    import shutil
    final, partial, old = ROOT / "site", ROOT / ".site.partial", ROOT / ".site.old"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(partial)] + (["--strict"] if strict else [])
    log("site: mkdocs build" + (" --strict" if strict else ""))
    _STAGE[0] = "the site build"
    proc, held = _start_group(cmd)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        rc = proc.wait()
    except BaseException:
        # Only this process may have had the signal (a kill, a CI cancel): end mkdocs and the
        # chart workers it started, or they would run on, orphaned, holding the terminal.
        _kill_group(proc)
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if _leftovers(proc.pid, grace_s=1.0):
        _kill_group(proc)
    if rc != 0:
        shutil.rmtree(partial, ignore_errors=True)
        return rc
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return 0


# What is running, for the message an interrupt prints.
_STAGE = ["measure"]
INTERRUPTED = {
    "measure": "finished results are saved; run again to measure the rest",
    "render": "docs/generated/ may be incomplete; it is rendered again on the next run",
    "the site build": "site/ still holds the previous build (nothing half-built replaced it)",
}


# ---------------------------------------------------------------- command line

def _devices(choice):
    import torch
    has_cuda = torch.cuda.is_available()
    if choice == "cuda" and not has_cuda:
        raise UserError("--device cuda: no CUDA GPU is visible to torch on this machine")
    if choice == "all":
        return ["cpu"] + (["cuda"] if has_cuda else [])
    return [choice]


def _positive(kind, at_least=0.0):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text}")
        if value < at_least:
            raise argparse.ArgumentTypeError(f"must be at least {at_least:g} s, got {text}")
        return value
    return parse


def _count(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= 20:
        raise argparse.ArgumentTypeError(f"must be from 1 to 20, got {text}")
    return n


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
    v = sub.add_parser("verify", help="rerun the headline snippets here: does this box reproduce "
                                      "its published figures? (exit 0 yes, 1 no)")
    v.add_argument("--only", nargs="+", metavar="NAME", default=list(HEADLINE),
                   help="snippets to rerun (default: " + ", ".join(HEADLINE) + ")")
    v.add_argument("--results-dir", default=str(RESULTS_DIR), help=argparse.SUPPRESS)
    c = sub.add_parser("check", help="is a results folder fit to publish? (schema, plausibility, "
                                     "provenance, privacy; exit 0 fine, 1 problems, 2 unusable)")
    c.add_argument("folder", nargs="?", default=str(RESULTS_DIR),
                   help="docs/results, or one machine's folder in it (default: docs/results)")
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
        p.add_argument("--timeout", type=_positive(float, at_least=1), default=d(None),
                       help="seconds before one snippet run is stopped (default 600, quick 180)")
        p.add_argument("--repeat", type=_count, default=d(None), metavar="N",
                       help="independent runs of each snippet, interleaved with the others "
                            "(default: 3 for matmul and bandwidth on a CPU, 1 otherwise and with --quick)")
        p.add_argument("--deadline", type=_positive(float, at_least=1), default=d(None), metavar="SECONDS",
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
        print(f"\ninterrupted during {_STAGE[0]}: {INTERRUPTED[_STAGE[0]]}", file=sys.stderr)
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
                                    timeout_s=args.timeout, deadline_s=args.deadline,
                                    repeat=args.repeat)
        for name, device, cause in failures:
            print(f"error: {name} on {device}: {cause}", file=sys.stderr)
        if not_run:
            print("error: not run before the --deadline: "
                  + ", ".join(f"{n} on {d}" + (f" (run {r} of {w})" if w > 1 else "")
                              for n, d, r, w in not_run), file=sys.stderr)
        bad = 1 if failures or not_run else 0
        if step == "measure":
            return bad
        render(args.results_dir)
        rc = site()
        return rc or bad
    if step == "render":
        check_render_folders(args.results_dir, args.out)
        problems = plausibility(load_all(args.results_dir))
        for pid, msg in problems:
            log(f"implausible: {msg}  [waive with \"{pid}\" in the file's \"waivers\", with the "
                "reason and the run]")
        if problems:  # nothing is drawn from a figure that cannot be right
            print(f"error: render: {len(problems)} implausible figure(s) (listed above): fix or "
                  "waive them; nothing was rendered", file=sys.stderr)
            return 1
        files = render(args.results_dir, args.out)
        log(f"render: {len(files)} file(s) in {_rel(args.out)}")
        return 0
    if step == "verify":
        from lib.verify import MARGIN, verify
        unknown = [n for n in args.only if n not in snippet_names()]
        if unknown:
            raise UserError(f"unknown snippet {', '.join(unknown)}")
        machine = machine_info()

        def measure_here(names, tmp):
            return measure(names, ["cpu"], results_dir=tmp, repeat=1)[0]
        rows = verify(args.only, measure_here, machine, args.results_dir)
        for figure, (med, lo, hi, n), mine, text, ok in rows:
            print(f"verify: {figure}: here {mine:.4g}, published {med:.4g} (range {lo:.4g}–{hi:.4g} "
                  f"over {n} run(s), ±{MARGIN:.0%} allowed): {text}")
        bad = [r for r in rows if not r[4]]
        print(f"verify: {len(rows) - len(bad)} of {len(rows)} figure(s) reproduced on {machine['slug']}")
        return 1 if bad or not rows else 0
    if step == "check":
        from lib.check import check
        problems, notes, n = check(args.folder)
        for line in notes + problems:
            print(f"check: {line}")
        print(f"check: {n} file(s), {len(problems)} problem(s), {len(notes)} note(s)")
        if any(p.startswith("schema:") for p in problems):
            return 2  # a file that is not a results file: nothing can use it
        return 1 if problems else 0
    return site()


if __name__ == "__main__":
    sys.exit(main())
