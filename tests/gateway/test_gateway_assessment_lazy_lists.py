"""The assessment pages that would list every unit of a province show one page of the weakest:
the board's pager (weakest first, the service cuts the page), the forecast's most-at-risk units,
and the review queue's unit filter whose options load when it is first used."""

from __future__ import annotations

import re

import pytest
from conftest import TINY_PDF, AssessmentGateway

from gateway.assessment_pages import quarters as board_pages
from gateway.assessment_pages import scores as score_pages


def _units_in(html: str) -> list[str]:
    return re.findall(r'<tr data-unit="([^"]+)"', html)


def test_board_pages_show_the_weakest_units_first(agw: AssessmentGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = agw.as_user("a_office", "office")
    tid = next(t["id"] for t in agw.tasks(csrf, unit="U03") if t["item_code"] == "1.2")
    ucsrf = agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.submit(ucsrf, tid, [("a.pdf", TINY_PDF, "application/pdf")]).status_code == 201
    csrf = agw.as_user("a_office", "office")
    agw.client.post(f"/assessment/review/{tid}", data={"decision": "approve", "csrf_token": csrf})
    full = agw.api("GET", f"/quarters/{agw.quarter}/board", csrf, params={"order": "weakest"}).json()
    weakest = [r["unit_code"] for r in full["rows"]]
    assert len(weakest) >= 3 and weakest[-1] == "U03"  # the only unit with an approved task is last
    monkeypatch.setattr(board_pages, "BOARD_ROWS", 2)
    shown: list[str] = []
    pages = -(-len(weakest) // 2)
    for page in range(1, pages + 1):
        html = agw.client.get(f"/assessment/quarters/{agw.quarter}/board?page={page}").text
        assert f"第 {page}/{pages} 页" in html
        assert f"共 {len(weakest)} 个单位" in html
        shown += _units_in(html)
    assert shown == weakest
    # the totals are over every unit, not the page
    assert f'<span class="kpi-value">{full["totals"]["total"]}</span>' in html
    # past the last page: the last page
    html = agw.client.get(f"/assessment/quarters/{agw.quarter}/board?page=99").text
    assert _units_in(html) == weakest[(pages - 1) * 2 :] and f"第 {pages}/{pages} 页" in html


def test_forecast_lists_the_units_most_at_risk(agw: AssessmentGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = agw.as_user("a_office", "office")
    full = agw.api("GET", f"/quarters/{agw.quarter}/forecast", csrf).json()
    ranked = sorted(full["by_unit"], key=lambda u: (-u["at_risk"], u["unit_code"]))
    monkeypatch.setattr(score_pages, "BY_UNIT_ROWS", 2)
    html = agw.client.get(f"/assessment/forecast?quarter={agw.quarter}").text
    assert _units_in(html) == [u["unit_code"] for u in ranked[:2]]
    assert f"另有 {len(ranked) - 2} 个单位风险分值较低" in html
    link = f"/assessment/forecast?quarter={agw.quarter}&amp;units=all"
    assert f'<a href="{link}">显示全部</a>' in html
    every = agw.client.get(link.replace("&amp;", "&")).text
    assert _units_in(every) == [u["unit_code"] for u in ranked] and "另有" not in every


def test_review_unit_filter_loads_its_options_when_used(agw: AssessmentGateway) -> None:
    agw.as_user("a_office", "office")
    page = agw.client.get("/assessment/review").text
    select = page[page.index('<select id="flt-unit"') : page.index("</select>", page.index('<select id="flt-unit"'))]
    assert 'hx-get="/assessment/review/unit-options"' in select
    assert select.count("<option") == 1  # 全部单位 only
    chosen = agw.client.get("/assessment/review?unit=U03").text
    select = chosen[chosen.index('<select id="flt-unit"') :]
    select = select[: select.index("</select>")]
    assert select.count("<option") == 2 and '<option value="U03" selected>' in select
    options = agw.client.get("/assessment/review/unit-options?unit=U03", headers={"HX-Request": "true"})
    assert options.status_code == 200
    codes = re.findall(r'<option value="([^"]*)"', options.text)
    assert codes[0] == "" and "U03" in codes and "U05" in codes and len(codes) > 3
    assert '<option value="U03" selected>' in options.text and options.text.count(" selected") == 1
    assert "<html" not in options.text  # the options only
    agw.as_user("a_unit", "unit", unit_code="U03")
    assert agw.client.get("/assessment/review/unit-options").status_code == 403
