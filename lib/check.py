"""`build_results.py check [FOLDER]`: is a results folder fit to publish?

For a contributor before they send their machine's folder, and for the GPU-runner workflow
before it builds and deploys. Four kinds of problem, each reported on one line naming the file:
  schema       the file does not match docs/results/schema.json (or is not JSON at all)
  plausibility a figure the physics or the datasheet rules out (lib/plausibility.py)
  provenance   the record does not say how it was made: a command that is not its snippet's,
               a date in the future, a snippet that does not exist here
  privacy      a string that names a person or a host: a home folder, an e-mail address
A result of an older snippet version is reported as a note (the site marks it stale).
Exit status: 0 nothing to fix, 1 problems found, 2 the folder cannot be used at all
(missing, empty, or holding a file that is not a results file: a schema problem).
"""
import datetime as dt
import pathlib
import re

from lib.results import SNIPPETS_DIR, UserError, read_results_file, shown, source_sha256

PRIVATE = [
    (re.compile(r"/home/[A-Za-z0-9._-]+"), "a home folder"),
    (re.compile(r"/Users/[A-Za-z0-9._-]+"), "a home folder"),
    (re.compile(r"(?<![\w.])/root(?=/|\b)"), "root's home folder"),
    (re.compile(r"[A-Za-z]:\\\\?Users\\\\?[A-Za-z0-9._-]+", re.I), "a home folder"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "an e-mail address"),
]


def _files(folder):
    """The results files of a folder of machines (docs/results) or of one machine's folder."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise UserError(f"{shown(folder)}: no such folder (give docs/results or one machine's folder in it)")
    files = sorted(folder.glob("*.json"))
    files = [f for f in files if f.name != "schema.json"] or sorted(folder.glob("*/*.json"))
    if not files:
        raise UserError(f"{shown(folder)}: no results files in it (docs/results/<machine>/<snippet>.json)")
    return files


def _strings(obj, path=""):
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{path}.{i}")


def check(folder):
    """(problems, notes, files checked): lists of one-line messages. Raises UserError (exit 2)
    when the folder cannot be checked; a file that fails the schema is a problem of its own
    and the other files are still checked."""
    from lib.plausibility import plausibility
    problems, notes, data = [], [], {}
    files = _files(folder)
    now = dt.datetime.now(dt.timezone.utc)
    for path in files:
        try:
            d = read_results_file(path, validate=True)
        except UserError as e:
            problems.append(f"schema: {e}")
            continue
        data[(path.parent.name, path.stem)] = dict(d, _path=path)
        snippet, name = d["snippet"], shown(path)
        src = SNIPPETS_DIR / f"{snippet}.py"
        if not src.exists():
            problems.append(f"provenance: {name}: snippets/{snippet}.py does not exist here")
        for device, run in d["runs"].items():
            where = f"{name}: runs.{device}"
            if not run["command"].startswith(f"python snippets/{snippet}.py"):
                problems.append(f"provenance: {where}.command runs another snippet: {run['command']!r}")
            if run["args"][:2] != ["--device", device]:
                problems.append(f"provenance: {where}.args do not measure {device}: {run['args']}")
            if run["result"].get("method_version") != run["method_version"]:
                problems.append(f"provenance: {where}.method_version differs from the result's own")
            at = dt.datetime.fromisoformat(run["measured_at"].replace("Z", "+00:00"))
            if at.tzinfo is None or at > now + dt.timedelta(days=1):
                problems.append(f"provenance: {where}.measured_at {run['measured_at']} is in the future "
                                "or has no time zone")
            if src.exists() and run["source_sha256"] != source_sha256(snippet):
                notes.append(f"stale: {where}: measured with an older snippets/{snippet}.py "
                             "(the site marks it stale)")
        for field, text in _strings({k: v for k, v in d.items() if k != "_path"}):
            for rx, what in PRIVATE:
                if rx.search(text):
                    problems.append(f"privacy: {name}: {field} names {what}: {rx.search(text).group(0)!r}")
                    break
    for pid, msg in plausibility(data):
        slug, snippet = pid.split(":")[0].split("/")[:2]
        path = data[(slug, snippet)]["_path"] if (slug, snippet) in data else f"{slug}/{snippet}"
        problems.append(f"plausibility: {shown(path)}: {msg}  [waive with \"{pid}\" in the file's "
                        "\"waivers\", with the reason]")
    return problems, notes, len(files)
