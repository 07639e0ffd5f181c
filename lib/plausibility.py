"""Figures that cannot be right: above the datasheet of the device they name, a time of zero or
less, a GPU below its own CPU. A results file may waive a check, with the reason."""
import math


def plausibility(data):
    """Figures that cannot be right, as [(id, message)], waived ones left out.

    Every rate must be a finite number above zero and under a physical bound: for a GPU its
    datasheet (a bandwidth point whose working set fits in L2 measures cache, and is left
    out); for a CPU a generous bound worked out from the machine itself (cores x the widest
    vector unit x clock for FLOP/s; memory channels' worth per socket for DRAM bandwidth).
    Times must be above zero, and a GPU not below its own machine's CPU. A results file may
    waive a check: "waivers": {"<id>": {"reason": "why it is right", "run": "<measured_at of
    the run>"}}. A waiver counts only for the run it names (re-measuring retires it); one
    that waives nothing, or names another run, is itself reported.
    """
    problems = []
    for (slug, snippet), d in sorted(data.items()):
        found = []
        for device, run in d["runs"].items():
            found += _run_problems(f"{slug}/{snippet}/{device}", snippet, d["machine"], device,
                                   run["result"], run.get("measured_at"))
        runs = d["runs"]
        if snippet in PEAK_OF and "cpu" in runs and "cuda" in runs:
            best = {dev: PEAK_OF[snippet](runs[dev]["result"]) for dev in ("cpu", "cuda")}
            if best["cuda"] < best["cpu"]:
                found.append((f"{slug}/{snippet}:gpu-below-cpu",
                              f"{slug}/{snippet}: the GPU's peak ({best['cuda']:.4g}) is below "
                              f"its own CPU's ({best['cpu']:.4g})",
                              {r.get("measured_at") for r in runs.values()}))
        problems += _apply_waivers(slug, snippet, d.get("waivers") or {}, found)
    return problems


def _apply_waivers(slug, snippet, waivers, found):
    out, used = [], set()
    for pid, msg, runs_at in found:
        w = waivers.get(pid)
        if isinstance(w, dict) and str(w.get("reason", "")).strip() and w.get("run") in runs_at:
            used.add(pid)
            continue
        out.append((pid, msg))
    for wid, w in waivers.items():
        if wid in used:
            continue
        where = f"{slug}/{snippet}"
        if not isinstance(w, dict) or not str(w.get("reason", "")).strip():
            out.append((f"{where}:waiver:{wid}", f"{where}: waiver '{wid}' gives no reason"))
        elif wid in {pid for pid, _, _ in found}:
            out.append((f"{where}:waiver:{wid}", f"{where}: waiver '{wid}' was written for the run "
                        f"of {w.get('run')}, not the one in the file: check the figure again"))
        else:
            out.append((f"{where}:waiver:{wid}", f"{where}: waiver '{wid}' waives nothing "
                        "(no such figure is flagged): remove it"))
    return out


def _run_problems(where, snippet, machine, device, result, measured_at):
    from lib.ceilings import CACHE_FACTOR, llc_bytes
    from lib.datasheets import datasheet_for
    found = []

    def flag(kind, path, msg):
        found.append((f"{where}:{kind}:{path}", f"{where}: {msg}", {measured_at}))

    sheet = datasheet_for((machine.get("gpu") or {}).get("name")) if device == "cuda" else None
    bound = cpu_bounds(machine) if device == "cpu" else None
    llc = llc_bytes(machine, device, {snippet: result})
    for path, key, value, parent in _numbers(result):
        if not math.isfinite(value):
            flag("not-finite", path, f"{path} = {value}")
            continue
        if _is_time(key):
            if value <= 0:
                flag("nonpositive", path, f"time {path} = {value} s")
            continue
        if not _is_rate(key) or ("gflop" in key and parent.get("flops") == 0):  # copy: 0 FLOPs
            continue
        if value <= 0:
            flag("nonpositive", path, f"rate {path} = {value}")
            continue
        ws = parent.get("working_set_bytes")
        in_cache = bool(ws and llc and ws < CACHE_FACTOR * llc)
        if sheet:
            peak = _peak_for(sheet, path, key)
            if key.startswith("gb_per_s") and in_cache:
                continue  # a working set that (partly) fits in L2 measures cache, not HBM
            if peak and value > peak:
                flag("above-datasheet", path, f"{path} = {value:.4g} is above the {sheet['name']} "
                     f"datasheet peak {peak:g}")
        elif bound:
            gflops = value * 1000 if key.startswith("tflops") else value if key.startswith("gflop") else None
            if gflops is not None and gflops > bound["gflop_per_s"]:
                flag("above-cpu-bound", path, f"{path} = {value:.4g} is above what this CPU can do "
                     f"at all ({bound['gflop_per_s']:.4g} GFLOP/s: {bound['flop_formula']})")
            elif "gb_per_s" in key:
                limit, what = ((bound["cache_gb_per_s"], bound["cache_formula"]) if in_cache or not ws
                               else (bound["memory_gb_per_s"], bound["memory_formula"]))
                if value > limit:
                    flag("above-cpu-bound", path, f"{path} = {value:.4g} GB/s is above what this "
                         f"machine can move at all ({limit:.4g} GB/s: {what})")
    return found


def cpu_bounds(machine):
    """Bounds no CPU figure can pass, from the machine record, deliberately generous: a figure
    above them is a measurement bug, not a fast machine."""
    cpu = machine.get("cpu") or {}
    cores = cpu.get("usable_cores") or cpu.get("logical_cores") or 1
    isa = set(cpu.get("isa") or [])
    ghz = max((cpu.get("clock_mhz") or 0) / 1000 * 1.5, 6.0)  # turbo headroom, at least 6 GHz
    if "amx_bf16" in isa or not isa:
        per_cycle, unit = 2048, "AMX bf16 tile units"
    else:
        lanes = 16 if "avx512f" in isa else 8 if ("avx2" in isa or "avx" in isa) else 4
        per_cycle, unit = 2 * lanes * 2 * 2, f"2 FMA units × {lanes} lanes × 2 (bf16 pairs)"
    sockets = cpu.get("sockets") or 2
    return {"gflop_per_s": cores * per_cycle * ghz,
            "flop_formula": f"{cores} cores × {per_cycle} FLOP a cycle ({unit}) × {ghz:.1f} GHz",
            "memory_gb_per_s": 1500.0 * sockets,
            "memory_formula": f"{sockets} socket(s) × 1,500 GB/s, more than any CPU socket's memory",
            "cache_gb_per_s": cores * 256 * ghz,
            "cache_formula": f"{cores} cores × 256 B a cycle × {ghz:.1f} GHz"}


def _is_rate(key):
    """A rate by the snippets' naming: tflops*, gflop_per_s*, *gb_per_s*, *_per_s*; not a
    datasheet figure copied into a result (peak_tflops)."""
    return (key.startswith(("tflops", "gflop")) or "per_s" in key) and not key.startswith("peak_")


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


