"""The fact-check page lists every claim with the verdict its own chapter gives."""
import re

import pytest

CLAIMS = ["c1-1", "c1-2", "c2-1", "c2-2", "c2-3", "c3-1", "c3-2", "c4-1", "c4-2", "c5-1", "c5-2",
          "x1", "x2"]


def verdict_in_chapter(site, href, claim):
    """The title of the first abstract admonition after the claim's heading, as built."""
    html = (site / href.split("#")[0] / "index.html").read_text()
    start = html.index(f'<h2 id="{claim}"')
    m = re.search(r'<div class="admonition abstract">\s*<p class="admonition-title">(.*?)</p>', html[start:], re.S)
    return re.sub(r"^(结论|Verdict)\s*[::]\s*", "", m.group(1).strip())


@pytest.mark.parametrize("lang", ["", "en/"])
def test_every_claim_links_its_chapter_verdict(built_site, lang):
    site = built_site / "site"
    page = site / lang / "factcheck" / "index.html"
    html = page.read_text()
    assert "<!-- verdict:" not in html
    for claim in CLAIMS:
        m = re.search(rf'<a href="([^"]+#{claim})">([^<]+)</a>', html)
        assert m, f"{lang}factcheck: no verdict link for {claim}"
        target = (page.parent / m.group(1).split("#")[0]).resolve()
        assert target.is_relative_to(site.resolve())
        rel = target.relative_to(site.resolve())
        assert m.group(2) == verdict_in_chapter(site, str(rel), claim)
    assert 'id="c0"' in html


def test_machines_page_lists_every_machine_and_links_raw_results(built_site):
    import json
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    html = (built_site / "site" / "machines" / "index.html").read_text()
    for path in (root / "docs" / "results").glob("*/*.json"):
        slug = path.parent.name
        assert slug in html
        data = json.loads(path.read_text())
        if data["snippet"] == "bandwidth":
            from charts.style import fmt
            best = data["runs"]["cpu"]["result"]["best_gb_per_s"]
            assert f'href="../results/{slug}/bandwidth.json">{fmt(best)}</a>' in html
