"""Documents: the PDFs carry their text in an embedded CJK font (a PDF of empty boxes fails), the circular keeps
GB/T 9704's page geometry, the report's contents point at the right pages; the SVG charts are well-formed."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.common.charts import bar_chart_svg, hbar_chart_svg, line_chart_svg, nice_max, pie_chart_svg
from services.common.documents import (
    Circular,
    Report,
    Section,
    chinese_date,
    chinese_number,
    circular_html,
    figure,
    render_pdf,
    report_html,
)

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdfinfo", "pdftoppm"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="needs poppler-utils (pdftotext, pdffonts, pdfinfo, pdftoppm)")

MM = 72 / 25.4  # points per millimetre
SVG = "{http://www.w3.org/2000/svg}"
COUNTIES = ["东湖区", "西湖区", "青云谱区", "青山湖区", "新建区", "红谷滩区"]


def make_circular(**changes) -> Circular:
    values: dict[str, Any] = {
        "issuer": "南昌市生活垃圾分类工作领导小组办公室",
        "number": "洪分类办〔2026〕12号",
        "title": "关于2026年第三季度全市生活垃圾分类工作考核情况的通报",
        "addressees": ["各县（区）人民政府", "市直各有关单位"],
        "body_html": (
            "<p>根据市生活垃圾分类工作领导小组工作安排，市分类办对各县（区）第三季度工作进行了考核。</p>"
            "<h2>一、总体情况</h2>"
            + "<p>全市第三季度平均得分86.4分，较上季度提高2.1分。</p>" * 14
            + "<h2>二、下一步工作要求</h2>"
            + "<p>各县（区）要对照问题清单，于2026年12月31日前完成整改。</p>" * 10
            + figure(bar_chart_svg(COUNTIES, [92.5, 90.1, 85.3, 83.0, 79.4, 91.2], unit="分"), "各区得分")
        ),
        "signer": "南昌市生活垃圾分类工作领导小组办公室",
        "date": date(2026, 12, 2),
        "cc": ["市委办公室", "市政府办公室"],
        "attachments": ["考核得分排名表"],
        "note": "联系人：李明，电话：0791-83881234",
    }
    values.update(changes)
    return Circular(**values)


@dataclass
class Pdf:
    path: Path

    def text(self, first: int | None = None, last: int | None = None, *, raw: bool = False) -> str:
        args = ["pdftotext", "-layout"]
        if first:
            args += ["-f", str(first)]
        if last:
            args += ["-l", str(last)]
        out = subprocess.run([*args, str(self.path), "-"], capture_output=True, text=True, check=True).stdout
        return out if raw else re.sub(r"\s+", "", out)

    def pages(self) -> list[str]:
        return [re.sub(r"\s+", "", page) for page in self.text(raw=True).split("\f")[:-1]]

    def fonts(self) -> list[list[str]]:
        out = subprocess.run(["pdffonts", str(self.path)], capture_output=True, text=True, check=True).stdout
        return [line.split() for line in out.splitlines()[2:]]

    def info(self) -> str:
        return subprocess.run(["pdfinfo", str(self.path)], capture_output=True, text=True, check=True).stdout

    def words(self, page: int = 1) -> list[tuple[float, float, str]]:
        """(x_min, y_min, word) in points from the page's top-left corner."""
        args = ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(self.path), "-"]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>'
        return [(float(x), float(y), w) for x, y, w in re.findall(pattern, out)]


@pytest.fixture(scope="module")
def circular_pdf(tmp_path_factory: pytest.TempPathFactory) -> Pdf:
    path = tmp_path_factory.mktemp("docs") / "circular.pdf"
    path.write_bytes(render_pdf(circular_html(make_circular())))
    return Pdf(path)


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> Pdf:
    trend = line_chart_svg(
        ["7月", "8月", "9月"], {"厨余垃圾分出率": [18.2, None, 21.5], "回收利用率": [35.0, 36.5, 37.0]}, unit="%"
    )
    report = Report(
        title="南昌市2026年第三季度生活垃圾分类工作考核报告",
        subtitle="供领导小组会议审阅",
        issuer="南昌市生活垃圾分类工作领导小组办公室",
        date=date(2026, 12, 2),
        sections=[
            Section("总体情况", "<p>全市分类工作稳步推进。</p>" * 40 + figure(trend, "月度趋势")),
            Section("各县（区）得分", figure(hbar_chart_svg(COUNTIES, [92.5, 91.2, 90.1, 85.3, 83, 79.4], unit="分"))),
            Section("问题与建议", "<p>建议加强桶边督导，推进撤桶并点。</p>" * 60),
        ],
    )
    path = tmp_path_factory.mktemp("docs") / "report.pdf"
    path.write_bytes(render_pdf(report_html(report)))
    return Pdf(path)


