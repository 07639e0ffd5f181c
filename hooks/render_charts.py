"""MkDocs hook: render charts and tables from docs/results before each build, so that
`mkdocs build` and `mkdocs serve` always show the current data. Rendering writes only
files whose content changed, so serve does not rebuild in a loop."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def on_pre_build(config, **kwargs):
    import build_results
    build_results.render()
