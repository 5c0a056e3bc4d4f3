"""Phase timings as pictures (SVG, written here: no network, no plotting stack). One picture per
fault test: a bar per phase on a shared time axis (break -> took effect -> symptoms -> fix ->
recovered -> verified); and one overview: a row per fault, its phases stacked."""
from __future__ import annotations

from html import escape

# Phase names the engine reports (breakfix/lab.py) -> what a reader calls them, and a colour.
PHASES = {
    "settle": ("control plane settles", "#9aa5b1"),
    "inject->took effect": ("break -> took effect", "#d64545"),
    "inject->symptoms": ("break -> symptoms seen", "#f0b429"),
    "fix->recovered": ("fix -> recovered", "#3ebd93"),
    "scale->ready": ("verify: scale -> Ready", "#2186eb"),
}
OTHER = "#7b61ff"
ROW, LEFT, WIDTH, PAD = 22, 190, 520, 8


def _label(name: str) -> tuple[str, str]:
    return PHASES.get(name, (name, OTHER))


def phase_svg(rows: list[dict], title: str) -> str:
    """ROWS: {"name", "start", "seconds"} with start in seconds from the test's start. A bar per
    row at its place in time, its duration written next to it."""
    rows = [r for r in rows if r.get("seconds") is not None]
    end = max([r["start"] + r["seconds"] for r in rows] + [1.0])
    scale = WIDTH / end
    h = PAD * 2 + 24 + ROW * max(len(rows), 1) + 24
    out = svg_head(title, LEFT + WIDTH + 90, h)
    y = PAD + 24
    for r in rows:
        label, colour = _label(r["name"])
        x = LEFT + r["start"] * scale
        w = max(r["seconds"] * scale, 1.5)
        out.append(f'<text x="{PAD}" y="{y + 14}">{escape(label)}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" fill="{colour}">'
                   f'<title>{escape(label)}: {r["seconds"]:.1f} s</title></rect>')
        out.append(f'<text x="{x + w + 4:.1f}" y="{y + 14}">{r["seconds"]:.1f} s</text>')
        y += ROW
    out.append(_axis(y, end, scale))
    out.append("</svg>")
    return "\n".join(out)


def svg_head(title: str, width: float, height: float) -> list[str]:
    """The opening of a chart: the svg element (an image with TITLE as its name) and the title."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="12" role="img" aria-label="{escape(title)}">',
            f'<title>{escape(title)}</title>',
            f'<text x="{PAD}" y="{PAD + 12}" font-weight="bold">{escape(title)}</text>']


def _axis(y: float, end: float, scale: float) -> str:
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if end / s <= 8)
    parts = [f'<line x1="{LEFT}" y1="{y + 2}" x2="{LEFT + WIDTH}" y2="{y + 2}" stroke="#333"/>']
    t = 0.0
    while t <= end + 1e-9:
        x = LEFT + t * scale
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 6}" stroke="#333"/>'
                     f'<text x="{x:.1f}" y="{y + 18}" text-anchor="middle">{t:g}s</text>')
        t += step
    return "\n".join(parts)


def overview_svg(by_test: dict[str, list[dict]], title: str = "phase timings of every fault") -> str:
    """A row per test (fault or lab), its phases stacked in the order they happened."""
    totals = {k: sum(r["seconds"] for r in v) for k, v in by_test.items()}
    end = max(list(totals.values()) + [1.0])
    scale = WIDTH / end
    names = list(by_test)
    legend = list(dict.fromkeys(r["name"] for v in by_test.values() for r in v))
    h = PAD * 2 + 24 + ROW * max(len(names), 1) + 30 + 18 * len(legend)
    left = max(LEFT, 7 * max([len(n) for n in names] + [10]))
    out = svg_head(title, left + WIDTH + 90, h)
    y = PAD + 24
    for name in names:
        out.append(f'<text x="{PAD}" y="{y + 14}">{escape(name)}</text>')
        x = left
        for r in by_test[name]:
            label, colour = _label(r["name"])
            w = r["seconds"] * scale
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{ROW - 6}" '
                       f'fill="{colour}"><title>{escape(name)}: {escape(label)} {r["seconds"]:.1f} s</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 14}">{totals[name]:.0f} s</text>')
        y += ROW
    y += 12
    for n in legend:
        label, colour = _label(n)
        out.append(f'<rect x="{PAD}" y="{y}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{PAD + 18}" y="{y + 11}">{escape(label)}</text>')
        y += 18
    out.append("</svg>")
    return "\n".join(out)