# --- the circular ----------------------------------------------------------------------------------


@needs_poppler
def test_circular_text_is_all_there(circular_pdf: Pdf) -> None:
    text = circular_pdf.text()
    for expected in (
        "南昌市生活垃圾分类工作领导小组办公室文件",
        "洪分类办〔2026〕12号",
        "关于2026年第三季度全市生活垃圾分类工作考核情况的通报",
        "各县（区）人民政府、市直各有关单位：",
        "根据市生活垃圾分类工作领导小组工作安排",
        "一、总体情况",
        "附件：考核得分排名表",
        "2026年12月2日",
        "（联系人：李明，电话：0791-83881234）",
        "抄送：市委办公室，市政府办公室。",
        "2026年12月2日印发",
        "东湖区",  # a chart label, drawn as text in the SVG
    ):
        assert expected in text, expected
    # Lines that must not wrap: the signer, the 印发 line, every page number.
    lines = [line.strip() for line in circular_pdf.text(raw=True).splitlines()]
    assert "南昌市生活垃圾分类工作领导小组办公室" in lines
    assert any(re.fullmatch(r"南昌市生活垃圾分类工作领导小组办公室\s+2026年12月2日印发", line) for line in lines)
    numbers = [line for line in lines if re.fullmatch(r"—\s*\d+\s*—", line)]
    assert len(numbers) == len(circular_pdf.pages())


@needs_poppler
def test_circular_embeds_its_cjk_fonts(circular_pdf: Pdf) -> None:
    fonts = circular_pdf.fonts()
    assert any("CJK" in row[0] for row in fonts)
    # columns: name type... encoding emb sub uni object ID; every font is embedded
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts


@needs_poppler
def test_circular_page_geometry(circular_pdf: Pdf) -> None:
    info = circular_pdf.info()
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert pages >= 2
    words = circular_pdf.words(1)
    # The addressees start at the left edge of the 版心: 订口 28 mm.
    x, _, _ = next(w for w in words if w[2].startswith("各县"))
    assert abs(x - 28 * MM) < 1.5
    # The issuing body's mark sits 35 mm below the top of the 版心 (天头 37 mm): its top near 72 mm.
    _, y, _ = next(w for w in words if "南昌市" in w[2])
    assert 70 * MM < y < 76 * MM
    # Page numbers: "— 1 —" on the right of odd pages, "— 2 —" on the left of even pages.
    page1 = circular_pdf.pages()[0]
    assert "—1—" in page1
    dash = [w for w in circular_pdf.words(2) if w[2] == "—"]
    assert dash and min(x for x, _, _ in dash) < 60 * MM
    # The 版记 is on the last page only.
    assert "抄送" in circular_pdf.pages()[-1]
    assert all("抄送" not in page for page in circular_pdf.pages()[:-1])


@needs_poppler
def test_circular_masthead_is_red(circular_pdf: Pdf, tmp_path: Path) -> None:
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(circular_pdf.path), str(tmp_path / "p")], check=True
    )
    (png,) = tmp_path.glob("p*.png")
    image = Image.open(png).convert("RGB")
    w, h = image.size
    top = image.crop((0, int(h * 0.22), w, int(h * 0.32)))  # the band of the masthead (about 72-90 mm)
    colors: list[tuple[int, tuple[int, int, int]]] = top.getcolors(maxcolors=1 << 20) or []  # type: ignore[assignment]
    red = sum(n for n, (r, g, b) in colors if r > 180 and g < 90 and b < 90)
    assert red > 50


@needs_poppler
def test_circular_escapes_what_it_is_given(tmp_path: Path) -> None:
    html = circular_html(make_circular(title="关于<script>x</script>的通报", body_html="<p>正文</p>", cc=[]))
    assert "<script>" not in html
    pdf = Pdf(tmp_path / "c.pdf")
    pdf.path.write_bytes(render_pdf(html))
    text = pdf.text()
    assert "关于<script>x</script>的通报" in text
    assert "抄送" not in text


def test_circular_title_breaks_where_the_caller_says() -> None:
    html = circular_html(make_circular(title="关于2026年第三季度\n生活垃圾分类工作考核情况的通报"))
    assert "关于2026年第三季度<br>生活垃圾分类工作考核情况的通报" in html


