"""Readers on every screen (issue #13), tried as readers would: a 390x844 phone, print to PDF,
the keyboard, search in the page's language, axe-core, both languages of the notebook, and
the sitemap, canonical and hreflang links of a site built with SITE_URL.

One site, built once for the session (conftest.built_site), serves every browser test here;
the site with SITE_URL and REPO_URL set reuses its rendered charts. axe-core and pdf.js are
loaded into Chromium from node_modules/ (scripts/install.sh --dev puts them there).
Screenshots of the phone layout are kept in test-artifacts/ for a person to look at."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile

import pytest

from conftest import ROOT, copy_project
from test_browser import ARTIFACTS, CHROMIUM, Visit, browser, pages, server  # noqa: F401 (fixtures)

PHONE = {"width": 390, "height": 844}
NODE_MODULES = ROOT / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
PDFJS = NODE_MODULES / "pdfjs-dist" / "build"
if not pathlib.Path(CHROMIUM).exists():
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed (scripts/install.sh --dev)")


def needs(path):
    """A tool from node_modules/: in CI its absence is a failure, elsewhere a skip."""
    if not path.exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{path} is missing: scripts/install.sh --dev installs it (npm ci)")
        pytest.skip(f"{path.relative_to(ROOT)} is missing (bash scripts/install.sh --dev)")


def phone(browser, server, path, scheme="light"):
    ctx = browser.new_context(viewport=PHONE, color_scheme=scheme, device_scale_factor=1,
                              is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(server + path.lstrip("/"), wait_until="networkidle")
    return ctx, page


def chart_pages(built_site):
    site = built_site / "site"
    return [p for p in pages(built_site)
            if re.search(r'<img [^>]*src="[^"]*generated/[^"]*\.svg', (site / p.lstrip("/") / "index.html").read_text())]


def svg_geometry(site, url):
    """(width in pt, smallest text in pt) of a chart the page shows, from the SVG file."""
    name = url.split("/generated/")[1].split("#")[0]
    head = (site / "generated" / name).read_text()[:1500]
    width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', head).group(1))
    smallest = float(re.search(r'data-min-text-pt="([\d.]+)"', head).group(1))
    return width, smallest


LOAD_VISIBLE_CHARTS = """async () => {
  const out = [];
  for (const img of document.querySelectorAll('img[src*="generated/"]')) {
    if (getComputedStyle(img).display === 'none') continue;  // the other theme's
    img.scrollIntoView({block: 'center'});
    if (!img.complete || !img.naturalWidth) {
      await new Promise(r => { img.addEventListener('load', r, {once: true});
                               img.addEventListener('error', r, {once: true});
                               setTimeout(r, 5000); });
    }
    const box = img.getBoundingClientRect();
    out.push({src: img.currentSrc, width: box.width, loaded: img.complete && img.naturalWidth > 0});
  }
  window.scrollTo(0, 0);
  return out;
}"""


# ---------------------------------------------------------------- 1. charts on a phone

def test_charts_are_legible_on_a_phone(browser, server, built_site):
    """On a 390 px phone every chart is its phone layout, and its smallest text, at the size
    the page shows it, is at least 9 px. Text is drawn as paths (svg.fonttype=path), so the
    size is the figure's own smallest font size (data-min-text-pt, recorded as drawn) times
    the scale the page shows the SVG at (rendered width / SVG width)."""
    site = built_site / "site"
    checked, problems = 0, []
    found = chart_pages(built_site)
    assert "flops/" in found and "en/training/" in found
    for path in found:
        ctx, page = phone(browser, server, path)
        charts = page.evaluate(LOAD_VISIBLE_CHARTS)
        if path in ("flops/", "training/", "en/training/"):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"phone-{path.strip('/').replace('/', '-')}.png"),
                            full_page=True)
        ctx.close()
        for c in charts:
            if not c["loaded"]:
                problems.append(f"{path}: {c['src']} did not load")
                continue
            if not c["src"].endswith(".narrow.svg"):
                problems.append(f"{path}: {c['src']} is not the phone layout")
                continue
            width_pt, smallest_pt = svg_geometry(site, c["src"])
            px = smallest_pt * c["width"] / width_pt
            if px < 9:
                problems.append(f"{path}: {c['src']}: smallest text {px:.1f} px on screen "
                                f"({smallest_pt} pt in {width_pt:.0f} pt shown {c['width']:.0f} px wide)")
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 30, checked


def test_a_wide_screen_gets_the_full_layout(browser, server):
    v = Visit(browser, server, "flops/")
    charts = v.page.evaluate(LOAD_VISIBLE_CHARTS)
    v.close()
    assert charts and all(c["loaded"] and not c["src"].endswith(".narrow.svg") for c in charts), charts


def test_every_chart_label_reaches_4_5_to_1_and_the_phone_layouts_fit(built_site):
    """Every SVG the site serves records the lowest contrast of any text against what it is
    drawn on (charts/readable.py checks each text as the renderer draws it), and every phone
    layout is narrow enough for 8 pt text to be 9 px on a 358 px column."""
    from charts.readable import MIN_SCREEN_PX, PHONE_COLUMN_PX
    svgs = sorted((built_site / "site" / "generated").glob("*.svg"))
    assert len(svgs) >= 150
    problems = []
    for svg in svgs:
        head = svg.read_text()[:1500]
        low = float(re.search(r'data-min-contrast="([\d.]+)"', head).group(1))
        if low < 4.5:
            problems.append(f"{svg.name}: a label at {low}:1")
        if svg.name.endswith(".narrow.svg"):
            width = float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', head).group(1))
            smallest = float(re.search(r'data-min-text-pt="([\d.]+)"', head).group(1))
            if smallest * PHONE_COLUMN_PX / width < MIN_SCREEN_PX:
                problems.append(f"{svg.name}: {smallest} pt in {width:.0f} pt")
    assert not problems, "\n".join(problems)


def test_a_label_short_of_contrast_is_drawn_darker():
    """The check itself: white text on an orange bar (2.4:1) comes out at 4.5:1 or more, and a
    text that already reads is left as it is."""
    import matplotlib.pyplot as plt
    from charts import readable
    from charts.style import _svg, rc
    with plt.rc_context(rc("light")):
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.bar([0], [1], color="#f28e2b")
        weak = ax.text(0, 0.5, "11%", ha="center", color="white")
        fine = ax.text(0.3, 1.2, "note", color="#1f2328")
        _, smallest, lowest = readable.render_svg(fig, "light", lambda: _svg(fig))
        plt.close(fig)
    from matplotlib import colors
    orange = colors.to_rgb("#f28e2b")
    assert readable.contrast(colors.to_rgb("white"), orange) < 3
    assert readable.contrast(colors.to_rgb(weak.get_color()), orange) >= 4.5
    assert colors.to_hex(fine.get_color()) == "#1f2328"
    assert lowest >= 4.5 and smallest == 10


# ---------------------------------------------------------------- 2. tables

ANSWER_IN_VIEW = """() => [...document.querySelectorAll('.md-typeset table')].map(t => {
  const cells = [...t.querySelectorAll('tbody tr')].map(r => r.cells[r.cells.length - 1]);
  const wrap = t.closest('.md-typeset__scrollwrap');
  return {cols: t.rows[0].cells.length, head: t.rows[0].cells[t.rows[0].cells.length - 1].textContent.trim(),
          clipped: wrap ? wrap.scrollWidth > wrap.clientWidth + 1 : false,
          off: cells.filter(c => { const b = c.getBoundingClientRect();
                                   return b.width === 0 || b.left < 0 || b.right > innerWidth + 0.5; }).length,
          label: cells.length ? getComputedStyle(cells[0], '::before').content : ''};
})"""


@pytest.mark.parametrize("path,answer", [("factcheck/", "结论"), ("en/factcheck/", "Verdict"),
                                         ("flops/", "相对误差"), ("en/training/", None)])
def test_the_answer_column_stays_in_view_on_a_phone(browser, server, path, answer):
    """On a phone a table of three columns or more is one card per row: every cell of its last
    column (the verdict; matmul's relative error) is on screen, under its column's name."""
    ctx, page = phone(browser, server, path)
    tables = page.evaluate(ANSWER_IN_VIEW)
    if path == "factcheck/":
        page.screenshot(path=str(ARTIFACTS / "phone-factcheck.png"), full_page=True)
    ctx.close()
    wide = [t for t in tables if t["cols"] >= 3]
    assert wide
    if answer:
        assert any(t["head"] == answer for t in wide), [t["head"] for t in wide]
    for t in wide:
        assert not t["clipped"] and t["off"] == 0, t
        assert t["label"].strip('"') == t["head"], t  # the card names the column


PRINT_FIT = """() => [...document.querySelectorAll('.md-typeset table')].map(t => {
  const article = document.querySelector('.md-content__inner').getBoundingClientRect();
  let clipped = false;
  for (let e = t; e && e !== document.body; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1) clipped = true;
  }
  return {head: t.rows[0].textContent.trim().slice(0, 40), clipped,
          right: t.getBoundingClientRect().right, edge: article.right};
})"""


def test_tables_print_whole(browser, server):
    """In print (an A4 page's width) no table is cut or scrolls: each fits its page."""
    ctx = browser.new_context(viewport={"width": 718, "height": 1000})
    page = ctx.new_page()
    problems = []
    for path in ("factcheck/", "flops/", "training/", "en/cpu-role/"):
        page.goto(server + path, wait_until="networkidle")
        page.emulate_media(media="print")
        problems += [f"{path}: {t}" for t in page.evaluate(PRINT_FIT)
                     if t["clipped"] or t["right"] > t["edge"] + 1]
        page.emulate_media(media="screen")
    ctx.close()
    assert not problems, "\n".join(problems)


def test_areas_that_scroll_sideways_take_the_keyboard(browser, server):
    """On a wide screen a wide table scrolls inside the page: Tab reaches it, the arrow keys
    scroll it, and it says what it is."""
    v = Visit(browser, server, "training/")
    page = v.page
    wraps = page.evaluate("""() => [...document.querySelectorAll('.md-typeset__scrollwrap')]
        .filter(w => w.scrollWidth > w.clientWidth + 1)
        .map(w => [w.getAttribute('tabindex'), w.getAttribute('role'), w.getAttribute('aria-label')])""")
    assert wraps and all(t == "0" and r == "region" and name for t, r, name in wraps), wraps
    assert len({name for _, _, name in wraps}) == len(wraps)  # each says which table it is
    for _ in range(300):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('md-typeset__scrollwrap')"):
            break
    else:
        pytest.fail("Tab never reached a table that scrolls sideways")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert page.evaluate("document.activeElement.scrollLeft") > 0
    v.close()


# ---------------------------------------------------------------- 3. search

def search(browser, server, path, word):
    v = Visit(browser, server, path, watch=False)
    indexes = []
    v.page.on("request", lambda r: "search_index.json" in r.url and indexes.append(r.url))
    v.page.reload(wait_until="networkidle")
    box = v.page.locator("input.md-search__input")
    box.click()
    results = v.page.locator(".md-search-result__item a")
    for _ in range(20):  # the search worker needs a moment to load its index
        box.fill(word)
        box.press("End")
        v.page.wait_for_timeout(1000)
        if results.count():
            break
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    v.close()
    return hrefs, indexes


@pytest.mark.parametrize("path,english", [("/", False), ("flops/", False), ("en/", True),
                                          ("en/flops/", True)])
def test_search_answers_in_the_page_language(browser, server, path, english):
    hrefs, indexes = search(browser, server, path, "bandwidth")
    assert hrefs, f"no result for 'bandwidth' on {path}"
    wrong = [h for h in hrefs if ("/en/" in h) != english]
    assert not wrong, f"{path}: results in the other language: {wrong}"
    assert len(indexes) == 1 and (indexes[0].endswith("/en/search/search_index.json") == english), indexes


def test_each_language_has_its_own_index(built_site):
    site = built_site / "site"
    zh = json.loads((site / "search" / "search_index.json").read_text())
    en = json.loads((site / "en" / "search" / "search_index.json").read_text())
    assert zh["docs"] and en["docs"]
    assert not any(d["location"].startswith("en/") for d in zh["docs"])
    assert "\u200b" in "".join(d["text"] for d in zh["docs"])  # jieba's segmentation, kept
    assert any(d["location"].startswith("flops/") for d in en["docs"])
    assert any("Floating point" in d["title"] for d in en["docs"])
    assert en["config"]["lang"] == ["en"]


# ---------------------------------------------------------------- 4. notebook, code, downloads

def test_the_notebook_exists_in_both_languages_with_a_working_switch(browser, server):
    v = Visit(browser, server, "run-it-yourself/")
    page = v.page
    assert "在你自己的硬件上运行" in page.locator("h1").inner_text()
    link = page.locator(".notebook-download a")
    assert link.get_attribute("href") == "run-it-yourself.ipynb"
    nb = page.request.get(server + "run-it-yourself/run-it-yourself.ipynb")
    assert nb.ok and json.loads(nb.text())["nbformat"] == 4
    page.locator(".md-header__option .md-select").hover()
    page.locator('a[hreflang="en"]').first.click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/en/run-it-yourself/$", page.url), page.url
    assert "Run it on your own hardware" in page.locator("h1").inner_text()
    assert page.locator("html").get_attribute("lang") == "en"
    en_nb = page.locator(".notebook-download a").get_attribute("href")
    assert en_nb == "run-it-yourself.en.ipynb" and page.request.get(
        server + "en/run-it-yourself/" + en_nb).ok
    page.locator(".md-header__option .md-select").hover()
    page.locator('a[hreflang="zh"]').first.click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/run-it-yourself/$", page.url) and "/en/" not in page.url, page.url
    v.close()


def test_both_notebooks_run_the_same_code():
    """The English notebook is the Chinese one in English: prose, comments and docstrings
    differ, the code does not (tests/test_notebook.py runs the Chinese one)."""
    import ast
    import nbformat

    def code(path):
        nb = nbformat.read(ROOT / "docs" / path, as_version=4)
        trees = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):  # docstrings are prose
                body = getattr(node, "body", None)
                if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                        and isinstance(getattr(body[0], "value", None), ast.Constant) \
                        and isinstance(body[0].value.value, str):
                    body.pop(0)
            trees.append(ast.dump(tree))
        return trees, [c.source for c in nb.cells if c.cell_type == "markdown"]
    zh, zh_md = code("run-it-yourself.ipynb")
    en, en_md = code("run-it-yourself.en.ipynb")
    assert zh == en and len(zh) >= 4
    assert re.search(r"[\u4e00-\u9fff]", zh_md[0]) and not re.search(r"[\u4e00-\u9fff]", en_md[0])


