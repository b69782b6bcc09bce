"""The overview's per-seller chart as inline SVG, drawn on the server: no script needed.

Three lines (confirmed, rejected, in error) over the days of the period, scaled to the
largest count; each point has a <title> so a hover shows the day and the number.
"""

from __future__ import annotations

from html import escape

from processors.ledger.activity import KINDS, SellerActivity

WIDTH, HEIGHT, PAD = 600, 160, 28
COLOURS = {"confirmed": "#1a7f37", "rejected": "#a15c00", "error": "#b00020"}


def activity_svg(a: SellerActivity) -> str:
    top = max([1, *(n for k in KINDS for n in a.series[k])])
    n = len(a.days)
    step = (WIDTH - 2 * PAD) / max(1, n - 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(a.seller)}: lines per day">',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>',
        f'<text x="2" y="{PAD}" font-size="10">{top}</text>',
        f'<text x="2" y="{HEIGHT - PAD}" font-size="10">0</text>',
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{a.days[0].isoformat()}</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
        f"{a.days[-1].isoformat()}</text>",
    ]
    for k in KINDS:
        at = [xy(i, v) for i, v in enumerate(a.series[k])]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in at)
        parts.append(
            f'<polyline fill="none" stroke="{COLOURS[k]}" stroke-width="2" points="{points}"/>'
        )
        for i, v in enumerate(a.series[k]):
            if v:
                x, y = xy(i, v)
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{COLOURS[k]}">'
                    f"<title>{a.days[i].isoformat()}: {v} {k}</title></circle>"
                )
    for j, k in enumerate(KINDS):
        parts.append(
            f'<text x="{PAD + 140 * j}" y="12" font-size="11" fill="{COLOURS[k]}">'
            f"■ {k} ({sum(a.series[k])})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
