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


def shown(path):
    """A path as a person reads it in a message: relative to here when it is below here."""
    rel = os.path.relpath(pathlib.Path(path).resolve())
    return rel if not rel.startswith("..") else str(path)


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


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")  # NaN, Infinity: not standard JSON


def read_results_file(path, validate=False):
    """Load and check one results file; raise UserError naming the file and the field.

    Without validate, only what measure relies on is checked, with the standard library (a
    bare GPU box has no jsonschema). With validate, the whole file is checked against
    docs/results/schema.json, and so are the things a schema cannot say (a date that is not a
    date, a file in the wrong folder)."""
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text(), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise UserError(f"{shown(path)}: not a text file") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{shown(path)}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except ValueError as e:
        raise UserError(f"{shown(path)}: not valid JSON ({e})") from None
    except OSError as e:
        raise UserError(f"{shown(path)}: cannot be read ({e.strerror or e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{shown(path)}: expected a JSON object, found {_kind(data)}")
    for field in ("schema_version", "snippet", "machine", "runs"):
        if field not in data:
            raise UserError(f"{shown(path)}: missing field '{field}'")
    if data["schema_version"] != SCHEMA_VERSION:
        raise UserError(f"{shown(path)}: schema_version {data['schema_version']!r} is not supported "
                        f"(this build reads {SCHEMA_VERSION})")
    for field, kind in (("snippet", str), ("machine", dict), ("runs", dict)):
        if not isinstance(data[field], kind):
            raise UserError(f"{shown(path)}: field '{field}' must be {_kind(kind())}, found {_kind(data[field])}")
    for device, run in data["runs"].items():
        if device not in DEVICES:
            raise UserError(f"{shown(path)}: field 'runs.{device}': unknown device (known: {', '.join(DEVICES)})")
        if not isinstance(run, dict):
            raise UserError(f"{shown(path)}: field 'runs.{device}' must be an object, found {_kind(run)}")
        for field in RUN_FIELDS:
            if field not in run:
                raise UserError(f"{shown(path)}: missing field 'runs.{device}.{field}'")
    if validate:
        _validate(path, data)
    return data


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


_VALIDATOR = None


def _validate(path, data):
    """The whole file against the schema, then what the schema cannot say; one line on error."""
    global _VALIDATOR
    if _VALIDATOR is None:
        try:
            import jsonschema
        except ImportError:
            raise UserError("checking results files needs jsonschema (pip install -r requirements.txt)") from None
        try:
            schema = json.loads(SCHEMA_FILE.read_text())
        except OSError:
            raise UserError(f"{shown(SCHEMA_FILE)} is missing: it says what a results file holds; "
                            "restore it (git checkout -- docs/results/schema.json)") from None
        _VALIDATOR = jsonschema.Draft202012Validator(schema)
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    if errors:
        import jsonschema
        e = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise UserError(f"{shown(path)}: field '{where}': {_message(e)}")
    if path.stem != data["snippet"]:
        raise UserError(f"{shown(path)}: field 'snippet': '{data['snippet']}' does not match the file's name")
    if path.parent.name != data["machine"]["slug"]:
        raise UserError(f"{shown(path)}: field 'machine.slug': '{data['machine']['slug']}' does not match "
                        f"its folder '{path.parent.name}'")
    import datetime as dt
    stamps = [(f"runs.{d}.measured_at", r["measured_at"]) for d, r in data["runs"].items()]
    stamps += [(f"failures.{d}.at", f["at"]) for d, f in data.get("failures", {}).items()]
    for field, stamp in stamps:
        try:
            dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise UserError(f"{shown(path)}: field '{field}': {stamp!r} is not a date") from None


def _message(e):
    """jsonschema's message, shortened: no dump of a whole object in one line."""
    if e.validator == "required":
        return e.message.split(" is a required property")[0] + " is missing"
    if e.validator in ("propertyNames", "enum") and isinstance(e.instance, str):
        return f"{e.instance!r} is not one of {', '.join(map(str, e.validator_value.get('enum', []) if isinstance(e.validator_value, dict) else e.validator_value))}"
    if e.validator in ("type", "oneOf", "anyOf"):
        want = e.schema.get("type") or "a value the schema allows"
        return f"must be {want}, found {_kind(e.instance)}"
    if e.validator == "pattern":
        return f"{e.instance!r} is not of the form {e.schema.get('description') or e.validator_value}"
    msg = e.message
    return msg if len(msg) <= 160 else msg[:157] + "..."


def load_all(results_dir=RESULTS_DIR, validate=True):
    """Every results file under results_dir, as {(machine_slug, snippet): data}; each file is
    validated against the schema (render, the site build and check do; measure does not)."""
    out = {}
    for path in sorted(pathlib.Path(results_dir).glob("*/*.json")):
        data = read_results_file(path, validate=validate)
        data["_path"] = path
        out[(path.parent.name, path.stem)] = data
    return out


class FolderLock:
    """One writer per results folder: a second measure on the same folder is refused, with the
    holder named, instead of measuring alongside it (they would slow each other down) and
    writing over its results. An flock on docs/results/<machine>/.measure.lock: the kernel
    releases it when the holder exits, however it exits."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.path = self.folder / ".measure.lock"
        self.file = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # not on Linux or macOS: no lock, as before
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            self.file = None
            raise UserError(f"another measure is writing {self.folder} ({holder}): wait for it to "
                            "finish, or stop it, then run again") from None
        import datetime as dt
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"pid {os.getpid()}, since "
                        f"{dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}\n")
        self.file.flush()
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.seek(0)
            self.file.truncate()
            self.file.close()  # closing releases the flock
            self.file = None


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




def median_result(run):
    """A run's result with every number replaced by its median across the run's independent
    repeats (--repeat), what the pages quote; the run's own result when it has no repeats."""
    results = [run["result"]] + [r["result"] for r in run.get("repeats", [])]
    if len(results) == 1:
        return run["result"]

    def merge(values):
        first = values[0]
        if isinstance(first, dict):
            return {k: merge([v[k] for v in values if isinstance(v, dict) and k in v]) for k in first}
        if isinstance(first, list):
            return [merge([v[i] for v in values if isinstance(v, list) and i < len(v)])
                    for i in range(len(first))]
        nums = sorted(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
        if isinstance(first, (int, float)) and not isinstance(first, bool) and nums:
            n = len(nums)
            return nums[n // 2] if n % 2 else (nums[n // 2 - 1] + nums[n // 2]) / 2
        return first
    return merge(results)
