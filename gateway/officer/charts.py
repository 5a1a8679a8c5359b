"""Bar charts as inline SVG, drawn on the server: no script, no library, no CDN.

Colours come from classes in the workspace's stylesheet (the Content-Security-Policy allows no
inline styles). Each chart names itself with <title> and <desc>, so a screen reader reads a
sentence instead of bars, and every bar carries its own <title> with its day and number.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

from gateway.audit.activity import DailySeries

__all__ = ["SERIES", "daily_bar_chart"]

# The series a chart shows, in drawing order, with the stylesheet class that colours them.
SERIES = (("disclosed", "s-disclosed"), ("refused", "s-refused"), ("break_glass", "s-break-glass"))

_LEFT = 40
_RIGHT = 8
_TOP = 10
_BOTTOM = 22


def daily_bar_chart(
    series: DailySeries,
    *,
    chart_id: str,
    title: str,
    description: str,
    labels: Mapping[str, str],
    width: int = 640,
    height: int = 160,
) -> Markup:
    """Grouped bars per day (disclosures, refusals, break-glass) with a 0..max scale."""
    days = len(series.days)
    values = {
        "disclosed": series.disclosed,
        "refused": series.refused,
        "break_glass": series.break_glass,
    }
    top = max(1, *series.disclosed, *series.refused, *series.break_glass)
    plot_w = width - _LEFT - _RIGHT
    plot_h = height - _TOP - _BOTTOM
    slot = plot_w / days
    bar = max(slot * 0.8 / len(SERIES), 0.5)
    base = _TOP + plot_h
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        f'<line class="axis" x1="{_LEFT}" y1="{base}" x2="{width - _RIGHT}" y2="{base}"/>',
        f'<line class="grid" x1="{_LEFT}" y1="{_TOP}" x2="{width - _RIGHT}" y2="{_TOP}"/>',
        f'<text class="tick" x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{_LEFT - 4}" y="{base}" text-anchor="end">0</text>',
    ]
    for n, day in enumerate(series.days):
        x0 = _LEFT + n * slot + slot * 0.1
        for k, (name, css) in enumerate(SERIES):
            value = values[name][n]
            if not value:
                continue
            h = plot_h * value / top
            x = x0 + k * bar
            parts.append(
                f'<rect class="{css}" x="{x:.1f}" y="{base - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(day.isoformat())}: {value} {escape(labels[name])}</title></rect>"
            )
    # First and last labels align with the plot's edges, so neither is cut off.
    ticks = {0: (_LEFT, "start"), days // 2: (_LEFT + (days // 2 + 0.5) * slot, "middle")}
    ticks[days - 1] = (width - _RIGHT, "end")
    for n, (x, anchor) in sorted(ticks.items()):
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}">'
            f"{escape(series.days[n].strftime('%m-%d'))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text inside is escaped above
