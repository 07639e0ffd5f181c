"""The GPU-runner workflow (.github/workflows/gpu-site.yml), checked without a runner.

Nobody runs that workflow often, and it runs on a self-hosted box where a mistake costs GPU
time or leaks a token: so it is read here on every test run. It must call only scripts and
build_results.py options that exist (judged from --help, as a person would), hold the least
permissions, pin every action to a commit, keep no credentials in the workspace, stay zizmor
clean, and say in the README what it does.
"""
import ast
import importlib
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
from functools import lru_cache

import pytest
import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "gpu-site.yml"
VENV_PYTHON = ".venv/bin/python"  # what scripts/install.sh makes; the runner's python3 has no torch


def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(wf=None):
    """(job id, step) for every step of every job."""
    wf = wf or workflow()
    return [(job_id, step) for job_id, job in wf["jobs"].items() for step in job.get("steps", [])]


def commands(script):
    """The simple commands of a `run:` script, each a list of words: continuation lines
    joined, comments dropped, split at ; && || | and line ends (a quote spanning lines is
    not supported: the workflow has none)."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        cmd = []
        for word in list(lexer) + [";"]:
            if word and set(word) <= set(";&|"):
                if cmd:
                    out.append(cmd)
                cmd = []
            else:
                cmd.append(word)
    # leading VAR=value assignments are the command's environment, not the command
    return [c[next((i for i, w in enumerate(c) if not re.match(r"^\w+=", w)), len(c)):] for c in out]


def all_commands():
    return [(job_id, step, cmd) for job_id, step in steps() if "run" in step
            for cmd in commands(step["run"]) if cmd]


# ---------------------------------------------------------------- build_results.py --help

@lru_cache(maxsize=None)
def help_of(*sub):
    proc = subprocess.run([sys.executable, "build_results.py", *sub, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"build_results.py {' '.join(sub)} --help: {proc.stderr.strip()}"
    return proc.stdout


def subcommands():
    """The steps the top-level --help lists: {measure,render,site,...}."""
    listed = re.search(r"^positional arguments:\n\s+\{([\w,-]+)\}", help_of(), re.M)
    return set(listed.group(1).split(","))


def options(help_text):
    """{flag: metavar or None} from the options list of an argparse --help."""
    found = {}
    section = help_text.split("options:", 1)[1] if "options:" in help_text else ""
    for line in section.splitlines():
        if not re.match(r"^ {2,}-", line):
            continue
        spec = re.split(r" {2,}", line.strip())[0]
        for part in spec.split(", "):
            flag, _, metavar = part.partition(" ")
            found[flag] = metavar or None
    return found


def positionals(sub):
    """How many positional arguments `build_results.py SUB` takes, from its usage line
    (None: any number)."""
    usage = " ".join(help_of(sub).split("\n\n")[0].split())
    rest = usage.split(f"build_results.py {sub}", 1)[1]
    groups, depth, cur = [], 0, ""
    for ch in rest:  # the top-level [...] groups and bare words of the usage
        if ch == "[":
            depth += 1
        if depth or not ch.isspace():
            cur += ch
        if ch == "]":
            depth -= 1
        if depth == 0 and (ch.isspace() or ch == "]") and cur.strip():
            groups.append(cur.strip())
            cur = ""
    if cur.strip():
        groups.append(cur.strip())
    pos = [g for g in groups if not g.lstrip("[").startswith("-")]
    return None if any("..." in g for g in pos) else len(pos)


def measure_step(wf=None):
    """(job id, step, deadline in seconds) of the one step that runs scripts/gpu-measure.sh."""
    (job_id, step, cmd), = [(j, s, c) for j, s in steps(wf) if "run" in s
                            for c in commands(s["run"]) if c[:2] == ["bash", "scripts/gpu-measure.sh"]]
    assert len(cmd) == 4 and cmd[3].isdigit(), f"OUTDIR and a whole number of seconds: {cmd}"
    return job_id, step, int(cmd[3])


def build_results_calls():
    return [(job_id, step, cmd) for job_id, step, cmd in all_commands()
            if any(w.endswith("build_results.py") for w in cmd)]


# ---------------------------------------------------------------- scripts and options exist

def test_the_workflow_runs_the_readme_commands():
    """Install with scripts/install.sh, measure through scripts/gpu-measure.sh, then check and
    build: no ad-hoc pip install, no bare measure without a deadline."""
    runs = [" ".join(cmd) for _, _, cmd in all_commands()]
    assert "bash scripts/install.sh" in runs, runs
    assert any(r.startswith("bash scripts/gpu-measure.sh ") for r in runs), runs
    assert not [r for r in runs if re.search(r"\bpip\b", r)], "install through scripts/install.sh"
    subs = [next(w for w in cmd[cmd.index("build_results.py") + 1:] if not w.startswith("-"))
            for _, _, cmd in build_results_calls()]
    assert subs == ["check", "site"], subs  # the results are checked before the site is built


def test_every_script_the_workflow_runs_exists():
    used = [(cmd[1], " ".join(cmd)) for _, _, cmd in all_commands() if cmd[0] == "bash"]
    assert used
    for path, line in used:
        assert (ROOT / path).is_file(), f"{line}: no {path}"


def test_build_results_is_run_with_the_venv_python():
    calls = build_results_calls()
    assert calls
    for _, _, cmd in calls:
        assert cmd[0] == VENV_PYTHON and cmd[1] == "build_results.py", " ".join(cmd)


def test_every_build_results_subcommand_and_flag_is_accepted():
    """Judged from --help, as a person reading the workflow would: the subcommand is listed,
    each flag is in that subcommand's options (or the top level's, before it), a choice is
    one of its choices, and there are no more positionals than the usage takes."""
    known = subcommands()
    for _, _, cmd in build_results_calls():
        line = " ".join(cmd)
        words = cmd[cmd.index("build_results.py") + 1:]
        sub, opts, given = None, options(help_of()), []
        i = 0
        while i < len(words):
            w = words[i]
            if w.startswith("-"):
                flag, eq, value = w.partition("=")
                assert flag in opts, f"{line}: {flag} is not an option of build_results.py {sub or ''}"
                metavar = opts[flag]
                if metavar and not eq:
                    i += 1
                    assert i < len(words), f"{line}: {flag} needs a value"
                    value = words[i]
                if metavar and metavar.startswith("{"):
                    assert value in metavar.strip("{}").split(","), f"{line}: {flag} {value}"
            elif sub is None:
                assert w in known, f"{line}: build_results.py has no subcommand {w!r} ({sorted(known)})"
                sub, opts = w, options(help_of(w))
            else:
                given.append(w)
            i += 1
        assert sub, f"{line}: no subcommand"
        most = positionals(sub)
        assert most is None or len(given) <= most, f"{line}: {sub} takes {most} argument(s)"


def test_inline_python_compiles_and_its_project_imports_exist():
    for _, _, cmd in all_commands():
        if cmd[0] != VENV_PYTHON or "-c" not in cmd:
            continue
        tree = ast.parse(cmd[cmd.index("-c") + 1])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (ROOT / node.module.split(".")[0]).exists():
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"


def test_the_deadline_fits_in_the_step_and_the_job():
    """gpu-measure.sh's budget stops the snippets; the step's limit only catches a hung
    script, and the job must still have time for the check, the site and the uploads."""
    wf = workflow()
    job_id, step, deadline_s = measure_step(wf)
    step_s = step["timeout-minutes"] * 60
    job_s = wf["jobs"][job_id]["timeout-minutes"] * 60
    assert deadline_s + 5 * 60 <= step_s <= job_s - 10 * 60, (deadline_s, step_s, job_s)
    assert step["env"]["PYTHON"] == VENV_PYTHON  # the script's own default, python3, has no torch


def test_inputs_reach_run_scripts_only_through_env():
    """${{ }} inside a run: script is pasted into the shell before it runs (template
    injection); values go through env: instead."""
    for job_id, step in steps():
        assert "${{" not in step.get("run", ""), f"{job_id}: {step.get('name', step)}"
    wf = workflow()
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    if "force" in on["workflow_dispatch"].get("inputs", {}):
        envs = [s.get("env", {}) for _, s in steps(wf)]
        assert any("inputs.force" in str(e.get("FORCE", "")) for e in envs), "force reaches FORCE"


# ---------------------------------------------------------------- permissions, pins, tokens

def deploy_job_ids(wf):
    return [j for j, s in steps(wf) if s.get("uses", "").startswith("actions/deploy-pages@")]


def test_least_privilege():
    wf = workflow()
    assert wf.get("permissions") == {}, "no permission at the workflow level: each job says its own"
    deploy = deploy_job_ids(wf)
    assert len(deploy) == 1, deploy
    for job_id, job in wf["jobs"].items():
        if job_id in deploy:
            assert job.get("permissions") == {"pages": "write", "id-token": "write"}, job_id
            assert job["environment"]["name"] == "github-pages"  # where approval can be required
            assert "self-hosted" not in str(job["runs-on"])
        else:
            assert job.get("permissions") == {"contents": "read"}, job_id


def test_checkout_keeps_no_credentials():
    checkouts = [s for _, s in steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_every_action_is_pinned_to_a_commit_with_its_version():
    uses = [s["uses"] for _, s in steps() if "uses" in s]
    uses += [j["uses"] for j in workflow()["jobs"].values() if "uses" in j]  # reusable workflows
    lines = [ln for ln in WORKFLOW.read_text().splitlines() if re.match(r"^\s*(- )?uses:", ln)]
    assert uses and len(lines) == len(uses)
    for line in lines:
        assert re.match(r"^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$", line), line


def test_every_zizmor_ignore_says_why():
    for line in WORKFLOW.read_text().splitlines():
        m = re.search(r"#\s*zizmor:\s*ignore\[[^\]]*\](.*)$", line)
        if m:
            assert m.group(1).strip(), f"an accepted finding needs its reason: {line.strip()}"


def zizmor():
    """zizmor from this Python's environment (requirements-dev.txt), else from PATH."""
    here = pathlib.Path(sys.executable).parent / "zizmor"
    return str(here) if here.is_file() else shutil.which("zizmor")


