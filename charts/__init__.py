"""Results -> charts and tables. One module per snippet (charts/<snippet>.py) with
`render(runs, out_dir) -> [files]`; this file turns results files into runs and calls them.

A run is one snippet measured on one device of one machine:
    {"machine": slug, "device": "cpu"|"cuda", "label": "...", "result": {...snippet JSON...},
     "record": {...provenance...}, "info": {...machine...}, "path": "results/<slug>/<name>.json",
     "results_dir": the folder it was read from, "stale": bool,
     "ceilings": lib.ceilings.ceilings() of its machine and device (None for a --quick GPU run)}
"""
import hashlib
import importlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def device_label(info, device):
    """A short name for a run's device, e.g. 'AMD EPYC · 2 threads' or 'NVIDIA H100 80GB HBM3'."""
    if device == "cuda" and info.get("gpu"):
        count = info["gpu"].get("count", 1)
        return info["gpu"]["name"] + (f" ×{count}" if count > 1 else "")
    cpu = info["cpu"]
    return f"{cpu['model']} · {cpu['logical_cores']} threads"


def runs_by_snippet(data, featured=None):
    """{snippet: [run, ...]} from load_all()'s {(slug, snippet): file data}, CPUs first.
    featured: the featured machine (lib/featured.py); its runs are marked "featured"."""
    out = {}
    for (slug, snippet), d in sorted(data.items()):
        src = ROOT / "snippets" / f"{snippet}.py"
        current = hashlib.sha256(src.read_bytes()).hexdigest() if src.exists() else None
        for device, rec in sorted(d["runs"].items()):
            out.setdefault(snippet, []).append({
                "machine": slug, "device": device, "label": device_label(d["machine"], device),
                "result": rec["result"], "record": rec, "info": d["machine"],
                "path": f"results/{slug}/{snippet}.json",
                "results_dir": d["_path"].parent.parent if "_path" in d else None,
                "stale": current is not None and rec["source_sha256"] != current,
                "featured": slug == featured,
                # every independent run's result, newest first (--repeat): pages quote the median
                "repeats": [rec["result"]] + [x["result"] for x in rec.get("repeats", [])],
                "busy": any((x.get("load") or {}).get("busy") for x in [rec] + rec.get("repeats", [])),
                "failure": d.get("failures", {}).get(device)})
    for runs in out.values():
        runs.sort(key=lambda r: (r["device"] != "cpu", r["info"]["cpu"]["logical_cores"], r["machine"]))
    # Each run carries its device's ceilings: the best rates any snippet reached there.
    from lib.ceilings import all_ceilings
    ceil = all_ceilings(out)
    for runs in out.values():
        for r in runs:
            r["ceilings"] = ceil.get((r["machine"], r["device"]))
    return out


def _stamp(data, out_dir, featured):
    """A hash of everything a render depends on: the results, the chart code, the featured machine."""
    h = hashlib.sha256(f"featured={featured}".encode())
    for key in sorted(data):
        h.update(json.dumps([key, {k: v for k, v in data[key].items() if k != "_path"}],
                            sort_keys=True, default=str).encode())
    for p in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        h.update(p.read_bytes())
    for p in sorted((ROOT / "snippets").glob("*.py")):  # staleness depends on the sources
        h.update(p.read_bytes())
    import matplotlib
    from charts.style import cjk_font
    h.update(f"{matplotlib.__version__} {cjk_font()}".encode())  # fonts decide the labels
    return h.hexdigest()


def render_all(data, out_dir, featured=None):
    """Render every snippet that has a chart module; skip the work if nothing changed."""
    out_dir = pathlib.Path(out_dir)
    stamp_file = out_dir / ".stamp"
    stamp = _stamp(data, out_dir, featured)
    listing = out_dir / ".files"
    if stamp_file.exists() and stamp_file.read_text() == stamp and listing.exists():
        files = [out_dir / name for name in listing.read_text().split()]
        if all(f.exists() for f in files):  # a deleted chart is drawn again
            return files
    jobs = [(snippet, [_for_charts(r) for r in runs], out_dir)
            for snippet, runs in runs_by_snippet(data, featured).items()
            if (pathlib.Path(__file__).parent / f"{snippet}.py").exists()]
    # A snippet whose charts were drawn before from the same runs and code is copied from the
    # cache; only the others are drawn (on every core).
    cache, code = chart_cache(), _code_hash()
    files, todo = [], []
    for job in jobs:
        key = _job_key(code, job[0], job[1])
        hit = _from_cache(cache, key, out_dir)
        if hit is None:
            todo.append(job + (key, cache))
        else:
            files += hit
    for written in _map(_render_one, todo):
        files += written
    out_dir.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(sorted(str(pathlib.Path(f).relative_to(out_dir)) for f in files)))
    stamp_file.write_text(stamp)
    return files


