"""How every chart looks: two themes (light, dark), two languages (zh, en), SVG out.

A chart module calls `save(out_dir, name, draw)`; `draw(t)` builds one matplotlib figure
with `t(zh, en)` for every piece of text, and is called once per language and theme.
Pages show `<name>.<lang>.light.svg` in light mode and `<name>.<lang>.dark.svg` in dark mode.
"""
import io
import pathlib
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

LANGS = ("zh", "en")
THEMES = {
    "light": {"text": "#1f2328", "grid": "#d0d7de", "muted": "#57606a"},
    "dark": {"text": "#e6edf3", "grid": "#3d444d", "muted": "#9198a1"},
}
# One colour per series, chosen to read on white and on Material's dark slate alike.
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
           "#9c755f", "#ff9da7"]
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "PingFang SC")


# Where fonts are installed, and what CJK font files are called there (Debian's fonts-noto-cjk:
# NotoSansCJK-Regular.ttc).
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts",
             "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
CJK_FILES = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "wqy-zenhei", "wqy-microhei",
             "msyh", "PingFang")
_CJK = []


def cjk_font_files():
    """CJK font files installed on this machine, whatever matplotlib's font cache knows."""
    found = []
    for d in FONT_DIRS:
        root = pathlib.Path(d).expanduser()
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc")
                      and any(h.lower() in p.name.lower() for h in CJK_FILES)]
    return sorted(found)


def cjk_font():
    """The first installed font with Chinese glyphs, or None.

    matplotlib keeps a cache of the fonts it found the first time it ran; fonts installed
    after that are not in it, and the Chinese charts would silently get English labels. So
    when the cache knows no CJK font, the font folders are searched and what is there added."""
    if _CJK:
        return _CJK[0]

    def known():
        have = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in have), None)
    name = known()
    if name is None:
        for path in cjk_font_files():
            try:
                font_manager.fontManager.addfont(str(path))
            except (OSError, RuntimeError, ValueError):
                continue
        name = known()
    _CJK.append(name)
    return name


def rc(theme):
    c = THEMES[theme]
    font = cjk_font()
    return {
        "svg.hashsalt": "gpu-vs-cpu",  # stable ids: a re-render of the same data is byte-identical
        "svg.fonttype": "path",  # glyphs become paths: the SVG needs no font on the reader's side
        "font.family": "sans-serif",
        "font.sans-serif": ([font] if font else []) + ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.size": 10,
        "figure.facecolor": "none", "axes.facecolor": "none", "savefig.facecolor": "none",
        "text.color": c["text"], "axes.labelcolor": c["text"], "axes.edgecolor": c["muted"],
        "xtick.color": c["text"], "ytick.color": c["text"], "grid.color": c["grid"],
        "axes.grid": True, "grid.linewidth": 0.6, "axes.axisbelow": True,
        "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "hatch.color": c["muted"], "errorbar.capsize": 2, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    }


def translator(lang):
    zh_ok = cjk_font() is not None

    def t(zh, en):
        # Without a CJK font the Chinese chart falls back to English rather than empty boxes.
        return zh if lang == "zh" and zh_ok else en
    return t


def save(out_dir, name, draw):
    """Render draw(t) for every language and theme, in two layouts: the page's
    (<name>.<lang>.<theme>.svg) and a phone's (<name>.<lang>.<theme>.narrow.svg, see
    charts/readable.py); return the files written."""
    from charts import readable
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGS:
        for theme in THEMES:
            with plt.rc_context(rc(theme)), warnings.catch_warnings():
                warnings.filterwarnings("error", message=".*missing from font.*")
                fig = draw(translator(lang))
                for layout in ("wide", "narrow"):
                    if layout == "narrow":
                        readable.phone_layout(fig)
                    svg, smallest, lowest = readable.render_svg(fig, theme, lambda: _svg(fig))
                    svg = readable.annotate_svg(svg, layout=layout, min_text_pt=_num(smallest),
                                                min_contrast=_num(lowest))
                    suffix = ".narrow" if layout == "narrow" else ""
                    written.append(write_bytes(out_dir / f"{name}.{lang}.{theme}{suffix}.svg", svg))
                plt.close(fig)
    return written


MAX_RUNS = 4  # runs one chart draws; more would make its legend and bars unreadable


def chart_runs(runs, out_dir, snippet, limit=MAX_RUNS):
    """The runs a snippet's charts draw: at most `limit` of them, the featured machine's
    first, then GPUs, then the newest. The others are named in <snippet>.charted.json, which
    the page reads to say under each chart which runs it left out; the tables keep them all."""
    newest = sorted(runs, key=lambda r: r["record"].get("measured_at", ""), reverse=True)
    chosen = sorted(newest, key=lambda r: (not r.get("featured"), r["device"] != "cuda"))[:limit]
    drawn = [r for r in runs if any(r is c for c in chosen)]  # in the order the charts expect
    name = lambda r: f"{r['label']} ({r['machine']})"  # noqa: E731
    import json
    write_text(pathlib.Path(out_dir) / f"{snippet}.charted.json", json.dumps(
        {"shown": [name(r) for r in drawn],
         "left_out": [name(r) for r in runs if not any(r is c for c in drawn)]}, indent=1) + "\n")
    return drawn


def _svg(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _num(x):
    return None if x is None else f"{x:.3g}"


WRITTEN = []  # every path write_bytes wrote or confirmed, for charts/__init__.py's cache


def write_bytes(path, data):
    """Write only when the content changed, so that `mkdocs serve` does not loop on its own output."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    WRITTEN.append(path)
    return path


def write_text(path, text):
    return write_bytes(path, text.encode())


def log_axis(ax, axis="y"):
    """A log axis whose ticks read as plain numbers (0.01, 1, 300), not as 10^k."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def fmt(x, digits=3):
    """A number for a table: 3 significant digits, no scientific notation for ordinary sizes."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
