"""Results files: docs/results/<machine>/<snippet>.json, one per snippet and machine.

Reading checks what measure itself relies on with the standard library alone (measure runs on
a bare GPU box); validate() checks a file against docs/results/schema.json with jsonschema,
which render, the site build and `build_results.py check` use.
"""
import hashlib
import json
import os
import pathlib
import re
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SNIPPETS_DIR = ROOT / "snippets"
RESULTS_DIR = ROOT / "docs" / "results"
GENERATED_DIR = ROOT / "docs" / "generated"
SCHEMA_FILE = RESULTS_DIR / "schema.json"
SCHEMA_VERSION = 1
DEVICES = ("cpu", "cuda")
# Fields every run record must carry; render refuses a file that lacks one.
RUN_FIELDS = ("method_version", "source_sha256", "command", "args", "measured_at", "software",
              "cache_key", "quick", "result")


class UserError(Exception):
    """A problem with the input that deserves one clear line, not a traceback (exit 2)."""


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


