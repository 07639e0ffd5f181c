"""MkDocs hook: make mkdocs-jupyter, mkdocs-static-i18n and Material work together, offline.

1. mkdocs-static-i18n rebuilds the file list late (its on_files runs at priority -100),
   dropping the notebook wrapping that mkdocs-jupyter gave .ipynb files; so the wrapping is
   applied once more after it, and notebooks render as pages instead of raw JSON.
2. mkdocs-jupyter adds a MathJax <script> from a CDN to every notebook page; our notebooks
   contain no math, so the tag is removed and the site requests nothing from outside hosts
   (the browser tests check that).
3. Material looks for sitemap.xml next to each <link rel="alternate">; mkdocs-static-i18n
   points those links at the page itself (/en/flops/), where no sitemap exists, so every
   page asked for two missing files. The <link>s now point at the language roots (/ and
   /en/), which have a sitemap; the switcher's own <a hreflang> links stay per page. The
   i18n build writes only the root sitemap (it lists every language's pages, with their
   alternates), so each language root gets a copy of it.
"""
import shutil
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


@event_priority(-200)  # after mkdocs-static-i18n has built the other languages
def on_post_build(config, **kwargs):
    plugin = config.plugins.get("i18n")
    site = __import__("pathlib").Path(config.site_dir)
    if plugin is None or not (site / "sitemap.xml").exists():
        return
    for lang in plugin.config.languages:
        folder = site / lang.locale
        if not lang.default and folder.is_dir() and not (folder / "sitemap.xml").exists():
            shutil.copyfile(site / "sitemap.xml", folder / "sitemap.xml")


ALTERNATE = re.compile(r'<link rel="alternate" href="[^"]*" hreflang="([a-z-]+)">')


def on_post_page(output, page, config, **kwargs):
    output = MATHJAX.sub("", output)
    plugin = config.plugins.get("i18n")
    if plugin is not None:
        default = next(lang.locale for lang in plugin.config.languages if lang.default)
        up = "../" * page.url.count("/") or "./"

        def root(m):
            lang = m.group(1)
            return f'<link rel="alternate" href="{up}{"" if lang == default else lang + "/"}" hreflang="{lang}">'
        output = ALTERNATE.sub(root, output)
    return output