def test_the_reproduce_page_offers_the_code_when_no_repository_is_named(built_site):
    site = built_site / "site"
    for path, text in (("reproduce/index.html", "REPO_URL"), ("en/reproduce/index.html", "REPO_URL")):
        doc = (site / path).read_text()
        assert "本仓库" not in doc and "this repository>" not in doc and text in doc
        assert "generated/downloads/gpu-vs-cpu-snippets-results.zip" in doc
    with zipfile.ZipFile(site / "generated" / "downloads" / "gpu-vs-cpu-snippets-results.zip") as z:
        names = z.namelist()
    assert "gpu-vs-cpu/snippets/matmul.py" in names
    assert any(re.match(r"gpu-vs-cpu/results/[^/]+/matmul\.json$", n) for n in names)
    assert len([n for n in names if n.startswith("gpu-vs-cpu/snippets/")]) == len(list((ROOT / "snippets").glob("[!_]*.py")))


def test_an_opened_snippet_is_highlighted(browser, server, built_site):
    """A snippet's source is in the page verbatim; opening it brings its highlighting."""
    doc = (built_site / "site" / "flops" / "index.html").read_text()
    assert "METHOD_VERSION = " in doc  # plain text, every character
    v = Visit(browser, server, "flops/")
    summary = v.page.locator("details.example summary").first
    summary.click()
    v.page.wait_for_function(
        "document.querySelector('details.example code').getAttribute('data-state') === 'highlighted'")
    assert v.page.locator("details.example code span.k").count() > 10
    assert not v.failed and not v.errors
    v.close()