# --- the report ------------------------------------------------------------------------------------


@needs_poppler
def test_report_cover_contents_and_sections(report_pdf: Pdf) -> None:
    pages = report_pdf.pages()
    assert "南昌市2026年第三季度生活垃圾分类工作考核报告" in pages[0]
    assert "2026年12月2日" in pages[0]
    assert "目录" in pages[1]
    for title in ("一、总体情况", "二、各县（区）得分", "三、问题与建议"):
        assert title in pages[1]
    # chart text is real text in the CJK font
    text = report_pdf.text()
    for label in ("厨余垃圾分出率", "回收利用率", "红谷滩区", "92.5分"):
        assert label in text, label
    fonts = report_pdf.fonts()
    assert any("CJK" in row[0] for row in fonts) and all(row[-5] == "yes" for row in fonts)


@needs_poppler
def test_report_contents_point_at_the_right_pages(report_pdf: Pdf) -> None:
    pages = report_pdf.pages()
    toc = report_pdf.text(2, 2, raw=True)
    for title in ("一、总体情况", "二、各县（区）得分", "三、问题与建议"):
        number = int(re.search(re.escape(title) + r"[ .]*(\d+)", toc).group(1))  # type: ignore[union-attr]
        # Body pages count from 1 after the cover and the contents; the footer shows the same number.
        page = pages[number + 1]
        assert page.find(title) >= 0, (title, number)
        assert f"—{number}—" in page
    assert "—" not in pages[0]  # no number on the cover


# --- charts, without a PDF -------------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bar_chart() -> None:
    svg = bar_chart_svg(
        COUNTIES, [92.5, 90.1, 85.3, 83.0, 79.4, 91.2], title="各区<得分>", unit="分", highlight="西湖区"
    )
    root = _parse(svg)
    bars = [r for r in root.iter(f"{SVG}rect")]
    assert len(bars) == 6
    assert len({b.get("fill") for b in bars}) == 2  # the highlighted one differs
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "各区<得分>" in texts and "红谷滩区" in texts and "92.5" in texts and "100分" in texts
    heights = [float(b.get("height") or 0) for b in bars]
    assert heights.index(max(heights)) == 0


def test_hbar_and_pie() -> None:
    root = _parse(hbar_chart_svg(COUNTIES, [9, 8, 7, 6, 5, 4], unit="项"))
    assert len(list(root.iter(f"{SVG}rect"))) == 6
    pie = _parse(pie_chart_svg(["厨余垃圾", "其他垃圾"], [30, 70], title="构成"))
    assert len(list(pie.iter(f"{SVG}path"))) == 2
    assert any(t.text == "其他垃圾　70.0%" for t in pie.iter(f"{SVG}text"))
    whole = _parse(pie_chart_svg(["全部"], [5]))
    assert len(list(whole.iter(f"{SVG}circle"))) == 1


def test_line_chart_breaks_at_missing_values() -> None:
    svg = line_chart_svg(
        ["1月", "2月", "3月", "4月", "5月"],
        {"分出率": [10, 12, None, 15, 16], "利用率": [30, 31, 32, 33, 34]},
        title="趋势",
        unit="%",
    )
    root = _parse(svg)
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 3  # two runs for the first series, one for the second
    assert len(list(root.iter(f"{SVG}circle"))) == 9
    assert {t.text for t in root.iter(f"{SVG}text")} >= {"分出率", "利用率", "3月", "40%"}


def test_chart_input_is_checked() -> None:
    with pytest.raises(ValueError, match="数量应相同"):
        bar_chart_svg(["a", "b"], [1])
    with pytest.raises(ValueError):
        line_chart_svg(["a"], {"s": [1, 2]})
    assert _parse(bar_chart_svg([], []))  # an empty chart is still a valid picture


@pytest.mark.parametrize(("value", "top", "step"), [(92.5, 100, 20), (7, 10, 2), (0, 1, 0.2), (1234, 1250, 250)])
def test_nice_axis(value: float, top: float, step: float) -> None:
    assert nice_max(value) == pytest.approx((top, step))


def test_chinese_numbers_and_dates() -> None:
    assert [chinese_number(n) for n in (1, 9, 10, 12, 20, 21, 99)] == [
        "一",
        "九",
        "十",
        "十二",
        "二十",
        "二十一",
        "九十九",
    ]
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
