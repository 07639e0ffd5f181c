"""MkDocs hook: the fact-check page shows each chapter's own verdict, so the two can never
disagree. Every chapter states a claim under a heading whose id is the claim's ID
(`## C2.1 ... { #c2-1 }`) and closes it with an `!!! abstract "结论:..."` admonition, written
by the `verdict()` macro from the claim's rule in lib/verdicts.py (so zh and en come from the
same rule, and the home page's glance table shows the same verdicts);
this hook collects those verdicts as the pages render, then fills the placeholders
`<!-- verdict:c2-1 -->` in factcheck.md's built page. A claim whose chapter gives no
verdict fails the build."""
import pathlib
import re

from mkdocs.exceptions import PluginError

CLAIM = re.compile(r'<h2 id="((?:c\d+-\d+)|(?:x\d+))"')
VERDICT = re.compile(r'<div class="admonition abstract">\s*<p class="admonition-title">(.*?)</p>', re.S)
PLACEHOLDER = re.compile(r"<!-- verdict:([a-z0-9-]+) -->")

_found = {}  # (language, claim id) -> (verdict title, page url)


def _lang(config):
    return config.theme["language"]


def on_pre_build(config, **kwargs):
    # mkdocs-static-i18n builds each language in turn: forget only this language's verdicts
    for key in [k for k in _found if k[0] == _lang(config)]:
        del _found[key]


def on_page_content(html, page, config, files, **kwargs):
    events = sorted([(m.start(), "claim", m.group(1)) for m in CLAIM.finditer(html)] +
                    [(m.start(), "verdict", m.group(1)) for m in VERDICT.finditer(html)])
    current = None
    for _, kind, value in events:
        if kind == "claim":
            current = value
        elif current and (_lang(config), current) not in _found:
            title = re.sub(r"^(结论|Verdict)\s*[::]\s*", "", value.strip())
            _found[(_lang(config), current)] = (title, page.url)
    return html


def on_post_build(config, **kwargs):
    lang = _lang(config)
    # each language's build writes its pages under the same site_dir, the others under <lang>/
    candidates = [pathlib.Path(config.site_dir) / lang / "factcheck" / "index.html",
                  pathlib.Path(config.site_dir) / "factcheck" / "index.html"]
    page = next((p for p in candidates if p.exists()), None)
    if page is not None and PLACEHOLDER.search(page.read_text()):
        html = page.read_text()

        def fill(m):
            claim = m.group(1)
            if (lang, claim) not in _found:
                raise PluginError(f"factcheck: no chapter gives a verdict for claim '{claim}' "
                                  f"(a heading with id '{claim}' followed by an abstract admonition)")
            title, url = _found[(lang, claim)]
            return f'<a href="{_rel(page, config, url)}#{claim}">{title}</a>'
        page.write_text(PLACEHOLDER.sub(fill, html))


def _rel(page, config, url):
    """The link from the built factcheck page to a chapter's url (both site-relative)."""
    import os
    here = page.parent.relative_to(config.site_dir)
    root = pathlib.Path(config.site_dir)
    # page.url of a chapter is relative to this build's site_dir
    return os.path.relpath(root / url, root / here).replace(os.sep, "/") + "/"