# ---------------------------------------------------------------- 5. accessibility

# Violations that Material for MkDocs causes and this project cannot fix in its own files,
# each with its upstream issue: none of impact serious or critical is left (Material's unnamed
# search dialog, squidfunk/mkdocs-material#6433, is named by assets/site.js).
MATERIAL_OWN = {}


def axe(page):
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")


def test_axe_finds_nothing_serious_in_light_or_dark(browser, server, built_site):
    """Every page in the light theme, and in the dark theme every page of a different kind
    (home, chapters with charts and tables, the fact check, the notebook, reproduce)."""
    needs(AXE)
    dark = ["/", "flops/", "training/", "factcheck/", "run-it-yourself/", "en/reproduce/", "en/cpu-role/"]
    problems = []
    for scheme, paths in (("light", pages(built_site)), ("dark", dark)):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        page = ctx.new_page()
        for path in paths:
            page.goto(server + path.lstrip("/"), wait_until="load")
            for v in axe(page):
                if v["id"] not in MATERIAL_OWN:
                    problems.append(f"{scheme} {path}: {v}")
        ctx.close()
    assert not problems, "\n".join(problems)


def test_links_in_prose_are_underlined(browser, server):
    v = Visit(browser, server, "flops/")
    lines = v.page.evaluate("""() => [...document.querySelectorAll('.md-content p a[href]')]
        .map(a => getComputedStyle(a).textDecorationLine)""")
    v.close()
    assert lines and all("underline" in d for d in lines), lines


