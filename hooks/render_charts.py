"""MkDocs hook: render charts and tables from docs/results before each build, so that
`mkdocs build` and `mkdocs serve` always show the current data. Rendering writes only
files whose content changed, so serve does not rebuild in a loop."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import logging

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.render_charts")


def on_pre_build(config, **kwargs):
    from lib.plausibility import plausibility
    from lib.publish import publish_for_notebook
    from lib.results import GENERATED_DIR, UserError, load_all
    try:
        data = load_all()
        # An implausible figure is named, and nothing is drawn from it: the build stops here.
        problems = plausibility(data)
        for pid, msg in problems:
            log.warning(f"implausible result: {msg} (waive it with \"{pid}\" in the results "
                        f"file's \"waivers\", with the reason and the run)")
        if problems:
            raise PluginError(f"{len(problems)} implausible figure(s), listed above: fix or waive "
                              "them; no chart was drawn")
        from charts.style import cjk_font, cjk_font_files
        if cjk_font() is None:
            if cjk_font_files():  # installed, yet unusable: the Chinese charts would be English
                raise PluginError("a CJK font is installed (" + str(cjk_font_files()[0]) + ") but "
                                  "matplotlib cannot use it: the Chinese charts would fall back to "
                                  "English; remove ~/.cache/matplotlib and build again")
            log.info("no CJK font installed: the Chinese pages' charts get English labels "
                     "(apt-get install fonts-noto-cjk)")
        from charts import render_all, runs_by_snippet
        from lib.featured import featured_machine
        featured = featured_machine(data, config["extra"].get("featured_machine", "auto"))
        render_all(data, GENERATED_DIR, featured)
        # the notebook page fetches the snippets and the results index from the built site
        publish_for_notebook(data, GENERATED_DIR)
        # results/summary.csv: every machine's headline figures, with units and source files.
        # Written beside the results (not committed: .gitignore) so that both languages
        # publish it; written only when it changed, so that `mkdocs serve` does not loop.
        from charts.style import write_text
        from lib.publish import summary_csv
        from lib.results import RESULTS_DIR
        write_text(RESULTS_DIR / "summary.csv", summary_csv(runs_by_snippet(data, featured)))
    except UserError as e:
        raise PluginError(str(e)) from None
