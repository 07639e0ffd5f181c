"""`build_results.py verify [--only NAME ...]`: does this box reproduce the published figures?

Reruns the headline snippets here (into a temporary folder: nothing published changes) and
compares each headline figure with the published figure of the same machine: it reproduces
when it lies within the published range across independent runs, widened by MARGIN for the
noise a shared box shows from one run to the next; otherwise the gap is named. A reader who
gets half the published figure learns whether it is their box, the method or the page.
"""
import tempfile

from lib.results import RESULTS_DIR, UserError, load_all

MARGIN = 0.10


def _at(value, path):
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def published_range(run, path):
    """(median, min, max, n) of a figure across a published run's independent runs."""
    vals = sorted(v for v in (_at(r["result"], path) for r in [run] + run.get("repeats", []))
                  if v is not None)
    if not vals:
        return None
    n = len(vals)
    med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return med, vals[0], vals[-1], n


def verify(names, measure_fn, machine, results_dir=RESULTS_DIR):
    """[(figure, published (med, lo, hi, n), here, verdict text, ok)] for the headline figures of
    `names` on this machine's CPU. measure_fn(names, tmp_dir) measures them into tmp_dir."""
    from lib.publish import HEADLINES
    published = {snippet: d for (slug, snippet), d in load_all(results_dir).items()
                 if slug == machine["slug"]}
    if not published:
        raise UserError(f"no published results of this machine ({machine['slug']}) under "
                        f"{results_dir}: nothing to verify against (measure it first)")
    missing = [n for n in names if "cpu" not in (published.get(n) or {}).get("runs", {})]
    if missing:
        raise UserError(f"no published CPU result of {', '.join(missing)} for {machine['slug']}")
    with tempfile.TemporaryDirectory() as tmp:
        failures = measure_fn(names, tmp)
        if failures:
            raise UserError("verify: " + "; ".join(f"{n} failed here: {c}" for n, _, c in failures))
        here = {snippet: d for (slug, snippet), d in load_all(tmp).items()}
    rows = []
    for h in HEADLINES:
        if h["snippet"] not in names:
            continue
        pub = published_range(published[h["snippet"]]["runs"]["cpu"], h["path"])
        mine = _at(here[h["snippet"]]["runs"]["cpu"]["result"], h["path"]) if h["snippet"] in here else None
        if pub is None or mine is None:
            continue
        med, lo, hi, n = pub
        ok = lo * (1 - MARGIN) <= mine <= hi * (1 + MARGIN)
        if ok:
            text = "reproduces"
        elif mine < lo:
            text = f"{mine / med:.2f}x the published median: below its range"
        else:
            text = f"{mine / med:.2f}x the published median: above its range"
        rows.append((f"{h['en']} ({h['unit']})", pub, mine, text, ok))
    return rows