# ---------------------------------------------------------------- 6. weight

def charts_fetched(browser, server, path, scheme, viewport):
    ctx = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = ctx.new_page()
    fetched = []
    page.on("request", lambda r: "/generated/" in r.url and r.url.endswith(".svg") and fetched.append(r.url))
    page.goto(server + path, wait_until="networkidle")
    shown = page.evaluate(LOAD_VISIBLE_CHARTS)  # scrolls every chart into view
    page.wait_for_timeout(300)
    ctx.close()
    return fetched, shown


@pytest.mark.parametrize("scheme,viewport", [("light", {"width": 1280, "height": 900}),
                                             ("dark", {"width": 1280, "height": 900}),
                                             ("light", PHONE)])
def test_a_page_downloads_the_charts_of_its_theme_only(browser, server, scheme, viewport):
    fetched, shown = charts_fetched(browser, server, "training/", scheme, viewport)
    other = "light" if scheme == "dark" else "dark"
    assert len(shown) >= 7
    assert not [u for u in fetched if f".{other}." in u], fetched
    assert len(set(fetched)) == len(shown), (fetched, shown)
    narrow = viewport["width"] < 720
    assert all(u.endswith(".narrow.svg") == narrow for u in fetched), fetched


def test_a_page_loads_no_chart_before_it_is_near(browser, server):
    v = Visit(browser, server, "training/")
    fetched = [r for r in v.page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
               if "/generated/" in r and r.endswith(".svg")]
    total = v.page.evaluate("document.querySelectorAll('img[src*=\"generated/\"]').length")
    v.close()
    assert len(fetched) < total / 2, fetched


