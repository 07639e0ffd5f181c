"""Charts a reader can read: on a phone, and against whatever the text sits on.

style.save() writes every chart twice, through two things from here:

* `phone_layout(fig)`: the figure laid out again for a phone's column (PHONE_COLUMN_PX wide):
  panels side by side are stacked, legends beside or under the plot move under it in one
  column, long titles, labels and category names wrap, crowded numeric ticks are thinned,
  notes that would overlap are wrapped or left out, and no text is smaller than PHONE_MIN_PT.
  The SVG stays at most PHONE_MAX_WIDTH_PT wide, so that PHONE_MIN_PT shown at
  PHONE_COLUMN_PX is at least MIN_SCREEN_PX on screen. Pages serve it to narrow screens with
  <picture> (hooks/readers.py).
* `render_svg(fig, theme, save)`: the SVG with every text checked, as the renderer draws it,
  against what is behind it: the page (Material's light or slate background; the charts are
  transparent), a bar it is written on, or its own box. A text short of MIN_CONTRAST (4.5:1,
  WCAG AA) keeps its hue and is moved towards black or white just far enough.

render_svg() also returns the smallest font size and the lowest contrast drawn; save() writes
them on the <svg> element (data-min-text-pt, data-min-contrast), where the browser test reads
them: the text is drawn as paths, so a page has no font size to measure. A text of s pt in an
SVG w pt wide, shown w_px pixels wide, is s * w_px / w pixels tall on screen.
"""
import re
import warnings

from matplotlib import colors as mcolors
from matplotlib.gridspec import GridSpec
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import Formatter

PAGE_BG = {"light": "#ffffff", "dark": "#1e2129"}  # Material: default, and slate (hsl(225, 15%, 14%))
MIN_CONTRAST = 4.5
PHONE_COLUMN_PX = 358   # the content column of a 390 px wide phone (Material's 16 px margins)
MIN_SCREEN_PX = 9       # the smallest text we accept on that phone
PHONE_MIN_PT = 8.0      # the smallest text in the phone layout ...
PHONE_MAX_WIDTH_PT = PHONE_MIN_PT * PHONE_COLUMN_PX / MIN_SCREEN_PX  # ... so the SVG is at most this wide
PAD_IN = 0.1            # savefig's pad_inches around the tight box


# ---------------------------------------------------------------- contrast

def luminance(rgb):
    def lin(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def over(rgba, bg):
    """rgba composited over an opaque bg."""
    r, g, b, a = mcolors.to_rgba(rgba)
    return tuple(a * c + (1 - a) * d for c, d in zip((r, g, b), mcolors.to_rgb(bg)))


def _inside(text, renderer):
    """The display point text is centred on."""
    box = text.get_window_extent(renderer)
    return (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2


def background(text, theme, renderer):
    """The colour behind a text: its own box, else the top-most filled bar under its centre,
    else the page."""
    page = PAGE_BG[theme]
    patch = text.get_bbox_patch()
    if patch is not None and patch.get_facecolor()[3] > 0:
        return over(patch.get_facecolor(), page)
    ax = text.axes
    if ax is not None:
        x, y = _inside(text, renderer)
        under = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_visible()
                 and p.get_fill() and p.get_facecolor()[3] > 0
                 and p.get_window_extent(renderer).contains(x, y)]
        if under:
            return over(max(under, key=lambda p: p.get_zorder()).get_facecolor(), page)
    return mcolors.to_rgb(page)


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and t.figure is not None]


def readable_colour(fg, bg, target=MIN_CONTRAST):
    """fg, moved towards black or white (whichever gets there sooner) until it reaches target
    against bg; fg itself if it already does."""
    fg = mcolors.to_rgb(fg)
    if contrast(fg, bg) >= target:
        return fg
    best = None
    for end in ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)):
        for step in range(1, 21):
            k = step / 20
            c = tuple((1 - k) * a + k * b for a, b in zip(fg, end))
            if contrast(c, bg) >= target:
                if best is None or k < best[0]:
                    best = (k, c)
                break
    return best[1] if best else max(((0, 0, 0), (1, 1, 1)), key=lambda c: contrast(c, bg))


