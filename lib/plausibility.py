"""Figures that cannot be right: above the datasheet of the device they name, a time of zero or
less, a GPU below its own CPU. A results file may waive a check, with the reason."""
import math


def plausibility(data):
    """Figures that cannot be right, as [(id, message)], waived ones left out.

    A figure above the datasheet peak of the device it names, a zero or negative time, a
    GPU whose best matmul rate or memory bandwidth is below its own machine's CPU. A results
    file may waive a check with "waivers": {"<id>": "why this figure is right after all"}.
    """
    from lib.ceilings import CACHE_FACTOR, llc_bytes
    from lib.datasheets import datasheet_for
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


