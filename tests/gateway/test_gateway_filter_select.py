"""components/filters.html ``select``: the list pages' filter select (all first, the query's value
selected, pairs or plain strings, extra options from a call block), in the gateway's environment."""

from __future__ import annotations

import re

from gateway.render import env


def _render(source: str) -> str:
    return env.from_string('{% import "components/filters.html" as flt %}' + source).render()


def _options(html: str) -> list[tuple[str, bool, str]]:
    return [(v, bool(s), t) for v, s, t in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)]


def test_pairs_with_the_value_selected() -> None:
    html = _render('{{ flt.select("state", "状态", [("open", "未销号"), ("closed", "已销号")], "closed") }}')
    assert '<label for="flt-state">状态</label>' in html and 'id="flt-state" name="state"' in html
    assert _options(html) == [("", False, "全部"), ("open", False, "未销号"), ("closed", True, "已销号")]


def test_strings_other_all_text_and_extra_options() -> None:
    html = _render('{{ flt.select("category", "评估类别", ["甲", "乙"], "乙", all="全部类别") }}')
    assert _options(html) == [("", False, "全部类别"), ("甲", False, "甲"), ("乙", True, "乙")]
    html = _render(
        '{% call flt.select("unit", "责任单位", [("U01", "一")], "U09") %}'
        '<option value="U09" selected>U09</option>{% endcall %}'
    )
    assert _options(html) == [("", False, "全部"), ("U01", False, "一"), ("U09", True, "U09")]
    assert _options(_render('{{ flt.select("s", "状态", {"a": "甲"}.items(), none) }}')) == [
        ("", False, "全部"),
        ("a", False, "甲"),
    ]
