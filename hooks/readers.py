"""MkDocs hook: the site for every reader, on every screen.

Pages (on_page_content, on_post_page):
  * charts: each chart's two <img> (light, dark) become <picture>s that serve the phone layout
    (<name>.<lang>.<theme>.narrow.svg, charts/readable.py) to narrow screens, load lazily (a
    hidden image, the other theme's, is never fetched) and carry their size (no layout shift);
  * tables: each cell carries its column's name (data-label), so that site.css can show a wide
    table on a phone as one card per row, every column in view; the table keeps its roles;
  * the included snippet sources: plain text in the page, highlighted when opened (a file of
    their own), and in print a line that names the file and where to get it instead of pages
    of code;
  * code: names lose their <span class="n"> (Material colours them as plain code text);
  * the notebook page: a link to download the .ipynb it was made from, and headings whose id
    nbconvert left empty get their table-of-contents id;
  * English pages look for search results in the English index (see below);
  * <link rel="alternate" hreflang>: Material fetches a sitemap.xml next to each one, so the
    per-page links i18n writes asked for /en/flops/sitemap.xml (a 404), and links pointing at
    the language roots claimed that /en/ translates /flops/. Neither is kept: the hreflang
    pairs, page by page, are in sitemap.xml (below), which search engines read as the same.
  * with site_url set, Material already writes <link rel="canonical">.

The build (on_pre_build, on_post_build):
  * generated/downloads/gpu-vs-cpu-snippets-results.zip: the snippets and the results files,
    which the reproduce page offers when no repo_url names where the code lives;
  * search: mkdocs-static-i18n builds one index for both languages; it is split into
    search/search_index.json (Chinese pages, segmented by jieba as before) and
    en/search/search_index.json (English pages), and English pages use the second, so a reader
    gets results in the page's language and downloads half the index;
  * sitemap.xml: every page once, with its counterpart in each language (hreflang, and
    x-default for the default language); absolute locations when site_url is set, and a
    robots.txt that names it when the site is published at a host's root.
"""
import html as htmllib
import io
import json
import pathlib
import re
import sys
import zipfile

from mkdocs.plugins import event_priority

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NARROW_MEDIA = "(max-width: 44.9375em)"   # Material's phone breakpoint (719 px)
DOWNLOAD = "generated/downloads/gpu-vs-cpu-snippets-results.zip"


def _lang(config):
    return config.theme["language"]


def _i18n(config):
    return config.plugins.get("i18n")


def _default_locale(config):
    plugin = _i18n(config)
    if plugin is None:
        return _lang(config)
    return next(lang.locale for lang in plugin.config.languages if lang.default)


def _other_locales(config):
    plugin = _i18n(config)
    return [] if plugin is None else [lang.locale for lang in plugin.config.languages
                                      if lang.build and not lang.default]


def t(config, zh, en):
    return zh if _lang(config) == "zh" else en


# ---------------------------------------------------------------- downloads