def _for_charts(run):
    """A run as the chart modules get it: its ceilings without the list of every candidate
    (the pages' business, not the charts'), so that a figure which is no ceiling changes the
    cache key of its own snippet's charts only."""
    if not run.get("ceilings"):
        return run
    return dict(run, ceilings={k: v for k, v in run["ceilings"].items() if k != "candidates"})


def _render_one(job):
    snippet, runs, out_dir, key, cache = job
    from charts import style
    del style.WRITTEN[:]
    returned = importlib.import_module(f"charts.{snippet}").render(runs, out_dir)
    # all it wrote, not only what it returned (chart_runs' <snippet>.charted.json, say)
    files = list(dict.fromkeys([pathlib.Path(f) for f in returned] + style.WRITTEN))
    _to_cache(cache, key, out_dir, files)
    return files


# ---------------------------------------------------------------- the chart cache
# Drawing is most of a build's time (each chart in two languages, two themes, two layouts).
# A snippet's charts depend only on its runs (which carry their machine's ceilings, staleness
# and the featured flag) and on the code that draws them: the key hashes both, so a change to
# either draws afresh. GPUCPU_CHART_CACHE names the folder (the tests share one across their
# copies of the project); "off" draws everything every time.

CACHE_ENTRIES = 400  # the newest are kept; an entry is one snippet's files (a few MB at most)


def chart_cache():
    import os
    where = os.environ.get("GPUCPU_CHART_CACHE", "")
    if where.lower() == "off":
        return None
    return pathlib.Path(where) if where else ROOT / ".cache" / "charts"


def _code_hash():
    import matplotlib
    from charts.style import cjk_font
    h = hashlib.sha256(f"{matplotlib.__version__} {cjk_font()}".encode())  # fonts decide the labels
    for folder in ("charts", "lib"):
        for p in sorted((ROOT / folder).glob("*.py")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _job_key(code, snippet, runs):
    body = [{k: v for k, v in r.items() if k != "results_dir"} for r in runs]
    src = ROOT / "snippets" / f"{snippet}.py"  # framework's chart quotes its snippet's source
    source = hashlib.sha256(src.read_bytes()).hexdigest() if src.exists() else None
    blob = json.dumps([code, snippet, source, body], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _from_cache(cache, key, out_dir):
    """The files of a cached render, written into out_dir (only those that differ), or None."""
    if cache is None:
        return None
    entry = cache / key
    try:
        names = json.loads((entry / "files.json").read_text())
        blobs = [(out_dir / n, (entry / "f" / n).read_bytes()) for n in names]
    except (OSError, ValueError):
        return None
    from charts.style import write_bytes
    for path, blob in blobs:
        write_bytes(path, blob)
    try:
        (entry / "files.json").touch()  # recently used: kept by the pruning below
    except OSError:
        pass
    return [path for path, _ in blobs]


def _to_cache(cache, key, out_dir, files):
    """Keep a render's files under its key; any failure only means no cache entry."""
    if cache is None:
        return
    import shutil
    import tempfile
    out_dir = pathlib.Path(out_dir).resolve()
    try:
        names = [str(pathlib.Path(f).resolve().relative_to(out_dir)) for f in files]
    except ValueError:
        return  # a file outside out_dir: not one this cache can restore
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(dir=cache, prefix=".new-"))
        for n in names:
            (tmp / "f" / n).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out_dir / n, tmp / "f" / n)
        (tmp / "files.json").write_text(json.dumps(names))
        try:
            tmp.rename(cache / key)  # atomic: a reader sees a whole entry or none
        except OSError:  # another build stored the same key meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        import time
        for left in cache.glob(".new-*"):  # a build killed while storing
            if left.stat().st_mtime < time.time() - 3600:
                shutil.rmtree(left, ignore_errors=True)
        entries = sorted((e for e in cache.iterdir() if not e.name.startswith(".")),
                         key=lambda e: (e / "files.json").stat().st_mtime if (e / "files.json").exists() else 0)
        for old in entries[:-CACHE_ENTRIES]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass


def _map(fn, jobs):
    """fn over jobs, on every core: each chart is drawn twice (page and phone layouts, per
    language and theme), and the modules are independent. Fresh processes ("spawn", which
    inherit sys.path), so that a build's threads are never forked. One core: in this process."""
    import os
    workers = min(len(jobs), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count() or 1)
    if workers < 2 or os.environ.get("GPUCPU_RENDER_SERIAL"):
        return [fn(job) for job in jobs]
    import concurrent.futures
    import multiprocessing
    pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        results = list(pool.map(fn, jobs))
    except BaseException:
        # Ctrl-C, a kill or a failed chart: stop the other workers now rather than let them
        # draw the charts still queued after this process has said it stopped.
        for worker in list((getattr(pool, "_processes", None) or {}).values()):
            worker.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