# ---------------------------------------------------------------- 7. print

PDF_PAGES = """async () => {
  const pdfjs = await import('/pdfjs/pdf.min.mjs');
  await import('/pdfjs/pdf.worker.min.mjs');  // in this page (pdf.js's "fake worker")
  const doc = await pdfjs.getDocument('/pdfjs/chapter.pdf').promise;
  const out = [];
  for (let i = 1; i <= doc.numPages; i++) {
    const page = await doc.getPage(i);
    const view = page.getViewport({scale: 0.4});
    const canvas = document.createElement('canvas');
    canvas.width = view.width; canvas.height = view.height;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({canvasContext: ctx, viewport: view}).promise;
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let lowest = 0;  // the last row with ink on it
    for (let y = 0; y < canvas.height; y++) {
      for (let x = 0; x < canvas.width; x++) {
        const k = (y * canvas.width + x) * 4;
        if (px[k] < 235 || px[k + 1] < 235 || px[k + 2] < 235) { lowest = y; break; }
      }
    }
    const text = (await page.getTextContent()).items.map(t => t.str).join(' ');
    out.push({filled: (lowest + 1) / canvas.height, text});
  }
  return out;
}"""


@pytest.mark.parametrize("path", ["training/", "en/flops/"])
def test_a_chapter_prints_without_gaps_or_pages_of_code(browser, server, path):
    """Printed to A4: no page but the last is more than half blank, the snippets' sources are
    named, not printed, and the tables are there. pdf.js reads the PDF back in Chromium."""
    needs(PDFJS / "pdf.min.mjs")
    page = browser.new_page()
    page.goto(server + path, wait_until="networkidle")
    page.evaluate(LOAD_VISIBLE_CHARTS)  # the lazy charts, loaded before printing
    pdf = page.pdf(format="A4")
    page.close()
    ctx = browser.new_context()
    files = {"chapter.pdf": (pdf, "application/pdf")}
    for name in ("pdf.min.mjs", "pdf.worker.min.mjs"):
        files[name] = ((PDFJS / name).read_bytes(), "text/javascript")
    ctx.route("**/pdfjs/*", lambda route: route.fulfill(
        body=files[route.request.url.rsplit("/", 1)[1]][0],
        content_type=files[route.request.url.rsplit("/", 1)[1]][1]))
    reader = ctx.new_page()
    reader.goto(server + "404.html")
    printed = reader.evaluate(PDF_PAGES)
    ctx.close()
    # pdf.js reads CJK glyphs one by one, some as their compatibility forms (⼤ for 大)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", " ".join(p["text"] for p in printed)))
    assert 2 <= len(printed) <= 12, len(printed)
    gaps = [(i + 1, round(p["filled"], 2)) for i, p in enumerate(printed[:-1]) if p["filled"] < 0.5]
    assert not gaps, f"pages more than half blank (page, filled): {gaps}"
    assert "METHOD_VERSION" not in text and "def main" not in text  # no page of code ...
    assert re.search(r"snippets/\w+\.py", text)  # ... but the reference to it
    assert any(w in text for w in ("相对误差", "relativeerror", "每步ms", "msperstep")), text[:3000]  # the tables


