"""Verdicts from data: the rules of lib/verdicts.py, and the pages that show them.

The rules are checked on the committed results (no GPU: what needs one is undecided), and on a
synthetic GPU box (tests/fake_gpu.py, never published) slower than the CPU and far faster: the
verdicts must follow. Then the site is built in a temporary copy with each box, and the home
page's glance table, the fact-check page and the chapters must show the rules' verdicts, in both
languages."""
import re

import pytest

import fake_gpu
from conftest import ROOT, build_site, copy_project, text_of

# Claims whose verdict a GPU's speed against the CPU decides.
SPEED = ["c0", "c1-1", "c1-2", "c2-3", "c3-1", "c3-2"]
# Claims that a CPU measurement alone can decide (every other one needs a GPU run).
CPU_DECIDES = {"c2-2", "x2"}


def verdicts_of(data):
    from charts import runs_by_snippet
    from lib.featured import featured_machine
    from lib.verdicts import compute
    home = featured_machine(data)
    return compute(runs_by_snippet(data, home), home)


def committed():
    from lib.results import load_all
    return load_all()


def with_box(factor):
    data = committed()
    for snippet, d in fake_gpu.fake_box(factor).items():
        data[(fake_gpu.SLUG, snippet)] = d
    return data


def has_gpu_committed():
    return any("cuda" in d["runs"] for d in committed().values())


# ---------------------------------------------------------------- the rules

def test_without_a_gpu_run_what_needs_one_is_undecided():
    if has_gpu_committed():
        pytest.skip("a GPU run is committed")
    from lib.verdicts import CLAIMS
    vs = verdicts_of(committed())
    assert list(vs) == [c for c, _, _ in CLAIMS]
    for cid, v in vs.items():
        assert v["gpu"] is None, cid
        if cid in CPU_DECIDES:
            continue
        assert v["status"] == "undecided", (cid, v["status"])
        assert v["missing"] and "GPU" in v["missing"]["en"], cid
        assert v["ratio"] is None


def test_verdicts_follow_a_gpu_slower_and_one_far_faster():
    slow, fast = verdicts_of(with_box(0.5)), verdicts_of(with_box(100))
    for cid in SPEED:
        assert slow[cid]["status"] == "fails", (cid, slow[cid]["reason"]["en"])
        assert fast[cid]["status"] in ("holds", "qualified"), (cid, fast[cid]["reason"]["en"])
        assert slow[cid]["ratio"] < 1 < 100 * 0.9 < fast[cid]["ratio"], cid
    # The host CPU keeps a slow GPU fed, not a fast one.
    assert slow["c5-2"]["status"] == "qualified" and fast["c5-2"]["status"] == "fails"
    # Against a whole GPU, the measured CPU is a slice: the bandwidth verdict says so.
    assert fast["c3-1"]["status"] == "qualified" and "whole socket" in fast["c3-1"]["reason"]["en"]
    # "More precise" does not follow from speed: the fake GPU errs as the CPU does.
    assert fast["c2-1"]["status"] == "fails" and "'more precise' does not" in fast["c2-1"]["reason"]["en"]
    # One torch version cannot show "ever faster", whatever the speed.
    assert slow["c4-2"]["status"] == fast["c4-2"]["status"] == "undecided"
    for v in list(slow.values()) + list(fast.values()):
        assert v["status"] != "undecided" or v["missing"], v["id"]


def test_a_gpu_is_compared_with_its_own_host_cpu_first():
    """A GPU box that measured its own CPU too: that CPU, not the featured one, is compared."""
    import copy
    from charts import runs_by_snippet
    from lib.verdicts import compute
    data = with_box(100)
    for (slug, snippet), d in list(data.items()):
        if slug == fake_gpu.SLUG:  # the box's own CPU: the committed CPU run, twice as fast
            d["runs"]["cpu"] = copy.deepcopy(data[(next(s for s, n in data if s != slug and n == snippet), snippet)]["runs"]["cpu"])
            d["runs"]["cpu"].pop("repeats", None)  # the committed CPU's runs, not this CPU's
            d["runs"]["cpu"]["result"] = fake_gpu.scaled(d["runs"]["cpu"]["result"], 2)
    other = next(s for s, _ in data if s != fake_gpu.SLUG)
    vs = compute(runs_by_snippet(data, other), other)  # the featured machine is the other one
    for cid in ("c1-2", "c3-1"):
        assert vs[cid]["cpu"]["run"]["machine"] == fake_gpu.SLUG, cid
        assert abs(vs[cid]["ratio"] - 50) < 1, (cid, vs[cid]["ratio"])


