"""Small charts drawn on the server as SVG: no JavaScript library, nothing from a CDN.

Every bar and point can carry a link, so each number on the dashboard opens the list
behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str = ""
    note: str = ""  # shown after the value, e.g. an amount


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _link(href: str, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def bar_chart(
    bars: list[Bar], *, title: str, width: int = 520, bar_height: int = 22, color: str = PALETTE[0]
) -> SafeString:
    """Horizontal bars, one per label, each with its value (and link)."""
    label_width, value_width, top = 150, 150, 28
    height = top + len(bars) * (bar_height + 8) + 8
    plot = width - label_width - value_width
    peak = _nice_max(max((b.value for b in bars), default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = top + i * (bar_height + 8)
        length = 0 if peak == 0 else max(1.0, plot * bar.value / peak) if bar.value else 0
        text = _number(bar.value) + (f" · {bar.note}" if bar.note else "")
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" font-size="13">{escape(bar.label)}</text>'
        )
        parts.append(
            _link(
                bar.href,
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" rx="3" fill="{color}">'
                f"<title>{escape(bar.label)}: {escape(text)}</title></rect>"
                f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}" font-size="13" '
                f'class="chart-value">{escape(text)}</text>',
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every label and value is escaped above)


def line_chart(
    labels: list[str],
    series: list[tuple[str, list[float], str]],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
    hrefs: list[str] | None = None,
) -> SafeString:
    """Lines over the same x labels (e.g. days); series are (name, values, colour)."""
    left, right, top, bottom = 44, 12, 30, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _n, values, _c in series for v in values), default=0))
    count = max(len(labels), 1)
    step = plot_w / max(count - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        gy = top + plot_h - plot_h * fraction
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#dee2e6"/>')
        parts.append(
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11">{_number(peak * fraction)}</text>'
        )
    every = max(1, count // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == count - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 14}" text-anchor="middle" font-size="11">{escape(label)}</text>'
            )
    for s, (name, values, colour) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, value in enumerate(values):
            dot = f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}"><title>{escape(labels[i])} {escape(name)}: {_number(value)}</title></circle>'
            parts.append(_link(hrefs[i] if hrefs and s == 0 else "", dot))
        lx = left + s * 130
        parts.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="16" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (labels and names are escaped above)