# ---------------------------------------------------------------- 8. site_url

SITE_URL = "https://example.org/gpu-vs-cpu/"
REPO_URL = "https://github.com/example/gpu-vs-cpu"


@pytest.fixture(scope="module")
def published(built_site, tmp_path_factory):
    """The site built as the GPU-runner workflow builds it, with SITE_URL and REPO_URL; the
    charts rendered for built_site are reused (same results, same code)."""
    proj = copy_project(tmp_path_factory.mktemp("published") / "p")
    shutil.copytree(built_site / "docs" / "generated", proj / "docs" / "generated")
    env = dict(os.environ, SITE_URL=SITE_URL, REPO_URL=REPO_URL)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=proj, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proj / "site"


def sitemap(site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.parse(site / "sitemap.xml").getroot()
    return {u.find("s:loc", ns).text: {link.get("hreflang"): link.get("href")
                                       for link in u.findall("x:link", ns)}
            for u in root.findall("s:url", ns)}


def test_with_site_url_the_sitemap_canonical_and_hreflang_are_absolute_and_per_page(published):
    urls = sitemap(published)
    assert f"{SITE_URL}flops/" in urls and f"{SITE_URL}en/flops/" in urls
    assert f"{SITE_URL}en/run-it-yourself/" in urls
    for loc, alternates in urls.items():
        assert loc.startswith(SITE_URL), loc
        assert set(alternates) == {"zh", "en", "x-default"}, (loc, alternates)
        assert loc in (alternates["zh"], alternates["en"])
        path = loc[len(SITE_URL):]
        key = path[3:] if path.startswith("en/") else path
        assert alternates["zh"] == SITE_URL + key and alternates["en"] == SITE_URL + "en/" + key
        doc = (published / path / "index.html").read_text()
        assert f'<link rel="canonical" href="{loc}">' in doc, loc
        assert not re.search(r'<link rel="alternate" href="[^"]*" hreflang=', doc)
    doc = (published / "reproduce" / "index.html").read_text()
    assert f"git clone {REPO_URL}" in re.sub(r"<[^>]+>", "", doc)
    # the header links the repository without asking the GitHub API for its stars
    assert f'href="{REPO_URL}"' in doc and 'data-md-component="source"' not in doc
    assert f"{SITE_URL}generated/snippets/matmul.py" in (published / "flops" / "index.html").read_text()


def test_without_site_url_the_sitemap_still_pairs_each_page(built_site):
    urls = sitemap(built_site / "site")
    assert urls["flops/"] == {"zh": "flops/", "en": "en/flops/", "x-default": "flops/"}
    assert len(urls) % 2 == 0 and len(urls) >= 26  # every page in both languages
    assert not (built_site / "site" / "robots.txt").exists()