def test_a_datasheet_never_decides_a_verdict(monkeypatch):
    """Every datasheet figure a thousand times larger: the verdicts do not move."""
    import lib.datasheets as ds
    before = {k: {c: v["status"] for c, v in verdicts_of(d).items()}
              for k, d in (("committed", committed()), ("fast", with_box(100)))}
    bigger = []
    for e in ds.DATASHEETS:
        e = dict(e, tflops={k: v and 1000 * v for k, v in e["tflops"].items()},
                 sparse_tflops={k: 1000 * v for k, v in e["sparse_tflops"].items()},
                 gb_per_s=1000 * e["gb_per_s"], memory_gb=1000 * e["memory_gb"])
        bigger.append(e)
    monkeypatch.setattr(ds, "DATASHEETS", bigger)
    monkeypatch.setattr(ds, "_COMPILED", [(ds._whole(e["pattern"]), e) for e in bigger])
    after = {k: {c: v["status"] for c, v in verdicts_of(d).items()}
             for k, d in (("committed", committed()), ("fast", with_box(100)))}
    assert after == before


def numbers(text):
    return sorted(re.findall(r"\d+(?:[.,]\d+)*", text))


@pytest.mark.parametrize("factor", [None, 0.5, 100])
def test_zh_and_en_say_the_same(factor):
    """The same rule writes both languages: the same status and the same figures."""
    vs = verdicts_of(committed() if factor is None else with_box(factor))
    for cid, v in vs.items():
        for field in ("reason", "decided_by", "missing"):
            if v[field]:
                assert numbers(v[field]["zh"]) == numbers(v[field]["en"]), (cid, field, v[field])


def test_the_measured_cpu_is_named_as_what_it_is():
    from lib.cpu_datasheets import describe, identify
    info = next(d["machine"] for d in committed().values())
    if info["cpu"]["model"] != "Intel(R) Xeon(R) Processor":
        pytest.skip("the committed machine is another CPU")
    assert describe(info["cpu"])["en"] == f"{info['cpu']['usable_cores']} vCPUs of an Intel Xeon VM"
    fam = identify(info["cpu"])
    assert not fam["identified"]  # family 6 model 167 is not the host's real model
    assert "Rocket Lake" in fam["why"]["en"] and "167" in fam["why"]["zh"]
    assert {e["key"] for e in fam["entries"]} == {"intel-xeon-4", "intel-xeon-5", "intel-xeon-6p"}
    spr = dict(info["cpu"], id={"cpu family": "6", "model": "143"}, model="Intel(R) Xeon(R) Platinum 8480+")
    assert identify(spr)["identified"] and identify(spr)["entries"][0]["gb_per_s"] == 8 * 4800 * 8 / 1000
    assert "logical cores" in describe(spr)["en"]


# ---------------------------------------------------------------- the committed site

LANGS = {"zh": "", "en": "en/"}
STATUS_WORDS = {"zh": ("成立但有限定", "不成立", "成立", "待定"),
                "en": ("holds with qualifiers", "does not hold", "holds", "undecided")}


