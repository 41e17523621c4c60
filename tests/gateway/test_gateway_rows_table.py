"""components/tables.html ``rows_table``: headings (plain or classed), one row per item from the call
block (tuples unpacked there), and the empty line across all columns, in the gateway's environment."""

from __future__ import annotations

import re

from gateway.render import env

TEMPLATE = (
    '{% import "components/tables.html" as tbl %}'
    '{% call(row) tbl.rows_table("t", ["事件", ("已尝试", "num")], rows, "没有积压") %}'
    "{% set d, e = row %}<tr><td>{{ e }}</td><td>{{ d }}</td></tr>{% endcall %}"
)


def test_rows_and_headings() -> None:
    html = env.from_string(TEMPLATE).render(rows=[(1, "a<b"), (2, "c")])
    assert '<table class="table" id="t">' in html
    assert '<thead><tr><th>事件</th><th class="num">已尝试</th></tr></thead>' in html
    assert re.findall(r"<tr><td>([^<]*)</td><td>(\d)</td></tr>", html) == [("a&lt;b", "1"), ("c", "2")]
    assert "没有积压" not in html


def test_empty_line_spans_the_columns() -> None:
    html = env.from_string(TEMPLATE).render(rows=[])
    assert '<tr><td colspan="2" class="muted">没有积压</td></tr>' in html


def test_empty_line_class() -> None:
    source = TEMPLATE.replace('rows, "没有积压")', 'rows, "没有积压", "empty")')
    assert '<tr><td colspan="2" class="empty">没有积压</td></tr>' in env.from_string(source).render(rows=[])
