"""The built site in a real browser (Debian's Chromium driven by Playwright), served from a
local folder by `python -m http.server`, as a reader would open it offline.

Screenshots of the key pages are kept in test-artifacts/ for a person to look at."""
import functools
import http.server
import os
import pathlib
import re
import threading
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"
if not pathlib.Path(CHROMIUM).exists():
    if os.environ.get("CI"):  # in CI a missing browser is a failure, not a reason to skip
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/install.sh --dev installs it")
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed (scripts/install.sh --dev)")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(QuietHandler, directory=str(built_site / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def pages(built_site):
    """Every HTML page of the site, as a path relative to its root."""
    site = built_site / "site"
    return sorted(str(p.parent.relative_to(site)).replace(".", "") + "/"
                  for p in site.rglob("index.html"))


class Visit:
    """A page opened with every request watched: outside hosts are blocked and recorded."""

    def __init__(self, browser, server, path, color_scheme="light", watch=True, wait_until="networkidle"):
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                                       color_scheme=color_scheme)
        self.page = self.ctx.new_page()
        self.errors, self.outside, self.failed = [], [], []
        host = urlparse(server).netloc
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

        def route(r):
            if urlparse(r.request.url).netloc != host and not r.request.url.startswith("data:"):
                self.outside.append(r.request.url)
                return r.abort()
            return r.continue_()
        if watch:  # (routing every request through Python slows the search worker's start)
            self.ctx.route("**/*", route)
        self.page.goto(server + path.lstrip("/"), wait_until=wait_until)

    def close(self):
        self.ctx.close()


def test_every_page_loads_clean(browser, server, built_site):
    found = pages(built_site)
    assert "/" in found and "en/" in found and "flops/" in found and "run-it-yourself/" in found
    problems = []
    for path in found:
        v = Visit(browser, server, path)
        for kind, items in (("console error", v.errors), ("outside request", v.outside),
                            ("failed request", v.failed)):
            problems += [f"{path}: {kind}: {x}" for x in items]
        v.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_chart_is_visible(browser, server, built_site, scheme):
    checked = 0
    site = built_site / "site"
    for path in pages(built_site):
        if 'generated/' not in (site / path.lstrip("/") / "index.html").read_text():
            continue  # a page without charts: its load is test_every_page_loads_clean's
        # requests are the test above's; each chart is waited for below, as it loads
        v = Visit(browser, server, path, color_scheme=scheme, watch=False, wait_until="load")
        # Material shows #only-light images in light mode and #only-dark in dark mode; they load
        # lazily, as they come near, so each is scrolled to
        shown = v.page.evaluate("""async (suffix) => {
          const out = [];
          for (const img of document.querySelectorAll('img[src*="generated/"]')) {
            if (!img.getAttribute('src').endsWith(suffix)) continue;
            img.scrollIntoView({block: 'center'});
            if (!(img.complete && img.naturalWidth > 0)) {
              await new Promise(r => { img.addEventListener('load', r, {once: true});
                                       img.addEventListener('error', r, {once: true});
                                       setTimeout(r, 5000); });
            }
            const box = img.getBoundingClientRect();
            out.push({src: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0,
                      width: box.width, height: box.height});
          }
          return out;
        }""", f"#only-{scheme}")
        v.close()
        for img in shown:
            assert img["loaded"], f"{path}: {img['src']} did not load"
            assert img["width"] > 200 and img["height"] > 100, f"{path}: {img['src']} is not visible"
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("word,page", [("带宽", "bandwidth/"), ("乘法", "flops/")])
def test_chinese_search_finds_a_word_inside_a_sentence(browser, server, word, page):
    v = Visit(browser, server, "/", watch=False)
    box = v.page.locator("input.md-search__input")
    box.click()
    results = v.page.locator(".md-search-result__item a")
    for _ in range(20):  # the search worker needs a moment to load its index
        box.fill(word)
        box.press("End")  # Material reacts to key events, as a reader's typing produces them
        v.page.wait_for_timeout(1000)
        if results.count():
            break
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    v.page.screenshot(path=str(ARTIFACTS / f"search-{page.strip('/')}.png"))
    v.close()
    assert any(page in h for h in hrefs), f"searching {word!r} gave {hrefs}"


def test_language_switch_reaches_the_english_page(browser, server):
    v = Visit(browser, server, "flops/")
    assert "浮点" in v.page.locator("h1").inner_text()
    v.page.locator(".md-header__option .md-select").hover()
    v.page.locator('a[hreflang="en"]').first.click()
    v.page.wait_for_load_state("networkidle")
    assert re.search(r"/en/flops/$", v.page.url), v.page.url
    assert "Floating point" in v.page.locator("h1").inner_text()
    v.close()


@pytest.mark.parametrize("path,scheme", [("/", "light"), ("flops/", "light"), ("flops/", "dark"),
                                         ("bandwidth/", "light"), ("en/flops/", "light")])
def test_screenshots_of_key_pages(browser, server, path, scheme):
    ARTIFACTS.mkdir(exist_ok=True)
    v = Visit(browser, server, path, color_scheme=scheme)
    name = (path.strip("/").replace("/", "-") or "home") + f"-{scheme}.png"
    v.page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    v.close()
    assert (ARTIFACTS / name).stat().st_size > 10000
