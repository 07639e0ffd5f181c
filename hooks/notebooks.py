"""MkDocs hook: make mkdocs-jupyter and mkdocs-static-i18n work together, offline.

1. mkdocs-static-i18n rebuilds the file list late (its on_files runs at priority -100),
   dropping the notebook wrapping that mkdocs-jupyter gave .ipynb files; so the wrapping is
   applied once more after it, and notebooks render as pages instead of raw JSON.
2. mkdocs-jupyter adds a MathJax <script> from a CDN to every notebook page; our notebooks
   contain no math, so the tag is removed and the site requests nothing from outside hosts
   (the browser tests check that).
"""
import re

from mkdocs.plugins import event_priority

MATHJAX = re.compile(r'<script[^>]*src="https?://[^"]*mathjax[^"]*"[^>]*>\s*</script>\s*'
                     r'(?:<script[^>]*type="text/x-mathjax-config"[^>]*>.*?</script>)?',
                     re.IGNORECASE | re.DOTALL)


@event_priority(-200)
def on_files(files, config, **kwargs):
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is None:
        return files
    from mkdocs_jupyter.plugin import NotebookFile
    for f in list(files):  # in place: the collection is i18n's own class and must stay so
        if jupyter.should_include(f) and not isinstance(f, NotebookFile):
            files.remove(f)
            files.append(NotebookFile(f, **config))
    return files


def on_post_page(output, page, config, **kwargs):
    return MATHJAX.sub("", output)
