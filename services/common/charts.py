"""Charts drawn on the server as SVG (no JavaScript, no browser): for PDFs (inline in the HTML that WeasyPrint
renders) and for pages alike. Labels are Chinese; text uses the Noto CJK fonts.

API::

    bar_chart_svg(labels, values, *, title="", unit="%", size=(640, 320), highlight=None, max_value=None) -> str
    hbar_chart_svg(labels, values, *, title="", unit="", width=640, bar_height=22) -> str   # rankings
    line_chart_svg(labels, series: dict[str, list[float | None]], *, title="", unit="", width=640, height=320) -> str
    pie_chart_svg(labels, values, *, title="", width=640, height=300) -> str

``None`` in a line series is a gap (the line breaks there). Every string is escaped; values are numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "'Noto Sans CJK SC', 'Noto Sans CJK', sans-serif"
COLORS = ("#c0392b", "#1f6fb2", "#2e8b57", "#d98c1a", "#7d3c98", "#5d6d7e", "#16a085", "#a04000")
TEXT = "#222"
GRID = "#d8d8d8"
AXIS = "#888"


def _fmt(value: float) -> str:
    """``85.0`` → ``85``, ``85.25`` → ``85.3``, ``1234567`` → ``1234567``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.1f}"


def nice_max(value: float, ticks: int = 5) -> tuple[float, float]:
    """An axis top at or above ``value`` and its step: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0, 0.2
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step * ticks >= value:
            return step * ticks, step
    return 10 * power * ticks, 10 * power


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    label = escape(title) if title else "图表"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" font-family="{FONT}">'
    )
    caption = (
        f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="16" font-weight="bold" '
        f'fill="{TEXT}">{escape(title)}</text>'
        if title
        else ""
    )
    return head + caption + "".join(body) + "</svg>"


def _value_axis(x0: float, x1: float, y0: float, y1: float, top: float, step: float, unit: str) -> list[str]:
    """Horizontal grid lines with their values on the left, from ``y0`` (zero) up to ``y1`` (``top``)."""
    out = []
    steps = round(top / step)
    for i in range(steps + 1):
        value = step * i
        y = y0 - (y0 - y1) * value / top
        out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        out.append(
            f'<text x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{AXIS}">'
            f"{_fmt(value)}{escape(unit)}</text>"
        )
    out.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y0:.1f}" stroke="{AXIS}" stroke-width="1"/>')
    return out


def _category_labels(labels: Sequence[str], xs: Sequence[float], y: float, slot: float) -> list[str]:
    """Labels under the axis; long ones at a slant when the slots are narrow."""
    longest = max((len(label) for label in labels), default=0)
    slant = longest * 12 > slot
    out = []
    for label, x in zip(labels, xs, strict=True):
        if slant:
            out.append(
                f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" font-size="12" fill="{TEXT}" '
                f'transform="rotate(-35 {x:.1f} {y:.1f})">{escape(label)}</text>'
            )
        else:
            out.append(
                f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="12" fill="{TEXT}">'
                f"{escape(label)}</text>"
            )
    return out


def _check(labels: Sequence[str], values: Sequence[float | None]) -> None:
    if len(labels) != len(values):
        raise ValueError(f"标签 {len(labels)} 个、数值 {len(values)} 个，数量应相同")


def bar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    unit: str = "%",
    size: tuple[int, int] = (640, 320),
    highlight: str | None = None,
    max_value: float | None = None,
) -> str:
    """Vertical bars, one per label, the value above each bar; ``highlight`` colours one label's bar apart.

    ``size`` is (width, height) in SVG units; the picture scales to the width of its box."""
    _check(labels, values)
    width, height = size
    top_margin, bottom_margin, left, right = (44 if title else 20), 64, 56, 16
    x0, x1, y0, y1 = left, width - right, height - bottom_margin, top_margin
    top, step = nice_max(max(max_value or 0, *values, 0) if values else 1)
    body = _value_axis(x0, x1, y0, y1, top, step, unit)
    slot = (x1 - x0) / max(len(values), 1)
    bar = min(slot * 0.6, 56)
    centres = [x0 + slot * (i + 0.5) for i in range(len(values))]
    for label, value, cx in zip(labels, values, centres, strict=True):
        h = (y0 - y1) * max(value, 0) / top
        color = COLORS[1] if highlight is not None and label == highlight else COLORS[0]
        body.append(
            f'<rect x="{cx - bar / 2:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}"/>'
        )
        body.append(
            f'<text x="{cx:.1f}" y="{y0 - h - 5:.1f}" text-anchor="middle" font-size="11" fill="{TEXT}">'
            f"{_fmt(value)}</text>"
        )
    body += _category_labels(labels, centres, y0 + 18, slot)
    return _svg(width, height, body, title)


def hbar_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    unit: str = "",
    width: int = 640,
    bar_height: int = 22,
    max_value: float | None = None,
) -> str:
    """Horizontal bars (rankings: long Chinese names read well on the left), the value at each bar's end."""
    _check(labels, values)
    top_margin = 44 if title else 16
    label_width = min(max((len(label) for label in labels), default=2) * 13 + 12, width // 3)
    row = bar_height + 10
    height = top_margin + row * len(values) + 28
    x0, x1 = label_width, width - 56
    top, step = nice_max(max(max_value or 0, *values, 0) if values else 1)
    body = []
    for i in range(round(top / step) + 1):
        x = x0 + (x1 - x0) * step * i / top
        body.append(f'<line x1="{x:.1f}" y1="{top_margin - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" fill="{AXIS}">'
            f"{_fmt(step * i)}{escape(unit)}</text>"
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top_margin + row * i
        w = (x1 - x0) * max(value, 0) / top
        body.append(
            f'<text x="{x0 - 8}" y="{y + bar_height * 0.72:.1f}" text-anchor="end" font-size="12" fill="{TEXT}">'
            f"{escape(label)}</text>"
        )
        body.append(
            f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{COLORS[(i == 0 and 1) or 0]}"/>'
        )
        body.append(
            f'<text x="{x0 + w + 5:.1f}" y="{y + bar_height * 0.72:.1f}" font-size="11" fill="{TEXT}">'
            f"{_fmt(value)}{escape(unit)}</text>"
        )
    return _svg(width, height, body, title)


def line_chart_svg(
    labels: Sequence[str],
    series: dict[str, list[float | None]],
    *,
    title: str = "",
    unit: str = "",
    width: int = 640,
    height: int = 320,
    max_value: float | None = None,
) -> str:
    """One line per series over the labels, a dot at each value, a legend on top; ``None`` breaks the line."""
    for values in series.values():
        _check(labels, values)
    top_margin, bottom_margin, left, right = (64 if title else 40), 56, 56, 24
    x0, x1, y0, y1 = left, width - right, height - bottom_margin, top_margin
    known = [v for values in series.values() for v in values if v is not None]
    top, step = nice_max(max([max_value or 0, *known, 0]))
    body = _value_axis(x0, x1, y0, y1, top, step, unit)
    slot = (x1 - x0) / max(len(labels), 1)
    xs = [x0 + slot * (i + 0.5) for i in range(len(labels))]
    legend_x = x0
    for n, (name, values) in enumerate(series.items()):
        color = COLORS[n % len(COLORS)]
        runs: list[list[tuple[float, float]]] = [[]]
        for x, value in zip(xs, values, strict=True):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((x, y0 - (y0 - y1) * max(value, 0) / top))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>')
            for x, y in run:
                body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
        legend_y = top_margin - 22
        body.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="14" height="4" fill="{color}"/>')
        body.append(f'<text x="{legend_x + 20}" y="{legend_y - 3}" font-size="12" fill="{TEXT}">{escape(name)}</text>')
        legend_x += 20 + len(name) * 13 + 24
    body += _category_labels(labels, xs, y0 + 18, slot)
    return _svg(width, height, body, title)


def pie_chart_svg(
    labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640, height: int = 300
) -> str:
    """Shares of a whole, with a legend giving each label's share in per cent."""
    _check(labels, values)
    total = sum(v for v in values if v > 0)
    top = 40 if title else 12
    r = (height - top - 16) / 2
    cx, cy = 24 + r, top + r
    body = []
    angle = -math.pi / 2
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        color = COLORS[i % len(COLORS)]
        share = value / total if total and value > 0 else 0.0
        if share >= 0.9999:
            body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{color}"/>')
        elif share > 0:
            end = angle + share * 2 * math.pi
            large = 1 if share > 0.5 else 0
            x_a, y_a = cx + r * math.cos(angle), cy + r * math.sin(angle)
            x_b, y_b = cx + r * math.cos(end), cy + r * math.sin(end)
            body.append(
                f'<path d="M{cx:.1f},{cy:.1f} L{x_a:.2f},{y_a:.2f} A{r:.1f},{r:.1f} 0 {large} 1 {x_b:.2f},{y_b:.2f} Z" '
                f'fill="{color}" stroke="#fff" stroke-width="1"/>'
            )
            angle = end
        ly = top + 14 + i * 22
        lx = cx + r + 40
        body.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        body.append(
            f'<text x="{lx + 18:.1f}" y="{ly}" font-size="12" fill="{TEXT}">{escape(label)}　{share * 100:.1f}%</text>'
        )
    return _svg(width, height, body, title)