def test_zizmor_finds_nothing():
    exe = zizmor()
    # CI installs requirements-dev.txt, so a missing zizmor is a broken setup, not a skip
    assert exe, "zizmor is not installed: pip install -r requirements-dev.txt"
    proc = subprocess.run([exe, "--offline", "--no-progress", "--color", "never",
                           ".github/workflows/"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- the README says the same

def readme_section():
    text = (ROOT / "README.md").read_text()
    start = text.index("### On a self-hosted GPU runner")
    end = text.find("\n## ", start)
    return text[start:end if end > 0 else None]


@pytest.mark.parametrize("what", ["commands", "settings"])
def test_readme_section_matches_the_workflow(what):
    section = " ".join(readme_section().split())
    if what == "commands":
        for _, _, cmd in all_commands():
            if cmd[0] == "bash":
                assert f"bash {cmd[1]}" in section, cmd
            elif "build_results.py" in cmd:
                call = " ".join(cmd[cmd.index("build_results.py"):])
                assert call in section, call
    else:
        deadline = str(measure_step()[2])
        for needed in [deadline, "self-hosted, linux, gpu", "github-pages", "contents: read",
                       "persist-credentials: false", "pages: write", "id-token: write",
                       "FORCE=1", "Required reviewers"]:
            assert needed in section, needed
