"""MkDocs hook: make mkdocs-jupyter, mkdocs-static-i18n and Material work together, offline.

1. mkdocs-static-i18n rebuilds the file list late (its on_files runs at priority -100),
   dropping the notebook wrapping that mkdocs-jupyter gave .ipynb files; so the wrapping is
   applied once more after it, and notebooks render as pages instead of raw JSON.
2. mkdocs-jupyter adds a MathJax <script> from a CDN to every notebook page; our notebooks
   contain no math, so the tag is removed and the site requests nothing from outside hosts
   (the browser tests check that).
3. A notebook page belongs to its language: run-it-yourself.en.ipynb renders at
   /en/run-it-yourself/ (not over the Chinese page), and each notebook page's language
   switch leads to its counterpart (i18n sees notebooks as plain files and finds none).
(hreflang links and the sitemap: hooks/readers.py.)
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
            files.append(_with_alternates(_in_language_folder(NotebookFile(f, **config), f, config), config))
    return files


def _with_alternates(nb, config):
    """i18n treats a notebook as a plain file and finds no other-language version of it, so
    the language switcher of the English notebook page led to the home page. Each notebook
    page names its counterpart in every language: the same path under that language's folder
    (the notebook exists in every language, a test checks that)."""
    import types
    plugin = config.plugins.get("i18n")
    if plugin is None:
        return nb
    locales = [(lang.locale, lang.default) for lang in plugin.config.languages if lang.build]
    prefixes = [loc + "/" for loc, default in locales if not default]
    path = nb.url
    for prefix in prefixes:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    alternates = dict(getattr(nb.file, "alternates", {}) or {})
    for loc, default in locales:
        url = path if default else f"{loc}/{path}"
        alternates[loc] = types.SimpleNamespace(url=url, dest_uri=url + "index.html", page=None,
                                                locale=loc)
    nb.alternates = alternates
    return nb


def _in_language_folder(nb, f, config):
    """NotebookFile computes its page's place from the source name alone, which puts
    run-it-yourself.en.ipynb's page at /run-it-yourself/, over the Chinese one. i18n has already
    placed the file (en/run-it-yourself/index.html, or en/run-it-yourself.ipynb when it saw the
    notebook as a plain file): the page goes there."""
    import os
    import posixpath
    dest = f.dest_uri
    if not dest.endswith(".html"):
        stem = posixpath.splitext(dest)[0]
        dest = f"{stem}/index.html" if config.use_directory_urls else f"{stem}.html"
    nb.dest_path = dest
    nb.url = dest[: -len("index.html")] if config.use_directory_urls and dest.endswith("/index.html") else dest
    nb.abs_dest_path = os.path.normpath(os.path.join(config.site_dir, dest))
    return nb


def on_post_page(output, page, config, **kwargs):
    return MATHJAX.sub("", output)