# ---------------------------------------------------------------- what the SVG draws

def render_svg(fig, theme, save):
    """Call save() (a savefig to SVG) with the renderer's text drawing watched: each text is
    checked against what is behind it as it is drawn, and one short of MIN_CONTRAST is drawn
    (and kept) in readable_colour(). Returns (save()'s result, the smallest font size in pt,
    the lowest contrast) of the texts drawn."""
    from matplotlib.backends.backend_svg import RendererSVG
    sizes, ratios = [], []
    original = RendererSVG.draw_text

    def watched(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            bg = background(mtext, theme, self) if mtext is not None else mcolors.to_rgb(PAGE_BG[theme])
            fg = over(gc.get_rgb(), bg)
            if contrast(fg, bg) < MIN_CONTRAST:
                fg = readable_colour(fg, bg)
                gc.set_alpha(1.0)
                gc.set_foreground(fg)
                if mtext is not None:
                    mtext.set_color(fg)
                    mtext.set_alpha(None)
            sizes.append(prop.get_size_in_points())
            ratios.append(contrast(over(gc.get_rgb(), bg), bg))
        return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
    RendererSVG.draw_text = watched
    try:
        result = save()
    finally:
        RendererSVG.draw_text = original
    return result, (min(sizes) if sizes else None), (min(ratios) if ratios else None)


def annotate_svg(svg, **attrs):
    """Attributes on the <svg> element (data-*), for tests and pages to read."""
    text = svg.decode()
    extra = " ".join(f'data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items() if v is not None)
    return re.sub(r"<svg\b", f"<svg {extra}", text, count=1).encode()


# ---------------------------------------------------------------- the phone layout

def _grid_cells(fig):
    """{(row, col): [axes...]} of the axes placed on the figure's grid (twins share a cell)."""
    cells, gs = {}, None
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            continue
        if gs is None:
            gs = spec.get_topmost_subplotspec().get_gridspec()
        if spec.get_topmost_subplotspec().get_gridspec() is not gs:
            return None, None
        cells.setdefault((spec.rowspan.start, spec.colspan.start), []).append(ax)
    return gs, cells


def _stack(fig):
    """Panels side by side -> one column, in reading order. Returns the number of panels."""
    gs, cells = _grid_cells(fig)
    if not cells:
        return 1
    nrows, ncols = gs.get_geometry()
    if ncols == 1:
        return nrows
    order = sorted(cells)  # row-major: the order a reader reads the panels in
    ratios = gs.get_height_ratios() or [1] * nrows
    new = GridSpec(len(order), 1, figure=fig, height_ratios=[ratios[r] for r, _ in order])
    for i, key in enumerate(order):
        for ax in cells[key]:
            ax.set_subplotspec(new[i, 0])
    for ax in fig.axes:  # a y axis shared across a row showed its labels only on the left panel
        if ax.get_subplotspec() is None or ax.yaxis.get_label_position() == "right":
            continue
        if ax.yaxis._major_tick_kw.get("label1On", True) is False:
            shown = [s for s in ax.get_shared_y_axes().get_siblings(ax)
                     if s.yaxis._major_tick_kw.get("label1On", True) and s.get_yticklabels()]
            size = shown[0].get_yticklabels()[0].get_fontsize() if shown else None
            ax.tick_params(axis="y", labelleft=True, **({"labelsize": size} if size else {}))
    return len(order)


def _min_font(fig, size=PHONE_MIN_PT):
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            kw = getattr(axis, "_major_tick_kw", {})
            if kw.get("labelsize") is not None and _pt(kw["labelsize"]) < size:
                axis.set_tick_params(which="both", labelsize=size)
    for text in _texts(fig):
        if text.get_fontsize() < size:
            text.set_fontsize(size)


def _pt(size):
    from matplotlib.font_manager import FontProperties
    return FontProperties(size=size).get_size_in_points()


def _tokens(s):
    """Words (for Latin text) and single characters (for CJK), with the spaces they end with."""
    return re.findall(r"[\u2e80-\u9fff\uff00-\uffef]|[^\s\u2e80-\u9fff\uff00-\uffef]+\s*|\s+", s)


_WRAPPED = {}


def wrapped(s, fontprops, width_px, renderer, fig):
    """s with its lines broken so that none is wider than width_px (display pixels)."""
    key = (s, hash(fontprops), round(width_px), renderer.dpi)
    if key not in _WRAPPED:
        _WRAPPED[key] = _wrapped(s, fontprops, width_px, renderer)
    return _WRAPPED[key]


def _wrapped(s, fontprops, width_px, renderer):
    def w(part):
        return renderer.get_text_width_height_descent(part, fontprops, ismath=False)[0]
    lines = []
    for para in s.split("\n"):
        line = ""
        for tok in _tokens(para):
            if line.strip() and w(line + tok.rstrip()) > width_px:
                lines.append(line.rstrip())
                line = tok.lstrip()
            else:
                line += tok
        lines.append(line.rstrip())
    return "\n".join(lines)


def wrap(text, width_px, renderer):
    """Wrap a Text as the chart module wrote it (not as an earlier pass wrapped it)."""
    if not text.get_text():
        return
    if not hasattr(text, "_phone_original"):
        text._phone_original = text.get_text()
    new = wrapped(text._phone_original, text.get_fontproperties(), width_px, renderer, text.figure)
    if new != text.get_text():
        text.set_text(new)


class TickText(Formatter):
    """A tick formatter around the chart's own: tick labels are made at every draw, so wrapping
    and thinning them has to happen here. keep: the tick values still labelled (None: all)."""

    def __init__(self, original, fig, renderer):
        self.original, self.fig, self.renderer = original, fig, renderer
        self.width_px, self.fontprops, self.keep = None, None, None

    def __call__(self, x, pos=None):
        s = self.original(x, pos)
        if self.keep is not None and not any(abs(x - k) <= 1e-9 * max(abs(k), 1e-300) for k in self.keep):
            return ""
        if self.width_px and s:
            s = wrapped(s, self.fontprops, self.width_px, self.renderer, self.fig)
        return s

    def set_locs(self, locs):
        self.original.set_locs(locs)

    def get_offset(self):
        return self.original.get_offset()


def _tick_text(axis, fig, renderer):
    f = axis.get_major_formatter()
    if not isinstance(f, TickText):
        f = TickText(f, fig, renderer)
        axis.set_major_formatter(f)
    return f


def _wrap_all(fig, renderer):
    """Every title and label wrapped to the room it has: a centred one can reach as far as the
    nearer edge of the figure allows, a left-aligned one the right edge."""
    fig_w = fig.get_figwidth() * fig.dpi

    def centred(box):
        mid = (box.x0 + box.x1) / 2
        return 2 * min(mid, fig_w - mid) * 0.96
    if getattr(fig, "_suptitle", None) is not None and fig._suptitle.get_text():
        wrap(fig._suptitle, 0.96 * fig_w, renderer)
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        wrap(ax.title, centred(box), renderer)
        wrap(ax._left_title, 0.96 * (fig_w - box.x0), renderer)
        wrap(ax._right_title, 0.96 * box.x1, renderer)
        wrap(ax.xaxis.label, centred(box), renderer)
        wrap(ax.yaxis.label, 1.1 * box.height, renderer)
        labels = [lab for lab in ax.get_yticklabels() if lab.get_text()]
        if labels:  # long category names: at most 35% of the width
            f = _tick_text(ax.yaxis, fig, renderer)
            f.width_px, f.fontprops = 0.35 * fig_w, labels[0].get_fontproperties()
        for child in ax.texts:  # notes placed in axes fractions (e.g. "no run that finished")
            if child.get_transform() == ax.transAxes:
                wrap(child, 0.96 * box.width, renderer)
    for leg in _legends(fig):
        for t in leg.get_texts():
            wrap(t, 0.9 * fig_w - 40, renderer)


def _crowded_ticks(fig, renderer):
    """Tick labels that overlap on a narrow x axis: labels of several words are first wrapped
    to the room between ticks; labels that still overlap are thinned to every second (third...)
    one."""
    def crowded(ax):
        lo, hi = sorted(ax.xaxis.get_view_interval())
        labels = sorted((lab for lab in ax.xaxis.get_majorticklabels() if lab.get_visible()
                         and lab.get_text() and lo <= lab.get_position()[0] <= hi),
                        key=lambda lab: lab.get_window_extent(renderer).x0)
        boxes = [lab.get_window_extent(renderer) for lab in labels]
        if not any(a.x1 + 3 > b.x0 for a, b in zip(boxes, boxes[1:])):
            return None
        return labels, boxes, (boxes[-1].x0 - boxes[0].x0) / (len(boxes) - 1)
    fig.draw_without_rendering()
    again = False
    for ax in fig.axes:
        found = crowded(ax)
        if found:
            labels, _, pitch = found
            if labels[0].get_rotation() == 0 and any(" " in lab.get_text() for lab in labels):
                f = _tick_text(ax.xaxis, fig, renderer)
                f.width_px, f.fontprops = pitch - 6, labels[0].get_fontproperties()
            again = True
    if not again:
        return
    fig.draw_without_rendering()
    for ax in fig.axes:
        found = crowded(ax)
        if found:
            labels, boxes, pitch = found
            k = max(2, int((max(b.width for b in boxes) + 3) // max(pitch, 1)) + 1)
            _tick_text(ax.xaxis, fig, renderer).keep = [lab.get_position()[0] for lab in labels[::k]]


def _declutter(fig, renderer):
    """Notes written in a plot (annotations, labels of points and bars) that overlap once the
    plot is narrow: a note of several words is wrapped to the room between it and its
    neighbour; a note that still overlaps one drawn before it is left out (the page's table
    has every figure)."""
    groups = [[t for t in ax.texts if t.get_visible() and t.get_text().strip()] for ax in fig.axes]
    groups = [g for g in groups if len(g) > 1]
    if not groups:
        return
    fig.draw_without_rendering()
    wrapped_any = False
    for notes in groups:
        boxes = [t.get_window_extent(renderer) for t in notes]
        for i, (a, ba) in enumerate(zip(notes, boxes)):
            for b, bb in zip(notes[i + 1:], boxes[i + 1:]):
                if ba.overlaps(bb):
                    pitch = abs((ba.x0 + ba.x1) - (bb.x0 + bb.x1)) / 2
                    for t in (a, b):
                        if " " in t.get_text().strip() and t.get_rotation() == 0:
                            wrap(t, max(pitch - 6, 40), renderer)
                            wrapped_any = True
    if wrapped_any:
        fig.draw_without_rendering()
    for notes in groups:
        kept = []
        for t in notes:
            box = t.get_window_extent(renderer)
            if any(box.overlaps(k) for k in kept):
                t.set_visible(False)
            else:
                kept.append(box)


def _legends(fig):
    return [leg for leg in list(fig.legends) + [ax.get_legend() for ax in fig.axes]
            if leg is not None]


def _below(ax, fig, renderer):
    """A transform for a legend under ax: x in figure fractions, y 4 px under the x axis's
    tick labels and label."""
    from matplotlib.transforms import blended_transform_factory, offset_copy
    bottom = min(ax.xaxis.get_tightbbox(renderer).y0, ax.get_window_extent(renderer).y0)
    gap = bottom - ax.get_window_extent(renderer).y0 - 4
    return blended_transform_factory(fig.transFigure,
                                     offset_copy(ax.transAxes, fig=fig, y=gap / fig.dpi, units="inches"))


def _legends_below(fig, renderer):
    """Legends outside a plot (beside it or under it), or wider than the figure, move under
    their plot in one column, from the figure's left edge; figure legends wider than the figure get one column. The figure
    grows by the room a moved legend takes, so the plot keeps its height."""
    fig_w = fig.get_figwidth() * fig.dpi
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        if getattr(leg, "_phone_below", False):
            leg.set_bbox_to_anchor((0.02, 0), transform=_below(ax, fig, renderer))
            continue
        anchor = leg.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
        outside = anchor.x0 >= 0.99 or anchor.y0 < -0.01  # beside or under the plot
        if outside or leg.get_window_extent(renderer).width > 0.98 * fig_w:
            new = _relegend(leg, ax, dict(loc="upper left", ncols=1, bbox_to_anchor=(0.02, 0),
                                          bbox_transform=_below(ax, fig, renderer)))
            new._phone_below = True
            for t in new.get_texts():
                wrap(t, 0.9 * fig_w - 40, renderer)
            grow = new.get_window_extent(renderer).height / fig.dpi
            fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() + grow)
    for leg in list(fig.legends):
        if leg.get_window_extent(renderer).width > 0.98 * fig_w:
            new = _relegend(leg, fig, dict(ncols=1))
            for t in new.get_texts():
                wrap(t, 0.9 * fig_w - 40, renderer)


def _relegend(leg, owner, changes):
    """Draw the legend again with some of its settings changed; its anchor is kept in its
    owner's own coordinates (axes or figure fractions), which survive a change of size."""
    frame = owner.transAxes if hasattr(owner, "transAxes") else owner.transFigure
    anchor = leg.get_bbox_to_anchor().transformed(frame.inverted())
    kw = dict(fontsize=leg.get_texts()[0].get_fontsize() if leg.get_texts() else None,
              frameon=leg.get_frame_on(), loc=leg._loc, ncols=leg._ncols,
              bbox_to_anchor=(anchor.x0, anchor.y0, anchor.width, anchor.height),
              bbox_transform=frame)
    kw.update(changes)
    handles, labels = leg.legend_handles, [t.get_text() for t in leg.get_texts()]
    leg.remove()
    return owner.legend(handles, labels, **kw)


def _width_in(fig, renderer):
    return fig.get_tightbbox(renderer).width + 2 * PAD_IN


def phone_layout(fig):
    """Lay fig out again for a phone's column (see the module's docstring)."""
    limit = PHONE_MAX_WIDTH_PT / 72
    target = limit * 0.97
    w, h = fig.get_size_inches()
    gs, _ = _grid_cells(fig)
    nrows = gs.get_geometry()[0] if gs is not None else 1
    panels = _stack(fig)
    panel_h = h / max(nrows, 1)
    fig.set_size_inches(target, (min(panel_h, 3.4) if panel_h > 2.4 else panel_h) * panels + 0.5)
    _min_font(fig)
    renderer = fig.canvas.get_renderer()
    for _ in range(4):
        for _ in range(2):  # wrapping moves the axes, which changes the room to wrap in
            _wrap_all(fig, renderer)
            _legends_below(fig, renderer)
            _min_font(fig)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "tight layout not applied"
                fig.tight_layout()
        _crowded_ticks(fig, renderer)
        _declutter(fig, renderer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fig.tight_layout()  # wrapped tick labels are taller
        width = _width_in(fig, renderer)
        if width <= limit:
            break
        # something sticks out (a long tick label, a note): make the canvas narrower by as much
        fig.set_size_inches(max(2.0, fig.get_figwidth() - (width - target)), fig.get_figheight())
    return fig
