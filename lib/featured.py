"""The featured machine: the one whose figures the pages' prose quotes.

Many machines may be measured (a GPU runner, contributed boxes); a sentence on a page can
describe only one. It is declared once, in mkdocs.yml (extra: featured_machine: <folder> or
auto). auto picks a box with a GPU whose own CPU was measured too (the fairest comparison:
one box's CPU against its own GPU), the one with most snippets measured, else the CPU box
with most snippets measured; among equals the newest. Every other machine still appears in
the comparison tables, the charts and the machines page.
"""
import pathlib

from lib.results import ROOT, UserError

MKDOCS_YML = ROOT / "mkdocs.yml"


def coverage(data):
    """{machine: {"cpu": n, "cuda": n, "newest": date}} of full (not --quick) runs; a --quick
    run counts for a tenth, so that a full run of one snippet outweighs quick runs of all."""
    out = {}
    for (slug, _), d in data.items():
        c = out.setdefault(slug, {"cpu": 0.0, "cuda": 0.0, "newest": ""})
        for device, run in d.get("runs", {}).items():
            if device in ("cpu", "cuda"):
                c[device] += 0.1 if run.get("quick") else 1.0
                c["newest"] = max(c["newest"], str(run.get("measured_at", "")))
    return out


def featured_machine(data, declared="auto"):
    """The featured machine's folder name, or None when nothing was measured."""
    cov = coverage(data)
    if declared and declared != "auto":
        if declared not in cov:
            known = ", ".join(sorted(cov)) or "none"
            raise UserError(f"mkdocs.yml extra.featured_machine: '{declared}' is not a machine "
                            f"under docs/results (measured: {known}; or set it to auto)")
        return declared
    if not cov:
        return None
    own = {m: c for m, c in cov.items() if c["cuda"] >= 1 and c["cpu"] > 0}
    if own:
        return max(own, key=lambda m: (own[m]["cuda"] + own[m]["cpu"], own[m]["newest"], m))
    cpus = {m: c for m, c in cov.items() if c["cpu"] > 0} or cov
    return max(cpus, key=lambda m: (cpus[m]["cpu"], cpus[m]["newest"], m))


def declared_in_config(path=MKDOCS_YML):
    """extra.featured_machine from mkdocs.yml ('auto' when unset). Read with a loader that
    ignores the tags only MkDocs knows (!ENV, !relative), so `render` needs no MkDocs."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    try:
        config = yaml.load(pathlib.Path(path).read_text(), Loader=Loader) or {}
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"{path}: cannot read it ({e})") from None
    value = (config.get("extra") or {}).get("featured_machine", "auto")
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{path}: extra.featured_machine must be a machine folder or auto, got {value!r}")
    return value.strip()
