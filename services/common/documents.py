"""Documents people print: HTML -> PDF with WeasyPrint and the Noto CJK fonts (embedded, subset).

API::

    pdf: bytes = render_pdf(html)
    html = circular_html(Circular(issuer="南昌市生活垃圾分类工作领导小组办公室", number="洪分类办〔2026〕12号",
                                  title="关于2026年第三季度生活垃圾分类工作考核情况的通报",
                                  addressees=["各县（区）人民政府", "市直各有关单位"], body_html="<p>…</p>",
                                  signer="南昌市生活垃圾分类工作领导小组办公室", date=date(2026, 12, 2),
                                  cc=["市委办公室", "市人大常委会办公室"]))
    html = report_html(Report(title=…, subtitle=…, issuer=…, date=…, sections=[Section("总体情况", "<p>…</p>")]))
    pdf = render_pdf(html)

The circular follows GB/T 9704-2012 (党政机关公文格式): A4, 天头 37 mm and 订口 28 mm (版心 156 x 225 mm), the
issuing body's mark in red 35 mm below the top of the 版心, document number, a red rule, the title (2号, heavy
serif), 主送, the body (3号 ≈ 16 pt, 22 lines a page, paragraphs indented two characters), 附件 lines, signer
and date (the unsealed layout: signer two characters from the right, the date two characters further right),
附注, and the 版记 (抄送, 印发机关 and 印发日期 between rules) at the foot of the last page; page numbers
"— 1 —", odd pages right, even pages left. Noto Serif CJK SC stands in for 仿宋 and 小标宋 (bold), Noto Sans
CJK SC for 黑体: these are the CJK fonts the servers have (Debian ``fonts-noto-cjk``).

The report has a cover, a table of contents whose page numbers WeasyPrint fills in (``target-counter``), a
running title and page numbers. ``body_html`` and ``Section.html`` are trusted HTML built by the service (escape
user text with ``markupsafe.escape`` first); charts go in as inline SVG from ``services.common.charts``
(``figure(svg, caption)`` wraps one). Everything else is escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date as Date
from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

# 版心 width; the issuing body's mark is at most 15 mm high and fits this width, narrowed to 70 % at most.
TEXT_WIDTH_MM = 156
MASTHEAD_MAX_MM = 15.0
MASTHEAD_MIN_SCALE = 0.7


@dataclass
class Circular:
    """An official circular (通报/通知) after GB/T 9704-2012."""

    issuer: str  # 发文机关全称, e.g. 南昌市生活垃圾分类工作领导小组办公室
    number: str  # 发文字号, e.g. 洪分类办〔2026〕12号
    title: str
    body_html: str  # trusted HTML: <p>, <h2> (一、), <h3> (（一）), <table>, <figure>
    date: Date  # 成文日期
    addressees: list[str] = field(default_factory=list)  # 主送机关
    signer: str = ""  # 发文机关署名; the issuer when empty
    cc: list[str] = field(default_factory=list)  # 抄送机关
    attachments: list[str] = field(default_factory=list)  # 附件名称
    note: str = ""  # 附注, e.g. 联系人：张三，电话：0791-88888888
    masthead: str = ""  # 发文机关标志; "<issuer>文件" when empty
    printer: str = ""  # 印发机关; the issuer when empty
    print_date: Date | None = None  # 印发日期; the date when empty


@dataclass
class Section:
    title: str
    html: str  # trusted HTML


@dataclass
class Report:
    """A plain report: cover, table of contents, numbered sections."""

    title: str
    sections: list[Section] = field(default_factory=list)
    subtitle: str = ""
    issuer: str = ""
    date: Date | None = None
    numbered: bool = True  # 一、二、… before the section titles


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("services.common", "templates/documents"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def chinese_date(d: Date) -> str:
    """``2026年12月2日`` (Arabic numerals, no leading zeros, as GB/T 9704 asks)."""
    return f"{d.year}年{d.month}月{d.day}日"


_NUMERALS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for 一、二、… up to 99)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _NUMERALS[tens]) + "十" if tens else "") + (_NUMERALS[ones] if ones else "")


def _title_lines(title: str) -> list[str]:
    """The title's lines: where the caller broke it (``\\n``, to keep words whole), else one wrapped line."""
    return [line.strip() for line in title.splitlines() if line.strip()] or [title]


def circular_html(circular: Circular) -> str:
    """The circular as HTML ready for ``render_pdf``."""
    masthead = circular.masthead or f"{circular.issuer}文件"
    # Each character of the mark as tall as the standard allows; a long name is narrowed to fit the width.
    width = TEXT_WIDTH_MM - 2
    count = max(len(masthead), 1)
    size_mm = min(MASTHEAD_MAX_MM, width / (count * MASTHEAD_MIN_SCALE))
    natural = size_mm * count
    scale = min(1.0, width / natural)
    return (
        _env()
        .get_template("circular.html")
        .render(
            c=circular,
            masthead=masthead,
            masthead_size=f"{size_mm:.2f}",
            masthead_width=f"{natural:.2f}",
            masthead_left=f"{(TEXT_WIDTH_MM - natural) / 2:.2f}",
            masthead_scale=f"{scale:.3f}",
            title_lines=_title_lines(circular.title),
            body=Markup(circular.body_html),
            date=chinese_date(circular.date),
            printer=circular.printer or circular.issuer,
            print_date=chinese_date(circular.print_date or circular.date),
        )
    )


def report_html(report: Report) -> str:
    """The report as HTML ready for ``render_pdf``."""
    sections = [
        {
            "anchor": f"s{i}",
            "number": f"{chinese_number(i)}、" if report.numbered else "",
            "title": s.title,
            "html": Markup(s.html),
        }
        for i, s in enumerate(report.sections, start=1)
    ]
    return (
        _env()
        .get_template("report.html")
        .render(r=report, sections=sections, date=chinese_date(report.date) if report.date else "")
    )


def figure(svg: str, caption: str = "") -> str:
    """A chart (trusted SVG from ``services.common.charts``) with an escaped caption, for body HTML."""
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """HTML to PDF bytes; fonts are embedded (subset). ``base_url`` resolves relative links and images."""
    from weasyprint import HTML  # heavy import: only when a document is made

    pdf = HTML(string=html, base_url=base_url).write_pdf()
    assert pdf is not None
    return bytes(pdf)