def download_zip():
    """The snippets and the results files, as a zip whose bytes depend on their content only
    (fixed dates and order), so that `mkdocs serve` does not rebuild in a loop."""
    import build_results
    entries = [("README.txt", (
        "GPU vs CPU in large-model training: the snippets and the measured results.\n"
        "GPU 与 CPU:大模型训练实测:代码片段与实测结果。\n\n"
        "snippets/<name>.py   one experiment each, torch only / 每个文件一个实验,只依赖 torch\n"
        "                     python snippets/matmul.py --help\n"
        "                     python snippets/matmul.py --device cpu --quick --out matmul.json\n"
        "results/<machine>/<name>.json   what the site shows, with the command that measured it\n"
        "                                本站展示的结果,附测量它的命令\n").encode())]
    for name in build_results.snippet_names():
        entries.append((f"snippets/{name}.py", (build_results.SNIPPETS_DIR / f"{name}.py").read_bytes()))
    for path in sorted(build_results.RESULTS_DIR.glob("*/*.json")):
        entries.append((f"results/{path.parent.name}/{path.name}", path.read_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(f"gpu-vs-cpu/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def on_pre_build(config, **kwargs):
    from charts.style import write_bytes
    write_bytes(pathlib.Path(config.docs_dir) / DOWNLOAD, download_zip())


# ---------------------------------------------------------------- pages

IMG = re.compile(r'<img (?P<attrs>[^>]*?)src="(?P<src>[^"]*?generated/(?P<name>[^"/]+?)\.svg)'
                 r'(?P<frag>#only-(?:light|dark))"(?P<rest>[^>]*?)\s*/?>')
SVG_SIZE = re.compile(rb'<svg[^>]*?\bwidth="([\d.]+)pt"[^>]*?\bheight="([\d.]+)pt"')


def _svg_px(path):
    """An SVG's size in CSS pixels (matplotlib writes pt: 1 pt = 4/3 px)."""
    try:
        head = path.read_bytes()[:2000]
    except OSError:
        return None
    m = SVG_SIZE.search(head)
    return (round(float(m.group(1)) * 4 / 3), round(float(m.group(2)) * 4 / 3)) if m else None


def pictures(html, config):
    generated = pathlib.Path(config.docs_dir) / "generated"

    def picture(m):
        src, name, frag = m.group("src"), m.group("name"), m.group("frag")
        wide = _svg_px(generated / f"{name}.svg")
        narrow_src = src[: -len(".svg")] + ".narrow.svg"
        narrow = _svg_px(generated / f"{name}.narrow.svg")
        size = f' width="{wide[0]}" height="{wide[1]}"' if wide else ""
        img = (f'<img {m.group("attrs")}src="{src}{frag}"{m.group("rest")}{size} '
               f'loading="lazy" decoding="async">')
        if narrow is None:
            return img
        return (f'<picture class="chart"><source media="{NARROW_MEDIA}" srcset="{narrow_src}" '
                f'width="{narrow[0]}" height="{narrow[1]}">{img}</picture>')
    return IMG.sub(picture, html)


TABLE = re.compile(r"<table>(.*?)</table>", re.S)
CELL = re.compile(r"<(t[hd])(\s[^>]*)?>", re.S)


def _text(fragment):
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def tables(html):
    """Each <td> gets data-label (its column's header); table, rows and cells keep their roles
    when a phone shows them as blocks (site.css), so screen readers still read a table."""
    def table(m):
        body = m.group(1)
        head = re.search(r"<thead>(.*?)</thead>", body, re.S)
        labels = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)] if head else []
        if not labels:
            return m.group(0)

        def row(r):
            cells = iter(labels)

            def cell(c):
                tag, attrs = c.group(1), c.group(2) or ""
                if tag == "th":
                    return f'<th role="columnheader"{attrs}>'
                label = next(cells, "")
                return f'<td role="cell" data-label="{htmllib.escape(label)}"{attrs}>'
            return "<tr role=\"row\">" + CELL.sub(cell, r.group(1)) + "</tr>"
        body = re.sub(r"<tr>(.*?)</tr>", row, body, flags=re.S)
        body = body.replace("<thead>", '<thead role="rowgroup">').replace("<tbody>", '<tbody role="rowgroup">')
        return f'<table role="table" data-cols="{len(labels)}">{body}</table>'
    return TABLE.sub(table, html)


SNIPPET = re.compile(r'(<details class="example">\s*<summary>[^<]*?snippets/(?P<name>\w+)\.py[^<]*</summary>)')


def snippet_references(html, page, config):
    """Before each included snippet: a line, shown in print only, that names the file and
    where to read it (the site's copy, or the repository), instead of pages of code."""
    site = (config.site_url or "").rstrip("/")
    repo = (config.repo_url or "").rstrip("/")

    def ref(m):
        name = m.group("name")
        if site:
            where = f"{site}/generated/snippets/{name}.py"
        elif repo:
            where = f"{repo} (snippets/{name}.py)"
        else:
            where = t(config, f"本站的 generated/snippets/{name}.py,或复现页的下载包",
                      f"this site's generated/snippets/{name}.py, or the download on the reproduce page")
        text = t(config, f"代码片段 snippets/{name}.py 未随打印附上,全文见:{where}",
                 f"The snippet snippets/{name}.py is not printed; read it at: {where}")
        return f'<p class="print-only snippet-ref">{htmllib.escape(text)}</p>\n' + m.group(1)
    return SNIPPET.sub(ref, html)


def notebook_download(html, page, config):
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    name = pathlib.PurePosixPath(page.file.src_uri).name
    label = t(config, f"下载这个笔记本({name})", f"Download this notebook ({name})")
    link = f'<p class="notebook-download"><a href="{name}" download>{htmllib.escape(label)}</a></p>\n'

    return link + html


HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#[^"]*">')


def notebook_heading_ids(html, page):
    """nbconvert gives a Chinese heading an empty id (its slug keeps ASCII only) while the
    page's table of contents (and Material's skip link) uses _1, _2...: a heading whose id is
    empty takes its table-of-contents id, so that both lead somewhere."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    toc = []

    def walk(items):
        for item in items:
            toc.append(item.id)
            walk(getattr(item, "children", []))
    walk(page.toc or [])
    order = iter(toc)

    def fix(m):
        level, hid, title = m.groups()
        hid = next(order, hid) if not hid else (next(order, None) and hid)
        hid = hid or "notebook"
        return f'<h{level} id="{hid}">{title}<a class="anchor-link" href="#{hid}">'
    return HEADING.sub(fix, html)


NAME_SPAN = re.compile(r'<span class="n">([^<]*)</span>')


def plain_names(html):
    """Pygments wraps every name in <span class="n">, which Material colours as the code's own
    text colour: the spans change nothing on screen and were a sixth of /training/'s HTML and
    a fifth of its DOM (the snippets' sources). Names are left as text."""
    return NAME_SPAN.sub(r"\1", html)


SNIPPET_CODE = re.compile(
    r'(?P<head><details class="example">\s*<summary>[^<]*?snippets/(?P<name>\w+)\.py[^<]*</summary>'
    r'\s*<div class="highlight"><pre><span></span><code)>(?P<code>.*?)(?P<tail></code></pre></div>)', re.S)


def snippet_sources(html, page, config):
    """An included snippet (collapsed under its summary) is in the page as plain text, every
    character of it; its highlighted form, a span per token, is a file of its own
    (generated/snippets/<name>.code.html) that site.js puts in place when the reader opens it.
    The three sources on /training/ were 88% of its HTML and most of its DOM."""
    up = "../" * page.url.count("/")

    def lazy(m):
        name = m.group("name")
        out = pathlib.Path(config.site_dir) / "generated" / "snippets" / f"{name}.code.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists() or out.read_text() != m.group("code"):
            out.write_text(m.group("code"))
        plain = re.sub(r"<[^>]+>", "", m.group("code"))
        return (f'{m.group("head")} data-highlighted="{up}generated/snippets/{name}.code.html">'
                f'{plain}{m.group("tail")}')
    return SNIPPET_CODE.sub(lazy, html)


def on_page_content(html, page, config, files, **kwargs):
    html = plain_names(html)
    html = snippet_sources(html, page, config)
    html = notebook_heading_ids(html, page)
    html = pictures(html, config)
    html = tables(html)
    html = snippet_references(html, page, config)
    html = notebook_download(html, page, config)
    return html


CONFIG_BASE = re.compile(r'(<script id="__config" type="application/json">\{[^<]*?"base": ")([^"]*)(")')
ALTERNATE = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[a-z-]+">')


def on_post_page(output, page, config, **kwargs):
    output = ALTERNATE.sub("", output)
    # English pages: the search index (and nothing else Material uses here) is found from
    # "base"; pointing it at the language root makes them load en/search/search_index.json
    for locale in _other_locales(config):
        if page.url.startswith(f"{locale}/"):
            depth = page.url[len(locale) + 1:].count("/")
            base = "/".join([".."] * depth) or "."
            output = CONFIG_BASE.sub(lambda m: m.group(1) + base + m.group(3), output, count=1)
    return output


# ---------------------------------------------------------------- the build

def split_search_index(site, config):
    """One index per language; English locations lose their en/ prefix (their base is /en/)."""
    path = site / "search" / "search_index.json"
    if not path.exists():
        return
    index = json.loads(path.read_text())
    others = _other_locales(config)
    parts = {None: []} | {loc: [] for loc in others}
    for doc in index["docs"]:
        loc = next((o for o in others if doc["location"].startswith(f"{o}/")), None)
        if loc is not None:
            doc = dict(doc, location=doc["location"][len(loc) + 1:])
        parts[loc].append(doc)
    if not any(parts[o] for o in others):
        return  # already split (or one language only)
    for loc, docs in parts.items():
        cfg = dict(index["config"])
        if loc is not None:
            cfg["lang"] = [loc]
        out = site / (f"{loc}/" if loc else "") / "search" / "search_index.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"config": cfg, "docs": docs}, ensure_ascii=False,
                                  separators=(",", ":")))


