"""MkDocs hook: a fork with docs/results/ emptied still builds. Every page that would show a
measured figure says instead that nothing has been measured yet, and how to measure; the
rest of the site (the reproduce page, the snippets, the notebook) is as usual. Runs before
the macros plugin (a higher event priority), so that no macro asks for a missing result."""
import pathlib
import re
import sys

from mkdocs.plugins import event_priority

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The macros that read results (site_macros.py); a page calling one needs a measurement.
NEEDS_RESULTS = re.compile(r"\{[{%][^}]*\b(val|num|text|exists|has|who|chart|table|provenance|no_gpu|"
                           r"machines_table|compare_table|ceiling|ceiling_kernel|isa_peak|"
                           r"isa_formula|featured_machine_name|verdict|answer_table)\s*\(")

NOTICE = {
    "zh": ('!!! warning "还没有任何测量结果"\n'
           "    `docs/results/` 里还没有结果文件,所以本页还没有可显示的数字、图表和结论。"
           "在自己的机器上测一次就有了:\n\n"
           "    ```bash\n    bash scripts/install.sh && .venv/bin/python build_results.py\n    ```\n\n"
           "    它会测量这台机器的 CPU(有 GPU 时也测 GPU),再生成图表并构建本站。详见[复现](reproduce.md)。\n"),
    "en": ('!!! warning "Nothing measured yet"\n'
           "    There are no results files under `docs/results/` yet, so this page has no figures, "
           "charts or verdicts to show. Measure your own machine and they appear:\n\n"
           "    ```bash\n    bash scripts/install.sh && .venv/bin/python build_results.py\n    ```\n\n"
           "    It measures this machine's CPU (and GPU, if it has one), renders the charts and "
           "builds the site. See [Reproduce](reproduce.md).\n"),
}
_state = {"empty": False}


def on_pre_build(config, **kwargs):
    from lib.results import RESULTS_DIR
    _state["empty"] = not list(pathlib.Path(RESULTS_DIR).glob("*/*.json"))


@event_priority(100)  # before mkdocs-macros renders the page
def on_page_markdown(markdown, page, config, files, **kwargs):
    if not _state["empty"] or not NEEDS_RESULTS.search(markdown):
        return markdown
    lang = "en" if page.file.src_uri.endswith(".en.md") else "zh"
    title = next((ln for ln in markdown.splitlines() if ln.startswith("# ")), f"# {page.title or ''}")
    prefix = "../" * page.file.src_uri.count("/")
    return f"{title}\n\n{NOTICE[lang].replace('(reproduce.md)', f'({prefix}reproduce.md)')}"