def glance(site, lang):
    """{claim label: (the row's cells as text)} of the home page's glance table."""
    html = (site / LANGS[lang] / "index.html").read_text()
    start = html.index('id="glance"')
    opening = re.compile(r"<table[^>]*>").search(html, start)  # tables carry attributes on phones
    table = html[opening.start():html.index("</table>", start)]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[cells[0]] = cells
    return rows, html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_home_page_answers_at_a_glance(built_site, lang):
    from lib.verdicts import CLAIMS
    site = built_site / "site"
    rows, html = glance(site, lang)
    assert list(rows) == [label for _, label, _ in CLAIMS]
    vs = verdicts_of(committed())
    for cid, label, page in CLAIMS:
        assert rows[label][-1] == vs[cid]["title"][lang], label
        assert f'href="{page.replace(".md", "/")}#{cid}"' in html, label
    text = text_of(html)
    if not has_gpu_committed():
        assert ("其中没有一台有 GPU" if lang == "zh" else "None of them had a GPU") in text
        assert all(r[3] == ("尚未测量" if lang == "zh" else "not measured yet") for r in rows.values())
    # every page of the site is linked from the home page
    import yaml

    class Loader(yaml.SafeLoader):
        pass
    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]
    for page in nav:
        if page != "index.md":
            stem = page.rsplit(".", 1)[0]
            assert re.search(rf'href="(\.\./)?{stem}/(#[^"]*)?"', html), page
    # the CPU is named as what was measured, with the whole socket beside it
    assert ("虚拟机的" if lang == "zh" else "vCPUs of an") in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_chapter_states_an_unmeasured_outcome_as_a_verdict(built_site, lang):
    """Without a GPU run, every chapter verdict that needs one says undecided; the note that no
    GPU was measured appears once per page; no 'orders of magnitude' against a slice."""
    if has_gpu_committed():
        pytest.skip("a GPU run is committed")
    site = built_site / "site" / LANGS[lang].rstrip("/")
    vs = verdicts_of(committed())
    note = "尚未测量 GPU" if lang == "zh" else "No GPU measured yet"
    for page in ("parallel", "flops", "bandwidth", "training", "framework", "cpu-role",
                 "distributed", "roofline", "factcheck"):
        html = (site / page / "index.html").read_text()
        assert html.count(f">{note}<") == 1, page
        text = text_of(html)
        assert "数量级" not in text and "orders of magnitude" not in text, page
        for cid, v in vs.items():
            if f'<h2 id="{cid}"' in html:
                start = html.index(f'<h2 id="{cid}"')
                title = re.search(r'<div class="admonition abstract">\s*<p class="admonition-title">([^<]*)',
                                  html[start:]).group(1)
                assert title.endswith(v["title"][lang]), (page, cid, title)
                if cid not in CPU_DECIDES:
                    assert title.endswith(STATUS_WORDS[lang][3]), (page, cid, title)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_unit_system_for_the_7b_states(built_site, lang):
    """The 7B model's training states in GB and GiB, the same on every page that gives them."""
    from conftest import results_of, val
    states = results_of("train_memory")["models"][2]["states_bytes"]
    site = built_site / "site" / LANGS[lang].rstrip("/")
    for page in ("training", "distributed"):
        text = text_of((site / page / "index.html").read_text())
        assert f"{val(states / 1e9)} GB" in text and f"{val(states / 2 ** 30)} GiB" in text, page


# ---------------------------------------------------------------- the site with a fake GPU

@pytest.fixture(scope="module", params=[0.5, 100], ids=["gpu-slower", "gpu-far-faster"])
def box_site(request, tmp_path_factory):
    """The site built with a synthetic GPU box in a temporary copy (never published)."""
    from lib.results import load_all
    proj = copy_project(tmp_path_factory.mktemp("box") / "p")
    fake_gpu.write_box(proj, request.param)
    build_site(proj)
    return proj, verdicts_of(load_all(proj / "docs" / "results")), request.param


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_built_verdicts_follow_the_fake_gpu(box_site, lang):
    from lib.verdicts import CLAIMS
    proj, vs, factor = box_site
    site = proj / "site"
    rows, html = glance(site, lang)
    for cid, label, _ in CLAIMS:
        assert rows[label][-1] == vs[cid]["title"][lang], (label, rows[label])
    for cid in SPEED:  # the data decide: a slow GPU fails the speed claims, a fast one passes
        want = ("fails",) if factor < 1 else ("holds", "qualified")
        assert vs[cid]["status"] in want, cid
    label = {c: lab for c, lab, _ in CLAIMS}
    assert fake_gpu.NAME in rows[label["c1-2"]][3]
    ratio = vs["c1-2"]["ratio"]
    assert rows[label["c1-2"]][5] == f"{ratio:.3g}×"
    assert fake_gpu.NAME in text_of(html.split('id="glance"')[0])  # said near the top
    # the fact-check page shows the same verdicts, linked to the chapters that give them
    fc = (site / LANGS[lang] / "factcheck" / "index.html").read_text()
    for cid, _, page in CLAIMS:
        if cid == "c0":
            continue
        m = re.search(rf'<a href="([^"]+#{cid})">([^<]+)</a>', fc)
        assert m and m.group(2) == vs[cid]["title"][lang], cid
    c0 = fc[fc.index('<h2 id="c0"'):]
    assert re.search(r'admonition-title">[^<]*' + re.escape(vs["c0"]["title"][lang]) + "<", c0)
    # every chapter whose snippets all ran on the GPU drops the "no GPU measured" note
    note = "尚未测量 GPU" if lang == "zh" else "No GPU measured yet"
    for page in ("parallel", "flops", "bandwidth", "framework", "cpu-role", "roofline", "distributed"):
        assert note not in (site / LANGS[lang] / page / "index.html").read_text(), page