def write_sitemap(site, config):
    """Every page, with its counterpart in each language; absolute when site_url is set."""
    import gzip
    from urllib.parse import urljoin
    default, others = _default_locale(config), _other_locales(config)
    pages = {}
    for f in sorted(site.rglob("index.html")):
        rel = f.parent.relative_to(site).as_posix()
        url = "" if rel == "." else rel + "/"
        loc = next((o for o in others if url.startswith(f"{o}/") or url == f"{o}/"), default)
        key = url[len(loc) + 1:] if loc != default else url
        if key.startswith(("generated/", "results/", "assets/", "search/")):
            continue
        pages.setdefault(key, {})[loc] = url
    base = config.site_url or ""

    def href(url):
        return urljoin(base, url) if base else (url or "./")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
             'xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for key in sorted(pages):
        versions = pages[key]
        for loc in [default] + others:
            if loc not in versions:
                continue
            lines.append(f"  <url>\n    <loc>{htmllib.escape(href(versions[loc]))}</loc>")
            for alt in [default] + others:
                if alt in versions:
                    lines.append(f'    <xhtml:link rel="alternate" hreflang="{alt}" '
                                 f'href="{htmllib.escape(href(versions[alt]))}"/>')
            if default in versions:
                lines.append(f'    <xhtml:link rel="alternate" hreflang="x-default" '
                             f'href="{htmllib.escape(href(versions[default]))}"/>')
            lines.append("  </url>")
    lines.append("</urlset>\n")
    data = "\n".join(lines).encode()
    (site / "sitemap.xml").write_bytes(data)
    (site / "sitemap.xml.gz").write_bytes(gzip.compress(data, mtime=0))
    for loc in others:  # copies an earlier build left at the language roots
        for name in ("sitemap.xml", "sitemap.xml.gz"):
            (site / loc / name).unlink(missing_ok=True)
    # crawlers read robots.txt at a host's root only: written when the site is published there
    from urllib.parse import urlsplit
    robots = site / "robots.txt"
    if base and urlsplit(base).path in ("", "/"):
        robots.write_text(f"User-agent: *\nAllow: /\nSitemap: {urljoin(base, 'sitemap.xml')}\n")
    else:
        robots.unlink(missing_ok=True)


@event_priority(-300)  # after mkdocs-static-i18n has built every language and its search index
def on_post_build(config, **kwargs):
    plugin = _i18n(config)
    if plugin is not None and getattr(plugin, "building", False):
        return  # a language built from inside the default one: the last call does the work
    site = pathlib.Path(config.site_dir)
    split_search_index(site, config)
    write_sitemap(site, config)
